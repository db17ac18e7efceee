package site

import (
	"context"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var screenshots = flag.String("screenshots", "", "save the browser tests' screenshots in this folder instead of the test's temp dir, to look at them")

// root is the repository's root, seen from this package's directory.
const root = "../.."

// buildReal builds the site from the real docs/ into a temp dir, the
// chapters' outputs given by output.
func buildReal(t *testing.T, output func(string, []string) (map[string]string, error)) (string, []string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "site")
	pages, err := Build(Config{Root: root, Out: out, Output: output})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if err := CheckLinks(out); err != nil {
		t.Fatalf("broken references:\n%v", err)
	}
	return out, pages
}

// TestSite builds the site as make docs does, without running the
// chapters, and reads it as a reader would: every page in chapter order
// after the index, each linked to the one before and after it, every link
// and image resolving, and a browser that loads the index and a chapter
// page without an error.
func TestSite(t *testing.T) {
	out, pages := buildReal(t, Placeholders)

	mds, _ := filepath.Glob(filepath.Join(root, "docs", "[0-9][0-9]-*.md"))
	want := []string{"index.html"}
	for _, md := range mds {
		want = append(want, strings.TrimSuffix(filepath.Base(md), ".md")+".html")
	}
	if strings.Join(pages, " ") != strings.Join(want, " ") {
		t.Fatalf("pages = %v, want %v", pages, want)
	}
	for i, p := range pages {
		html := read(t, filepath.Join(out, p))
		if i > 0 && !strings.Contains(html, `rel="prev" href="`+pages[i-1]+`"`) {
			t.Errorf("%s: no previous link to %s", p, pages[i-1])
		}
		if i+1 < len(pages) && !strings.Contains(html, `rel="next" href="`+pages[i+1]+`"`) {
			t.Errorf("%s: no next link to %s", p, pages[i+1])
		}
		for _, q := range pages[1:] {
			if !strings.Contains(html, `<li><a href="`+q+`"`) {
				t.Errorf("%s: the contents do not list %s", p, q)
			}
		}
		if strings.Contains(html, "{{#") {
			t.Errorf("%s: a marker was left unexpanded", p)
		}
	}
	index := read(t, filepath.Join(out, "index.html"))
	for _, part := range []string{"Part I", "Part II", "Part III", "Part IV"} {
		if !strings.Contains(index, `">`+part+" — ") || !strings.Contains(index, `<p class="part">`+part+" — ") {
			t.Errorf("index: %s is not both a section and an entry of the contents", part)
		}
	}

	b := startBrowser(t)
	srv := httptest.NewServer(http.FileServer(http.Dir(out)))
	defer srv.Close()
	for _, p := range []string{"index.html", pages[1]} {
		loadClean(t, b, srv.URL+"/"+p, p)
	}
}

// loadClean loads a page in the browser, fails on any problem it reports,
// and saves its screenshot.
func loadClean(t *testing.T, b *browser, url, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	png, problems, err := b.load(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", name, p)
	}
	dir := *screenshots
	if dir == "" {
		dir = t.TempDir()
	}
	shot := filepath.Join(dir, strings.TrimSuffix(name, ".html")+".png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	if len(png) < 10_000 {
		t.Errorf("%s: a %d-byte screenshot: the page looks blank", name, len(png))
	}
	t.Logf("%s: screenshot %s", name, shot)
}

// TestBrowserSeesProblems is the browser check's own test: a page with a
// missing stylesheet, a missing image and a script error must be reported,
// or TestSite's clean loads would prove nothing.
func TestBrowserSeesProblems(t *testing.T) {
	dir := t.TempDir()
	page := `<!doctype html><html><head><link rel="stylesheet" href="gone.css"></head>` +
		`<body><p>hello</p><img src="gone.png"><script>undefinedFunction()</script></body></html>`
	if err := os.WriteFile(filepath.Join(dir, "bad.html"), []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	b := startBrowser(t)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, problems, err := b.load(ctx, srv.URL+"/bad.html")
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(problems, "\n")
	for _, want := range []string{"undefinedFunction", "gone.css", "gone.png"} {
		if !strings.Contains(all, want) {
			t.Errorf("problems do not mention %s:\n%s", want, all)
		}
	}
}

// TestChapterOutputIsReal runs one quick chapter for real, as make docs
// runs them all, and checks its page shows what the program printed:
// its banner, its steps, no colour codes, no placeholder.
func TestChapterOutputIsReal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs chapter 01")
	}
	out, _ := buildReal(t, func(root string, numbers []string) (map[string]string, error) {
		outputs, err := Placeholders(root, numbers)
		if err != nil {
			return nil, err
		}
		real, err := RunChapters(root, []string{"01"})
		if err != nil {
			return nil, err
		}
		outputs["01"] = real["01"]
		return outputs, nil
	})
	html := read(t, filepath.Join(out, "01-fastcgi.html"))
	fig := regexp.MustCompile(`(?s)<figure class="code output"><figcaption>go run ./chapters/01 -quick</figcaption><pre class="plain"><code>(.*?)</code></pre>`).FindStringSubmatch(html)
	if fig == nil {
		t.Fatalf("01-fastcgi.html: no output figure")
	}
	shown := fig[1]
	if strings.Contains(shown, "goes here") {
		t.Errorf("the page shows the placeholder, not the run")
	}
	if strings.Contains(shown, "\x1b[") {
		t.Errorf("the output has colour codes: NO_COLOR was not passed")
	}
	// The chapter's banner carries its title, and a real run prints steps.
	if !strings.Contains(shown, "FastCGI") || strings.Count(shown, "\n") < 10 {
		t.Errorf("the output does not look like chapter 01's run:\n%s", shown)
	}
}

func read(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
