package main

import (
	"strconv"
	"time"

	"github.com/corofpm/corofpm/fpm/script"
	"github.com/corofpm/corofpm/net/fastcgi"
)

// scripts are the pools' scripts: the defaults (/hello.php, /sleep.php,
// /info.php, /upstream.php) and /whoami.php. It must be a *script.Table:
// a coroutine worker gives the same scripts its own IO with WithIO, so
// that their Sleep and Get park the request's coroutine instead of the
// process.
func scripts() *script.Table {
	t := script.Default(script.Blocking{}, "")
	t.Handle("/whoami.php", whoami)
	return t
}

// ANCHOR: whoami
// current is the request the worker is serving, kept where PHP code too
// often keeps it: in a global (a static property, a singleton's "current
// user", or $_GET itself in a Swoole server). A process has one, and
// every coroutine of a coroutine worker runs in that process.
var current string

// whoami is /whoami.php?id=N&ms=M: it notes its id in the global, waits M
// ms on IO (a query, an API call), then answers with the id the global
// holds now and the id its own request holds. r is this request's own: a
// script.Request around the fastcgi.Request that the worker read for it,
// in the coroutine that serves it.
func whoami(w *fastcgi.Response, r *script.Request) {
	current = r.Query("id")
	ms, _ := strconv.Atoi(r.Query("ms"))
	r.Sleep(time.Duration(ms) * time.Millisecond)
	w.SetHeader("Content-Type", "text/plain")
	w.WriteString("global=" + current + " own=" + r.Query("id") + "\n")
}

// ANCHOR_END: whoami
