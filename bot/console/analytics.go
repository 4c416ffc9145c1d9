package console

import (
	"cmp"
	"context"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/parley-chat/parley/bot/console/charts"
	"github.com/parley-chat/parley/crm"
)

// The analytics page (GET /console/analytics?days=30) shows, for the
// last 7, 30 or 90 UTC days with today included, the headline rates and
// their day-by-day charts, read from the CRM's crm.ActivityStore: the
// console finds that capability on its Store by type assertion, so a
// store without it shows a notice instead. The rates are defined by
// crm.DayActivity's methods; the page writes the definitions out.
//
// The segment map plots the positions the last segmentation run stored
// with each customer's assignment (crm.SegmentAssignment.X, Y: the
// run's PCA plane), read with crm.ActivityStore.SegmentMap. Recomputing
// a projection here from Store.Stats would cost a full pass over every
// message per page view and could disagree with the stored segments
// whenever the data moved on since the run; the stored plane is the one
// `parley segment` drew and named its segments on.

// analyticsPeriods are the page's periods, in days.
var analyticsPeriods = []int{7, 30, 90}

const (
	defaultPeriod = 30
	// topIntents is how many intents the intent chart names; the rest
	// are one "other" band.
	topIntents = 8
	// mapPoints bounds the customers drawn on the segment map: each is
	// a circle with a tooltip (~120 bytes), and 1,500 show the shape of
	// the segments in ~200 KB of page.
	mapPoints = 1500
)

// Chart widths: the two columns of .admin-grid at the page's full
// width, inside their cards' padding.
const (
	wideChart   = 744
	narrowChart = 272
	tilesWidth  = 1132
)

// Channel colours, the same in every chart.
var channelColors = map[crm.Channel]string{
	crm.ChannelWeb:   "#4f46e5",
	crm.ChannelSlack: "#14b8a6",
	crm.ChannelAPI:   "#f59e0b",
}

var channelOrder = []crm.Channel{crm.ChannelWeb, crm.ChannelSlack, crm.ChannelAPI}

const (
	colorFallback    = "#f59e0b"
	colorEscalation  = "#ef4444"
	colorContainment = "#10b981"
	colorSentiment   = "#4f46e5"
)

// Definitions, shown on the page and as the tiles' tooltips; they say
// what crm.DayActivity's rate methods compute.
var definitions = []definition{
	{"Containment rate", "Conversations that ended without a person ÷ conversations started. A conversation has ended when it is resolved, or when it is with the bot and nothing happened in it for " + idleText + "; without a person means no escalation and no agent reply."},
	{"Escalation rate", "Conversations handed to a person (at least one escalation, by the bot or by staff) ÷ conversations started."},
	{"Fallback rate", "Customer messages the bot did not understand (action fallback) ÷ customer messages."},
	{"Sentiment", "The mean sentiment score (−1 to +1) of the customer messages a model scored, per day."},
	{"Conversion", "Customers of a segment with at least one order (a purchase or a signup, at any time) ÷ the segment's customers."},
	{"Days", "UTC days, today included. Messages count on the day they were sent; conversations on the day they started, with what happened in them since."},
}

var idleText = fmt.Sprintf("%d minutes", int(crm.IdleAfter/time.Minute))

type definition struct{ Term, Text string }

type periodTab struct {
	Days    int
	Label   string
	Current bool
}

type channelRow struct {
	Name                    string
	Messages, Conversations string
	Contained, Sentiment    string
}

type countRow struct {
	Label, Value, Share string
}

type analyticsPage struct {
	page
	Days    int
	Periods []periodTab
	// First and Last are the period's first and last day; Now is when
	// the figures were read.
	First, Last, Now time.Time
	// Unavailable explains why there is nothing to show.
	Unavailable string

	Tiles                               template.HTML
	Messages, Intents, Rates, Sentiment template.HTML
	TopIntents, SegmentMap, Conversion  template.HTML
	Channels                            []channelRow
	Counts                              []countRow
	Definitions                         []definition
}

func init() {
	// The page's template set, beside the others (templates.go).
	pages["analytics.html"] = mustParsePages("analytics.html")["analytics.html"]
}

// parsePeriod reads ?days=: one of analyticsPeriods, default 30.
func parsePeriod(v string) (int, error) {
	if v == "" {
		return defaultPeriod, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || !slices.Contains(analyticsPeriods, n) {
		return 0, fmt.Errorf("%w: days must be 7, 30 or 90, not %q", crm.ErrInvalid, v)
	}
	return n, nil
}

// analyticsPage serves GET /console/analytics.
func (s *Server) analyticsPage(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	days, err := parsePeriod(r.URL.Query().Get("days"))
	if err != nil {
		st, msg := s.httpStatus(r, err)
		s.fail(w, r, st, msg)
		return
	}
	pg := analyticsPage{page: newPage(p, "Analytics"), Days: days, Definitions: definitions}
	pg.Nav = "analytics"
	for _, d := range analyticsPeriods {
		pg.Periods = append(pg.Periods, periodTab{Days: d, Label: fmt.Sprintf("%d days", d), Current: d == days})
	}
	pg.Now = s.now()
	today := crm.Day(pg.Now)
	pg.First, pg.Last = today.AddDate(0, 0, 1-days), today
	store, ok := s.store.(crm.ActivityStore)
	if !ok {
		pg.Unavailable = "This CRM store cannot compute analytics."
		s.render(w, r, http.StatusOK, "analytics.html", pg)
		return
	}
	data, err := loadAnalytics(r.Context(), store, pg.First, days)
	if err != nil {
		st, msg := s.httpStatus(r, err)
		s.fail(w, r, st, msg)
		return
	}
	data.fill(&pg)
	s.render(w, r, http.StatusOK, "analytics.html", pg)
}

// analyticsData is what the page reads from the CRM.
type analyticsData struct {
	days        []time.Time // the period's days
	prevDays    int
	current     []crm.DayActivity
	previous    crm.DayActivity // the period before, summed
	hasPrevious bool
	intents     []crm.IntentDay
	conversion  []crm.SegmentConversion
	points      []crm.SegmentAssignment
}

// loadAnalytics reads the period of days starting at first, and the one
// before it for the changes the tiles show.
func loadAnalytics(ctx context.Context, store crm.ActivityStore, first time.Time, days int) (analyticsData, error) {
	d := analyticsData{prevDays: days}
	for i := range days {
		d.days = append(d.days, first.AddDate(0, 0, i))
	}
	end := first.AddDate(0, 0, days)
	acts, err := store.Activity(ctx, first.AddDate(0, 0, -days), end)
	if err != nil {
		return d, fmt.Errorf("analytics: %w", err)
	}
	for _, a := range acts {
		if a.Day.Before(first) {
			d.previous = d.previous.Plus(a)
			d.hasPrevious = true
		} else {
			d.current = append(d.current, a)
		}
	}
	if d.intents, err = store.IntentsByDay(ctx, first, end, topIntents); err != nil {
		return d, fmt.Errorf("analytics: %w", err)
	}
	if d.conversion, err = store.SegmentConversion(ctx); err != nil {
		return d, fmt.Errorf("analytics: %w", err)
	}
	if d.points, err = store.SegmentMap(ctx, mapPoints); err != nil {
		return d, fmt.Errorf("analytics: %w", err)
	}
	return d, nil
}

// dayIndex maps the period's days, by their Unix time, to their
// positions on the charts.
func (d analyticsData) dayIndex() map[int64]int {
	index := make(map[int64]int, len(d.days))
	for i, day := range d.days {
		index[day.Unix()] = i
	}
	return index
}

// fill renders the charts and tables into the page.
func (d analyticsData) fill(pg *analyticsPage) {
	index := d.dayIndex()
	n := len(d.days)
	var total crm.DayActivity
	perDay := make([]crm.DayActivity, n)
	perChannel := map[crm.Channel]crm.DayActivity{}
	messages := map[crm.Channel][]float64{}
	for _, a := range d.current {
		i, ok := index[a.Day.Unix()]
		if !ok {
			continue
		}
		total = total.Plus(a)
		perDay[i] = perDay[i].Plus(a)
		perChannel[a.Channel] = perChannel[a.Channel].Plus(a)
		if messages[a.Channel] == nil {
			messages[a.Channel] = make([]float64, n)
		}
		messages[a.Channel][i] += float64(a.Messages)
	}
	period := fmt.Sprintf("the last %d days", len(d.days))

	pg.Tiles = d.tiles(total)

	// Messages per day, stacked by channel.
	var msgSeries []charts.Series
	for _, ch := range channelsOf(perChannel) {
		se := charts.Series{Name: channelLabel(ch), Color: channelColors[ch], Values: messages[ch]}
		for i, v := range se.Values {
			se.Tips = append(se.Tips, fmt.Sprintf("%s · %s: %s customer messages", charts.DayTitle(d.days[i]), channelLabel(ch), charts.Thousands(v)))
		}
		msgSeries = append(msgSeries, se)
	}
	pg.Messages = charts.TimeChart{
		Title: "Customer messages per day by channel", Desc: "Customer messages per day in " + period + ", stacked by channel",
		Days: d.days, Series: msgSeries, Kind: charts.StackedBars, Y: charts.Axis{Label: "customer messages", Format: charts.Count},
		EmptyHint: "Messages appear here as customers write to the bot.", Width: wideChart,
	}.SVG()
	for _, ch := range channelsOf(perChannel) {
		a := perChannel[ch]
		pg.Channels = append(pg.Channels, channelRow{
			Name: channelLabel(ch), Messages: charts.Thousands(float64(a.Messages)), Conversations: charts.Thousands(float64(a.Conversations)),
			Contained: rateText(a.ContainmentRate()), Sentiment: signedText(a.MeanSentiment()),
		})
	}

	d.intentCharts(pg, period)

	// Rates per day.
	rate := func(name, color, of string, f func(crm.DayActivity) (float64, bool), num, den func(crm.DayActivity) int) charts.Series {
		se := charts.Series{Name: name, Color: color}
		for i, a := range perDay {
			v, ok := f(a)
			if !ok {
				v = math.NaN()
			}
			se.Values = append(se.Values, v)
			se.Tips = append(se.Tips, fmt.Sprintf("%s · %s: %s (%d of %d %s)", charts.DayTitle(d.days[i]), name, charts.Value(v, charts.Percent), num(a), den(a), of))
		}
		return se
	}
	pg.Rates = charts.TimeChart{
		Title: "Containment, escalation and fallback rates per day",
		Desc:  "Daily containment, escalation and fallback rates in " + period,
		Days:  d.days, Kind: charts.Lines, Width: wideChart,
		Series: []charts.Series{
			rate("Containment rate", colorContainment, "conversations", crm.DayActivity.ContainmentRate,
				func(a crm.DayActivity) int { return a.ResolvedByBot }, func(a crm.DayActivity) int { return a.Conversations }),
			rate("Escalation rate", colorEscalation, "conversations", crm.DayActivity.EscalationRate,
				func(a crm.DayActivity) int { return a.Escalations }, func(a crm.DayActivity) int { return a.Conversations }),
			rate("Fallback rate", colorFallback, "customer messages", crm.DayActivity.FallbackRate,
				func(a crm.DayActivity) int { return a.Fallbacks }, func(a crm.DayActivity) int { return a.Messages }),
		},
		Y:         charts.Axis{Label: "share", Format: charts.Percent, Fixed: true, Min: 0, Max: 1},
		EmptyHint: "Rates appear once conversations start.",
	}.SVG()
	open := total.Conversations - total.ResolvedByBot - total.ResolvedByPerson
	pg.Counts = []countRow{
		{"Conversations started", charts.Thousands(float64(total.Conversations)), ""},
		{"Resolved by the bot", charts.Thousands(float64(total.ResolvedByBot)), rateText(total.ContainmentRate())},
		{"Resolved by a person", charts.Thousands(float64(total.ResolvedByPerson)), share(total.ResolvedByPerson, total.Conversations)},
		{"Still open", charts.Thousands(float64(open)), share(open, total.Conversations)},
		{"Escalated", charts.Thousands(float64(total.Escalations)), rateText(total.EscalationRate())},
		{"Customer messages", charts.Thousands(float64(total.Messages)), ""},
		{"Fallbacks", charts.Thousands(float64(total.Fallbacks)), rateText(total.FallbackRate())},
	}

	// Sentiment.
	sent := charts.Series{Name: "Mean sentiment", Color: colorSentiment}
	for i, a := range perDay {
		v, ok := a.MeanSentiment()
		if !ok {
			v = math.NaN()
		}
		sent.Values = append(sent.Values, v)
		sent.Tips = append(sent.Tips, fmt.Sprintf("%s · mean sentiment %s over %d scored messages", charts.DayTitle(d.days[i]), charts.Value(v, charts.Signed), a.SentimentN))
	}
	pg.Sentiment = charts.TimeChart{
		Title: "Sentiment trend", Desc: "Daily mean sentiment score of customer messages in " + period + ", from −1 (negative) to +1 (positive)",
		Days: d.days, Series: []charts.Series{sent}, Kind: charts.Lines, Width: wideChart,
		Y:         charts.Axis{Label: "mean score", Format: charts.Signed, ZeroLine: true},
		EmptyHint: "Appears once customer messages are scored.",
	}.SVG()

	d.segmentCharts(pg)
}

// channelsOf lists the channels with activity, in the console's order.
func channelsOf(m map[crm.Channel]crm.DayActivity) []crm.Channel {
	var out []crm.Channel
	for _, ch := range channelOrder {
		if _, ok := m[ch]; ok {
			out = append(out, ch)
		}
	}
	var rest []crm.Channel
	for ch := range m {
		if !slices.Contains(channelOrder, ch) {
			rest = append(rest, ch)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// tiles are the headline figures with their change against the period
// before.
func (d analyticsData) tiles(total crm.DayActivity) template.HTML {
	prev := d.previous
	vs := fmt.Sprintf("vs previous %d days", d.prevDays)
	const noEarlier = "no earlier data"
	countNote := func(cur, before int) (string, charts.Tone) {
		if !d.hasPrevious || before == 0 {
			return "", charts.Neutral
		}
		ch := float64(cur-before) / float64(before)
		if math.Abs(ch) < 0.005 {
			ch = 0
		}
		return signedPct(ch), charts.Neutral
	}
	// rateNote writes a rate's change in percentage points; up is good
	// or bad news depending on the rate.
	rateNote := func(cur, before float64, curOK, beforeOK, upIsGood bool) (string, charts.Tone) {
		if !curOK || !beforeOK {
			return "", charts.Neutral
		}
		diff := 100 * (cur - before)
		tone := charts.Neutral
		if math.Abs(diff) >= 0.05 {
			if (diff > 0) == upIsGood {
				tone = charts.Good
			} else {
				tone = charts.Bad
			}
		}
		if tone == charts.Neutral {
			diff = 0
		}
		return arrow(diff) + strconv.FormatFloat(math.Abs(diff), 'f', 1, 64) + " pt", tone
	}
	var tiles []charts.Tile
	note, tone := countNote(total.Conversations, prev.Conversations)
	tiles = append(tiles, charts.Tile{ID: "kpi-conversations", Label: "Conversations", Value: charts.Thousands(float64(total.Conversations)), Note: note, Tone: tone,
		Tip: "Conversations started in the period"})
	note, tone = countNote(total.Messages, prev.Messages)
	tiles = append(tiles, charts.Tile{ID: "kpi-messages", Label: "Customer messages", Value: charts.Thousands(float64(total.Messages)), Note: note, Tone: tone,
		Tip: "Messages customers sent in the period"})
	for _, r := range []struct {
		id, label string
		f         func(crm.DayActivity) (float64, bool)
		upIsGood  bool
		def       int
	}{
		{"kpi-containment", "Containment rate", crm.DayActivity.ContainmentRate, true, 0},
		{"kpi-escalation", "Escalation rate", crm.DayActivity.EscalationRate, false, 1},
		{"kpi-fallback", "Fallback rate", crm.DayActivity.FallbackRate, false, 2},
	} {
		cur, curOK := r.f(total)
		before, beforeOK := r.f(prev)
		note, tone := rateNote(cur, before, curOK, beforeOK && d.hasPrevious, r.upIsGood)
		tiles = append(tiles, charts.Tile{ID: r.id, Label: r.label, Value: rateText(cur, curOK), Note: note, Tone: tone, Tip: definitions[r.def].Text})
	}
	cur, curOK := total.MeanSentiment()
	before, beforeOK := prev.MeanSentiment()
	sentNote, sentTone := "", charts.Neutral
	if curOK && beforeOK {
		diff := cur - before
		if math.Abs(diff) < 0.005 {
			diff = 0
		}
		sentNote = arrow(diff) + strconv.FormatFloat(math.Abs(diff), 'f', 2, 64)
		if diff != 0 {
			sentTone = charts.Bad
			if diff > 0 {
				sentTone = charts.Good
			}
		}
	}
	tiles = append(tiles, charts.Tile{ID: "kpi-sentiment", Label: "Mean sentiment", Value: signedText(cur, curOK), Note: sentNote, Tone: sentTone, Tip: definitions[3].Text})
	for i := range tiles {
		tiles[i].Sub = vs
		if tiles[i].Note == "" {
			tiles[i].Sub = noEarlier
		}
	}
	return charts.Tiles{Title: "Headline figures for the period", Tiles: tiles, Width: tilesWidth}.SVG()
}

// intentCharts draws the intent distribution over time and the period's
// top intents.
func (d analyticsData) intentCharts(pg *analyticsPage, period string) {
	index := d.dayIndex()
	totals := map[string]int{}
	all := 0
	for _, r := range d.intents {
		totals[r.Intent] += r.N
		all += r.N
	}
	// The store ranks the named intents; the same order from the totals.
	names := slices.SortedFunc(func(yield func(string) bool) {
		for k := range totals {
			if k != "" && !yield(k) {
				return
			}
		}
	}, func(a, b string) int { return cmp.Or(cmp.Compare(totals[b], totals[a]), cmp.Compare(a, b)) })
	if _, ok := totals[""]; ok {
		names = append(names, "")
	}
	label := func(intent string) string {
		if intent == "" {
			return "Other intents"
		}
		return intent
	}
	color := func(i int, intent string) string {
		if intent == "" {
			return charts.Other
		}
		return charts.Palette[i%len(charts.Palette)]
	}
	pos := map[string]int{}
	var series []charts.Series
	var bars []charts.Bar
	for i, intent := range names {
		pos[intent] = i
		series = append(series, charts.Series{Name: label(intent), Color: color(i, intent), Values: make([]float64, len(d.days))})
		bars = append(bars, charts.Bar{Label: label(intent), Value: float64(totals[intent]), Color: color(i, intent),
			Note: share(totals[intent], all) + " of classified messages"})
	}
	for _, r := range d.intents {
		if i, ok := index[r.Day.Unix()]; ok {
			series[pos[r.Intent]].Values[i] += float64(r.N)
		}
	}
	pg.Intents = charts.TimeChart{
		Title: "Intent distribution over time",
		Desc:  fmt.Sprintf("Customer messages per day by intent in %s: the top %d intents of the period, the others together", period, topIntents),
		Days:  d.days, Series: series, Kind: charts.StackedArea, Width: wideChart, Height: 340,
		Y:         charts.Axis{Label: "customer messages", Format: charts.Count},
		EmptyHint: "Appears once customer messages are classified.",
	}.SVG()
	pg.TopIntents = charts.Bars{Title: "Top intents of the period", Bars: bars, Format: charts.Count, Width: narrowChart,
		EmptyHint: "No classified messages."}.SVG()
}

// segmentCharts draws the segment map and the conversion by segment.
func (d analyticsData) segmentCharts(pg *analyticsPage) {
	conv := slices.Clone(d.conversion)
	slices.SortStableFunc(conv, func(a, b crm.SegmentConversion) int { return compareSegments(a.Segment, b.Segment) })
	colors := map[string]string{}
	assigned := 0
	i := 0
	for _, c := range conv {
		if c.Segment == "" {
			colors[""] = charts.Other
			continue
		}
		colors[c.Segment] = charts.Palette[i%len(charts.Palette)]
		assigned += c.Customers
		i++
	}
	name := func(seg, profile string) string {
		if seg == "" {
			return "Not segmented"
		}
		if profile == "" {
			return seg
		}
		return seg + " · " + profile
	}
	var bars []charts.Bar
	for _, c := range conv {
		rate, ok := c.Rate()
		if !ok {
			rate = math.NaN()
		}
		bars = append(bars, charts.Bar{Label: name(c.Segment, c.Profile), Value: rate, Color: colors[c.Segment],
			Note: fmt.Sprintf("%s of %s customers ordered", charts.Thousands(float64(c.Converted)), charts.Thousands(float64(c.Customers)))})
	}
	pg.Conversion = charts.Bars{Title: "Conversion rate by segment", Desc: "Share of each segment's customers with at least one order",
		Bars: bars, Format: charts.Percent, Width: narrowChart, EmptyHint: "No customers yet."}.SVG()

	groups := map[string]*charts.Group{}
	var order []string
	for _, c := range conv {
		if c.Segment == "" {
			continue
		}
		groups[c.Segment] = &charts.Group{Name: name(c.Segment, c.Profile), Color: colors[c.Segment],
			Note: fmt.Sprintf("%s customers (%s)", charts.Thousands(float64(c.Customers)), share(c.Customers, assigned))}
		order = append(order, c.Segment)
	}
	for _, p := range d.points {
		g, ok := groups[p.Segment]
		if !ok {
			// Assigned since the counts were read: a group of its own.
			g = &charts.Group{Name: name(p.Segment, p.Profile), Color: charts.Palette[len(order)%len(charts.Palette)]}
			groups[p.Segment] = g
			order = append(order, p.Segment)
		}
		g.Points = append(g.Points, charts.Point{X: p.X, Y: p.Y, Tip: fmt.Sprintf("Customer #%d · %s", p.CustomerID, name(p.Segment, p.Profile))})
	}
	var gs []charts.Group
	for _, seg := range order {
		if g := groups[seg]; len(g.Points) > 0 {
			gs = append(gs, *g)
		}
	}
	note := ""
	if len(d.points) < assigned {
		note = fmt.Sprintf("Showing %s of %s customers", charts.Thousands(float64(len(d.points))), charts.Thousands(float64(assigned)))
	}
	pg.SegmentMap = charts.Scatter{
		Title: "Segment map", Desc: "Customers on the last segmentation run's two-dimensional projection, coloured by segment",
		XLabel: "projection axis 1", YLabel: "projection axis 2", Groups: gs, Note: note, Width: wideChart,
		Empty: "No segments yet", EmptyHint: "Run `parley segment` to group the customers; the map shows its projection.",
	}.SVG()
}

// compareSegments orders segment ids naturally ("S2" before "S10"),
// the unsegmented ("") last.
func compareSegments(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return 1
	case b == "":
		return -1
	}
	pa, na, oka := splitNumber(a)
	pb, nb, okb := splitNumber(b)
	if oka && okb && pa == pb {
		return cmp.Compare(na, nb)
	}
	return cmp.Compare(a, b)
}

// splitNumber splits "S12" into "S" and 12.
func splitNumber(s string) (string, int, bool) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	if i == len(s) || len(s)-i > 9 {
		return s, 0, false
	}
	n, err := strconv.Atoi(s[i:])
	return s[:i], n, err == nil
}

func rateText(v float64, ok bool) string {
	if !ok {
		return "–"
	}
	return charts.Value(v, charts.Percent)
}

func signedText(v float64, ok bool) string {
	if !ok {
		return "–"
	}
	return charts.Value(v, charts.Signed)
}

func share(n, of int) string {
	if of <= 0 {
		return "–"
	}
	return charts.Value(float64(n)/float64(of), charts.Percent)
}

// signedPct writes a relative change: "▲ 12%".
func signedPct(ch float64) string {
	return arrow(ch) + strconv.FormatFloat(math.Abs(100*ch), 'f', 0, 64) + "%"
}

func arrow(diff float64) string {
	switch {
	case diff > 0:
		return "▲ "
	case diff < 0:
		return "▼ "
	}
	return "± "
}
