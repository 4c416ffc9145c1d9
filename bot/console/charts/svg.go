package charts

import (
	"html"
	"html/template"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Colours, matching the console's stylesheet.
const (
	colorText   = "#161b26"
	colorMuted  = "#667085"
	colorGrid   = "#eef0f3"
	colorAxis   = "#d3d7de"
	colorZero   = "#98a2b3"
	colorBorder = "#e4e6eb"
	colorTrack  = "#f0f1f4"
	colorGood   = "#067647"
	colorBad    = "#c01f36"
)

// Palette is the categorical palette: series without a colour of their
// own take these in order. Its first colour is the console's accent.
var Palette = []string{
	"#4f46e5", "#f59e0b", "#10b981", "#ec4899", "#0ea5e9",
	"#ef4444", "#84cc16", "#8b5cf6", "#14b8a6", "#f97316",
	"#64748b", "#a16207", "#0369a1", "#be185d", "#15803d",
}

// Other is the colour of an "everything else" series.
const Other = "#cbd5e1"

// colorAt is series i's colour: its own when it is a hex colour or a
// colour name, else the palette's.
func colorAt(own string, i int) string {
	if validColor(own) {
		return own
	}
	return Palette[i%len(Palette)]
}

func validColor(c string) bool {
	if c == "" || len(c) > 32 {
		return false
	}
	if c[0] == '#' {
		if n := len(c) - 1; n != 3 && n != 4 && n != 6 && n != 8 {
			return false
		}
		return strings.Trim(c[1:], "0123456789abcdefABCDEF") == ""
	}
	return strings.Trim(c, "abcdefghijklmnopqrstuvwxyz") == ""
}

// Size bounds: charts are laid out in pixels at their width.
const (
	minWidth, maxWidth   = 200, 4000
	minHeight, maxHeight = 100, 4000
)

func clampInt(v, lo, hi, def int) int {
	if v == 0 {
		return def
	}
	return max(lo, min(hi, v))
}

// clean makes s fit for XML: valid UTF-8 and no control characters
// but tab and newline (XML 1.0 cannot carry the others, escaped or not).
func clean(s string) string {
	if utf8.ValidString(s) && !strings.ContainsFunc(s, badRune) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		if badRune(r) {
			return ' '
		}
		return r
	}, s)
}

func badRune(r rune) bool {
	return r < 0x20 && r != '\t' && r != '\n' || r == 0x7f || r == 0xFFFE || r == 0xFFFF
}

// esc escapes text or an attribute value (the five XML specials).
func esc(s string) string { return html.EscapeString(clean(s)) }

// builder writes SVG markup; every string it is given is escaped.
type builder struct{ strings.Builder }

// attrs writes name="value" pairs.
func (b *builder) attrs(kv []string) {
	for i := 0; i+1 < len(kv); i += 2 {
		b.WriteByte(' ')
		b.WriteString(kv[i])
		b.WriteString(`="`)
		b.WriteString(esc(kv[i+1]))
		b.WriteByte('"')
	}
}

// open writes a start tag.
func (b *builder) open(tag string, kv ...string) {
	b.WriteByte('<')
	b.WriteString(tag)
	b.attrs(kv)
	b.WriteByte('>')
}

func (b *builder) close(tag string) {
	b.WriteString("</")
	b.WriteString(tag)
	b.WriteByte('>')
}

// void writes an element without content.
func (b *builder) void(tag string, kv ...string) {
	b.WriteByte('<')
	b.WriteString(tag)
	b.attrs(kv)
	b.WriteString("/>")
}

// elem writes an element holding text.
func (b *builder) elem(tag, text string, kv ...string) {
	b.open(tag, kv...)
	b.WriteString(esc(text))
	b.close(tag)
}

// withTitle writes an element without other content than a tooltip.
func (b *builder) withTitle(tag, tip string, kv ...string) {
	if tip == "" {
		b.void(tag, kv...)
		return
	}
	b.open(tag, kv...)
	b.elem("title", tip)
	b.close(tag)
}

// root opens the chart's svg element: scaled to its container, one
// image for assistive technology, named by title and described by desc.
func (b *builder) root(w, h int, title, desc string) {
	b.open("svg", "xmlns", "http://www.w3.org/2000/svg", "viewBox", "0 0 "+strconv.Itoa(w)+" "+strconv.Itoa(h),
		"width", "100%", "role", "img", "aria-label", title, "font-size", "12", "fill", colorText)
	b.elem("title", title)
	if desc != "" {
		b.elem("desc", desc)
	}
}

func (b *builder) html() template.HTML {
	b.close("svg")
	// The markup is built only from escaped strings and fixed tags.
	return template.HTML(b.String())
}

// px formats a coordinate: at most one decimal.
func px(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64)
}

// textWidth estimates the width of s in a sans-serif font of size px:
// enough to lay out legends and cut long labels.
func textWidth(s string, size float64) float64 {
	return float64(utf8.RuneCountInString(s)) * size * 0.56
}

// fit cuts s with an ellipsis so that it is at most width wide at size.
func fit(s string, width, size float64) string {
	if textWidth(s, size) <= width {
		return s
	}
	n := int(width/(size*0.56)) - 1
	if n < 1 {
		return "…"
	}
	r := []rune(s)
	if n >= len(r) {
		return s
	}
	return strings.TrimRight(string(r[:n]), " ") + "…"
}

// empty draws the box an empty chart shows instead of axes.
func empty(w int, title, msg, hint string) template.HTML {
	const h = 150
	var b builder
	if msg == "" {
		msg = "No data yet"
	}
	b.root(w, h, title, title+": "+msg+".")
	b.void("rect", "x", "1", "y", "1", "width", strconv.Itoa(w-2), "height", strconv.Itoa(h-2), "rx", "10",
		"fill", "#fafbfc", "stroke", colorAxis, "stroke-dasharray", "4 4")
	y := h/2 + 2
	if hint != "" {
		y -= 8
	}
	b.elem("text", msg, "x", strconv.Itoa(w/2), "y", strconv.Itoa(y), "text-anchor", "middle", "font-size", "15",
		"font-weight", "600", "fill", colorMuted)
	if hint != "" {
		b.elem("text", fit(hint, float64(w-24), 12), "x", strconv.Itoa(w/2), "y", strconv.Itoa(y+22),
			"text-anchor", "middle", "fill", colorMuted)
	}
	return b.html()
}
