// Package fastcgi implements FastCGI 1.0, the protocol between a web server
// (nginx's fastcgi_pass) and an application server such as php-fpm.
//
// The specification is "FastCGI Specification", Mark R. Brown, Open Market,
// 1996; section numbers in comments refer to it.
//
// A FastCGI connection carries records. Each record is an 8-byte header and
// up to 65535 bytes of content, followed by padding:
//
//	01 01 00 01 00 08 00 00   version 1, BEGIN_REQUEST, request id 1, 8 bytes, no padding
//	00 01 01 00 00 00 00 00   role RESPONDER, flags KEEP_CONN
//	01 04 00 01 01 a3 05 00   version 1, PARAMS, request id 1, 419 bytes, 5 bytes padding
//	...                       name-value pairs (SCRIPT_NAME=/hello.php ...)
//	01 04 00 01 00 00 00 00   empty PARAMS: end of the params stream
//	01 05 00 01 00 00 00 00   empty STDIN: end of the request body
//
// The server answers with STDOUT records holding CGI output (headers, a blank
// line, the body), an empty STDOUT record, and END_REQUEST.
//
// The package has four parts: records (record.go), name-value pairs
// (params.go), the server side of a connection (conn.go, response.go,
// serve.go) and a client (client.go). Nothing here starts goroutines or
// chooses how connections are accepted: that is the worker's job, and it
// differs between a blocking worker and a coroutine worker.
package fastcgi
