package charts

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Point is one dot of a scatter plot.
type Point struct {
	X, Y float64
	// Tip is the dot's tooltip ("" for none).
	Tip string
}

// Group is a set of points drawn in one colour, with a legend entry.
type Group struct {
	// Name is the legend's first line; Note its second (a count, say).
	Name, Note string
	// Color is a CSS colour; "" takes the palette's next one.
	Color  string
	Points []Point
}

// Scatter is a scatter plot of groups of points, with its legend on the
// right.
type Scatter struct {
	Title, Desc    string
	XLabel, YLabel string
	Groups         []Group
	// Note is written under the legend ("showing a sample of ...").
	Note             string
	Empty, EmptyHint string
	// Width and Height in pixels (0: 760 by 380).
	Width, Height int
}

// SVG draws the plot. Points with a non-finite coordinate are left out.
func (c Scatter) SVG() template.HTML {
	w, h := clampInt(c.Width, minWidth, maxWidth, 760), clampInt(c.Height, minHeight, maxHeight, 380)
	xlo, xhi, ylo, yhi := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	n := 0
	for _, g := range c.Groups {
		for _, pt := range g.Points {
			if !finite(pt.X) || !finite(pt.Y) {
				continue
			}
			x, y := clampValue(pt.X), clampValue(pt.Y)
			xlo, xhi, ylo, yhi = math.Min(xlo, x), math.Max(xhi, x), math.Min(ylo, y), math.Max(yhi, y)
			n++
		}
	}
	if n == 0 {
		return empty(w, c.Title, c.Empty, c.EmptyHint)
	}
	legendW := math.Min(250, float64(w)*0.36)
	left, right := 52.0, float64(w)-legendW-20
	top, bottom := 12.0, float64(h)-44
	// A little room around the outermost points.
	padX, padY := (xhi-xlo)*0.04, (yhi-ylo)*0.04
	xt, x0, x1, xstep := niceTicks(xlo-padX, xhi+padX, 6)
	yt, y0, y1, ystep := niceTicks(ylo-padY, yhi+padY, 5)
	sx := func(v float64) float64 { return left + (clampValue(v)-x0)/(x1-x0)*(right-left) }
	sy := func(v float64) float64 { return bottom - (clampValue(v)-y0)/(y1-y0)*(bottom-top) }

	var desc []string
	if c.Desc != "" {
		desc = append(desc, strings.TrimSuffix(c.Desc, ".")+".")
	}
	desc = append(desc, fmt.Sprintf("%s points in %d groups.", Thousands(float64(n)), len(c.Groups)))
	for _, g := range c.Groups {
		d := g.Name
		if g.Note != "" {
			d += " (" + g.Note + ")"
		}
		desc = append(desc, d+".")
	}
	var b builder
	b.root(w, h, c.Title, strings.Join(desc, " "))

	// Grid, ticks, axis labels.
	b.open("g", "aria-hidden", "true")
	for _, t := range xt {
		x := sx(t)
		b.void("line", "x1", px(x), "y1", px(top), "x2", px(x), "y2", px(bottom), "stroke", colorGrid)
		b.elem("text", axisLabel(t, xstep, Signed), "x", px(x), "y", px(bottom+16), "text-anchor", "middle", "fill", colorMuted, "font-size", "11")
	}
	for _, t := range yt {
		y := sy(t)
		b.void("line", "x1", px(left), "y1", px(y), "x2", px(right), "y2", px(y), "stroke", colorGrid)
		b.elem("text", axisLabel(t, ystep, Signed), "x", px(left-8), "y", px(y+4), "text-anchor", "end", "fill", colorMuted, "font-size", "11")
	}
	b.void("rect", "x", px(left), "y", px(top), "width", px(right-left), "height", px(bottom-top), "fill", "none", "stroke", colorAxis)
	if c.XLabel != "" {
		b.elem("text", fit(c.XLabel, right-left, 11), "x", px((left+right)/2), "y", px(bottom+36), "text-anchor", "middle", "fill", colorMuted, "font-size", "11")
	}
	if c.YLabel != "" {
		b.elem("text", fit(c.YLabel, bottom-top, 11), "x", "0", "y", "0", "transform", "translate(14 "+px((top+bottom)/2)+") rotate(-90)",
			"text-anchor", "middle", "fill", colorMuted, "font-size", "11")
	}
	b.close("g")

	r := "3.5"
	if n > 1500 {
		r = "2.5"
	}
	for gi, g := range c.Groups {
		b.open("g", "fill", colorAt(g.Color, gi), "fill-opacity", "0.72", "stroke", "#fff", "stroke-width", "0.6")
		for _, pt := range g.Points {
			if finite(pt.X) && finite(pt.Y) {
				b.withTitle("circle", pt.Tip, "cx", px(sx(pt.X)), "cy", px(sy(pt.Y)), "r", r)
			}
		}
		b.close("g")
	}

	// Legend.
	lx := right + 20
	ly := top + 6
	b.open("g", "aria-hidden", "true")
	for gi, g := range c.Groups {
		if ly+30 > float64(h) {
			b.elem("text", fmt.Sprintf("and %d more", len(c.Groups)-gi), "x", px(lx), "y", px(ly+10), "fill", colorMuted)
			break
		}
		b.void("circle", "cx", px(lx+6), "cy", px(ly+6), "r", "6", "fill", colorAt(g.Color, gi))
		b.elem("text", fit(g.Name, legendW-24, 12.5), "x", px(lx+18), "y", px(ly+10), "font-weight", "600", "font-size", "12.5")
		if g.Note != "" {
			b.elem("text", fit(g.Note, legendW-24, 11.5), "x", px(lx+18), "y", px(ly+25), "fill", colorMuted, "font-size", "11.5")
		}
		ly += 38
	}
	if c.Note != "" && ly+12 < float64(h) {
		b.elem("text", fit(c.Note, legendW-4, 11), "x", px(lx), "y", px(ly+10), "fill", colorMuted, "font-size", "11")
	}
	b.close("g")
	return b.html()
}
