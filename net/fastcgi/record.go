package fastcgi

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Version1 is the only protocol version (section 3.3, FCGI_VERSION_1).
const Version1 = 1

// HeaderLen is the size of a record header (FCGI_HEADER_LEN).
const HeaderLen = 8

// MaxContent is the largest content a record can carry: contentLength is 16 bits.
const MaxContent = 65535

// RecType is a record type (section 8, FCGI_BEGIN_REQUEST ... FCGI_UNKNOWN_TYPE).
type RecType uint8

// Record types. Management records (GET_VALUES, GET_VALUES_RESULT,
// UNKNOWN_TYPE) carry request id 0; application records carry the id of
// their request.
const (
	TypeBeginRequest    RecType = 1
	TypeAbortRequest    RecType = 2
	TypeEndRequest      RecType = 3
	TypeParams          RecType = 4
	TypeStdin           RecType = 5
	TypeStdout          RecType = 6
	TypeStderr          RecType = 7
	TypeData            RecType = 8
	TypeGetValues       RecType = 9
	TypeGetValuesResult RecType = 10
	TypeUnknownType     RecType = 11
)

var typeNames = [...]string{
	TypeBeginRequest:    "BEGIN_REQUEST",
	TypeAbortRequest:    "ABORT_REQUEST",
	TypeEndRequest:      "END_REQUEST",
	TypeParams:          "PARAMS",
	TypeStdin:           "STDIN",
	TypeStdout:          "STDOUT",
	TypeStderr:          "STDERR",
	TypeData:            "DATA",
	TypeGetValues:       "GET_VALUES",
	TypeGetValuesResult: "GET_VALUES_RESULT",
	TypeUnknownType:     "UNKNOWN_TYPE",
}

// String returns the spec's name without its FCGI_ prefix.
func (t RecType) String() string {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return fmt.Sprintf("TYPE_%d", uint8(t))
}

// Role is what the application is asked to do (section 6).
type Role uint16

// Roles. Only the Responder is served here, as php-fpm does.
const (
	RoleResponder  Role = 1
	RoleAuthorizer Role = 2
	RoleFilter     Role = 3
)

// FlagKeepConn in BEGIN_REQUEST asks the application to keep the connection
// open after the request (section 5.1); nginx sets it with fastcgi_keep_conn on.
const FlagKeepConn = 1

// Protocol status of END_REQUEST (section 5.5).
const (
	StatusRequestComplete = 0
	StatusCantMpxConn     = 1
	StatusOverloaded      = 2
	StatusUnknownRole     = 3
)

// Names of the variables a web server may ask for with GET_VALUES (section 4.1).
const (
	MaxConns  = "FCGI_MAX_CONNS"
	MaxReqs   = "FCGI_MAX_REQS"
	MpxsConns = "FCGI_MPXS_CONNS"
)

// Header is a record header, field by field as in section 3.3 (the two-byte
// fields joined).
type Header struct {
	Version       uint8
	Type          RecType
	RequestID     uint16
	ContentLength uint16
	PaddingLength uint8
	Reserved      uint8
}

// ParseHeader decodes the first HeaderLen bytes of b. It checks nothing:
// what is acceptable depends on who reads (see Conn).
func ParseHeader(b []byte) Header {
	_ = b[7]
	return Header{
		Version:       b[0],
		Type:          RecType(b[1]),
		RequestID:     binary.BigEndian.Uint16(b[2:]),
		ContentLength: binary.BigEndian.Uint16(b[4:]),
		PaddingLength: b[6],
		Reserved:      b[7],
	}
}

// String shows a header as the chapters print it.
func (h Header) String() string {
	return fmt.Sprintf("%s id=%d content=%d padding=%d", h.Type, h.RequestID, h.ContentLength, h.PaddingLength)
}

// padding returns the padding that brings n bytes of content to a multiple
// of 8, which the spec recommends for alignment (section 3.3).
func padding(n int) int { return -n & 7 }

// AppendRecord appends one record with the given content (at most
// MaxContent bytes) and 8-byte alignment padding to dst.
func AppendRecord(dst []byte, t RecType, id uint16, content []byte) []byte {
	if len(content) > MaxContent {
		panic("fastcgi: record content over 65535 bytes")
	}
	p := padding(len(content))
	dst = append(dst, Version1, byte(t), byte(id>>8), byte(id), byte(len(content)>>8), byte(len(content)), byte(p), 0)
	dst = append(dst, content...)
	return append(dst, zeros[:p]...)
}

var zeros [8]byte

// AppendStream appends data as a stream of records of type t, split at
// MaxContent, followed by the empty record that ends the stream.
func AppendStream(dst []byte, t RecType, id uint16, data []byte) []byte {
	for len(data) > 0 {
		n := min(len(data), MaxContent)
		dst = AppendRecord(dst, t, id, data[:n])
		data = data[n:]
	}
	return AppendRecord(dst, t, id, nil)
}

// AppendBeginRequest appends a BEGIN_REQUEST record (section 5.1):
//
//	01 01 00 01 00 08 00 00 | 00 01 01 00 00 00 00 00
//	                          role=1  flags=KEEP_CONN
func AppendBeginRequest(dst []byte, id uint16, role Role, flags uint8) []byte {
	body := [8]byte{byte(role >> 8), byte(role), flags}
	return AppendRecord(dst, TypeBeginRequest, id, body[:])
}

// AppendEndRequest appends an END_REQUEST record (section 5.5):
//
//	01 03 00 01 00 08 00 00 | 00 00 00 00 00 00 00 00
//	                          appStatus=0 protocolStatus=REQUEST_COMPLETE
func AppendEndRequest(dst []byte, id uint16, appStatus uint32, protocolStatus uint8) []byte {
	var body [8]byte
	binary.BigEndian.PutUint32(body[:], appStatus)
	body[4] = protocolStatus
	return AppendRecord(dst, TypeEndRequest, id, body[:])
}

// Record is a decoded record. Content aliases the reader's buffer.
type Record struct {
	Header
	Content []byte
}

// ReadRecord reads one whole record from r into buf (grown as needed) and
// returns it; the record's content aliases buf. It returns io.EOF only when r
// ends before the first byte of a record, and io.ErrUnexpectedEOF when it ends
// inside one. It is the simple reader used by the client; the server side
// reads records incrementally (Conn).
func ReadRecord(r io.Reader, buf []byte) (Record, []byte, error) {
	if cap(buf) < HeaderLen {
		buf = make([]byte, 0, 4096)
	}
	buf = buf[:HeaderLen]
	if _, err := io.ReadFull(r, buf); err != nil {
		return Record{}, buf, err
	}
	h := ParseHeader(buf)
	if h.Version != Version1 {
		return Record{}, buf, fmt.Errorf("fastcgi: version %d, want %d", h.Version, Version1)
	}
	n := int(h.ContentLength) + int(h.PaddingLength)
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Record{}, buf, err
	}
	return Record{Header: h, Content: buf[:h.ContentLength]}, buf, nil
}
