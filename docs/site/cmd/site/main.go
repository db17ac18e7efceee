// Command site builds the reading-along site from docs/ into a folder
// (site/ by default, not committed), running every chapter with -quick to
// capture the output its page shows, then checks every link and image of
// the result. With -serve it then serves the site until ^C.
//
//	go run ./docs/site/cmd/site                        # make docs
//	go run ./docs/site/cmd/site -serve 127.0.0.1:8000  # make docs-serve
//	go run ./docs/site/cmd/site -no-run                # layout only, in a second
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/corofpm/corofpm/docs/site"
)

func main() {
	out := flag.String("out", "site", "the folder to write the site to; emptied first if it holds a site built before")
	serve := flag.String("serve", "", "after building, serve the site on this host:port (such as 127.0.0.1:8000) until ^C")
	noRun := flag.Bool("no-run", false, "do not run the chapters: put a placeholder where each output goes (fast, for checking a page's layout)")
	root := flag.String("root", ".", "the repository's root, which holds docs/ and chapters/")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./docs/site/cmd/site [flags]\n\n"+
			"Builds the chapter pages in docs/ into a static site, with each chapter's\n"+
			"real output (go run ./chapters/NN -quick, NO_COLOR=1) and code from the\n"+
			"source by named anchors; checks every link; optionally serves it.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "site: unexpected argument %q\n", flag.Arg(0))
		os.Exit(2)
	}
	if err := run(*root, *out, *serve, *noRun); err != nil {
		fmt.Fprintf(os.Stderr, "site: %v\n", err)
		os.Exit(1)
	}
}

func run(root, out, addr string, noRun bool) error {
	cfg := site.Config{Root: root, Out: out, Output: site.RunChapters}
	if noRun {
		cfg.Output = site.Placeholders
	}
	pages, err := site.Build(cfg)
	if err != nil {
		return err
	}
	if err := site.CheckLinks(out); err != nil {
		return fmt.Errorf("broken references in the built site:\n%w", err)
	}
	abs, _ := filepath.Abs(filepath.Join(out, "index.html"))
	fmt.Printf("site: %d pages in %s; open file://%s\n", len(pages), out, abs)
	if addr == "" {
		return nil
	}
	return serveSite(out, addr)
}

// serveSite serves the built folder until SIGINT or SIGTERM.
func serveSite(dir, addr string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Addr: addr, Handler: http.FileServer(http.Dir(dir))}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	fmt.Printf("site: serving on http://%s/ (^C stops)\n", addr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if err := srv.Shutdown(context.Background()); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
