package chapter

import (
	"fmt"
	"os"

	"github.com/corofpm/corofpm/tutorial/narrator"
)

// Step is a chapter's walkthrough or its server: it speaks through n and
// returns what went wrong.
type Step func(n *narrator.Narrator, opts *Options) error

// Main is a chapter's main after proc.Main: parse the common flags, make
// the narrator on stdout, and run serve with -serve, else walk. An error is
// printed as one line, "chapter 01: ...", and the exit status is 1. A
// chapter without a server passes serve nil and sets Info.NoServe.
func Main(info Info, walk, serve Step) {
	opts := Parse(info)
	n := narrator.New(os.Stdout)
	n.SetVerbose(opts.Verbose)
	run := walk
	if opts.Serve {
		run = serve
	}
	if err := run(n, opts); err != nil {
		fmt.Fprintf(os.Stderr, "chapter %s: %v\n", info.Number, err)
		os.Exit(1)
	}
}
