package chart

import (
	"bytes"
	"encoding/xml"
	"io"
	"slices"
	"strings"
	"testing"
)

func TestReadCSV(t *testing.T) {
	c, err := ReadCSV(strings.NewReader("time (s),active,idle\n0,0,2\n0.5,3,\n1,4,1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.XLabel != "time (s)" || len(c.Series) != 2 || c.Series[0].Name != "active" {
		t.Fatalf("ReadCSV = %+v", c)
	}
	if got := c.Series[1].Points; !slices.Equal(got, []Point{{0, 2}, {1, 1}}) {
		t.Errorf("idle = %v: an empty cell is a missing point", got)
	}
	for _, bad := range []string{"", "x\n1\n", "x,y\n1,a\n", "x,y\nb,1\n"} {
		if _, err := ReadCSV(strings.NewReader(bad)); err == nil {
			t.Errorf("ReadCSV(%q) took it", bad)
		}
	}
}

func TestSVG(t *testing.T) {
	c := Line{Title: "workers <pm>", XLabel: "t", YLabel: "n", Series: []Series{
		{Name: "a", Points: []Point{{0, 1}, {1, 3}, {2, 2}}},
		{Name: "b", Points: []Point{{0, 0}, {2, 7}}},
	}}
	var b bytes.Buffer
	if err := c.SVG(&b); err != nil {
		t.Fatal(err)
	}
	// Well-formed XML, so a browser draws it as an image.
	d := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	for {
		if _, err := d.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("not XML: %v\n%s", err, b.String())
		}
	}
	s := b.String()
	for _, want := range []string{"workers &lt;pm&gt;", ">a</text>", ">b</text>", `d="M60.0 `} {
		if !strings.Contains(s, want) {
			t.Errorf("SVG lacks %s", want)
		}
	}
	if n := strings.Count(s, `stroke-width="2"`); n != 2 {
		t.Errorf("%d lines drawn, want 2", n)
	}
	if err := (Line{}).SVG(io.Discard); err == nil {
		t.Error("an empty chart drew")
	}
}

func TestTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		want   []float64
	}{
		{0, 10, []float64{0, 2, 4, 6, 8, 10}},
		{0, 7, []float64{0, 2, 4, 6, 8}},
		{0, 0.3, []float64{0, 0.1, 0.2, 0.3}},
		{5, 5, []float64{5, 5.2, 5.4, 5.6, 5.8, 6}},
	} {
		got := ticks(tc.lo, tc.hi)
		var labels, want []string
		for _, v := range got {
			labels = append(labels, label(v))
		}
		for _, v := range tc.want {
			want = append(want, label(v))
		}
		if !slices.Equal(labels, want) {
			t.Errorf("ticks(%v, %v) = %v, want %v", tc.lo, tc.hi, labels, want)
		}
	}
}
