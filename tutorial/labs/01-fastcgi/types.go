// Package lab01 is the lab of chapter 01: the FastCGI record and params
// codec, written from the spec (https://fastcgi-archives.github.io/FastCGI_Specification.html,
// sections 3.3 and 3.4). The declarations in this file are given; the
// functions to write are in lab.go.
package lab01

// Sizes from section 3.3 of the spec.
const (
	// Version1 is FCGI_VERSION_1, the only version.
	Version1 = 1
	// HeaderLen is FCGI_HEADER_LEN: every record starts with 8 bytes.
	HeaderLen = 8
	// MaxContent is the most a record carries: contentLength is 16 bits.
	MaxContent = 65535
)

// RecType is a record's type byte (section 8).
type RecType uint8

// The record types a request and its response use.
const (
	TypeBeginRequest RecType = 1
	TypeEndRequest   RecType = 3
	TypeParams       RecType = 4
	TypeStdin        RecType = 5
	TypeStdout       RecType = 6
	TypeStderr       RecType = 7
)

// Header is a record header, field by field as in section 3.3 (the
// two-byte fields joined, big-endian on the wire).
type Header struct {
	Version       uint8
	Type          RecType
	RequestID     uint16
	ContentLength uint16
	PaddingLength uint8
	Reserved      uint8
}

// Record is a header and its content, without the padding.
type Record struct {
	Header
	Content []byte
}

// Pair is one name-value pair of a PARAMS stream (section 3.4).
type Pair struct{ Name, Value string }
