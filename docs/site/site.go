// Package site builds the reading-along site from docs/: one HTML page per
// chapter, in order, with previous/next links and the book's contents, and
// an index of the four parts. It works offline: no font, script or
// stylesheet comes from anywhere but the site itself.
//
// A page's code and output are not written by hand. A marker line
// includes a region of the real source by its named anchors, another the
// output of the chapter run when the site is built (see markers.go), so the
// page cannot drift from the program it explains.
package site

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/alecthomas/chroma/v2/styles"

	"github.com/corofpm/corofpm/docs/site/chart"
)

// Config says where the pages are, where the site goes, and how to get
// each chapter's output.
type Config struct {
	// Root is the repository's root: pages are in Root/docs, chapters in
	// Root/chapters.
	Root string
	// Out is the folder the site is written to. It is emptied first, but
	// only when it is a site built before (it holds builtMark) or empty:
	// a mistyped -out must not delete someone's files.
	Out string
	// Output returns the output of each chapter by number, as the page
	// shows it: RunChapters for the real thing, Placeholders for a quick
	// build that runs nothing.
	Output func(root string, numbers []string) (map[string]string, error)
}

// builtMark is the file that marks a folder as one Build wrote.
const builtMark = ".corofpm-site"

// pageNameRe is a chapter page's file name: its number, then its slug.
var pageNameRe = regexp.MustCompile(`^(\d\d)-[a-z0-9-]+\.md$`)

// page is one page of the site, in reading order.
type page struct {
	Src      string // its Markdown file, in docs/
	Number   string // its chapter, "01"; empty for the index
	HTML     string // its file in the site
	Markdown string // its text, markers expanded
	rendered
}

// Build writes the site and returns the pages it wrote, index first.
func Build(cfg Config) ([]string, error) {
	docs := filepath.Join(cfg.Root, "docs")
	index, chapters, err := loadPages(docs)
	if err != nil {
		return nil, err
	}
	outputs, err := cfg.Output(cfg.Root, outputsWanted(chapters))
	if err != nil {
		return nil, err
	}
	charts := map[string]bool{}
	var errs []error
	pages := append([]*page{index}, chapters...)
	for _, p := range pages {
		if p.Markdown, err = expand(docs, p.Src, p.Markdown, outputs, charts); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	// The index lists the chapters by title: render them first.
	for _, p := range chapters {
		if p.rendered, err = render(p.Src, []byte(p.Markdown)); err != nil {
			return nil, err
		}
	}
	parts, err := partsOf(index, chapters)
	if err != nil {
		return nil, err
	}
	if index.rendered, err = render(index.Src, []byte(index.Markdown)); err != nil {
		return nil, err
	}
	if err := cleanOut(cfg.Out); err != nil {
		return nil, err
	}
	if err := writeAssets(docs, cfg.Out, charts); err != nil {
		return nil, err
	}
	return writePages(cfg.Out, pages, parts)
}

// writePages lays out each page, linked to the ones before and after it.
func writePages(out string, pages []*page, parts []*part) ([]string, error) {
	var written []string
	for i, p := range pages {
		var prev, next *page
		if i > 0 {
			prev = pages[i-1]
		}
		if i+1 < len(pages) {
			next = pages[i+1]
		}
		var b bytes.Buffer
		if err := layout.Execute(&b, view{Page: p, Prev: prev, Next: next, Parts: parts}); err != nil {
			return nil, fmt.Errorf("%s: %w", p.Src, err)
		}
		if err := os.WriteFile(filepath.Join(out, p.HTML), b.Bytes(), 0o644); err != nil {
			return nil, err
		}
		written = append(written, p.HTML)
	}
	return written, nil
}

// loadPages reads docs/index.md and every chapter page, in chapter order.
// Any other .md file is an error: a page the site would silently leave out
// is a page no reader finds.
func loadPages(docs string) (*page, []*page, error) {
	files, err := filepath.Glob(filepath.Join(docs, "*.md"))
	if err != nil {
		return nil, nil, err
	}
	var index *page
	var chapters []*page
	for _, file := range files {
		name := filepath.Base(file)
		text, err := os.ReadFile(file)
		if err != nil {
			return nil, nil, err
		}
		p := &page{Src: name, HTML: strings.TrimSuffix(name, ".md") + ".html", Markdown: string(text)}
		switch m := pageNameRe.FindStringSubmatch(name); {
		case name == "index.md":
			index = p
		case m != nil:
			p.Number = m[1]
			chapters = append(chapters, p)
		default:
			return nil, nil, fmt.Errorf("docs/%s: neither index.md nor a chapter page named NN-name.md", name)
		}
	}
	if index == nil {
		return nil, nil, errors.New("docs/index.md: missing")
	}
	sort.Slice(chapters, func(i, j int) bool { return chapters[i].Src < chapters[j].Src })
	for i := 1; i < len(chapters); i++ {
		if chapters[i].Number == chapters[i-1].Number {
			return nil, nil, fmt.Errorf("docs: %s and %s: two pages for chapter %s", chapters[i-1].Src, chapters[i].Src, chapters[i].Number)
		}
	}
	return index, chapters, nil
}

// outputsWanted lists the chapters whose output some page shows.
func outputsWanted(pages []*page) []string {
	var nn []string
	for _, p := range pages {
		for _, m := range OutputRe.FindAllStringSubmatch(p.Markdown, -1) {
			if !slices.Contains(nn, m[1]) {
				nn = append(nn, m[1])
			}
		}
	}
	return nn
}

// cleanOut empties the output folder, or creates it.
func cleanOut(out string) error {
	entries, err := os.ReadDir(out)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(out, 0o755); err != nil {
			return err
		}
	case err != nil:
		return err
	}
	if _, err := os.Stat(filepath.Join(out, builtMark)); err != nil && len(entries) > 0 {
		return fmt.Errorf("%s: not empty and not a site built before (no %s): not deleting it", out, builtMark)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(out, e.Name())); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(out, builtMark), nil, 0o644)
}

// writeAssets copies docs/assets (the stylesheet, the hand-drawn
// diagrams) and the images beside the pages into the site, writes the
// code colours' CSS, and draws the charts.
func writeAssets(docs, out string, charts map[string]bool) error {
	if err := os.CopyFS(filepath.Join(out, "assets"), os.DirFS(filepath.Join(docs, "assets"))); err != nil {
		return err
	}
	svgs, _ := filepath.Glob(filepath.Join(docs, "*.svg"))
	pngs, _ := filepath.Glob(filepath.Join(docs, "*.png"))
	for _, img := range append(svgs, pngs...) {
		data, err := os.ReadFile(img)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, filepath.Base(img)), data, 0o644); err != nil {
			return err
		}
	}
	var css bytes.Buffer
	if err := codeFormatter.WriteCSS(&css, styles.Get(codeStyle)); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "assets", "code.css"), css.Bytes(), 0o644); err != nil {
		return err
	}
	for csv := range charts {
		if err := drawChart(filepath.Join(docs, csv), filepath.Join(out, chartFile(csv))); err != nil {
			return err
		}
	}
	return nil
}

// drawChart draws a CSV file as an SVG line chart.
func drawChart(csv, svg string) error {
	f, err := os.Open(csv)
	if err != nil {
		return err
	}
	defer f.Close()
	c, err := chart.ReadCSV(f)
	if err != nil {
		return fmt.Errorf("%s: %w", csv, err)
	}
	var b bytes.Buffer
	if err := c.SVG(&b); err != nil {
		return fmt.Errorf("%s: %w", csv, err)
	}
	if err := os.MkdirAll(filepath.Dir(svg), 0o755); err != nil {
		return err
	}
	return os.WriteFile(svg, b.Bytes(), 0o644)
}
