package bench

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResultsWriteJSONForTheDocs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "bench.json")
	r := &Results{Quick: true}
	require.NoError(t, r.Write(path))
	assert.NoFileExists(t, path, "nothing measured, nothing written")

	w := Wrk{Requests: 4000, RPS: 398.5, Mean: 2004 * time.Millisecond, P50: 2 * time.Second, P99: 2090 * time.Millisecond, Timeout: 1}
	r.Add(Scenario{Name: "slow-800", Conns: 800, Window: 10 * time.Second,
		Rows: []Row{Row{Server: "corofpm coroutine", Workers: 8, Coroutines: 128, Steady: w.LittleRPS(800)}.FromWrk(w)}})
	require.NoError(t, r.Write(path))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var back map[string]any
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, true, back["quick"])
	row := back["scenarios"].([]any)[0].(map[string]any)["rows"].([]any)[0].(map[string]any)
	assert.Equal(t, 4000.0, row["requests"])
	assert.Equal(t, 2.09, row["p99_s"])
	assert.Equal(t, 1.0, row["timeout"])
	assert.InDelta(t, 399.2, row["steady_rps"], 0.1)
}

func TestOutPathIsBenchOutOrSiteDataAtTheModuleTop(t *testing.T) {
	t.Setenv("BENCH_OUT", "")
	p, err := OutPath()
	require.NoError(t, err)
	top, _ := filepath.Abs("../..")
	assert.Equal(t, filepath.Join(top, "site-data", "bench-fpm.json"), p)
	t.Setenv("BENCH_OUT", "/tmp/x.json")
	p, err = OutPath()
	require.NoError(t, err)
	assert.Equal(t, "/tmp/x.json", p)
}
