package main

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/corofpm/corofpm/net/fastcgi"
	"github.com/corofpm/corofpm/tutorial/narrator"
)

// showRecords prints each record of one request as the worker saw it.
func showRecords(n *narrator.Narrator, recs []record) {
	n.Say("the records of that request, as the worker read and wrote them:")
	t := n.Table("dir", "type", "id", "content", "padding", "what")
	for _, r := range recs {
		dir := "nginx → worker"
		if !r.In {
			dir = "worker → nginx"
		}
		t.Row(dir, r.Header.Type.String(), int(r.Header.RequestID), int(r.Header.ContentLength), int(r.Header.PaddingLength), describe(r))
	}
	t.Print()
}

// describe says in a few words what a record carries.
func describe(r record) string {
	c := r.Content
	switch r.Header.Type {
	case fastcgi.TypeBeginRequest:
		role := binary.BigEndian.Uint16(c)
		keep := "close after"
		if c[2]&fastcgi.FlagKeepConn != 0 {
			keep = "KEEP_CONN"
		}
		return fmt.Sprintf("role %d (RESPONDER), %s", role, keep)
	case fastcgi.TypeParams, fastcgi.TypeStdin, fastcgi.TypeStdout, fastcgi.TypeStderr:
		if len(c) == 0 {
			return "empty: end of the stream"
		}
		if r.Header.Type == fastcgi.TypeParams {
			return "name-value pairs"
		}
		return shorten(strconv.Quote(string(c)), 44)
	case fastcgi.TypeEndRequest:
		return fmt.Sprintf("appStatus %d, protocolStatus %d", binary.BigEndian.Uint32(c), c[4])
	}
	return ""
}

func shorten(s string, max int) string {
	if len(s) <= max {
		return s
	}
	return s[:max-3] + "..."
}

// paramsOf decodes the PARAMS stream among the records.
func paramsOf(recs []record) []fastcgi.Pair {
	var stream []byte
	for _, r := range recs {
		if r.In && r.Header.Type == fastcgi.TypeParams {
			stream = append(stream, r.Content...)
		}
	}
	pairs, _ := fastcgi.DecodePairs(stream) // the worker already decoded it once
	return pairs
}

// showParams prints the CGI environment nginx sent.
func showParams(n *narrator.Narrator, pairs []fastcgi.Pair, all bool) {
	n.Say("the params (the CGI environment a PHP script finds in $_SERVER):")
	t := n.Table("name", "value")
	for _, p := range pairs {
		if all || len(p.Value) > 0 {
			t.Row(p.Name, p.Value)
		}
	}
	t.Print()
	if !all {
		n.Say("(empty values left out; -v shows all %d)", len(pairs))
	}
}
