package charts

import (
	"html/template"
	"math"
	"strings"
)

// Tone colours a tile's note: whether its change is good news.
type Tone int

// Tones.
const (
	Neutral Tone = iota
	Good
	Bad
)

// Tile is one headline figure.
type Tile struct {
	// ID is given to the value's text element, so tests and links can
	// find it ("" for none).
	ID    string
	Label string
	Value string
	// Note is a line under the value (a change against the previous
	// period), coloured by Tone; Sub a muted line under it (what the
	// change is against).
	Note, Sub string
	Tone      Tone
	// Tip is the tile's tooltip (its definition, say).
	Tip string
}

// Tiles is a row of headline figures drawn as cards.
type Tiles struct {
	Title string
	Tiles []Tile
	// Width in pixels (0: 1132); the row's height is fixed.
	Width int
}

// SVG draws the row.
func (c Tiles) SVG() template.HTML {
	w := clampInt(c.Width, minWidth, maxWidth, 1132)
	if len(c.Tiles) == 0 {
		return empty(w, c.Title, "", "")
	}
	const h, gap = 118, 16.0
	var desc []string
	for _, t := range c.Tiles {
		d := t.Label + ": " + t.Value
		if t.Note != "" {
			d += " (" + strings.TrimSpace(t.Note+" "+t.Sub) + ")"
		}
		desc = append(desc, d+".")
	}
	var b builder
	b.root(w, h, c.Title, strings.Join(desc, " "))
	n := float64(len(c.Tiles))
	tw := (float64(w) - gap*(n-1)) / n
	for i, t := range c.Tiles {
		x := float64(i) * (tw + gap)
		b.open("g")
		if t.Tip != "" {
			b.elem("title", t.Tip)
		}
		b.void("rect", "x", px(x+0.5), "y", "0.5", "width", px(tw-1), "height", "117", "rx", "12", "fill", "#fff", "stroke", colorBorder)
		b.elem("text", fit(strings.ToUpper(t.Label), tw-32, 11), "x", px(x+16), "y", "27", "fill", colorMuted, "font-size", "11",
			"font-weight", "700", "letter-spacing", "0.6")
		size := math.Min(28, (tw-32)/math.Max(1, float64(len([]rune(t.Value))))/0.6)
		kv := []string{"x", px(x + 16), "y", "64", "font-size", px(size), "font-weight", "700"}
		if t.ID != "" {
			kv = append(kv, "id", t.ID)
		}
		b.elem("text", t.Value, kv...)
		if t.Note != "" {
			color := colorMuted
			switch t.Tone {
			case Good:
				color = colorGood
			case Bad:
				color = colorBad
			}
			b.elem("text", fit(t.Note, tw-32, 12), "x", px(x+16), "y", "88", "fill", color, "font-size", "12", "font-weight", "600")
		}
		if t.Sub != "" {
			b.elem("text", fit(t.Sub, tw-32, 11.5), "x", px(x+16), "y", "104", "fill", colorMuted, "font-size", "11.5")
		}
		b.close("g")
	}
	return b.html()
}
