package site

import (
	"fmt"
	"strings"
)

// part is one of the book's parts, as the index names it, with its pages.
type part struct {
	Title    string
	From, To string // the range of chapter numbers, "01" and "07"
	Pages    []*page
}

// partsOf reads the parts from the index, where each "{{#chapters 01-07}}"
// line lists the pages in that range under the "## " heading above it, and
// expands those lines into links. The index is the one place the parts are
// named; the contents beside every page are drawn from it. A chapter page
// in no part is an error: no reader would find it from the index.
func partsOf(index *page, chapters []*page) ([]*part, error) {
	var parts []*part
	var heading string
	lines := strings.Split(index.Markdown, "\n")
	for i, line := range lines {
		if t, ok := strings.CutPrefix(line, "## "); ok {
			heading = strings.TrimSpace(t)
			continue
		}
		m := chaptersRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		if heading == "" {
			return nil, fmt.Errorf("index.md: %s has no \"## \" heading above it to name its part", line)
		}
		p := &part{Title: heading, From: m[1], To: m[2]}
		var list []string
		for _, c := range chapters {
			if c.Number >= p.From && c.Number <= p.To {
				p.Pages = append(p.Pages, c)
				list = append(list, fmt.Sprintf("- [%s](%s)", c.Title, c.Src))
			}
		}
		if len(list) == 0 {
			list = []string{"*Its pages are being written.*"}
		}
		lines[i] = strings.Join(list, "\n")
		parts = append(parts, p)
		heading = ""
	}
	index.Markdown = strings.Join(lines, "\n")
	for _, c := range chapters {
		n := 0
		for _, p := range parts {
			if c.Number >= p.From && c.Number <= p.To {
				n++
			}
		}
		if n != 1 {
			return nil, fmt.Errorf("docs/%s: in %d parts of index.md, want 1", c.Src, n)
		}
	}
	return parts, nil
}
