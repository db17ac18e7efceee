package fastcgi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
)

// Name-value pairs (section 3.4) carry the CGI environment in PARAMS records
// and the variables of GET_VALUES. Each length takes one byte when it is
// below 128, else four bytes with the top bit set:
//
//	0b 0a 53 43 52 49 50 54 5f 4e 41 4d 45 2f 68 65 6c 6c 6f 2e 70 68 70
//	^  ^  S  C  R  I  P  T  _  N  A  M  E  /  h  e  l  l  o  .  p  h  p
//	|  value length 10
//	name length 11
//
// A pair may be split across PARAMS records, so the server decodes the stream
// once it has ended (Conn collects it).

// AppendParam appends one name-value pair to dst.
func AppendParam(dst []byte, name, value string) []byte {
	dst = appendLen(dst, len(name))
	dst = appendLen(dst, len(value))
	dst = append(dst, name...)
	return append(dst, value...)
}

func appendLen(dst []byte, n int) []byte {
	if n < 128 {
		return append(dst, byte(n))
	}
	return binary.BigEndian.AppendUint32(dst, uint32(n)|1<<31)
}

// errParams says a params stream does not decode; Conn wraps it with where.
var errParams = errors.New("malformed name-value pair")

// readLen decodes one length at b and returns it and the bytes it took.
func readLen(b []byte) (n, size int, err error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("%w: missing length", errParams)
	}
	if b[0] < 128 {
		return int(b[0]), 1, nil
	}
	if len(b) < 4 {
		return 0, 0, fmt.Errorf("%w: four-byte length cut after %d bytes", errParams, len(b))
	}
	return int(binary.BigEndian.Uint32(b) &^ (1 << 31)), 4, nil
}

// pair is a decoded name-value pair, as where it lies in the params
// stream: the name at off, the value right after it. Twelve bytes, where
// two slices would take 48: a coroutine worker holds a request's pairs for
// as long as its script waits, thousands of requests at once.
type pair struct{ off, nameLen, valueLen uint32 }

func (p pair) name(b []byte) []byte  { return b[p.off : p.off+p.nameLen] }
func (p pair) value(b []byte) []byte { return b[p.off+p.nameLen : p.off+p.nameLen+p.valueLen] }

// decodeParams appends the pairs of a complete params stream to dst.
func decodeParams(b []byte, dst []pair) ([]pair, error) {
	for at := 0; at < len(b); {
		nl, s1, err := readLen(b[at:])
		if err != nil {
			return dst, err
		}
		vl, s2, err := readLen(b[at+s1:])
		if err != nil {
			return dst, err
		}
		at += s1 + s2
		if left := len(b) - at; nl > left || vl > left-nl {
			return dst, fmt.Errorf("%w: lengths %d+%d but %d bytes left", errParams, nl, vl, left)
		}
		dst = append(dst, pair{off: uint32(at), nameLen: uint32(nl), valueLen: uint32(vl)})
		at += nl + vl
	}
	return dst, nil
}

// Pair is a decoded name-value pair, for clients, tests and chapters.
type Pair struct{ Name, Value string }

// DecodePairs decodes a complete params stream, keeping the order.
func DecodePairs(b []byte) ([]Pair, error) {
	pairs, err := decodeParams(b, nil)
	if err != nil {
		return nil, err
	}
	out := make([]Pair, len(pairs))
	for i, p := range pairs {
		out[i] = Pair{string(p.name(b)), string(p.value(b))}
	}
	return out, nil
}

// DecodeParams decodes a complete params stream into a map; a later
// duplicate name wins.
func DecodeParams(b []byte) (map[string]string, error) {
	pairs, err := DecodePairs(b)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(pairs))
	for _, p := range pairs {
		m[p.Name] = p.Value
	}
	return m, nil
}

// Params is the CGI environment of a request, in the order the web server
// sent it. It aliases the connection's buffers and is valid until the next
// request is read on the connection: that is what lets a warm connection read
// requests without allocating.
type Params struct {
	raw   []byte // the params stream
	pairs []pair
}

// Get returns the value of name, or "" when it was not sent. When a name was
// sent twice the last one wins, as in php-fpm.
func (p *Params) Get(name string) string {
	for i := len(p.pairs) - 1; i >= 0; i-- {
		if string(p.pairs[i].name(p.raw)) == name {
			return string(p.pairs[i].value(p.raw))
		}
	}
	return ""
}

// Len returns the number of pairs.
func (p *Params) Len() int { return len(p.pairs) }

// All yields every pair in the order received, as strings.
func (p *Params) All() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		for _, kv := range p.pairs {
			if !yield(string(kv.name(p.raw)), string(kv.value(p.raw))) {
				return
			}
		}
	}
}
