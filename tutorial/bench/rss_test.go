package bench

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestRSSAndFDsOfThisProcess(t *testing.T) {
	self := os.Getpid()
	assert.Greater(t, RSS(self), int64(1<<20), "a Go test binary holds more than 1 MiB")
	assert.InEpsilon(t, 2*float64(RSS(self)), float64(TotalRSS([]int{self, self})), 0.1)
	n := FDs(self)
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	assert.Equal(t, n+1, FDs(self), "one more file, one more descriptor")
	f.Close()
	assert.Zero(t, RSS(-1))
	assert.Zero(t, FDs(-1))
}

func TestSamplerKeepsEachProcesssPeak(t *testing.T) {
	self := os.Getpid()
	s := StartSampler(func() []int { return []int{self} }, 5*time.Millisecond)
	time.Sleep(30 * time.Millisecond)
	peak := s.Stop()
	assert.Len(t, peak, 1)
	assert.Positive(t, peak[self].RSS)
	assert.Positive(t, peak[self].FDs)
	assert.Equal(t, peak[self].RSS, PeakTotal(peak))
}
