package fpm

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/corofpm/corofpm/fpm/scoreboard"
)

// statusTime is how php-fpm's status page writes a time.
const statusTime = "02/Jan/2006:15:04:05 -0700"

// writeStatus writes the pool's status page (pm.status_path) from the
// scoreboard, in php-fpm's text layout and field names, or as JSON with
// ?json; ?full adds one block per process. Tools that scrape php-fpm's
// page (monitoring agents, exporters) read this one too.
func writeStatus(w io.Writer, b *scoreboard.Board, query string) error {
	full := hasFlag(query, "full")
	pool := b.Pool()
	var procs []scoreboard.SlotView
	if full {
		procs = b.Snapshot()
	}
	if hasFlag(query, "json") {
		return json.NewEncoder(w).Encode(statusJSON(pool, procs, full))
	}
	fields := [][2]any{
		{"pool", pool.Name},
		{"process manager", pool.ProcessManager},
		{"start time", pool.StartTime.Format(statusTime)},
		{"start since", int(pool.StartSince.Seconds())},
		{"accepted conn", pool.AcceptedConn},
		{"listen queue", pool.ListenQueue},
		{"max listen queue", pool.MaxListenQueue},
		{"listen queue len", pool.ListenQueueLen},
		{"idle processes", pool.IdleProcesses},
		{"active processes", pool.ActiveProcesses},
		{"total processes", pool.TotalProcesses},
		{"max active processes", pool.MaxActiveProcesses},
		{"max children reached", pool.MaxChildrenReached},
		{"slow requests", pool.SlowRequests},
	}
	var sb strings.Builder
	writeFields(&sb, fields)
	for _, p := range procs {
		sb.WriteString("\n************************\n")
		writeFields(&sb, [][2]any{
			{"pid", p.PID},
			{"state", p.Stage},
			{"start time", p.StartTime.Format(statusTime)},
			{"start since", int(time.Since(p.StartTime).Seconds())},
			{"requests", p.Requests},
			{"request duration", p.RequestDuration.Microseconds()},
			{"request method", orDash(p.Method)},
			{"request URI", orDash(p.URI)},
			{"content length", p.ContentLength},
			{"user", orDash(p.User)},
			{"script", orDash(p.Script)},
			{"last request cpu", fmt.Sprintf("%.2f", cpuPercent(p))},
			{"last request memory", p.Memory},
		})
	}
	_, err := io.WriteString(w, sb.String())
	return err
}

// writeFields aligns "name:" in a 22-wide column, as php-fpm does.
func writeFields(sb *strings.Builder, fields [][2]any) {
	for _, f := range fields {
		fmt.Fprintf(sb, "%-22s%v\n", f[0].(string)+":", f[1])
	}
}

func statusJSON(pool scoreboard.Pool, procs []scoreboard.SlotView, full bool) map[string]any {
	out := map[string]any{
		"pool":                 pool.Name,
		"process manager":      pool.ProcessManager,
		"start time":           pool.StartTime.Unix(),
		"start since":          int(pool.StartSince.Seconds()),
		"accepted conn":        pool.AcceptedConn,
		"listen queue":         pool.ListenQueue,
		"max listen queue":     pool.MaxListenQueue,
		"listen queue len":     pool.ListenQueueLen,
		"idle processes":       pool.IdleProcesses,
		"active processes":     pool.ActiveProcesses,
		"total processes":      pool.TotalProcesses,
		"max active processes": pool.MaxActiveProcesses,
		"max children reached": pool.MaxChildrenReached,
		"slow requests":        pool.SlowRequests,
	}
	if !full {
		return out
	}
	list := []map[string]any{}
	for _, p := range procs {
		list = append(list, map[string]any{
			"pid":                 p.PID,
			"state":               p.Stage.String(),
			"start time":          p.StartTime.Unix(),
			"start since":         int(time.Since(p.StartTime).Seconds()),
			"requests":            p.Requests,
			"request duration":    p.RequestDuration.Microseconds(),
			"request method":      orDash(p.Method),
			"request uri":         orDash(p.URI),
			"content length":      p.ContentLength,
			"user":                orDash(p.User),
			"script":              orDash(p.Script),
			"last request cpu":    cpuPercent(p),
			"last request memory": p.Memory,
		})
	}
	out["processes"] = list
	return out
}

// cpuPercent is php-fpm's "last request cpu": CPU time over wall time of
// the last request, in percent (0 while one runs).
func cpuPercent(p scoreboard.SlotView) float64 {
	if p.Stage.Busy() && p.Stage < scoreboard.Ending || p.RequestDuration <= 0 {
		return 0
	}
	return 100 * p.CPU.Seconds() / p.RequestDuration.Seconds()
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
