package site

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// chapterTimeout bounds one chapter's -quick run, which takes under 10 s
// when all is well: a hung chapter fails the build instead of stalling it.
const chapterTimeout = 60 * time.Second

// RunChapters builds the chapters with one go build and runs each one
// with -quick, one after another (they measure, and would disturb each
// other), with NO_COLOR=1: the page shows what the program printed, stdout
// and stderr interleaved as a terminal shows them. A chapter that fails
// fails the build, with the end of what it printed.
func RunChapters(root string, numbers []string) (map[string]string, error) {
	out := map[string]string{}
	if len(numbers) == 0 {
		return out, nil
	}
	bin, err := os.MkdirTemp("", "corofpm-site-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(bin)
	build := exec.Command("go", "build", "-o", bin+string(filepath.Separator))
	for _, nn := range numbers {
		build.Args = append(build.Args, "./chapters/"+nn)
	}
	build.Dir = root
	if msg, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build the chapters: %w\n%s", err, msg)
	}
	for _, nn := range numbers {
		fmt.Fprintf(os.Stderr, "site: go run ./chapters/%s -quick\n", nn)
		text, err := runChapter(root, filepath.Join(bin, nn))
		if err != nil {
			return nil, fmt.Errorf("chapter %s -quick: %w\n%s", nn, err, lastLines(text, 20))
		}
		out[nn] = text
	}
	return out, nil
}

// runChapter runs one chapter binary from the repository's root, as a
// reader's go run does. It runs in its own process group, so that a
// timeout ends the chapter and any child it left.
func runChapter(root, bin string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), chapterTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-quick")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("no exit within %v", chapterTimeout)
	}
	return b.String(), err
}

// Placeholders stands in for RunChapters where a build must be fast (the
// tests, a writer checking a page's layout): each output is a line saying
// what would be there.
func Placeholders(root string, numbers []string) (map[string]string, error) {
	out := map[string]string{}
	for _, nn := range numbers {
		out[nn] = fmt.Sprintf("(the output of go run ./chapters/%s -quick goes here: this site was built without running the chapters)", nn)
	}
	return out, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
