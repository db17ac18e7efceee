package site

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// The markers a page may hold, each alone on its line. They are expanded
// into Markdown before the page is parsed, so a reader of the .md file on a
// forge sees where code and output go, and the site shows the real thing.
var (
	// {{#include ../chapters/01/worker.go:accept-loop}}: the lines of a
	// source file between "// ANCHOR: accept-loop" and
	// "// ANCHOR_END: accept-loop", the path relative to docs/.
	IncludeRe = regexp.MustCompile(`(?m)^\{\{#include ([^:}]+):([\w-]+)\}\}$`)
	// {{#output 01}}: what go run ./chapters/01 -quick printed.
	OutputRe = regexp.MustCompile(`(?m)^\{\{#output (\d\d)\}\}$`)
	// {{#chart 07-workers.csv}}: a line chart of a CSV file beside the
	// page (see package chart), drawn as SVG when the site is built.
	chartRe = regexp.MustCompile(`(?m)^\{\{#chart ([\w./-]+\.csv)\}\}$`)
	// {{#chapters 01-07}}: on the index, the list of the pages in that
	// range; the heading above it names the part.
	chaptersRe = regexp.MustCompile(`(?m)^\{\{#chapters (\d\d)-(\d\d)\}\}$`)
)

// Include returns the region of file between the anchor lines
// "// ANCHOR: name" and "// ANCHOR_END: name", as the page shows it: any
// anchor lines nested inside are dropped, and the indentation the region
// shares is removed. A missing file, a missing or repeated anchor, or an
// empty region is an error, so that a page cannot quietly lose its code.
func Include(file, name string) (string, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	begin, end := "// ANCHOR: "+name, "// ANCHOR_END: "+name
	from, to := -1, -1
	lines := strings.Split(string(src), "\n")
	for i, line := range lines {
		switch strings.TrimSpace(line) {
		case begin:
			if from >= 0 {
				return "", fmt.Errorf("%s: anchor %q begins twice (lines %d and %d)", file, name, from, i+1)
			}
			from = i + 1
		case end:
			if to >= 0 {
				return "", fmt.Errorf("%s: anchor %q ends twice", file, name)
			}
			to = i
		}
	}
	switch {
	case from < 0:
		return "", fmt.Errorf("%s: no line %q", file, begin)
	case to < 0:
		return "", fmt.Errorf("%s: no line %q", file, end)
	case to <= from:
		return "", fmt.Errorf("%s: anchor %q ends before it begins or is empty", file, name)
	}
	var shown []string
	for _, line := range lines[from:to] {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "// ANCHOR: ") || strings.HasPrefix(t, "// ANCHOR_END: ") {
			continue
		}
		shown = append(shown, line)
	}
	return dedent(shown), nil
}

// dedent removes the leading tabs and spaces that every non-blank line
// shares: a region cut from inside a function reads from the left margin.
func dedent(lines []string) string {
	prefix := ""
	first := true
	for _, line := range lines {
		if strings.TrimSpace(line) == "" {
			continue
		}
		indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
		if first {
			prefix, first = indent, false
			continue
		}
		for !strings.HasPrefix(indent, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	for i, line := range lines {
		lines[i] = strings.TrimPrefix(line, prefix)
	}
	return strings.Join(lines, "\n")
}

// fenced wraps text in a fenced code block whose info string is the
// language and a caption, with a fence longer than any run of backticks
// inside, so no source or output can close it early.
func fenced(lang, caption, text string) string {
	longest, run := 0, 0
	for _, r := range text {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", max(3, longest+1))
	return fence + lang + " " + caption + "\n" + strings.TrimRight(text, "\n") + "\n" + fence
}

// expand replaces the include, output and chart markers of one page (read
// from docsDir) with Markdown. outputs holds each chapter's captured
// output by number; charts collects the charts to draw, by CSV path
// relative to docsDir.
func expand(docsDir, page, text string, outputs map[string]string, charts map[string]bool) (string, error) {
	var errs []string
	text = IncludeRe.ReplaceAllStringFunc(text, func(m string) string {
		sub := IncludeRe.FindStringSubmatch(m)
		code, err := Include(filepath.Join(docsDir, sub[1]), sub[2])
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %s: %v", page, m, err))
			return m
		}
		return fenced("go", strings.TrimPrefix(filepath.ToSlash(filepath.Clean(sub[1])), "../")+" · "+sub[2], code)
	})
	text = OutputRe.ReplaceAllStringFunc(text, func(m string) string {
		nn := OutputRe.FindStringSubmatch(m)[1]
		out, ok := outputs[nn]
		if !ok {
			errs = append(errs, fmt.Sprintf("%s: %s: chapter %s was not run", page, m, nn))
			return m
		}
		return fenced("output", "go run ./chapters/"+nn+" -quick", out)
	})
	text = chartRe.ReplaceAllStringFunc(text, func(m string) string {
		csv := chartRe.FindStringSubmatch(m)[1]
		if _, err := os.Stat(filepath.Join(docsDir, csv)); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %s: %v", page, m, err))
			return m
		}
		charts[csv] = true
		return "![" + csv + "](" + chartFile(csv) + ")"
	})
	if len(errs) > 0 {
		return "", fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return text, nil
}

// chartFile is where the SVG drawn from a chart's CSV goes in the site.
func chartFile(csv string) string {
	return "charts/" + strings.TrimSuffix(strings.ReplaceAll(csv, "/", "-"), ".csv") + ".svg"
}
