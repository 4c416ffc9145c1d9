package segment

import (
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
)

// MaxPlotPoints bounds the customers drawn by WriteSVG: above it a
// sample (seeded with Result.Seed, so the same every time) is drawn,
// which keeps the file near 400 KB while the shape of the segments
// stays visible. Axis ranges and the legend's counts use everyone.
const MaxPlotPoints = 5000

// palette has a distinct colour for each of up to MaxSegments segments
// (Tableau 10, then darker variants).
var palette = [MaxSegments]string{
	"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
	"#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
	"#2f4b7c", "#a05195", "#d45087", "#3b7a57", "#8a6d0b",
	"#665191", "#b35806", "#1b7837", "#762a83", "#525252",
}

// SVG layout, in pixels.
const (
	svgW, svgH         = 1040, 600
	plotX, plotY       = 70, 50
	plotW, plotH       = 560, 480
	legendX, legendTop = 660, 70
)

// WriteSVG writes a standalone SVG scatter plot of the customers on the
// PCA plane, coloured by segment, with axes and a legend giving each
// segment's profile and size.
func (r *Result) WriteSVG(w io.Writer) error {
	var b strings.Builder
	n := len(r.Labels)
	pts := sampleIndexes(n, MaxPlotPoints, r.Seed)
	xmin, xmax := span(r.PCA.X)
	ymin, ymax := span(r.PCA.Y)
	sx := func(v float64) float64 { return plotX + (v-xmin)/(xmax-xmin)*plotW }
	sy := func(v float64) float64 { return plotY + plotH - (v-ymin)/(ymax-ymin)*plotH }

	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		svgW, svgH, svgW, svgH)
	b.WriteString(`<rect width="100%" height="100%" fill="white"/>` + "\n")
	title := fmt.Sprintf("Customer segments: %d by %s, %s customers", r.K, methodName(r.Method), thousands(n))
	fmt.Fprintf(&b, `<text x="%d" y="28" font-size="16" font-weight="bold">%s</text>`+"\n", plotX, esc(title))

	// Axes, ticks and grid.
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>`+"\n", plotX, plotY, plotW, plotH)
	for _, t := range ticks(xmin, xmax) {
		x := sx(t)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>`, x, plotY, x, plotY+plotH)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x, plotY+plotH+16, esc(tickLabel(t)))
	}
	for _, t := range ticks(ymin, ymax) {
		y := sy(t)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>`, plotX, y, plotX+plotW, y)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", plotX-6, y, esc(tickLabel(t)))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">%s</text>`+"\n", plotX+plotW/2, plotY+plotH+38,
		esc(fmt.Sprintf("principal component 1 (%.0f%% of variance)", 100*r.PCA.Explained[0])))
	fmt.Fprintf(&b, `<text transform="translate(%d %d) rotate(-90)" text-anchor="middle">%s</text>`+"\n", 20, plotY+plotH/2,
		esc(fmt.Sprintf("principal component 2 (%.0f%% of variance)", 100*r.PCA.Explained[1])))

	// Points, one group per segment so each colour is written once.
	for s := 0; s < r.K; s++ {
		fmt.Fprintf(&b, `<g fill="%s" fill-opacity="0.6">`+"\n", palette[s%len(palette)])
		for _, i := range pts {
			if r.Labels[i] == s {
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="2"/>`, sx(r.PCA.X[i]), sy(r.PCA.Y[i]))
			}
		}
		b.WriteString("\n</g>\n")
	}

	// Legend.
	y := legendTop
	for s, p := range r.Profiles {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/>`, legendX, y-10, palette[s%len(palette)])
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", legendX+18, y, esc(p.Segment+": "+p.Name))
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#555">%s</text>`+"\n", legendX+18, y+15,
			esc(fmt.Sprintf("%s customers (%.1f%%)", thousands(p.Size), 100*p.Share)))
		y += 38
	}
	if len(pts) < n {
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#555">%s</text>`+"\n", legendX, y,
			esc(fmt.Sprintf("showing a sample of %s of %s customers", thousands(len(pts)), thousands(n))))
	}
	b.WriteString("</svg>\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write segment plot: %w", err)
	}
	return nil
}

// WriteTable writes the segment profiles as a Markdown table: per
// segment its profile, size and share, and for each feature the
// segment's mean in natural units with, in parentheses, the z-score of
// that mean against the population; a last row gives the population
// means.
func (r *Result) WriteTable(w io.Writer) error {
	var b strings.Builder
	b.WriteString("| segment | profile | customers | share |")
	for f := 0; f < NumFeatures; f++ {
		b.WriteString(" " + featureInfo[f].label + " |")
	}
	b.WriteString("\n|---|---|--:|--:|")
	for f := 0; f < NumFeatures; f++ {
		b.WriteString("--:|")
	}
	b.WriteString("\n")
	for _, p := range r.Profiles {
		fmt.Fprintf(&b, "| %s | %s | %s | %.1f%% |", p.Segment, mdEscape(p.Name), thousands(p.Size), 100*p.Share)
		for f := 0; f < NumFeatures; f++ {
			fmt.Fprintf(&b, " "+featureInfo[f].format+" (%+.2f) |", p.Mean[f], p.Z[f])
		}
		b.WriteString("\n")
	}
	n, d := r.Features.Raw.Dims()
	raw, _, _ := rowMajor(r.Features.Raw)
	fmt.Fprintf(&b, "| all | | %s | 100.0%% |", thousands(n))
	for f := 0; f < d; f++ {
		var m float64
		for i := 0; i < n; i++ {
			m += raw[i*d+f]
		}
		fmt.Fprintf(&b, " "+featureInfo[f].format+" |", m/float64(n))
	}
	b.WriteString("\n\nCells: the segment's mean (the z-score of that mean against all customers; " +
		"orders, spend, recency and conversations are log-transformed before scoring).\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write segment table: %w", err)
	}
	return nil
}

func methodName(m Method) string {
	if m == MethodWard {
		return "Ward clustering"
	}
	return "k-means"
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}

// mdEscape keeps a cell's text from breaking the table.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// span returns a padded [min, max] of v, never empty.
func span(v []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range v {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	if len(v) == 0 || hi-lo < 1e-9 {
		mid := 0.0
		if len(v) > 0 {
			mid = lo
		}
		return mid - 1, mid + 1
	}
	pad := 0.05 * (hi - lo)
	return lo - pad, hi + pad
}

// ticks returns round tick positions within [lo, hi], about five.
func ticks(lo, hi float64) []float64 {
	raw := (hi - lo) / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var ts []float64
	for t := math.Ceil(lo/step) * step; t <= hi+1e-9*step && len(ts) < 20; t += step {
		ts = append(ts, t)
	}
	return ts
}

func tickLabel(t float64) string {
	if math.Abs(t) < 1e-9 {
		t = 0
	}
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", t), "0"), ".")
}

// thousands formats n with comma separators: 100000 -> "100,000".
func thousands(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
