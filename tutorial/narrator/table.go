package narrator

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Table collects the rows of a table of measured figures and prints them
// aligned, all at once, so that a column's width fits its widest cell:
//
//	workers  mode          p50    req/s
//	───────  ─────────  ──────  ───────
//	      1  fork       2.31ms   432.10
//	      4  coroutine   612µs  1633.99
//
// A Table is built by one goroutine; only Print takes the Narrator's lock,
// and it prints the whole table as one write.
type Table struct {
	// n prints the table, under its lock and with its colour choice.
	n *Narrator
	// columns are the header cells; their count is the table's width.
	columns []string
	// rows are the cells formatted by Row, kept until Print knows every
	// column's width.
	rows [][]cell
}

// cell is one formatted table cell.
type cell struct {
	// text is the cell as printed.
	text string
	// number marks a numeric cell; a column of numbers is right-aligned so
	// that units line up under units and magnitudes compare at a glance.
	number bool
}

// Table starts a table with the given column headers.
func (n *Narrator) Table(columns ...string) *Table {
	return &Table{n: n, columns: columns}
}

// Row adds a row. Cells are formatted with fmt's %v, except:
//
//   - a float gets two decimals (0.5 → "0.50"), or three significant
//     digits when it is below 0.01 and not zero, so that it does not
//     print as "0.00";
//   - a time.Duration is rounded to three significant digits
//     (1.234567ms → "1.23ms"): a measured time is not exact past that.
//
// Integers, floats and durations count as numbers; so does any value of a
// numeric kind that is not a fmt.Stringer. A row shorter than the header
// is padded with empty cells. A longer one is a bug in the chapter, and
// Row panics on it.
func (t *Table) Row(cells ...any) {
	if len(cells) > len(t.columns) {
		panic(fmt.Sprintf("narrator: table row has %d cells, the table has %d columns", len(cells), len(t.columns)))
	}
	row := make([]cell, len(t.columns))
	for i, v := range cells {
		row[i] = formatCell(v)
	}
	t.rows = append(t.rows, row)
}

// Print prints the table indented two spaces, its header underlined, two
// spaces between columns. A column is right-aligned when every cell in it
// is a number (or empty), header included; otherwise it is left-aligned.
func (t *Table) Print() {
	widths := make([]int, len(t.columns))
	right := make([]bool, len(t.columns))
	for i, h := range t.columns {
		widths[i] = utf8.RuneCountInString(h)
		right[i] = len(t.rows) > 0
		for _, row := range t.rows {
			widths[i] = max(widths[i], utf8.RuneCountInString(row[i].text))
			right[i] = right[i] && (row[i].number || row[i].text == "")
		}
	}
	header, rule := make([]string, len(t.columns)), make([]string, len(t.columns))
	for i, h := range t.columns {
		header[i] = pad(h, widths[i], right[i])
		rule[i] = strings.Repeat("─", widths[i])
	}
	t.n.mu.Lock()
	defer t.n.mu.Unlock()
	var b strings.Builder
	b.WriteString(t.n.paintLines(ansiBold, line(header)))
	b.WriteString(t.n.paintLines(ansiDim, line(rule)))
	for _, row := range t.rows {
		cells := make([]string, len(row))
		for i, c := range row {
			cells[i] = pad(c.text, widths[i], right[i])
		}
		b.WriteString(line(cells))
	}
	t.n.write(b.String())
}

// line joins padded cells into one indented line. Its trailing blanks are
// trimmed, so that the book's captured output has none.
func line(cells []string) string {
	return strings.TrimRight("  "+strings.Join(cells, "  "), " ") + "\n"
}

// pad widens s to width runes, on the left for a right-aligned column.
// Runes, not bytes: "µs" is two runes and three bytes.
func pad(s string, width int, right bool) string {
	gap := strings.Repeat(" ", width-utf8.RuneCountInString(s))
	if right {
		return gap + s
	}
	return s + gap
}

// formatCell formats one cell as Row documents.
func formatCell(v any) cell {
	switch x := v.(type) {
	case time.Duration:
		return cell{roundDuration(x).String(), true}
	case fmt.Stringer, error, nil:
		return cell{fmt.Sprint(v), false}
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Float32, reflect.Float64:
		return cell{formatFloat(rv.Float()), true}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return cell{fmt.Sprint(v), true}
	}
	return cell{fmt.Sprint(v), false}
}

// formatFloat gives two decimals, or three significant digits for a small
// non-zero value that two decimals would show as zero.
func formatFloat(f float64) string {
	if f != 0 && math.Abs(f) < 0.01 {
		return strconv.FormatFloat(f, 'g', 3, 64)
	}
	return strconv.FormatFloat(f, 'f', 2, 64)
}

// roundDuration rounds d to three significant digits: 1.234567ms becomes
// 1.23ms and 123.456µs becomes 123µs. Durations under 1µs are exact.
func roundDuration(d time.Duration) time.Duration {
	abs := d.Abs()
	unit := time.Duration(1)
	for unit*1000 <= abs {
		unit *= 10
	}
	return d.Round(unit)
}
