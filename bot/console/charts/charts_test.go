package charts_test

import (
	"encoding/xml"
	"errors"
	"html/template"
	"io"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot/console/charts"
)

// parse checks that svg is one well-formed XML document with an svg
// root that is one accessible image, and counts its elements by name.
func parse(t *testing.T, what string, svg template.HTML) map[string]int {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(string(svg)))
	counts := map[string]int{}
	depth := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: not well-formed XML: %v\n%s", what, err, svg)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				attr := map[string]string{}
				for _, a := range e.Attr {
					attr[a.Name.Local] = a.Value
				}
				if e.Name.Local != "svg" || attr["role"] != "img" || attr["aria-label"] == "" || attr["viewBox"] == "" {
					t.Errorf("%s: root <%s %v>, want <svg role=img aria-label=... viewBox=...>", what, e.Name.Local, attr)
				}
			}
			depth++
			counts[e.Name.Local]++
		case xml.EndElement:
			depth--
		}
	}
	if counts["svg"] != 1 || counts["title"] < 1 || counts["desc"] != 1 {
		t.Errorf("%s: %d svg, %d title, %d desc elements; want one svg with a title and a desc", what, counts["svg"], counts["title"], counts["desc"])
	}
	return counts
}

func days(n int) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i)
	}
	return out
}

func constant(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

const hostile = `<script>alert("x")</script> & 'quotes'`

func TestTimeChartXML(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name   string
		days   int
		series []charts.Series
		y      charts.Axis
		empty  bool
	}{
		{"ordinary", 30, []charts.Series{{Name: "web", Values: constant(30, 12)}, {Name: "slack", Values: constant(30, 3)}}, charts.Axis{Label: "messages"}, false},
		{"one day", 1, []charts.Series{{Name: "web", Values: []float64{4}}}, charts.Axis{}, false},
		{"no days", 0, []charts.Series{{Name: "web"}}, charts.Axis{}, true},
		{"no series", 7, nil, charts.Axis{}, true},
		{"zero data", 7, []charts.Series{{Name: "web", Values: constant(7, 0)}}, charts.Axis{}, true},
		{"all missing", 7, []charts.Series{{Name: "web", Values: constant(7, nan)}}, charts.Axis{}, true},
		{"huge values", 7, []charts.Series{{Name: "web", Values: constant(7, 4.2e12)}}, charts.Axis{}, false},
		{"extreme values", 3, []charts.Series{{Name: "web", Values: []float64{math.MaxFloat64, -math.MaxFloat64, math.Inf(1)}}}, charts.Axis{}, false},
		{"short and long series", 7, []charts.Series{{Name: "a", Values: []float64{1}}, {Name: "b", Values: constant(20, 2)}}, charts.Axis{}, false},
		{"hostile names", 7, []charts.Series{{Name: hostile, Values: constant(7, 1), Tips: []string{hostile}, Color: `red"/><script>`}}, charts.Axis{Label: hostile}, false},
		{"control characters", 7, []charts.Series{{Name: "bell\x07 and bad \xff bytes", Values: constant(7, 1)}}, charts.Axis{}, false},
		{"90 days", 90, []charts.Series{{Name: "web", Values: constant(90, 7)}}, charts.Axis{}, false},
		{"negative lines", 7, []charts.Series{{Name: "s", Values: []float64{-0.5, 0.2, nan, 0.4, -0.1, nan, 0}}}, charts.Axis{Format: charts.Signed, ZeroLine: true}, false},
		{"fixed percent", 7, []charts.Series{{Name: "rate", Values: []float64{0.1, 0.2, 1.5, -1, nan, 0, 0.05}}}, charts.Axis{Format: charts.Percent, Fixed: true, Min: 0, Max: 1}, false},
	}
	for _, tt := range tests {
		for _, kind := range []charts.Kind{charts.Lines, charts.StackedBars, charts.StackedArea} {
			what := tt.name + " " + [...]string{"lines", "bars", "area"}[kind]
			c := charts.TimeChart{Title: "Messages " + hostile, Desc: hostile, Days: days(tt.days), Series: tt.series, Kind: kind, Y: tt.y,
				Empty: "Nothing <here>", EmptyHint: hostile}
			svg := c.SVG()
			n := parse(t, what, svg)
			noMarkup(t, what, svg)
			isEmpty := strings.Contains(string(svg), "Nothing &lt;here&gt;")
			// Lines of all-zero data are data (a rate of 0%); stacks of zeros are not.
			wantEmpty := tt.empty && !(kind == charts.Lines && tt.name == "zero data")
			if isEmpty != wantEmpty {
				t.Errorf("%s: empty box %v, want %v", what, isEmpty, wantEmpty)
			}
			if isEmpty && n["path"]+n["circle"]+n["line"] > 0 {
				t.Errorf("%s: an empty chart draws %v", what, n)
			}
		}
	}
}

// noMarkup checks that the hostile strings came out as text.
func noMarkup(t *testing.T, what string, svg template.HTML) {
	t.Helper()
	s := string(svg)
	if strings.Contains(s, "<script") || strings.Contains(s, `"/>`+"<script") {
		t.Errorf("%s: markup from a label reached the SVG:\n%s", what, s)
	}
	if strings.Contains(s, hostile[:10]) {
		t.Errorf("%s: a label was written unescaped", what)
	}
}

func TestTimeChartMarks(t *testing.T) {
	d := days(5)
	nan := math.NaN()
	vals := []float64{1, 0, nan, 3, 2}
	for _, tt := range []struct {
		kind charts.Kind
		// rects: one hover column per day, plus a bar per positive value.
		want map[string]int
	}{
		{charts.StackedBars, map[string]int{"rect": 5 + 3 + 1}}, // + the legend swatch
		{charts.Lines, map[string]int{"rect": 5, "circle": 4, "path": 1}},
		{charts.StackedArea, map[string]int{"rect": 5 + 1, "path": 1}},
	} {
		svg := charts.TimeChart{Title: "t", Days: d, Kind: tt.kind, Series: []charts.Series{{Name: "only", Values: vals}}}.SVG()
		got := parse(t, "marks", svg)
		for el, n := range tt.want {
			if got[el] != n {
				t.Errorf("kind %d of %v: %d <%s>, want %d", tt.kind, vals, got[el], el, n)
			}
		}
	}
	// Every day's column tooltip and every value's tooltip is there.
	svg := string(charts.TimeChart{Title: "t", Days: d, Kind: charts.StackedBars, Series: []charts.Series{{Name: "web", Values: vals}}}.SVG())
	for _, want := range []string{"Mon 1 Dec 2025", "Thu 4 Dec 2025 · web: 3", "Wed 3 Dec 2025\nno data"} {
		if !strings.Contains(svg, want) {
			t.Errorf("bars of %v: no tooltip %q in\n%s", vals, want, svg)
		}
	}
}

func TestTimeChartTicks(t *testing.T) {
	label := regexp.MustCompile(`text-anchor="end" fill="#667085" font-size="11">([^<]+)<`)
	for _, tt := range []struct {
		name string
		vals []float64
		y    charts.Axis
		want []string
	}{
		{"counts", []float64{3, 7, 5}, charts.Axis{}, []string{"0", "2", "4", "6", "8"}},
		{"huge", []float64{1e12, 3.5e12}, charts.Axis{}, []string{"0", "1T", "2T", "3T", "4T"}},
		{"percent", []float64{0.02, 0.08}, charts.Axis{Format: charts.Percent, Fixed: true, Max: 1}, []string{"0%", "20%", "40%", "60%", "80%", "100%"}},
		{"signed", []float64{-0.3, 0.5}, charts.Axis{Format: charts.Signed, ZeroLine: true}, []string{"−0.4", "−0.2", "0", "+0.2", "+0.4", "+0.6"}},
		{"one value", []float64{5}, charts.Axis{}, []string{"0", "1", "2", "3", "4", "5"}},
	} {
		svg := charts.TimeChart{Title: "t", Days: days(len(tt.vals)), Kind: charts.Lines, Series: []charts.Series{{Name: "s", Values: tt.vals}}, Y: tt.y}.SVG()
		var got []string
		for _, m := range label.FindAllStringSubmatch(string(svg), -1) {
			got = append(got, m[1])
		}
		if strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("%s: y ticks of %v: got %q, want %q", tt.name, tt.vals, got, tt.want)
		}
	}
	// Day labels: every day for a week, about eight for 90 days, the
	// last day always labelled.
	dayLabel := regexp.MustCompile(`y="2\d\d(?:\.\d)?" text-anchor="(?:middle|end)" fill="#667085" font-size="11">(\d+ \w+)<`)
	for _, tt := range []struct{ n, want int }{{1, 1}, {7, 7}, {30, 5}, {90, 7}} {
		svg := string(charts.TimeChart{Title: "t", Days: days(tt.n), Kind: charts.StackedBars, Series: []charts.Series{{Name: "s", Values: constant(tt.n, 1)}}}.SVG())
		got := dayLabel.FindAllStringSubmatch(svg, -1)
		if len(got) != tt.want {
			t.Errorf("%d days: %d day labels %v, want %d", tt.n, len(got), got, tt.want)
			continue
		}
		if last := days(tt.n)[tt.n-1].Format("2 Jan"); got[0][1] != last {
			t.Errorf("%d days: first label written %q, want the last day %q", tt.n, got[0][1], last)
		}
	}
}

func TestScatterXML(t *testing.T) {
	nan := math.NaN()
	for _, tt := range []struct {
		name   string
		groups []charts.Group
		empty  bool
	}{
		{"ordinary", []charts.Group{
			{Name: "S1 · loyal", Note: "3 customers", Points: []charts.Point{{X: 1, Y: 2, Tip: "Customer #1"}, {X: 2, Y: 1}, {X: -1, Y: 0}}},
			{Name: "S2", Points: []charts.Point{{X: 5, Y: 5}}},
		}, false},
		{"one point", []charts.Group{{Name: "S1", Points: []charts.Point{{X: 3, Y: 3}}}}, false},
		{"no groups", nil, true},
		{"no finite points", []charts.Group{{Name: "S1", Points: []charts.Point{{X: nan, Y: 1}, {X: math.Inf(1), Y: 0}}}}, true},
		{"hostile", []charts.Group{{Name: hostile, Note: hostile, Color: hostile, Points: []charts.Point{{X: 1e300, Y: -1e300, Tip: hostile}, {X: 0, Y: 0}}}}, false},
		{"many groups", func() []charts.Group {
			var gs []charts.Group
			for i := range 30 {
				gs = append(gs, charts.Group{Name: strings.Repeat("x", i), Points: []charts.Point{{X: float64(i), Y: float64(i)}}})
			}
			return gs
		}(), false},
	} {
		svg := charts.Scatter{Title: "map", Desc: hostile, XLabel: hostile, YLabel: "y", Groups: tt.groups, Note: hostile, EmptyHint: hostile}.SVG()
		n := parse(t, tt.name, svg)
		noMarkup(t, tt.name, svg)
		if isEmpty := strings.Contains(string(svg), "No data yet"); isEmpty != tt.empty {
			t.Errorf("%s: empty %v, want %v", tt.name, isEmpty, tt.empty)
		}
		if tt.name == "ordinary" && n["circle"] != 4+2 { // points + legend dots
			t.Errorf("%s: %d circles, want 4 points and 2 legend dots", tt.name, n["circle"])
		}
	}
}

func TestBarsXML(t *testing.T) {
	for _, tt := range []struct {
		name  string
		bars  []charts.Bar
		f     charts.Format
		empty bool
	}{
		{"rates", []charts.Bar{{Label: "S1", Value: 0.5, Note: "1 of 2"}, {Label: "S2", Value: 1}}, charts.Percent, false},
		{"counts", []charts.Bar{{Label: "order_status", Value: 120}, {Label: "other", Value: 3}}, charts.Count, false},
		{"none", nil, charts.Count, true},
		{"odd values", []charts.Bar{{Label: "nan", Value: math.NaN()}, {Label: "neg", Value: -4}, {Label: "inf", Value: math.Inf(1)}, {Label: "zero"}}, charts.Count, false},
		{"hostile", []charts.Bar{{Label: hostile, Note: hostile, Tip: hostile, Color: hostile, Value: 1}}, charts.Percent, false},
	} {
		svg := charts.Bars{Title: "bars", Desc: hostile, Bars: tt.bars, Format: tt.f, EmptyHint: hostile}.SVG()
		parse(t, tt.name, svg)
		noMarkup(t, tt.name, svg)
		if isEmpty := strings.Contains(string(svg), "No data yet"); isEmpty != tt.empty {
			t.Errorf("%s: empty %v, want %v", tt.name, isEmpty, tt.empty)
		}
	}
	// A bar's length is its share of the scale: 50% of 760 px.
	svg := string(charts.Bars{Title: "b", Bars: []charts.Bar{{Label: "half", Value: 0.5}}, Format: charts.Percent}.SVG())
	if !strings.Contains(svg, `width="380"`) {
		t.Errorf("a 50%% bar: no rect 380 px wide in\n%s", svg)
	}
}

func TestTilesXML(t *testing.T) {
	svg := charts.Tiles{Title: "kpis", Tiles: []charts.Tile{
		{ID: "kpi-a", Label: "Containment rate", Value: "81.2%", Note: "▲ 1.2 pt", Tone: charts.Good, Tip: "definition"},
		{ID: hostile, Label: hostile, Value: hostile, Note: hostile, Tone: charts.Bad, Tip: hostile},
	}}.SVG()
	parse(t, "tiles", svg)
	noMarkup(t, "tiles", svg)
	if !strings.Contains(string(svg), `id="kpi-a">81.2%</text>`) {
		t.Errorf("tiles: the value is not in a text element with its id:\n%s", svg)
	}
	parse(t, "no tiles", charts.Tiles{Title: "kpis"}.SVG())
}

// The sizes are clamped: no chart is laid out at a silly size.
func TestSizes(t *testing.T) {
	for _, w := range []int{-5, 1, 100000} {
		svg := string(charts.TimeChart{Title: "t", Days: days(3), Series: []charts.Series{{Name: "s", Values: constant(3, 1)}}, Width: w, Height: w}.SVG())
		m := regexp.MustCompile(`viewBox="0 0 (\d+) (\d+)"`).FindStringSubmatch(svg)
		if m == nil || len(m[1]) > 4 || m[1] == "1" || m[1] == "0" {
			t.Errorf("width %d: viewBox %v, want one between 200 and 4000", w, m)
		}
	}
}

func BenchmarkTimeChart(b *testing.B) {
	d := days(90)
	var series []charts.Series
	for i := range 9 {
		series = append(series, charts.Series{Name: "intent" + string(rune('a'+i)), Values: constant(90, float64(i+1))})
	}
	for _, kind := range []charts.Kind{charts.Lines, charts.StackedBars, charts.StackedArea} {
		c := charts.TimeChart{Title: "bench", Days: d, Series: series, Kind: kind}
		b.Run([...]string{"lines", "bars", "area"}[kind], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = c.SVG()
			}
		})
	}
}

func BenchmarkScatter(b *testing.B) {
	var gs []charts.Group
	for g := range 6 {
		var pts []charts.Point
		for i := range 250 {
			pts = append(pts, charts.Point{X: math.Sin(float64(i)), Y: math.Cos(float64(i * g)), Tip: "Customer #123 · S1 · high value"})
		}
		gs = append(gs, charts.Group{Name: "S", Points: pts})
	}
	c := charts.Scatter{Title: "map", Groups: gs}
	b.ReportAllocs()
	for b.Loop() {
		_ = c.SVG()
	}
}
