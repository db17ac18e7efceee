//go:build !labref

package lab01

import (
	"errors"
	"io"
)

// errTODO is what the stubs return until you write them.
var errTODO = errors.New("lab01: not written yet (TODO(lab))")

// AppendRecord appends one record to dst and returns the extended slice:
// the 8-byte header, the content, and the padding that brings the content
// to a multiple of 8 bytes. content is at most MaxContent bytes.
//
//	01 06 00 01 00 05 03 00 | 68 65 6c 6c 6f | 00 00 00
//	STDOUT id=1 content=5 padding=3  "hello"      padding
func AppendRecord(dst []byte, t RecType, id uint16, content []byte) []byte {
	// TODO(lab): append the header: version (Version1), type, the request
	// id as two bytes big-endian (high byte first), the content length as
	// two bytes big-endian, the padding length, and a reserved 0. Then
	// append content, then that many zero bytes of padding. The padding is
	// the smallest number 0..7 that makes len(content)+padding a multiple
	// of 8 (hint: -n & 7).
	return dst
}

// ReadRecord reads one whole record from r, however r splits it (one byte
// per Read is legal), and returns it with the padding read and dropped.
// At a clean end, before the first byte of a record, it returns io.EOF; a
// record cut anywhere after its first byte is io.ErrUnexpectedEOF. A
// version other than Version1 is an error.
func ReadRecord(r io.Reader) (Record, error) {
	// TODO(lab): read exactly HeaderLen bytes (io.ReadFull: it returns
	// io.EOF when nothing was read and io.ErrUnexpectedEOF when only part
	// was). Decode the six fields into a Header (encoding/binary's
	// BigEndian.Uint16 for the two-byte ones). Reject a version that is
	// not Version1 with an error saying which version came. Then read
	// ContentLength+PaddingLength more bytes; here even io.EOF means the
	// record was cut, so return io.ErrUnexpectedEOF. Return the content
	// without the padding in a new slice.
	return Record{}, errTODO
}

// AppendParam appends one name-value pair to dst (section 3.4). Each of the
// two lengths takes one byte when it is below 128, else four bytes,
// big-endian, with the top bit set:
//
//	0b 0a 53 43 52 49 50 54 5f 4e 41 4d 45 2f 68 65 6c 6c 6f 2e 70 68 70
//	11 10  S  C  R  I  P  T  _  N  A  M  E  /  h  e  l  l  o  .  p  h  p
//
// and a 200-byte value has the length 80 00 00 c8.
func AppendParam(dst []byte, name, value string) []byte {
	// TODO(lab): append the name's length, then the value's length, each
	// as one byte if < 128, else as uint32(n)|1<<31 in four bytes
	// big-endian; then the name's bytes, then the value's.
	return dst
}

// DecodeParams decodes a whole PARAMS stream (the contents of its records
// joined) into its pairs, in order. A stream cut inside a length, or
// lengths that point past its end, is an error: never a panic, and never
// a pair made up of what is there.
func DecodeParams(b []byte) ([]Pair, error) {
	// TODO(lab): loop while bytes are left: read the name's length, then
	// the value's length (a first byte >= 128 means four bytes: clear the
	// top bit of the uint32), check that the name and value fit in what is
	// left, cut them off as strings, append the Pair. Return an error for
	// a length that is cut or too long; an empty stream is zero pairs.
	return nil, errTODO
}
