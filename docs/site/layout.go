package site

import (
	_ "embed"
	"html/template"
)

// layoutHTML is every page's frame: the book's contents on the left, the
// page with its sections, and previous/next links above and below.
//
//go:embed layout.html
var layoutHTML string

var layout = template.Must(template.New("page").Parse(layoutHTML))

// view is what the layout is executed with.
type view struct {
	Page       *page
	Prev, Next *page // nil at either end of the book
	Parts      []*part
}

// Body is the page's HTML, rendered by goldmark from the page's own
// Markdown and the repository's source: trusted as the repository is.
func (v view) Body() template.HTML { return template.HTML(v.Page.Body) }
