package bench

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"
)

// Results is what a run of the benchmarks measured, kept for the docs
// page to chart: one Scenario per table, in the order they ran. It is
// written as JSON to BENCH_OUT, or to site-data/bench-fpm.json at the top
// of the module.
type Results struct {
	// When the run ended, and whether it was the quick one (BENCH_QUICK):
	// shorter windows, fewer rounds.
	When  time.Time `json:"when"`
	Quick bool      `json:"quick"`
	CPUs  int       `json:"cpus"`

	mu        sync.Mutex
	Scenarios []Scenario `json:"scenarios"`
}

// Scenario is one table.
type Scenario struct {
	// Name is short and stable ("hello", "slow-800"); Title is the table's
	// heading.
	Name  string `json:"name"`
	Title string `json:"title"`
	// Window is each wrk run's duration, Conns its connections.
	Window time.Duration `json:"window_ns"`
	Conns  int           `json:"conns"`
	Rows   []Row         `json:"rows"`
	// Notes are the scenario's readings against its targets, as printed.
	Notes []string `json:"notes,omitempty"`
}

// Row is one line of a table. Figures that a row does not have are 0.
type Row struct {
	Server string `json:"server"`
	// Mode is nginx's FastCGI mode ("close", "keep-conn") or the run's
	// name within the scenario ("run 2").
	Mode string `json:"mode,omitempty"`
	// Keepalive is nginx's upstream keepalive, all its workers', in
	// keep-conn mode.
	Keepalive  int `json:"nginx_keepalive,omitempty"`
	Workers    int `json:"workers,omitempty"`
	Coroutines int `json:"coroutines,omitempty"`
	Requests   int `json:"requests,omitempty"`
	// RPS is requests over the window, as wrk reports; Steady is conns /
	// mean latency, Little's law, where it applies.
	RPS    float64 `json:"rps"`
	Steady float64 `json:"steady_rps,omitempty"`
	// Latency of the answers, in seconds.
	Mean float64 `json:"mean_s,omitempty"`
	P50  float64 `json:"p50_s"`
	P99  float64 `json:"p99_s"`
	// Errors by kind, as wrk counts them.
	Non2xx  int `json:"non2xx"`
	Connect int `json:"connect"`
	Read    int `json:"read"`
	Write   int `json:"write"`
	Timeout int `json:"timeout"`
	// RSS is the pool's workers' resident memory summed, in bytes.
	RSS int64 `json:"worker_rss_bytes,omitempty"`
	// Ratios to the other rows of the same run, by name ("php-fpm",
	// "upstream alone", ...).
	Ratios map[string]float64 `json:"ratios,omitempty"`
}

// FromWrk fills the row's wrk figures.
func (r Row) FromWrk(w Wrk) Row {
	r.Requests, r.RPS = w.Requests, w.RPS
	r.Mean, r.P50, r.P99 = w.Mean.Seconds(), w.P50.Seconds(), w.P99.Seconds()
	r.Non2xx, r.Connect, r.Read, r.Write, r.Timeout = w.Non2xx, w.Connect, w.Read, w.Write, w.Timeout
	return r
}

// Add appends a scenario; safe from any goroutine.
func (r *Results) Add(s Scenario) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Scenarios = append(r.Scenarios, s)
}

// Write writes the results as indented JSON to path, creating its
// directory. Without scenarios it writes nothing.
func (r *Results) Write(path string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.Scenarios) == 0 {
		return nil
	}
	r.When, r.CPUs = time.Now().UTC(), runtime.NumCPU()
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// OutPath is where the results go: $BENCH_OUT, or site-data/bench-fpm.json
// in the module's top directory (the nearest one up with a go.mod).
func OutPath() (string, error) {
	if p := os.Getenv("BENCH_OUT"); p != "" {
		return filepath.Abs(p)
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "site-data", "bench-fpm.json"), nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("bench: no go.mod above the working directory; set BENCH_OUT")
		}
		dir = up
	}
}
