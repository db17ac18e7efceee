// Package docs holds the reading-along pages, one per chapter. Pages pull
// code from the real source by named anchors and the chapter's output from a
// real run, so they cannot drift from the code; this test checks that every
// reference on a page resolves.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	// {{#include ../chapters/01/worker.go:accept-loop}}: a region of a source
	// file between "// ANCHOR: accept-loop" and "// ANCHOR_END: accept-loop".
	includeRe = regexp.MustCompile(`\{\{#include ([^:}]+):([\w-]+)\}\}`)
	// {{#output 01}}: the output of go run ./chapters/01 -quick.
	outputRe = regexp.MustCompile(`\{\{#output (\d\d)\}\}`)
)

func TestEveryReferenceResolves(t *testing.T) {
	pages, err := filepath.Glob("*.md")
	if err != nil || len(pages) == 0 {
		t.Fatalf("no pages: %v", err)
	}
	for _, page := range pages {
		text, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range includeRe.FindAllStringSubmatch(string(text), -1) {
			src, err := os.ReadFile(m[1])
			if err != nil {
				t.Errorf("%s: %s: %v", page, m[0], err)
				continue
			}
			s := string(src)
			begin, end := "// ANCHOR: "+m[2]+"\n", "// ANCHOR_END: "+m[2]+"\n"
			i, j := strings.Index(s, begin), strings.Index(s, end)
			if i < 0 || j < i {
				t.Errorf("%s: %s: no anchor %q in %s", page, m[0], m[2], m[1])
			}
		}
		for _, m := range outputRe.FindAllStringSubmatch(string(text), -1) {
			if _, err := os.Stat(filepath.Join("..", "chapters", m[1], "main.go")); err != nil {
				t.Errorf("%s: %s: no chapter %s", page, m[0], m[1])
			}
		}
	}
}

func TestEveryChapterHasAPage(t *testing.T) {
	chapters, _ := filepath.Glob("../chapters/[0-9][0-9]")
	for _, dir := range chapters {
		n := filepath.Base(dir)
		if pages, _ := filepath.Glob(n + "-*.md"); len(pages) != 1 {
			t.Errorf("chapter %s has %d pages named %s-*.md, want 1", n, len(pages), n)
		}
	}
}
