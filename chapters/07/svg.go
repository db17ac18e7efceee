package main

import (
	"fmt"
	"strings"
	"time"
)

// The SVG chart's geometry, in pixels: the plot area and the margins
// around it for the axes and the legend.
const (
	svgWidth, svgHeight = 760, 320
	plotLeft, plotTop   = 48, 28
	plotRight           = svgWidth - 120
	plotBottom          = svgHeight - 40
)

// poolColors are the lines' colours, by pool (colour-blind safe).
var poolColors = map[string]string{"static": "#7570b3", "dynamic": "#d95f02", "ondemand": "#1b9e77"}

// svg draws the samples as a step chart: one line per pool, the burst
// shaded, seconds across and workers up. It is plain SVG 1.1 text, so
// that the docs can hold the image of a real run and a diff shows it.
func (s *stepLoad) svg() string {
	end := s.Samples[len(s.Samples)-1].At.Seconds()
	top := 8
	for _, sm := range s.Samples {
		for _, w := range sm.Workers {
			for w > top {
				top += 8
			}
		}
	}
	x := func(sec float64) float64 { return plotLeft + sec/end*(plotRight-plotLeft) }
	y := func(w int) float64 { return plotBottom - float64(w)/float64(top)*(plotBottom-plotTop) }

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		svgWidth, svgHeight, svgWidth, svgHeight)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", svgWidth, svgHeight)
	fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="#eeeeee"/>`+"\n",
		x(s.BurstAt.Seconds()), plotTop, x(s.QuietAt.Seconds())-x(s.BurstAt.Seconds()), plotBottom-plotTop)
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">burst: clients in a closed loop</text>`+"\n",
		(x(s.BurstAt.Seconds())+x(s.QuietAt.Seconds()))/2, plotTop-8)
	for w := 0; w <= top; w += 8 {
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ccc"/>`+"\n", plotLeft, y(w), plotRight, y(w))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%d</text>`+"\n", plotLeft-6, y(w)+4, w)
	}
	for sec := 0; float64(sec) <= end; sec += 2 {
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%ds</text>`+"\n", x(float64(sec)), plotBottom+16, sec)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">time</text>`+"\n", (plotLeft+plotRight)/2, plotBottom+34)
	fmt.Fprintf(&b, `<text x="14" y="%d" text-anchor="middle" transform="rotate(-90 14 %d)">workers</text>`+"\n",
		(plotTop+plotBottom)/2, (plotTop+plotBottom)/2)
	for i, p := range s.Pools {
		var pts []string
		for k, sm := range s.Samples {
			if k > 0 { // a step: hold the last count until this sample
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(sm.At.Seconds()), y(s.Samples[k-1].Workers[i])))
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(sm.At.Seconds()), y(sm.Workers[i])))
		}
		color := poolColors[p.Name]
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", color, strings.Join(pts, " "))
		ly := plotTop + 20 + 22*i
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", plotRight+12, ly, plotRight+32, ly, color)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", plotRight+38, ly+4, p.Name)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#555">sampled every</text>`+"\n", plotRight+12, plotTop+100)
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#555">%s</text>`+"\n", plotRight+12, plotTop+116, sampleEvery(s.Samples))
	b.WriteString("</svg>\n")
	return b.String()
}

// sampleEvery is the samples' mean interval, rounded to 10 ms.
func sampleEvery(samples []sample) time.Duration {
	if len(samples) < 2 {
		return 0
	}
	d := samples[len(samples)-1].At - samples[0].At
	return (d / time.Duration(len(samples)-1)).Round(10 * time.Millisecond)
}
