package site

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckLinks(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.html"), `<h2 id="x">x</h2><a href="b.html#y">ok</a><a href="#x">ok</a>`+
		`<a href="https://example.org/">ok</a><img src="i.svg">`)
	writeFile(t, filepath.Join(dir, "b.html"), `<h2 id="y">y</h2>`+
		`<a href="c.html">missing page</a><a href="a.html#nope">missing id</a>`+
		`<img src="https://example.org/i.png"><a href="../etc/passwd">outside</a>`)
	writeFile(t, filepath.Join(dir, "i.svg"), "<svg/>")
	err := CheckLinks(dir)
	if err == nil {
		t.Fatal("CheckLinks found nothing wrong")
	}
	for _, want := range []string{
		`b.html: <a href="c.html">: no such file`,
		`b.html: <a href="a.html#nope">: no id "nope"`,
		`b.html: <img src="https://example.org/i.png">: loaded from outside`,
		`b.html: <a href="../etc/passwd">: outside the site`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("CheckLinks error lacks %s:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "a.html:") {
		t.Errorf("CheckLinks reported a good link of a.html:\n%v", err)
	}
}

func TestPageLink(t *testing.T) {
	for in, want := range map[string]string{
		"04-herd.md":          "04-herd.html",
		"04-herd.md#the-lock": "04-herd.html#the-lock",
		"#local":              "#local",
		"assets/x.svg":        "assets/x.svg",
		"https://a.org/x.md":  "https://a.org/x.md",
	} {
		if got := string(pageLink([]byte(in))); got != want {
			t.Errorf("pageLink(%q) = %q, want %q", in, got, want)
		}
	}
}
