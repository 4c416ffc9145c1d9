package charts

import (
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
)

// Kind is how a TimeChart draws its series.
type Kind int

// Kinds of time charts.
const (
	// Lines draws each series as a line with a dot per day; a missing
	// value is a gap.
	Lines Kind = iota
	// StackedBars stacks the series' values in one bar per day.
	StackedBars
	// StackedArea stacks the series as bands over the days.
	StackedArea
)

// Series is one named row of values, one per day of its chart.
type Series struct {
	Name string
	// Color is a CSS colour; "" takes the palette's next one.
	Color string
	// Values holds one value per day; NaN (or a missing value, past the
	// end) is no value: a gap in a line, nothing in a stack.
	Values []float64
	// Tips are the tooltips of the values (by day); "" is one written
	// from the name, the day and the value.
	Tips []string
}

// Axis describes a chart's value axis.
type Axis struct {
	// Label names what the axis measures ("messages").
	Label  string
	Format Format
	// Fixed makes the axis run from Min to Max whatever the data;
	// otherwise it covers the data (and zero, for stacks and counts).
	Fixed    bool
	Min, Max float64
	// ZeroLine draws a line at zero when the axis spans it.
	ZeroLine bool
}

// TimeChart is a chart of values per day.
type TimeChart struct {
	// Title names the chart for assistive technology and tooltips (the
	// page shows it as a heading); Desc says what it shows, and a summary
	// of the data is appended to it.
	Title, Desc string
	// Days are the chart's days, in order, one position each.
	Days   []time.Time
	Series []Series
	Kind   Kind
	Y      Axis
	// XLabel names the day axis; "" is "Day (UTC)".
	XLabel string
	// Empty and EmptyHint are shown instead of the chart when there is
	// nothing to draw ("" is "No data yet").
	Empty, EmptyHint string
	// Width and Height in pixels (0: 760 by 280).
	Width, Height int
}

// Margins of a time chart's plot, in pixels.
const (
	padLeft   = 58
	padRight  = 14
	padBottom = 44
	legendRow = 20
)

// timePlot is a time chart's geometry and cleaned data.
type timePlot struct {
	c                    TimeChart
	w, h                 int
	left, right, top, bt float64
	n                    int
	vals                 [][]float64 // [series][day], NaN when missing
	ticks                []float64
	lo, hi, step         float64
}

func (p *timePlot) x(i int) float64 {
	band := (p.right - p.left) / float64(p.n)
	return p.left + band*(float64(i)+0.5)
}

func (p *timePlot) y(v float64) float64 {
	return p.bt - (clampValue(v)-p.lo)/(p.hi-p.lo)*(p.bt-p.top)
}

func (p *timePlot) band() float64 { return (p.right - p.left) / float64(p.n) }

// SVG draws the chart.
func (c TimeChart) SVG() template.HTML {
	p := &timePlot{c: c, w: clampInt(c.Width, minWidth, maxWidth, 760), h: clampInt(c.Height, minHeight, maxHeight, 280), n: len(c.Days)}
	if p.n == 0 || len(c.Series) == 0 {
		return empty(p.w, c.Title, c.Empty, c.EmptyHint)
	}
	stacked := c.Kind == StackedBars || c.Kind == StackedArea
	drawable := false
	p.vals = make([][]float64, len(c.Series))
	for s, se := range c.Series {
		p.vals[s] = make([]float64, p.n)
		for i := range p.vals[s] {
			v := math.NaN()
			if i < len(se.Values) && finite(se.Values[i]) {
				v = clampValue(se.Values[i])
			}
			if stacked && v < 0 {
				v = math.NaN() // a stack has no negative parts
			}
			p.vals[s][i] = v
			if finite(v) && (!stacked || v > 0) {
				drawable = true
			}
		}
	}
	if !drawable {
		return empty(p.w, c.Title, c.Empty, c.EmptyHint)
	}

	// Legend rows, then the plot below them.
	legend := p.legendLayout()
	rows := 0
	for _, it := range legend {
		rows = max(rows, it.row+1)
	}
	p.left, p.right = padLeft, float64(p.w-padRight)
	p.top, p.bt = float64(rows*legendRow+16), float64(p.h-padBottom)
	if p.bt-p.top < 40 {
		p.bt = p.top + 40
		p.h = int(p.bt) + padBottom
	}
	p.domain(stacked)

	var b builder
	b.root(p.w, p.h, c.Title, p.describe(stacked))
	p.drawLegend(&b, legend)
	p.drawYAxis(&b)
	p.drawXAxis(&b)
	switch c.Kind {
	case StackedBars:
		p.drawColumns(&b)
		p.drawBars(&b)
	case StackedArea:
		p.drawArea(&b)
		p.drawColumns(&b)
	default:
		p.drawColumns(&b)
		p.drawLines(&b)
	}
	return b.html()
}

// domain sets the value axis's range and ticks.
func (p *timePlot) domain(stacked bool) {
	y := p.c.Y
	if y.Fixed && finite(y.Min) && finite(y.Max) && y.Max > y.Min {
		p.ticks, p.lo, p.hi, p.step = niceTicks(y.Min, y.Max, 5)
		p.lo, p.hi = clampValue(y.Min), clampValue(y.Max)
		var in []float64
		for _, t := range p.ticks {
			if t >= p.lo-p.step*1e-9 && t <= p.hi+p.step*1e-9 {
				in = append(in, t)
			}
		}
		p.ticks = in
		return
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := 0; i < p.n; i++ {
		sum := 0.0
		for s := range p.vals {
			v := p.vals[s][i]
			if !finite(v) {
				continue
			}
			if stacked {
				sum = clampValue(sum + v)
				v = sum
			}
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if stacked || y.Format == Count || y.Format == Percent {
		lo = math.Min(lo, 0)
	}
	if y.ZeroLine {
		lo, hi = math.Min(lo, 0), math.Max(hi, 0)
	}
	p.ticks, p.lo, p.hi, p.step = niceTicks(lo, hi, 5)
}

type legendItem struct {
	name   string
	color  string
	x      float64
	row    int
	series int
}

func (p *timePlot) legendLayout() []legendItem {
	var out []legendItem
	if len(p.c.Series) == 1 && p.c.Series[0].Name == "" {
		return nil
	}
	x, row := float64(padLeft), 0
	for s, se := range p.c.Series {
		name := fit(se.Name, 220, 12)
		w := 18 + textWidth(name, 12) + 18
		if x+w > float64(p.w-padRight) && x > padLeft {
			x, row = padLeft, row+1
		}
		out = append(out, legendItem{name: name, color: colorAt(se.Color, s), x: x, row: row, series: s})
		x += w
	}
	return out
}

func (p *timePlot) drawLegend(b *builder, items []legendItem) {
	if len(items) == 0 {
		return
	}
	b.open("g", "aria-hidden", "true")
	for _, it := range items {
		y := float64(it.row*legendRow) + 12
		if p.c.Kind == Lines {
			b.void("line", "x1", px(it.x), "y1", px(y-4), "x2", px(it.x+12), "y2", px(y-4), "stroke", it.color, "stroke-width", "3", "stroke-linecap", "round")
		} else {
			b.void("rect", "x", px(it.x), "y", px(y-10), "width", "12", "height", "12", "rx", "3", "fill", it.color)
		}
		b.elem("text", it.name, "x", px(it.x+18), "y", px(y), "fill", colorText)
	}
	b.close("g")
}

func (p *timePlot) drawYAxis(b *builder) {
	b.open("g", "aria-hidden", "true")
	for _, t := range p.ticks {
		y := p.y(t)
		b.void("line", "x1", px(p.left), "y1", px(y), "x2", px(p.right), "y2", px(y), "stroke", colorGrid)
		b.elem("text", axisLabel(t, p.step, p.c.Y.Format), "x", px(p.left-8), "y", px(y+4), "text-anchor", "end", "fill", colorMuted, "font-size", "11")
	}
	if p.c.Y.ZeroLine && p.lo < 0 && p.hi > 0 {
		y := p.y(0)
		b.void("line", "x1", px(p.left), "y1", px(y), "x2", px(p.right), "y2", px(y), "stroke", colorZero, "stroke-dasharray", "4 3")
	}
	if p.c.Y.Label != "" {
		mid := (p.top + p.bt) / 2
		b.elem("text", fit(p.c.Y.Label, p.bt-p.top+20, 11), "x", "0", "y", "0", "transform", "translate(14 "+px(mid)+") rotate(-90)",
			"text-anchor", "middle", "fill", colorMuted, "font-size", "11")
	}
	b.close("g")
}

func (p *timePlot) drawXAxis(b *builder) {
	b.open("g", "aria-hidden", "true")
	b.void("line", "x1", px(p.left), "y1", px(p.bt), "x2", px(p.right), "y2", px(p.bt), "stroke", colorAxis)
	step := dayStep(p.n)
	for i := p.n - 1; i >= 0; i -= step {
		x := p.x(i)
		label := dayLabel(p.c.Days[i])
		anchor := "middle"
		if w := textWidth(label, 11); x+w/2 > float64(p.w) {
			anchor = "end"
			x = float64(p.w) - 2
		}
		b.void("line", "x1", px(p.x(i)), "y1", px(p.bt), "x2", px(p.x(i)), "y2", px(p.bt+4), "stroke", colorAxis)
		b.elem("text", label, "x", px(x), "y", px(p.bt+18), "text-anchor", anchor, "fill", colorMuted, "font-size", "11")
	}
	xl := p.c.XLabel
	if xl == "" {
		xl = "Day (UTC)"
	}
	b.elem("text", xl, "x", px((p.left+p.right)/2), "y", px(p.bt+37), "text-anchor", "middle", "fill", colorMuted, "font-size", "11")
	b.close("g")
}

// tip is the tooltip of series s on day i.
func (p *timePlot) tip(s, i int) string {
	se := p.c.Series[s]
	if i < len(se.Tips) && se.Tips[i] != "" {
		return se.Tips[i]
	}
	return DayTitle(p.c.Days[i]) + " · " + se.Name + ": " + Value(p.vals[s][i], p.c.Y.Format)
}

// drawColumns draws one transparent column per day whose tooltip lists
// every series' value: for bars, under them (a bar's own tooltip wins);
// for areas, over them (a band spans every day).
func (p *timePlot) drawColumns(b *builder) {
	band := p.band()
	b.open("g", "fill", "#000", "fill-opacity", "0")
	for i := 0; i < p.n; i++ {
		var lines []string
		total, n := 0.0, 0
		for s, se := range p.c.Series {
			v := p.vals[s][i]
			if !finite(v) {
				continue
			}
			total += v
			n++
			lines = append(lines, se.Name+": "+Value(v, p.c.Y.Format))
		}
		head := DayTitle(p.c.Days[i])
		if p.c.Kind != Lines && n > 1 {
			head += " · total " + Value(total, p.c.Y.Format)
		}
		if n == 0 {
			lines = []string{"no data"}
		}
		b.withTitle("rect", head+"\n"+strings.Join(lines, "\n"), "x", px(p.left+band*float64(i)), "y", px(p.top),
			"width", px(band), "height", px(p.bt-p.top))
	}
	b.close("g")
}

func (p *timePlot) drawBars(b *builder) {
	band := p.band()
	bw := math.Max(1, band*0.72)
	if band > 3 {
		bw = math.Max(bw, math.Min(band-2, 2))
	}
	for s, se := range p.c.Series {
		b.open("g", "fill", colorAt(se.Color, s))
		for i := 0; i < p.n; i++ {
			v := p.vals[s][i]
			if !finite(v) || v <= 0 {
				continue
			}
			base := 0.0
			for k := 0; k < s; k++ {
				if finite(p.vals[k][i]) {
					base += p.vals[k][i]
				}
			}
			y0, y1 := p.y(base), p.y(base+v)
			b.withTitle("rect", p.tip(s, i), "x", px(p.x(i)-bw/2), "y", px(y1), "width", px(bw), "height", px(math.Max(y0-y1, 0.5)))
		}
		b.close("g")
	}
}

func (p *timePlot) drawArea(b *builder) {
	xs := make([]float64, p.n)
	for i := range xs {
		xs[i] = p.x(i)
	}
	if p.n == 1 {
		// One day is a band across the plot, not a line of no width.
		xs = []float64{p.left, p.right}
	}
	at := func(i int) int { return min(i, p.n-1) }
	base := make([]float64, len(xs))
	for s, se := range p.c.Series {
		top := make([]float64, len(xs))
		total := 0.0
		for i := range xs {
			v := p.vals[s][at(i)]
			if !finite(v) {
				v = 0
			}
			top[i] = base[i] + v
		}
		for i := 0; i < p.n; i++ {
			if v := p.vals[s][i]; finite(v) {
				total += v
			}
		}
		var d strings.Builder
		for i := range xs {
			cmd := "L"
			if i == 0 {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%s %s ", cmd, px(xs[i]), px(p.y(top[i])))
		}
		for i := len(xs) - 1; i >= 0; i-- {
			fmt.Fprintf(&d, "L%s %s ", px(xs[i]), px(p.y(base[i])))
		}
		d.WriteString("Z")
		b.withTitle("path", se.Name+": "+Value(total, p.c.Y.Format)+" in the period", "d", d.String(),
			"fill", colorAt(se.Color, s), "fill-opacity", "0.88", "stroke", "#fff", "stroke-width", "0.75", "stroke-linejoin", "round")
		base = top
	}
}

func (p *timePlot) drawLines(b *builder) {
	for s, se := range p.c.Series {
		color := colorAt(se.Color, s)
		var d strings.Builder
		pen := false
		for i := 0; i < p.n; i++ {
			v := p.vals[s][i]
			if !finite(v) {
				pen = false
				continue
			}
			cmd := "L"
			if !pen {
				cmd = "M"
			}
			fmt.Fprintf(&d, "%s%s %s ", cmd, px(p.x(i)), px(p.y(v)))
			pen = true
		}
		if d.Len() > 0 {
			b.void("path", "d", strings.TrimSpace(d.String()), "fill", "none", "stroke", color, "stroke-width", "2.25",
				"stroke-linejoin", "round", "stroke-linecap", "round")
		}
		// Dots mark the days; past 45 days they would crowd the line, so
		// they stay as invisible targets for their tooltips.
		r := 3.0
		if p.n > 45 {
			r = 4
			b.open("g", "fill", "#000", "fill-opacity", "0")
		} else {
			b.open("g", "fill", "#fff", "stroke", color, "stroke-width", "1.75")
		}
		for i := 0; i < p.n; i++ {
			if v := p.vals[s][i]; finite(v) {
				b.withTitle("circle", p.tip(s, i), "cx", px(p.x(i)), "cy", px(p.y(v)), "r", strconv.FormatFloat(r, 'f', -1, 64))
			}
		}
		b.close("g")
	}
}

// describe is the chart's description: the caller's, then per series a
// summary of its values.
func (p *timePlot) describe(stacked bool) string {
	var parts []string
	if p.c.Desc != "" {
		parts = append(parts, strings.TrimSuffix(p.c.Desc, ".")+".")
	}
	parts = append(parts, fmt.Sprintf("%d days from %s to %s.", p.n, DayTitle(p.c.Days[0]), DayTitle(p.c.Days[p.n-1])))
	f := p.c.Y.Format
	for s, se := range p.c.Series {
		lo, hi, total, n, last := math.Inf(1), math.Inf(-1), 0.0, 0, math.NaN()
		for _, v := range p.vals[s] {
			if !finite(v) {
				continue
			}
			lo, hi, total, last = math.Min(lo, v), math.Max(hi, v), total+v, v
			n++
		}
		switch {
		case n == 0:
			parts = append(parts, se.Name+": no data.")
		case stacked:
			parts = append(parts, fmt.Sprintf("%s: %s in total, at most %s a day.", se.Name, Value(total, f), Value(hi, f)))
		default:
			parts = append(parts, fmt.Sprintf("%s: from %s to %s, last %s.", se.Name, Value(lo, f), Value(hi, f), Value(last, f)))
		}
	}
	return strings.Join(parts, " ")
}
