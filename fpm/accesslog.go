package fpm

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/corofpm/corofpm/net/fastcgi"
)

// defaultAccessFormat is php-fpm's default access.format.
const defaultAccessFormat = `%R - %u %t "%m %r%Q%q" %s`

// served is what the access log may say of one finished request.
type served struct {
	req      *fastcgi.Request
	pool     string
	status   int
	began    time.Time
	duration time.Duration
	cpu      time.Duration
	memory   uint64
}

// formatAccess expands an access.format line, php-fpm's directives:
//
//	%C CPU in percent        %d duration (%{seconds|milli|micro}d)
//	%e a FastCGI param %{NAME}e  %f script filename   %l content length
//	%m method   %M peak memory (%{kilo|mega}M)   %n pool   %p pid   %P ppid
//	%q query string   %Q '?' if there is one   %r request URI without it
//	%R remote address   %s status   %t start time   %T end time   %u user
//
// An unknown directive is written as it is, so a typo shows in the log.
func formatAccess(format string, s served) string {
	var b strings.Builder
	p := s.req.Params
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 == len(format) {
			b.WriteByte(format[i])
			continue
		}
		i++
		arg := ""
		if format[i] == '{' {
			end := strings.IndexByte(format[i:], '}')
			if end < 0 || i+end+1 >= len(format) {
				b.WriteString(format[i-1:])
				break
			}
			arg = format[i+1 : i+end]
			i += end + 1
		}
		switch format[i] {
		case '%':
			b.WriteByte('%')
		case 'C':
			pct := 0.0
			if s.duration > 0 {
				pct = 100 * s.cpu.Seconds() / s.duration.Seconds()
			}
			fmt.Fprintf(&b, "%.2f", pct)
		case 'd':
			switch arg {
			case "seconds":
				fmt.Fprintf(&b, "%.3f", s.duration.Seconds())
			case "milliseconds", "milli", "mili":
				fmt.Fprintf(&b, "%.3f", float64(s.duration.Microseconds())/1000)
			default:
				b.WriteString(strconv.FormatInt(s.duration.Microseconds(), 10))
			}
		case 'e':
			b.WriteString(orDash(p.Get(arg)))
		case 'f':
			b.WriteString(orDash(p.Get("SCRIPT_FILENAME")))
		case 'l':
			b.WriteString(orDash(p.Get("CONTENT_LENGTH")))
		case 'm':
			b.WriteString(orDash(p.Get("REQUEST_METHOD")))
		case 'M':
			switch arg {
			case "kilo", "kilobytes":
				b.WriteString(strconv.FormatUint(s.memory/1024, 10))
			case "mega", "megabytes":
				b.WriteString(strconv.FormatUint(s.memory/(1024*1024), 10))
			default:
				b.WriteString(strconv.FormatUint(s.memory, 10))
			}
		case 'n':
			b.WriteString(s.pool)
		case 'p':
			b.WriteString(strconv.Itoa(os.Getpid()))
		case 'P':
			b.WriteString(strconv.Itoa(os.Getppid()))
		case 'q':
			b.WriteString(p.Get("QUERY_STRING"))
		case 'Q':
			if p.Get("QUERY_STRING") != "" {
				b.WriteByte('?')
			}
		case 'r':
			uri, _, _ := strings.Cut(p.Get("REQUEST_URI"), "?")
			b.WriteString(orDash(uri))
		case 'R':
			b.WriteString(orDash(p.Get("REMOTE_ADDR")))
		case 's':
			b.WriteString(strconv.Itoa(s.status))
		case 't':
			b.WriteString(s.began.Format(statusTime))
		case 'T':
			b.WriteString(s.began.Add(s.duration).Format(statusTime))
		case 'u':
			b.WriteString(orDash(p.Get("REMOTE_USER")))
		default:
			b.WriteByte('%')
			if arg != "" {
				b.WriteString("{" + arg + "}")
			}
			b.WriteByte(format[i])
		}
	}
	b.WriteByte('\n')
	return b.String()
}
