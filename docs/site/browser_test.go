package site

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corofpm/corofpm/tutorial/peer"
)

// browser is a headless Chromium driven over the DevTools protocol on a
// pair of pipes (--remote-debugging-pipe: JSON messages, each ended by a
// NUL byte, commands on its fd 3, answers and events on its fd 4). No
// websocket, no port: the protocol is what lets the test see what a reader's
// browser would report, console errors and failed loads included, which
// Chromium's log does not show.
type browser struct {
	cmd  *exec.Cmd
	in   *os.File // we write commands here; Chromium reads them as fd 3
	next int      // the id of the next command

	mu      sync.Mutex
	waiting map[int]chan cdpMessage
	events  chan cdpMessage
}

// cdpMessage is a command's answer (ID set) or an event (Method set).
type cdpMessage struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct{ Message string }
	SessionID string `json:"sessionId,omitempty"`
}

// startBrowser starts Chromium, or skips (fails under CI=true) when it is
// not installed. Cleanup closes it and ends its whole process group.
func startBrowser(t *testing.T) *browser {
	t.Helper()
	peer.Need(t, "chromium")
	path, _ := peer.Look("chromium")
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	evR, evW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"--headless", "--disable-gpu", "--remote-debugging-pipe",
		"--user-data-dir=" + t.TempDir(), "--window-size=1280,900", "--hide-scrollbars"}
	if os.Geteuid() == 0 {
		args = append(args, "--no-sandbox") // Chromium refuses to run as root with its sandbox
	}
	b := &browser{cmd: exec.Command(path, args...), in: cmdW, next: 1,
		waiting: map[int]chan cdpMessage{}, events: make(chan cdpMessage, 1024)}
	b.cmd.ExtraFiles = []*os.File{cmdR, evW}
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var stderr bytes.Buffer
	b.cmd.Stderr = &stderr
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmdR.Close()
	evW.Close()
	go b.read(evR)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = b.call(ctx, "", "Browser.close", nil)
		done := make(chan struct{})
		go func() { _ = b.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Logf("chromium did not exit after Browser.close; killing its group\n%s", stderr.String())
		}
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL) // its zygote and renderers too
		<-done
		cmdW.Close()
		evR.Close()
	})
	return b
}

// read dispatches what Chromium writes: answers to their callers, events
// to the events channel.
func (b *browser) read(r *os.File) {
	br := bufio.NewReader(r)
	for {
		raw, err := br.ReadBytes(0)
		if err != nil {
			close(b.events)
			return
		}
		var m cdpMessage
		if json.Unmarshal(raw[:len(raw)-1], &m) != nil {
			continue
		}
		if m.ID != 0 {
			b.mu.Lock()
			ch := b.waiting[m.ID]
			delete(b.waiting, m.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- m
			}
			continue
		}
		select {
		case b.events <- m:
		default: // nobody listens for this many; the page is misbehaving anyway
		}
	}
}

// call sends one command, to the browser (session "") or to a page's
// session, and waits for its answer.
func (b *browser) call(ctx context.Context, session, method string, params any) (json.RawMessage, error) {
	b.mu.Lock()
	id := b.next
	b.next++
	ch := make(chan cdpMessage, 1)
	b.waiting[id] = ch
	b.mu.Unlock()
	msg, err := json.Marshal(map[string]any{"id": id, "method": method, "params": params, "sessionId": session})
	if err != nil {
		return nil, err
	}
	if _, err := b.in.Write(append(msg, 0)); err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return nil, fmt.Errorf("%s: %s", method, m.Error.Message)
		}
		return m.Result, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: no answer: %w", method, ctx.Err())
	}
}

// load opens url in a new tab, waits for its load event, and returns a
// screenshot and every problem the page reported: an uncaught exception, a
// console error, a resource that failed to load or answered >= 400.
func (b *browser) load(ctx context.Context, url string) (png []byte, problems []string, err error) {
	res, err := b.call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"})
	if err != nil {
		return nil, nil, err
	}
	var target struct{ TargetID string }
	if err := json.Unmarshal(res, &target); err != nil {
		return nil, nil, err
	}
	res, err = b.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true})
	if err != nil {
		return nil, nil, err
	}
	var attached struct{ SessionID string }
	if err := json.Unmarshal(res, &attached); err != nil {
		return nil, nil, err
	}
	s := attached.SessionID
	for _, domain := range []string{"Runtime", "Log", "Network", "Page"} {
		if _, err := b.call(ctx, s, domain+".enable", nil); err != nil {
			return nil, nil, err
		}
	}
	if _, err := b.call(ctx, s, "Page.navigate", map[string]any{"url": url}); err != nil {
		return nil, nil, err
	}
	for loaded := false; !loaded; {
		select {
		case m, ok := <-b.events:
			if !ok {
				return nil, problems, fmt.Errorf("chromium exited while loading %s", url)
			}
			if m.SessionID != s {
				continue
			}
			if m.Method == "Page.loadEventFired" {
				loaded = true
			} else if p := problem(m); p != "" {
				problems = append(problems, p)
			}
		case <-ctx.Done():
			return nil, problems, fmt.Errorf("%s: no load event: %w", url, ctx.Err())
		}
	}
	res, err = b.call(ctx, s, "Page.captureScreenshot", map[string]any{"format": "png"})
	if err != nil {
		return nil, problems, err
	}
	var shot struct{ Data string }
	if err := json.Unmarshal(res, &shot); err != nil {
		return nil, problems, err
	}
	png, err = base64.StdEncoding.DecodeString(shot.Data)
	// Events that arrived while the screenshot was taken count too.
	for drained := false; !drained; {
		select {
		case m := <-b.events:
			if p := problem(m); m.SessionID == s && p != "" {
				problems = append(problems, p)
			}
		default:
			drained = true
		}
	}
	return png, problems, err
}

// problem describes an event that a reader's browser would show as an
// error, or returns "".
func problem(m cdpMessage) string {
	var p struct {
		Type             string // Runtime.consoleAPICalled
		ExceptionDetails struct {
			Text      string
			Exception struct{ Description string }
		}
		Entry     struct{ Level, Text, URL string } // Log.entryAdded
		ErrorText string                            // Network.loadingFailed
		Response  struct {                          // Network.responseReceived
			URL    string
			Status int
		}
	}
	_ = json.Unmarshal(m.Params, &p)
	switch {
	case m.Method == "Runtime.exceptionThrown":
		return "uncaught: " + p.ExceptionDetails.Text + " " + p.ExceptionDetails.Exception.Description
	case m.Method == "Runtime.consoleAPICalled" && (p.Type == "error" || p.Type == "assert"):
		return "console." + p.Type + ": " + strings.TrimSpace(string(m.Params))
	case m.Method == "Log.entryAdded" && p.Entry.Level == "error":
		return "error: " + p.Entry.Text + " " + p.Entry.URL
	case m.Method == "Network.loadingFailed":
		return "failed to load: " + p.ErrorText
	case m.Method == "Network.responseReceived" && p.Response.Status >= 400:
		return fmt.Sprintf("%s: HTTP %d", p.Response.URL, p.Response.Status)
	}
	return ""
}
