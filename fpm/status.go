package fpm

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/corofpm/corofpm/fpm/scoreboard"
)

// statusTime is how php-fpm's status page writes a time.
const statusTime = "02/Jan/2006:15:04:05 -0700"

// field is one line of the status page: php-fpm's name for it, its value,
// and for the pool's figures the OpenMetrics type and help.
type field struct {
	name   string
	value  any
	metric string // "gauge" or "counter"; "" for no metric
	help   string
}

// poolFields are the pool's figures, in php-fpm's order and words.
func poolFields(p scoreboard.Pool, asJSON bool) []field {
	start := any(p.StartTime.Format(statusTime))
	if asJSON {
		start = p.StartTime.Unix()
	}
	return []field{
		{"pool", p.Name, "", ""},
		{"process manager", p.ProcessManager, "", ""},
		{"start time", start, "", ""},
		{"start since", int(p.StartSince.Seconds()), "counter", "Seconds since the pool started."},
		{"accepted conn", p.AcceptedConn, "counter", "Requests the pool has accepted."},
		{"listen queue", p.ListenQueue, "gauge", "Connections waiting in the listening socket's queue."},
		{"max listen queue", p.MaxListenQueue, "counter", "The longest the queue has been since the pool started."},
		{"listen queue len", p.ListenQueueLen, "gauge", "The size of the listening socket's queue (its backlog)."},
		{"idle processes", p.IdleProcesses, "gauge", "Workers waiting for a request."},
		{"active processes", p.ActiveProcesses, "gauge", "Workers serving a request."},
		{"total processes", p.TotalProcesses, "gauge", "Idle and active workers."},
		{"max active processes", p.MaxActiveProcesses, "counter", "The most workers active at once since the pool started."},
		{"max children reached", p.MaxChildrenReached, "counter", "Times the process manager wanted a worker beyond pm.max_children."},
		{"slow requests", p.SlowRequests, "counter", "Requests that ran past request_slowlog_timeout."},
	}
}

// slotFields are one process's (one in-flight request's) figures.
func slotFields(s scoreboard.SlotView, asJSON bool) []field {
	start := any(s.StartTime.Format(statusTime))
	if asJSON {
		start = s.StartTime.Unix()
	}
	uri := "request URI"
	if asJSON {
		uri = "request uri"
	}
	return []field{
		{"pid", s.PID, "", ""},
		{"state", s.Stage.String(), "", ""},
		{"start time", start, "", ""},
		{"start since", int(time.Since(s.StartTime).Seconds()), "", ""},
		{"requests", s.Requests, "", ""},
		{"request duration", s.RequestDuration.Microseconds(), "", ""},
		{"request method", orDash(s.Method), "", ""},
		{uri, orDash(s.URI), "", ""},
		{"content length", s.ContentLength, "", ""},
		{"user", orDash(s.User), "", ""},
		{"script", orDash(s.Script), "", ""},
		{"last request cpu", cpuPercent(s, asJSON), "", ""},
		{"last request memory", s.Memory, "", ""},
	}
}

// statusFormat picks the page's format from the query string, as php-fpm:
// ?json, ?xml, ?openmetrics, else text; ?full adds the processes.
func statusFormat(query string) (format, contentType string) {
	for _, f := range []struct{ name, ctype string }{
		{"json", "application/json"},
		{"xml", "text/xml"},
		{"openmetrics", "application/openmetrics-text; version=1.0.0; charset=utf-8"},
	} {
		if hasFlag(query, f.name) {
			return f.name, f.ctype
		}
	}
	return "text", "text/plain"
}

// writeStatus writes the pool's status page (pm.status_path) from the
// scoreboard, with php-fpm's field names and formats, so that the tools
// that scrape php-fpm's page (monitoring agents, exporters) read this one.
func writeStatus(w io.Writer, b *scoreboard.Board, query string) error {
	format, _ := statusFormat(query)
	asJSON := format == "json"
	pool := poolFields(b.Pool(), asJSON)
	var procs [][]field
	if hasFlag(query, "full") && format != "openmetrics" {
		for _, s := range b.Snapshot() {
			procs = append(procs, slotFields(s, asJSON))
		}
	}
	var sb strings.Builder
	switch format {
	case "json":
		return writeJSON(w, pool, procs, hasFlag(query, "full"))
	case "xml":
		sb.WriteString("<?xml version=\"1.0\" ?>\n<status>\n")
		writeXML(&sb, pool)
		if procs != nil {
			sb.WriteString("<processes>\n")
			for _, p := range procs {
				sb.WriteString("<process>\n")
				writeXML(&sb, p)
				sb.WriteString("</process>\n")
			}
			sb.WriteString("</processes>\n")
		}
		sb.WriteString("</status>\n")
	case "openmetrics":
		writeOpenMetrics(&sb, pool)
	default:
		writeText(&sb, pool)
		for _, p := range procs {
			sb.WriteString("\n************************\n")
			writeText(&sb, p)
		}
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// writeText aligns "name:" in a 22-wide column, as php-fpm does.
func writeText(sb *strings.Builder, fields []field) {
	for _, f := range fields {
		fmt.Fprintf(sb, "%-22s%v\n", f.name+":", f.value)
	}
}

// writeXML writes each field as an element named by its words joined with
// dashes: <accepted-conn>12</accepted-conn>.
func writeXML(sb *strings.Builder, fields []field) {
	for _, f := range fields {
		tag := strings.ReplaceAll(strings.ToLower(f.name), " ", "-")
		fmt.Fprintf(sb, "<%s>", tag)
		xml.EscapeText(sb, []byte(fmt.Sprint(f.value)))
		fmt.Fprintf(sb, "</%s>\n", tag)
	}
}

// writeOpenMetrics writes the pool's figures as php-fpm's phpfpm_* metrics.
func writeOpenMetrics(sb *strings.Builder, fields []field) {
	pool, pm := fields[0].value, fields[1].value
	fmt.Fprintf(sb, "# HELP phpfpm_up Whether pool %v (pm %v) answered.\n# TYPE phpfpm_up gauge\nphpfpm_up 1\n", pool, pm)
	for _, f := range fields {
		if f.metric == "" {
			continue
		}
		name := "phpfpm_" + strings.ReplaceAll(f.name, " ", "_")
		switch f.name {
		case "accepted conn":
			name = "phpfpm_accepted_connections"
		case "listen queue len":
			name = "phpfpm_listen_queue_length"
		}
		fmt.Fprintf(sb, "# HELP %s %s\n# TYPE %s %s\n%s %v\n", name, f.help, name, f.metric, name, f.value)
	}
	sb.WriteString("# EOF\n")
}

func writeJSON(w io.Writer, pool []field, procs [][]field, full bool) error {
	out := map[string]any{}
	for _, f := range pool {
		out[f.name] = f.value
	}
	if full {
		list := []map[string]any{}
		for _, p := range procs {
			m := map[string]any{}
			for _, f := range p {
				m[f.name] = f.value
			}
			list = append(list, m)
		}
		out["processes"] = list
	}
	return json.NewEncoder(w).Encode(out)
}

// cpuPercent is php-fpm's "last request cpu": CPU time over wall time of
// the last request, in percent, 0 while one runs; text shows two decimals.
func cpuPercent(s scoreboard.SlotView, asNumber bool) any {
	pct := 0.0
	if !(s.Stage.Busy() && s.Stage < scoreboard.Ending) && s.RequestDuration > 0 {
		pct = 100 * s.CPU.Seconds() / s.RequestDuration.Seconds()
	}
	if asNumber {
		return pct
	}
	return fmt.Sprintf("%.2f", pct)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// hasFlag reports whether a query string has the bare word flag
// ("full&json", "json", "full=1").
func hasFlag(query, flag string) bool {
	for item := range strings.SplitSeq(query, "&") {
		if name, _, _ := strings.Cut(item, "="); name == flag {
			return true
		}
	}
	return false
}
