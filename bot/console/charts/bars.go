package charts

import (
	"html/template"
	"math"
	"strings"
)

// Bar is one row of a Bars chart.
type Bar struct {
	// Label is written above the bar, Note under it ("120 of 350
	// customers"); the value is written at the right.
	Label, Note string
	Value       float64
	// Color is a CSS colour; "" takes the palette's next one.
	Color string
	// Tip is the bar's tooltip; "" is the label and the value.
	Tip string
}

// Bars is a horizontal bar chart: one labelled bar per row, on a common
// scale from zero.
type Bars struct {
	Title, Desc string
	Bars        []Bar
	Format      Format
	// Max is the value of a full bar; 0 is 100% for Percent and the
	// largest value otherwise.
	Max              float64
	Empty, EmptyHint string
	// Width in pixels (0: 760); the height follows the rows.
	Width int
}

const barRow = 47

// SVG draws the chart. Rows with a non-finite value are drawn empty,
// negative values as zero.
func (c Bars) SVG() template.HTML {
	w := clampInt(c.Width, minWidth, maxWidth, 760)
	if len(c.Bars) == 0 {
		return empty(w, c.Title, c.Empty, c.EmptyHint)
	}
	full := c.Max
	if !finite(full) || full <= 0 {
		full = 0
		if c.Format == Percent {
			full = 1
		}
		for _, br := range c.Bars {
			if finite(br.Value) {
				full = math.Max(full, clampValue(br.Value))
			}
		}
		if full <= 0 {
			full = 1
		}
	}
	h := len(c.Bars)*barRow + 4
	var desc []string
	if c.Desc != "" {
		desc = append(desc, strings.TrimSuffix(c.Desc, ".")+".")
	}
	for _, br := range c.Bars {
		d := br.Label + ": " + Value(br.Value, c.Format)
		if br.Note != "" {
			d += " (" + br.Note + ")"
		}
		desc = append(desc, d+".")
	}
	var b builder
	b.root(w, h, c.Title, strings.Join(desc, " "))
	fw := float64(w)
	for i, br := range c.Bars {
		y := float64(i * barRow)
		value := Value(br.Value, c.Format)
		vw := textWidth(value, 13) + 8
		tip := br.Tip
		if tip == "" {
			tip = br.Label + ": " + value
			if br.Note != "" {
				tip += " (" + br.Note + ")"
			}
		}
		b.open("g")
		b.elem("title", tip)
		b.elem("text", fit(br.Label, fw-vw-4, 13), "x", "0", "y", px(y+15), "font-size", "13", "font-weight", "600")
		b.elem("text", value, "x", px(fw), "y", px(y+15), "text-anchor", "end", "font-size", "13", "font-weight", "700")
		b.void("rect", "x", "0", "y", px(y+21), "width", px(fw), "height", "8", "rx", "4", "fill", colorTrack)
		v := 0.0
		if finite(br.Value) {
			v = math.Max(0, math.Min(1, clampValue(br.Value)/full))
		}
		if v > 0 {
			b.void("rect", "x", "0", "y", px(y+21), "width", px(math.Max(v*fw, 3)), "height", "8", "rx", "4", "fill", colorAt(br.Color, i))
		}
		if br.Note != "" {
			b.elem("text", fit(br.Note, fw, 11.5), "x", "0", "y", px(y+43), "fill", colorMuted, "font-size", "11.5")
		}
		b.close("g")
	}
	return b.html()
}
