package training

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
)

// Confusion matrices ConfusionSVG draws.
const (
	MatrixA    = "a"    // model A's counts
	MatrixB    = "b"    // model B's counts
	MatrixDiff = "diff" // B − A: green where B is better, red where worse
)

// svg layout constants, in pixels.
const (
	cellPx    = 16
	charPx    = 6.2 // mean width of an 11 px sans-serif character
	marginPx  = 12
	legendPx  = 40
	fontPx    = 11
	cellFont  = 8
	maxLabelC = 32 // longer axis labels are cut
)

// ConfusionSVG writes a confusion matrix of the comparison as a heat
// map: gold labels down the side, decisions across the top, one cell
// per pair with its count; which is MatrixA, MatrixB or MatrixDiff.
// Colour grows with the logarithm of the count, so one-off errors show
// beside the diagonal's dozens (and out-of-scope's hundreds); hovering a
// cell shows its pair and count.
func ConfusionSVG(w io.Writer, c Comparison, which string) error {
	var m [][]int
	var title string
	switch which {
	case MatrixA:
		m, title = c.A.Confusion, "A: "+c.A.Info.Version
	case MatrixB:
		m, title = c.B.Confusion, "B: "+c.B.Info.Version
	case MatrixDiff:
		m = square(len(c.Labels))
		for i := range m {
			for j := range m[i] {
				m[i][j] = c.B.Confusion[i][j] - c.A.Confusion[i][j]
			}
		}
		title = "B − A: " + c.B.Info.Version + " − " + c.A.Info.Version
	default:
		return fmt.Errorf("confusion svg: unknown matrix %q (want a, b or diff)", which)
	}
	n := len(c.Labels)
	if len(m) != n {
		return fmt.Errorf("confusion svg: matrix has %d rows for %d labels", len(m), n)
	}
	longest := 0
	for _, l := range c.Labels {
		longest = max(longest, min(len([]rune(l)), maxLabelC))
	}
	axis := int(float64(longest)*charPx) + marginPx
	left, top := axis+marginPx+fontPx, axis+legendPx
	// Column labels lean right: cos(60°) of their length past the last column.
	right := int(float64(longest)*charPx/2) + marginPx
	width, height := left+n*cellPx+right, top+n*cellPx+marginPx+fontPx*2
	peak := 1
	for _, row := range m {
		for _, v := range row {
			peak = max(peak, abs(v))
		}
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="%d">`+"\n", width, height, width, height, fontPx)
	fmt.Fprintf(bw, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(bw, `<text x="%d" y="%d" font-size="13" font-weight="bold">%s</text>`+"\n", marginPx, marginPx+8, esc(title))
	legend := "rows: gold label; columns: decision (oos: flagged out of scope); colour: log count"
	if which == MatrixDiff {
		legend = "rows: gold label; columns: decision; green: B better, red: B worse"
	}
	fmt.Fprintf(bw, `<text x="%d" y="%d" fill="#555">%s</text>`+"\n", marginPx, marginPx+24, esc(legend))
	for i, l := range c.Labels {
		l = cut(l)
		y := top + i*cellPx + cellPx/2 + 4
		fmt.Fprintf(bw, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", left-4, y, esc(l))
		x := left + i*cellPx + cellPx/2 + 4
		fmt.Fprintf(bw, `<text transform="translate(%d %d) rotate(-60)">%s</text>`+"\n", x, top-4, esc(l))
	}
	// The grid, then only the cells with a count: most are empty.
	for i := 0; i <= n; i++ {
		fmt.Fprintf(bw, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#e4e4e4" stroke-width="0.5"/>`+"\n", left, top+i*cellPx, left+n*cellPx, top+i*cellPx)
		fmt.Fprintf(bw, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#e4e4e4" stroke-width="0.5"/>`+"\n", left+i*cellPx, top, left+i*cellPx, top+n*cellPx)
	}
	for i := range n {
		for j := range n {
			v := m[i][j]
			if v == 0 {
				continue
			}
			fill, ink := cellColour(v, peak, i == j, which == MatrixDiff)
			x, y := left+j*cellPx, top+i*cellPx
			fmt.Fprintf(bw, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"><title>gold %s, decided %s: %d</title></rect>`+"\n",
				x, y, cellPx, cellPx, fill, esc(c.Labels[i]), esc(c.Labels[j]), v)
			fmt.Fprintf(bw, `<text x="%d" y="%d" font-size="%d" text-anchor="middle" fill="%s" pointer-events="none">%d</text>`+"\n",
				x+cellPx/2, y+cellPx/2+3, cellFont, ink, v)
		}
	}
	fmt.Fprintf(bw, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>`+"\n", left, top, n*cellPx, n*cellPx)
	fmt.Fprintf(bw, `<text x="%d" y="%d" fill="#555">%d held-out messages of %s</text>`+"\n", left, top+n*cellPx+marginPx+fontPx, c.N, esc(c.TestSet))
	bw.WriteString("</svg>\n")
	return bw.Flush()
}

// cellColour picks a cell's fill and text colour.
func cellColour(v, peak int, diagonal, diff bool) (fill, ink string) {
	if v == 0 {
		return "#ffffff", "#000"
	}
	// Log scale: the diagonal's dozens and the one-off errors both show.
	t := math.Log1p(float64(abs(v))) / math.Log1p(float64(peak))
	if !diff {
		// White to dark blue.
		return mix(t, [3]float64{255, 255, 255}, [3]float64{8, 48, 107}), inkFor(t)
	}
	// On the diagonal more is better; off it, fewer.
	better := (v > 0) == diagonal
	if better {
		return mix(t, [3]float64{255, 255, 255}, [3]float64{0, 109, 44}), inkFor(t)
	}
	return mix(t, [3]float64{255, 255, 255}, [3]float64{165, 15, 21}), inkFor(t)
}

func inkFor(t float64) string {
	if t > 0.55 {
		return "#fff"
	}
	return "#000"
}

func mix(t float64, a, b [3]float64) string {
	t = 0.12 + 0.88*t // the faintest non-zero cell is still visible
	c := func(i int) int { return int(math.Round(a[i] + (b[i]-a[i])*t)) }
	return fmt.Sprintf("#%02x%02x%02x", c(0), c(1), c(2))
}

// ReliabilitySVG writes both models' reliability diagrams on one chart:
// for each confidence bin, the mean confidence against the share right,
// with the diagonal of perfect calibration and each bin's message count.
func ReliabilitySVG(w io.Writer, c Comparison) error {
	const (
		plot   = 360
		left   = 60
		top    = 64
		bottom = 96
		right  = 40
	)
	width, height := left+plot+right, top+plot+bottom
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="%d">`+"\n", width, height, width, height, fontPx)
	fmt.Fprintf(bw, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(bw, `<text x="%d" y="20" font-size="13" font-weight="bold">Reliability on %s</text>`+"\n", marginPx, esc(c.TestSet))
	fmt.Fprintf(bw, `<text x="%d" y="38" fill="#555">in-scope messages, %d bins; dot size: messages; dashed: ideal</text>`+"\n", marginPx, ReliabilityBins)
	px := func(v float64) float64 { return left + v*plot }
	py := func(v float64) float64 { return top + (1-v)*plot }
	// Grid and axes.
	for i := 0; i <= 5; i++ {
		v := float64(i) / 5
		fmt.Fprintf(bw, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>`+"\n", px(0), py(v), px(1), py(v))
		fmt.Fprintf(bw, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eee"/>`+"\n", px(v), py(0), px(v), py(1))
		fmt.Fprintf(bw, `<text x="%.1f" y="%.1f" text-anchor="end">%.1f</text>`+"\n", px(0)-6, py(v)+4, v)
		fmt.Fprintf(bw, `<text x="%.1f" y="%.1f" text-anchor="middle">%.1f</text>`+"\n", px(v), py(0)+16, v)
	}
	fmt.Fprintf(bw, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>`+"\n", left, top, plot, plot)
	fmt.Fprintf(bw, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999" stroke-dasharray="4 3"/>`+"\n", px(0), py(0), px(1), py(1))
	fmt.Fprintf(bw, `<text x="%.1f" y="%.1f" text-anchor="middle">confidence</text>`+"\n", px(0.5), py(0)+32)
	fmt.Fprintf(bw, `<text transform="translate(16 %.1f) rotate(-90)" text-anchor="middle">share right</text>`+"\n", py(0.5))
	sides := []struct {
		s            Side
		name, colour string
	}{{c.A, "A", "#d95f02"}, {c.B, "B", "#1b6ca8"}}
	for k, sd := range sides {
		pts := ""
		for _, b := range sd.s.Reliability.Bins {
			if b.N == 0 {
				continue
			}
			pts += fmt.Sprintf("%.1f,%.1f ", px(b.Confidence), py(b.Accuracy))
		}
		fmt.Fprintf(bw, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", pts, sd.colour)
		for _, b := range sd.s.Reliability.Bins {
			if b.N == 0 {
				continue
			}
			fmt.Fprintf(bw, `<circle cx="%.1f" cy="%.1f" r="%.1f" fill="%s"><title>%s: confidence %.2f–%.2f, %d messages, mean confidence %.3f, right %.3f</title></circle>`+"\n",
				px(b.Confidence), py(b.Accuracy), 2.5+math.Sqrt(float64(b.N))/3, sd.colour, sd.name, b.Lo, b.Hi, b.N, b.Confidence, b.Accuracy)
		}
		ly := height - bottom + 50 + k*16
		fmt.Fprintf(bw, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/>`+"\n", left, ly-10, sd.colour)
		fmt.Fprintf(bw, `<text x="%d" y="%d">%s: %s, ECE %.3f (10 bins)</text>`+"\n", left+18, ly, sd.name, esc(cut(sd.s.Info.Version)), sd.s.Reliability.ECE)
	}
	bw.WriteString("</svg>\n")
	return bw.Flush()
}

func esc(s string) string { return html.EscapeString(s) }

// cut shortens an axis label to maxLabelC characters.
func cut(s string) string {
	r := []rune(s)
	if len(r) <= maxLabelC {
		return s
	}
	return string(r[:maxLabelC-1]) + "…"
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
