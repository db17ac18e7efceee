package bench

import (
	"fmt"
	"os"
	"testing"
)

// quick is BENCH_QUICK=1: every scenario, with shorter windows and fewer
// rounds (make bench-fpm in about 3 minutes instead of 10). Its tables
// say so.
var quick = os.Getenv("BENCH_QUICK") != "" && os.Getenv("BENCH_QUICK") != "0"

// results collects every table the benchmarks print; TestMain writes it
// to OutPath once they are done.
var results = &Results{Quick: quick}

func TestMain(m *testing.M) {
	code := m.Run()
	if len(results.Scenarios) > 0 {
		path, err := OutPath()
		if err == nil {
			err = results.Write(path)
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: results: %v\n", err)
			code = max(code, 1)
		} else {
			say.Say("results written to %s", path)
		}
	}
	os.Exit(code)
}
