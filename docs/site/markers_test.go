package site

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const source = `package p

func f() {
	// ANCHOR: loop
	for {
		// ANCHOR: inner
		step()
		// ANCHOR_END: inner
	}
	// ANCHOR_END: loop
}
`

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestInclude(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f.go")
	writeFile(t, file, source)
	got, err := Include(file, "loop")
	if err != nil {
		t.Fatal(err)
	}
	// Nested anchor lines are gone, and the shared tab is removed.
	if want := "for {\n\tstep()\n}"; got != want {
		t.Errorf("Include(loop) = %q, want %q", got, want)
	}
	if got, _ := Include(file, "inner"); got != "step()" {
		t.Errorf("Include(inner) = %q, want %q", got, "step()")
	}

	writeFile(t, filepath.Join(filepath.Dir(file), "twice.go"), source+"// ANCHOR: loop\n")
	for _, tc := range []struct{ file, name, want string }{
		{file, "missing", `no line "// ANCHOR: missing"`},
		{filepath.Join(filepath.Dir(file), "gone.go"), "loop", "no such file"},
		{filepath.Join(filepath.Dir(file), "twice.go"), "loop", "begins twice"},
	} {
		if _, err := Include(tc.file, tc.name); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Include(%s, %s) error = %v, want %q", filepath.Base(tc.file), tc.name, err, tc.want)
		}
	}
}

func TestFenceOutlastsBackticks(t *testing.T) {
	got := fenced("go", "x.go · a", "s := `a`\nt := ```")
	if !strings.HasPrefix(got, "````go x.go · a\n") || !strings.HasSuffix(got, "\n````") {
		t.Errorf("fenced = %q: the fence must be longer than any run of backticks inside", got)
	}
}

// site makes a repository with an index and the given chapter pages.
func site(t *testing.T, pages map[string]string) string {
	t.Helper()
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "docs", "index.md"), "# Book\n\n## Part I — one\n\n{{#chapters 01-09}}\n")
	writeFile(t, filepath.Join(root, "docs", "assets", "site.css"), "")
	writeFile(t, filepath.Join(root, "docs", "assets", "icon.svg"), "<svg/>")
	writeFile(t, filepath.Join(root, "chapters", "01", "f.go"), source)
	for name, text := range pages {
		writeFile(t, filepath.Join(root, "docs", name), text)
	}
	return root
}

// TestBuildFailsOnBrokenReference: a page that names a missing file,
// anchor or chart, a page in no part, or a page without a title does not
// build, and the error says which page and what.
func TestBuildFailsOnBrokenReference(t *testing.T) {
	for _, tc := range []struct{ page, text, want string }{
		{"01-a.md", "# 01\n\n{{#include ../chapters/01/f.go:nope}}\n", `01-a.md: {{#include ../chapters/01/f.go:nope}}`},
		{"01-a.md", "# 01\n\n{{#include ../chapters/01/g.go:loop}}\n", "g.go: no such file"},
		{"01-a.md", "# 01\n\n{{#chart 01-gone.csv}}\n", "01-gone.csv: no such file"},
		{"10-a.md", "# 10\n", "in 0 parts of index.md"},
		{"01-a.md", "no title\n", "no title"},
		{"notes.md", "# notes\n", "neither index.md nor a chapter page"},
	} {
		root := site(t, map[string]string{tc.page: tc.text})
		_, err := Build(Config{Root: root, Out: filepath.Join(root, "site"), Output: Placeholders})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %q: Build error = %v, want %q", tc.page, tc.text, err, tc.want)
		}
	}
}

// TestBuildPage checks one small page end to end: the code included and
// highlighted, the output and the chart in place, a link to another page
// rewritten, and the index listing both chapters.
func TestBuildPage(t *testing.T) {
	root := site(t, map[string]string{
		"01-a.md":    "# 01 · A\n\n## Code\n\n{{#include ../chapters/01/f.go:loop}}\n\n{{#output 01}}\n\n{{#chart 01-n.csv}}\n\nNext: [B](02-b.md#more).\n",
		"02-b.md":    "# 02 · B\n\n## More\n",
		"01-n.csv":   "x,y\n0,1\n1,2\n",
		"figure.svg": `<svg xmlns="http://www.w3.org/2000/svg"/>`,
	})
	out := filepath.Join(root, "site")
	if _, err := Build(Config{Root: root, Out: out, Output: Placeholders}); err != nil {
		t.Fatal(err)
	}
	if err := CheckLinks(out); err != nil {
		t.Fatal(err)
	}
	a := read(t, filepath.Join(out, "01-a.html"))
	for _, want := range []string{
		"<figcaption>chapters/01/f.go · loop</figcaption>",
		`<span class="k">for</span>`,
		"<figcaption>go run ./chapters/01 -quick</figcaption>",
		`<img src="charts/01-n.svg"`,
		`<a href="02-b.html#more">B</a>`,
		`<a href="#code">Code</a>`,
	} {
		if !strings.Contains(a, want) {
			t.Errorf("01-a.html lacks %s", want)
		}
	}
	if strings.Contains(a, "ANCHOR") {
		t.Errorf("01-a.html shows an anchor line")
	}
	index := read(t, filepath.Join(out, "index.html"))
	if !strings.Contains(index, `<a href="01-a.html">01 · A</a>`) || !strings.Contains(index, `<a href="02-b.html">02 · B</a>`) {
		t.Errorf("the index does not list both chapters")
	}
	if _, err := os.Stat(filepath.Join(out, "figure.svg")); err != nil {
		t.Errorf("an image beside the pages was not copied: %v", err)
	}
}

// TestBuildKeepsForeignFolder: -out pointing at a folder that is not a
// built site is refused, and nothing in it is deleted.
func TestBuildKeepsForeignFolder(t *testing.T) {
	root := site(t, map[string]string{"01-a.md": "# 01\n"})
	out := filepath.Join(root, "mine")
	writeFile(t, filepath.Join(out, "keep.txt"), "precious")
	if _, err := Build(Config{Root: root, Out: out, Output: Placeholders}); err == nil || !strings.Contains(err.Error(), "not deleting") {
		t.Errorf("Build into a foreign folder: error = %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "keep.txt")); err != nil {
		t.Errorf("keep.txt: %v", err)
	}
	// A site built before is emptied and rebuilt: a stale page goes.
	out = filepath.Join(root, "site")
	if _, err := Build(Config{Root: root, Out: out, Output: Placeholders}); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(out, "stale.html"), "")
	if _, err := Build(Config{Root: root, Out: out, Output: Placeholders}); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "stale.html")); err == nil {
		t.Error("a rebuild kept a page the build did not write")
	}
}
