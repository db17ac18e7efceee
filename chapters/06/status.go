package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/corofpm/corofpm/tutorial/narrator"
)

// statusJSON is the pool part of php-fpm's status page in JSON (?json),
// with its field names.
type statusJSON struct {
	Pool               string `json:"pool"`
	ProcessManager     string `json:"process manager"`
	AcceptedConn       uint64 `json:"accepted conn"`
	ListenQueue        int    `json:"listen queue"`
	MaxListenQueue     int    `json:"max listen queue"`
	IdleProcesses      int    `json:"idle processes"`
	ActiveProcesses    int    `json:"active processes"`
	TotalProcesses     int    `json:"total processes"`
	MaxActiveProcesses int    `json:"max active processes"`
	MaxChildrenReached uint64 `json:"max children reached"`
	SlowRequests       uint64 `json:"slow requests"`
}

// statusResult is what step 4 read.
type statusResult struct {
	Text, Full string
	JSON       statusJSON
	// Expected is the accepted conn the load accounts for when ?json was
	// asked: every request sent, and the status requests so far.
	Expected uint64
	// Blocks is how many process blocks ?full listed.
	Blocks int
	// Board is the accepted conn read from the scoreboard itself after
	// the ?full request.
	Board uint64
}

// status runs step 4: the status page three ways, checked against the
// load of step 3.
func status(n *narrator.Narrator, l *lab, cfg settings, lr liveResult) (res statusResult, err error) {
	client := &http.Client{Timeout: 10 * time.Second}
	url := l.ngx.URL("/status.php")
	if res.Text, err = fetch(client, url); err != nil {
		return res, err
	}
	n.Say("curl %s", url)
	n.Say("%s", indentText(res.Text))

	body, err := fetch(client, url+"?json")
	if err != nil {
		return res, err
	}
	if err := json.Unmarshal([]byte(body), &res.JSON); err != nil {
		return res, fmt.Errorf("status ?json: %w: %s", err, body)
	}
	res.Expected = uint64(lr.Sent + lr.Dawdled + 2)
	j := res.JSON
	n.Say("curl %s?json, parsed, beside what the load of step 3 accounts for:", url)
	t := n.Table("figure", "status page", "expected", "because")
	t.Row("accepted conn", j.AcceptedConn, res.Expected,
		fmt.Sprintf("%d via nginx + %d direct + 2 status requests, this one included", lr.Sent, lr.Dawdled))
	t.Row("total processes", j.TotalProcesses, 4, "pm = static, pm.max_children = 4")
	t.Row("idle + active", j.IdleProcesses+j.ActiveProcesses, 4, "every process is one or the other")
	t.Row("max active processes", j.MaxActiveProcesses, "1..4", "the master's highest count, once per heartbeat")
	t.Row("slow requests", j.SlowRequests, lr.Slow, fmt.Sprintf("requests sleeping over request_slowlog_timeout = %s", cfg.slowlog))
	t.Row("max children reached", j.MaxChildrenReached, 0, "a static pool never wants more")
	t.Print()

	if res.Full, err = fetch(client, url+"?full"); err != nil {
		return res, err
	}
	blocks := strings.Split(res.Full, "\n************************\n")
	res.Blocks = len(blocks) - 1
	res.Board = l.board.Pool().AcceptedConn
	n.Say("curl %s?full adds one block per process, %d here; the first:", url, res.Blocks)
	if res.Blocks > 0 {
		n.Say("%s", indentText(blocks[1]))
	}
	n.Say("the scoreboard read straight from the memfd now says accepted conn %d: the ?full request was one more", res.Board)
	return res, nil
}

func fetch(client *http.Client, url string) (string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(b), err
}

// indentText indents a page two more spaces under the narration.
func indentText(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}
