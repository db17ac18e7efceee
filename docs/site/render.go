package site

import (
	"bytes"
	"fmt"
	"html"
	"strings"

	"github.com/alecthomas/chroma/v2"
	chromahtml "github.com/alecthomas/chroma/v2/formatters/html"
	"github.com/alecthomas/chroma/v2/lexers"
	"github.com/alecthomas/chroma/v2/styles"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// codeStyle is chroma's style for the code; its CSS is written into the
// site as assets/code.css, so pages carry classes, not inline colours.
const codeStyle = "github"

// codeFormatter renders highlighted code with CSS classes.
var codeFormatter = chromahtml.New(chromahtml.WithClasses(true), chromahtml.TabWidth(4))

// markdown is CommonMark with GitHub's tables and strikethrough, and ids on
// headings so a page's contents can link to its sections.
var markdown = goldmark.New(
	goldmark.WithExtensions(extension.GFM),
	goldmark.WithParserOptions(parser.WithAutoHeadingID()),
	goldmark.WithRendererOptions(renderer.WithNodeRenderers(util.Prioritized(codeRenderer{}, 100))),
)

// heading is a section of a page, for its contents.
type heading struct{ ID, Text string }

// rendered is a page turned into HTML, with what the layout needs.
type rendered struct {
	Title    string    // the page's one "# " heading, as text
	Sections []heading // its "## " headings
	Body     string    // the HTML, without the title
	Links    []string  // every link and image destination, after rewriting
}

// render parses Markdown, takes the title out (the layout shows it),
// rewrites links to other pages from .md to .html, and renders the rest.
func render(name string, src []byte) (rendered, error) {
	var r rendered
	doc := markdown.Parser().Parse(text.NewReader(src))
	var title ast.Node
	err := ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Heading:
			switch {
			case n.Level == 1 && title == nil:
				title, r.Title = n, plainText(n, src)
			case n.Level == 1:
				return ast.WalkStop, fmt.Errorf("%s: a second title %q: a page has one \"# \" heading", name, plainText(n, src))
			case n.Level == 2:
				id, _ := n.AttributeString("id")
				r.Sections = append(r.Sections, heading{ID: string(id.([]byte)), Text: plainText(n, src)})
			}
		case *ast.Link:
			n.Destination = pageLink(n.Destination)
			r.Links = append(r.Links, string(n.Destination))
		case *ast.Image:
			r.Links = append(r.Links, string(n.Destination))
		}
		return ast.WalkContinue, nil
	})
	if err != nil {
		return r, err
	}
	if title == nil {
		return r, fmt.Errorf("%s: no title: a page begins with a \"# \" heading", name)
	}
	doc.RemoveChild(doc, title)
	var b bytes.Buffer
	if err := markdown.Renderer().Render(&b, src, doc); err != nil {
		return r, fmt.Errorf("%s: %w", name, err)
	}
	r.Body = b.String()
	return r, nil
}

// pageLink turns a relative link to a page, "04-herd.md#the-lock", into
// the site's "04-herd.html#the-lock": pages link to each other by file
// name, which works on a forge and, rewritten, on the site.
func pageLink(dest []byte) []byte {
	s := string(dest)
	if strings.Contains(s, ":") || strings.Contains(s, "/") {
		return dest
	}
	file, frag, _ := strings.Cut(s, "#")
	if !strings.HasSuffix(file, ".md") {
		return dest
	}
	out := strings.TrimSuffix(file, ".md") + ".html"
	if frag != "" {
		out += "#" + frag
	}
	return []byte(out)
}

// plainText is a heading's text without its Markdown: "The `accept`
// loop" reads "The accept loop".
func plainText(n ast.Node, src []byte) string {
	var b strings.Builder
	_ = ast.Walk(n, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if entering {
			switch n := n.(type) {
			case *ast.Text:
				b.Write(n.Segment.Value(src))
			case *ast.String:
				b.Write(n.Value)
			}
		}
		return ast.WalkContinue, nil
	})
	return b.String()
}

// codeRenderer draws fenced code blocks: highlighted by chroma when the
// language is one it knows, with the caption the markers put after the
// language (the source file and anchor, or the command that printed the
// output) above the code.
type codeRenderer struct{}

func (codeRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(ast.KindFencedCodeBlock, renderCode)
}

func renderCode(w util.BufWriter, src []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.FencedCodeBlock)
	var lang, caption string
	if n.Info != nil {
		lang, caption, _ = strings.Cut(string(n.Info.Segment.Value(src)), " ")
	}
	var code bytes.Buffer
	for i := 0; i < n.Lines().Len(); i++ {
		line := n.Lines().At(i)
		code.Write(line.Value(src))
	}
	class := "code"
	if lang == "output" {
		class = "code output"
	}
	fmt.Fprintf(w, "<figure class=%q>", class)
	if caption != "" {
		fmt.Fprintf(w, "<figcaption>%s</figcaption>", html.EscapeString(caption))
	}
	if err := highlight(w, lang, code.String()); err != nil {
		return ast.WalkStop, err
	}
	_, err := w.WriteString("</figure>\n")
	return ast.WalkSkipChildren, err
}

// highlight writes code as a <pre>, coloured when chroma knows lang.
// Output and plain blocks are left as they are: a terminal has no syntax.
func highlight(w util.BufWriter, lang, code string) error {
	lexer := lexers.Get(lang)
	if lang == "" || lang == "output" || lang == "text" || lexer == nil {
		_, err := fmt.Fprintf(w, "<pre class=\"plain\"><code>%s</code></pre>", html.EscapeString(code))
		return err
	}
	tokens, err := chroma.Coalesce(lexer).Tokenise(nil, code)
	if err != nil {
		return err
	}
	return codeFormatter.Format(w, styles.Get(codeStyle), tokens)
}
