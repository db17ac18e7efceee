//go:build labref

package lab01

import (
	"encoding/binary"
	"fmt"
	"io"
)

// This is the reference solution, built only with -tags labref so that CI
// can check the grader passes on correct code. Read it after your own.

func AppendRecord(dst []byte, t RecType, id uint16, content []byte) []byte {
	pad := -len(content) & 7
	dst = append(dst, Version1, byte(t))
	dst = binary.BigEndian.AppendUint16(dst, id)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(content)))
	dst = append(dst, byte(pad), 0)
	dst = append(dst, content...)
	return append(dst, make([]byte, pad)...)
}

func ReadRecord(r io.Reader) (Record, error) {
	var h [HeaderLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return Record{}, err // io.EOF before the first byte, else ErrUnexpectedEOF
	}
	rec := Record{Header: Header{
		Version:       h[0],
		Type:          RecType(h[1]),
		RequestID:     binary.BigEndian.Uint16(h[2:]),
		ContentLength: binary.BigEndian.Uint16(h[4:]),
		PaddingLength: h[6],
		Reserved:      h[7],
	}}
	if rec.Version != Version1 {
		return Record{}, fmt.Errorf("lab01: record version %d, want %d", rec.Version, Version1)
	}
	body := make([]byte, int(rec.ContentLength)+int(rec.PaddingLength))
	if _, err := io.ReadFull(r, body); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Record{}, err
	}
	rec.Content = body[:rec.ContentLength]
	return rec, nil
}

func AppendParam(dst []byte, name, value string) []byte {
	dst = appendLen(dst, len(name))
	dst = appendLen(dst, len(value))
	return append(append(dst, name...), value...)
}

func appendLen(dst []byte, n int) []byte {
	if n < 128 {
		return append(dst, byte(n))
	}
	return binary.BigEndian.AppendUint32(dst, uint32(n)|1<<31)
}

func DecodeParams(b []byte) ([]Pair, error) {
	var pairs []Pair
	for len(b) > 0 {
		nl, err := readLen(&b)
		if err != nil {
			return nil, err
		}
		vl, err := readLen(&b)
		if err != nil {
			return nil, err
		}
		if nl > len(b) || vl > len(b)-nl {
			return nil, fmt.Errorf("lab01: pair of %d+%d bytes, %d left", nl, vl, len(b))
		}
		pairs = append(pairs, Pair{string(b[:nl]), string(b[nl : nl+vl])})
		b = b[nl+vl:]
	}
	return pairs, nil
}

// readLen takes one length off the front of *b.
func readLen(b *[]byte) (int, error) {
	s := *b
	switch {
	case len(s) == 0:
		return 0, fmt.Errorf("lab01: length missing")
	case s[0] < 128:
		*b = s[1:]
		return int(s[0]), nil
	case len(s) < 4:
		return 0, fmt.Errorf("lab01: four-byte length cut after %d bytes", len(s))
	}
	*b = s[4:]
	return int(binary.BigEndian.Uint32(s) &^ (1 << 31)), nil
}
