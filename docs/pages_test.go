// Package docs holds the reading-along pages, one per chapter. Pages pull
// code from the real source by named anchors and the chapter's output from a
// real run, so they cannot drift from the code; this test checks that every
// reference on a page resolves. The site is built by package docs/site,
// whose tests build it from these pages and read it in a browser.
package docs

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/corofpm/corofpm/docs/site"
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
		// The site's own reader, so that what passes here builds there.
		for _, m := range site.IncludeRe.FindAllStringSubmatch(string(text), -1) {
			if _, err := site.Include(m[1], m[2]); err != nil {
				t.Errorf("%s: %s: %v", page, m[0], err)
			}
		}
		for _, m := range site.OutputRe.FindAllStringSubmatch(string(text), -1) {
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
