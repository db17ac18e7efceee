package site

import (
	"errors"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

var (
	// attrRe finds the URLs an HTML page refers to; the site's HTML comes
	// from goldmark and our layout, which always quote attributes.
	attrRe = regexp.MustCompile(`<(\w+)[^>]*?\s(href|src)="([^"]*)"`)
	idRe   = regexp.MustCompile(`\sid="([^"]*)"`)
)

// CheckLinks reads every HTML page of a built site and reports every
// reference that does not resolve inside it: a link or an image to a
// missing file, a #fragment with no such id on its page, and anything a
// page loads (image, stylesheet, icon) from outside the site, which would
// break the promise that it works offline. Links a reader follows to
// other sites are fine.
func CheckLinks(dir string) error {
	pages, err := filepath.Glob(filepath.Join(dir, "*.html"))
	if err != nil {
		return err
	}
	if len(pages) == 0 {
		return fmt.Errorf("%s: no pages", dir)
	}
	ids := map[string][]string{}
	for _, p := range pages {
		text, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range idRe.FindAllStringSubmatch(string(text), -1) {
			ids[filepath.Base(p)] = append(ids[filepath.Base(p)], html.UnescapeString(m[1]))
		}
	}
	var errs []error
	for _, p := range pages {
		text, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		name := filepath.Base(p)
		for _, m := range attrRe.FindAllStringSubmatch(string(text), -1) {
			tag, url := m[1], html.UnescapeString(m[3])
			if err := checkRef(dir, name, tag, url, ids); err != nil {
				errs = append(errs, fmt.Errorf("%s: <%s %s=%q>: %w", name, tag, m[2], url, err))
			}
		}
	}
	return errors.Join(errs...)
}

// checkRef checks one reference from page, made by an element tag.
func checkRef(dir, page, tag, url string, ids map[string][]string) error {
	if strings.HasPrefix(url, "http://") || strings.HasPrefix(url, "https://") || strings.HasPrefix(url, "//") {
		if tag == "a" {
			return nil
		}
		return errors.New("loaded from outside the site: the site must work offline")
	}
	if strings.Contains(url, ":") {
		return nil // mailto: and the like
	}
	file, frag, _ := strings.Cut(url, "#")
	if file == "" {
		file = page
	}
	if rel := filepath.Clean(filepath.FromSlash(file)); rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
		return errors.New("outside the site")
	}
	if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(file))); err != nil {
		return errors.New("no such file in the site")
	}
	if frag != "" && strings.HasSuffix(file, ".html") && !slices.Contains(ids[file], frag) {
		return fmt.Errorf("no id %q on %s", frag, file)
	}
	return nil
}
