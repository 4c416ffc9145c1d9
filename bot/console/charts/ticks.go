package charts

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Format says how a chart writes its values.
type Format int

// Formats.
const (
	// Count is a number of things: 1,234 in tooltips, 1.2k on axes.
	Count Format = iota
	// Percent is a share from 0 to 1, written as a percentage.
	Percent
	// Signed is a score around zero, written with its sign: +0.25.
	Signed
)

// limit bounds the magnitudes charts compute with, so that spans and
// tick steps stay finite whatever the data.
const limit = 1e300

// finite reports whether v is a value to draw.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func clampValue(v float64) float64 { return math.Max(-limit, math.Min(limit, v)) }

// niceNum is a "nice" number (1, 2 or 5 times a power of ten) near x:
// the smallest not below x when round is false, the nearest otherwise
// (Heckbert, "Nice numbers for graph labels", Graphics Gems, 1990).
func niceNum(x float64, round bool) float64 {
	if x <= 0 || !finite(x) {
		return 1
	}
	exp := math.Floor(math.Log10(x))
	f := x / math.Pow(10, exp)
	var nf float64
	switch {
	case round && f < 1.5:
		nf = 1
	case round && f < 3:
		nf = 2
	case round && f < 7:
		nf = 5
	case round:
		nf = 10
	case f <= 1:
		nf = 1
	case f <= 2:
		nf = 2
	case f <= 5:
		nf = 5
	default:
		nf = 10
	}
	return nf * math.Pow(10, exp)
}

// maxTicks bounds the ticks of an axis whatever the arithmetic does.
const maxTicks = 20

// niceTicks covers [lo, hi] with about n evenly spaced nice ticks and
// returns them with the covered range and the step. An empty or
// degenerate range becomes one around its value ([0, 1] for zero).
func niceTicks(lo, hi float64, n int) (ticks []float64, tlo, thi, step float64) {
	if !finite(lo) || !finite(hi) {
		lo, hi = 0, 1
	}
	lo, hi = clampValue(lo), clampValue(hi)
	if lo > hi {
		lo, hi = hi, lo
	}
	if hi == lo {
		switch {
		case lo == 0:
			hi = 1
		case lo > 0:
			lo, hi = 0, lo
		default:
			hi = 0
		}
	}
	n = max(2, min(n, maxTicks))
	step = niceNum(niceNum(hi-lo, false)/float64(n-1), true)
	tlo, thi = math.Floor(lo/step)*step, math.Ceil(hi/step)*step
	count := int(math.Round((thi-tlo)/step)) + 1
	if !finite(tlo) || !finite(thi) || count < 2 || count > maxTicks+2 {
		// Precision ran out (a tiny range far from zero): the ends alone.
		return []float64{lo, hi}, lo, hi, hi - lo
	}
	for i := range count {
		v := tlo + float64(i)*step
		if math.Abs(v) < step*1e-9 {
			v = 0 // no "-0" or 1e-17 labels
		}
		ticks = append(ticks, v)
	}
	return ticks, tlo, thi, step
}

// axisLabel writes a tick value of an axis whose ticks are step apart.
func axisLabel(v, step float64, f Format) string {
	switch f {
	case Percent:
		return trimZeros(strconv.FormatFloat(100*v, 'f', decimals(100*step), 64)) + "%"
	case Signed:
		s := trimZeros(strconv.FormatFloat(v, 'f', decimals(step), 64))
		if v > 0 {
			s = "+" + s
		}
		return strings.Replace(s, "-", "−", 1)
	}
	return compact(v, step)
}

// decimals is how many decimals tick labels step apart need.
func decimals(step float64) int {
	if step <= 0 || !finite(step) || step >= 1 {
		return 0
	}
	return min(6, int(math.Ceil(-math.Log10(step)-1e-9)))
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		return "0"
	}
	return s
}

// compact writes a count for an axis: 950, 1.5k, 2M, 3.1B, 4T.
func compact(v, step float64) string {
	a := math.Abs(v)
	for _, u := range []struct {
		div    float64
		suffix string
	}{{1e12, "T"}, {1e9, "B"}, {1e6, "M"}, {1e3, "k"}} {
		if a >= u.div {
			if a >= 1e3*1e12 {
				return strconv.FormatFloat(v, 'g', 3, 64)
			}
			return trimZeros(strconv.FormatFloat(v/u.div, 'f', decimals(step/u.div), 64)) + u.suffix
		}
	}
	return trimZeros(strconv.FormatFloat(v, 'f', decimals(step), 64))
}

// Value writes a value as tooltips and tiles do: every digit of a count
// (with thousands separators), a percentage to one decimal, a signed
// score to two.
func Value(v float64, f Format) string {
	if !finite(v) {
		return "–"
	}
	switch f {
	case Percent:
		return trimZeros(strconv.FormatFloat(100*v, 'f', 1, 64)) + "%"
	case Signed:
		s := strconv.FormatFloat(v, 'f', 2, 64)
		switch {
		case s == "0.00" || s == "-0.00":
			return "0.00"
		case v > 0:
			return "+" + s
		}
		return strings.Replace(s, "-", "−", 1)
	}
	return Thousands(v)
}

// Thousands writes a count with thousands separators: 1,234,567; a
// fraction keeps one decimal.
func Thousands(v float64) string {
	if !finite(v) {
		return "–"
	}
	if math.Abs(v) >= 1e15 {
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	s := strconv.FormatFloat(math.Abs(v), 'f', -1, 64)
	if v != math.Trunc(v) {
		s = strconv.FormatFloat(math.Abs(v), 'f', 1, 64)
	}
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if v < 0 {
		b.WriteString("−")
	}
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if frac != "" {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}

// dayStep is the spacing, in days, of the labels of an axis of n days:
// at most about eight labels.
func dayStep(n int) int {
	for _, s := range []int{1, 2, 3, 7, 14, 28, 56, 91, 182, 364} {
		if (n+s-1)/s <= 8 {
			return s
		}
	}
	return (n + 7) / 8
}

// dayLabel is an axis label: "2 Dec".
func dayLabel(t time.Time) string { return t.UTC().Format("2 Jan") }

// DayTitle is how tooltips name a day: "Tue 2 Dec 2025".
func DayTitle(t time.Time) string { return t.UTC().Format("Mon 2 Jan 2006") }
