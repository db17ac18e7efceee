// Package chart draws line charts of measured data as small, self-contained
// SVG: no script, no font to fetch, readable in a browser offline and in a
// forge's file view. A chapter that measures a curve (workers against time,
// cost against number of fds) writes it as CSV, and the site's build draws
// it, or the chapter calls Line.SVG itself.
package chart

import (
	"encoding/csv"
	"errors"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
)

// Series is one line: a name for the legend and its points in x order.
type Series struct {
	Name   string
	Points []Point
}

// Point is one measurement.
type Point struct{ X, Y float64 }

// Line is a chart of one or more series sharing both axes.
type Line struct {
	// Title is printed above the plot; empty for none, when the page's
	// prose already says what the chart shows.
	Title string
	// XLabel and YLabel name the axes with their units, "time (s)".
	XLabel, YLabel string
	Series         []Series
}

// ReadCSV reads a chart from CSV whose first row names the columns: the
// x axis first, then one column per series. Every other row is numbers; an
// empty cell is a point that series does not have.
//
//	time (s),active workers,idle workers
//	0,0,2
//	0.5,3,1
func ReadCSV(r io.Reader) (Line, error) {
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return Line{}, fmt.Errorf("chart: %w", err)
	}
	if len(rows) < 2 || len(rows[0]) < 2 {
		return Line{}, errors.New("chart: want a header row (x, series...) and at least one row of numbers")
	}
	c := Line{XLabel: rows[0][0]}
	for _, name := range rows[0][1:] {
		c.Series = append(c.Series, Series{Name: name})
	}
	for i, row := range rows[1:] {
		x, err := strconv.ParseFloat(strings.TrimSpace(row[0]), 64)
		if err != nil {
			return Line{}, fmt.Errorf("chart: row %d: x: %w", i+2, err)
		}
		for j, cell := range row[1:] {
			if strings.TrimSpace(cell) == "" {
				continue
			}
			y, err := strconv.ParseFloat(strings.TrimSpace(cell), 64)
			if err != nil {
				return Line{}, fmt.Errorf("chart: row %d, %s: %w", i+2, c.Series[j].Name, err)
			}
			c.Series[j].Points = append(c.Series[j].Points, Point{x, y})
		}
	}
	return c, nil
}

// The drawing's size and margins, in SVG user units (pixels at 100%).
// The legend goes under the x axis label, three series to a row.
const (
	width, plotHeight    = 640, 260
	left, right, top     = 60, 20, 36
	plotWidth            = width - left - right
	xAxisBottom          = top + plotHeight
	legendTop, rowPx     = xAxisBottom + 58, 18
	legendPerRow, swatch = 3, 14
	fontAttrs            = `font-family="system-ui, sans-serif" font-size="12" fill="#333"`
)

// palette tells series apart, and stays apart for readers with the common
// colour-vision deficiencies (the Okabe-Ito colours).
var palette = []string{"#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9"}

// SVG writes the chart as a standalone SVG document.
func (c Line) SVG(w io.Writer) error {
	xmin, xmax, ymin, ymax, ok := c.bounds()
	if !ok {
		return errors.New("chart: no points to draw")
	}
	xs, ys := ticks(xmin, xmax), ticks(math.Min(0, ymin), ymax)
	xmin, xmax, ymin, ymax = xs[0], xs[len(xs)-1], ys[0], ys[len(ys)-1]
	px := func(x float64) float64 { return left + (x-xmin)/(xmax-xmin)*plotWidth }
	py := func(y float64) float64 { return top + plotHeight - (y-ymin)/(ymax-ymin)*plotHeight }

	rows := (len(c.Series) + legendPerRow - 1) / legendPerRow
	height := legendTop + rows*rowPx
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" role="img">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", width, height)
	if c.Title != "" {
		fmt.Fprintf(&b, `<text x="%d" y="22" %s font-weight="bold">%s</text>`+"\n", left, fontAttrs, html.EscapeString(c.Title))
	}
	for _, y := range ys {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", left, left+plotWidth, py(y), py(y))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" %s text-anchor="end">%s</text>`+"\n", left-6, py(y)+4, fontAttrs, label(y))
	}
	for _, x := range xs {
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#999"/>`+"\n", px(x), px(x), xAxisBottom, xAxisBottom+4)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" %s text-anchor="middle">%s</text>`+"\n", px(x), xAxisBottom+18, fontAttrs, label(x))
	}
	fmt.Fprintf(&b, `<path d="M%d %dV%dH%d" fill="none" stroke="#999"/>`+"\n", left, top, xAxisBottom, left+plotWidth)
	fmt.Fprintf(&b, `<text x="%d" y="%d" %s text-anchor="middle">%s</text>`+"\n", left+plotWidth/2, xAxisBottom+36, fontAttrs, html.EscapeString(c.XLabel))
	if c.YLabel != "" {
		fmt.Fprintf(&b, `<text transform="translate(14 %d) rotate(-90)" %s text-anchor="middle">%s</text>`+"\n", top+plotHeight/2, fontAttrs, html.EscapeString(c.YLabel))
	}
	for i, s := range c.Series {
		colour := palette[i%len(palette)]
		var d strings.Builder
		for j, p := range s.Points {
			cmd := "L"
			if j == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%.1f %.1f", cmd, px(p.X), py(p.Y))
		}
		fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="%s" stroke-width="2" stroke-linejoin="round"/>`+"\n", d.String(), colour)
		lx, ly := left+(i%legendPerRow)*(plotWidth/legendPerRow), legendTop-4+(i/legendPerRow)*rowPx
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="3" fill="%s"/>`+"\n", lx, ly-4, swatch, colour)
		fmt.Fprintf(&b, `<text x="%d" y="%d" %s>%s</text>`+"\n", lx+swatch+6, ly, fontAttrs, html.EscapeString(s.Name))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// bounds is the range of every point of every series.
func (c Line) bounds() (xmin, xmax, ymin, ymax float64, ok bool) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for _, s := range c.Series {
		for _, p := range s.Points {
			xmin, xmax = math.Min(xmin, p.X), math.Max(xmax, p.X)
			ymin, ymax = math.Min(ymin, p.Y), math.Max(ymax, p.Y)
			ok = true
		}
	}
	return
}

// ticks returns round values from at or below lo to at or above hi, about
// five steps of 1, 2 or 5 times a power of ten: the values a person would
// write on an axis. A flat range is widened so the line has a place.
func ticks(lo, hi float64) []float64 {
	if hi <= lo {
		hi = lo + 1
	}
	raw := (hi - lo) / 5
	step := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*step >= raw {
			step *= m
			break
		}
	}
	var out []float64
	for v := math.Floor(lo/step) * step; ; v += step {
		out = append(out, v)
		if v >= hi-step*1e-9 {
			return out
		}
	}
}

// label prints a tick value without float noise: 0.30000000000000004 is 0.3.
func label(v float64) string {
	return strconv.FormatFloat(math.Round(v*1e6)/1e6, 'g', -1, 64)
}
