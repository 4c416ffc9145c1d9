package nlp

import (
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Entity kinds. The rule-based kinds are lower-case; PERSON, GPE and ORG
// keep the upper-case names of the named-entity model they come from.
const (
	KindOrderID = "order_id"
	KindEmail   = "email"
	KindPhone   = "phone"
	KindMoney   = "money"
	KindDate    = "date"
	KindPerson  = "PERSON"
	KindGPE     = "GPE" // countries, cities, states: places
	KindOrg     = "ORG"
)

// Entity is a span of a Doc's text that names something the dialogue
// needs: an order, a way to reach the customer, an amount, a date, a
// person, place or organization.
type Entity struct {
	// Kind is one of the Kind constants.
	Kind string
	// Text is Doc.Text[Start:End], as the customer wrote it.
	Text string
	// Value is the normalized form:
	//   - order_id: the digits, with a store prefix in canonical case
	//     ("A-771204", "ORD-220934"); "#5530192" and bare numbers give
	//     just the digits ("5530192");
	//   - email: lower-cased;
	//   - phone: the digits, with a leading "+" when written;
	//   - money: amount with two decimals and an ISO 4217 code, "12.99 GBP";
	//   - date: "2006-01-02" for a full date, "--01-02" (ISO 8601 / XML
	//     Schema month-day) for a day and month without a year, the
	//     lower-cased text for relative expressions ("last tuesday") and
	//     for numeric dates whose day/month order is ambiguous ("12/05/2026");
	//   - PERSON, GPE, ORG: the text.
	Value string
	// Start and End are byte offsets into Doc.Text.
	Start, End int
}

// Entities extracts entities from d: order ids, emails, phone numbers,
// amounts of money and dates by rule, and the PERSON, GPE and ORG spans
// of prose's named-entity model when d was parsed with the NamedEntities
// stage. The result is sorted by Start and no two entities overlap: where
// candidates overlap, the kind with the higher priority wins (email >
// money > date > order_id > phone > named entities), then the earlier,
// then the longer span.
//
// A bare 5-8 digit number is an order id only when an order word
// (order, parcel, package, shipment, purchase, tracking, ref, ...) comes
// at most four words before it and the number is not part of a phone
// number, amount or date. Nothing is extracted from inside URLs except
// emails and prefixed order ids: numbers in links are ids and timestamps
// far more often than anything a customer meant.
//
// Entities never panics; its work is linear in len(d.Text).
func Entities(d Doc) []Entity {
	x := extraction{text: d.Text}
	// Most messages hold no entity at all. Cheap checks for what each
	// family of patterns needs (a digit, an "@", a month or day word)
	// skip most regexp scans: they cost several times tokenization.
	lower := asciiLower(d.Text)
	if strings.IndexByte(d.Text, '@') >= 0 {
		x.emails()
	}
	if strings.ContainsAny(d.Text, "0123456789") {
		if strings.ContainsAny(d.Text, "$€£¥") || containsAny(lower, currencyStems) {
			x.money()
		}
		x.numericDates()
		if containsAny(lower, monthStems) {
			x.namedMonthDates()
		}
		if strings.IndexByte(d.Text, '#') >= 0 || containsAny(lower, orderPrefixStems) {
			x.prefixedOrders()
		}
		x.phones()
		x.bareOrders()
	}
	if containsAny(lower, relativeStems) {
		x.relativeDates()
	}
	x.named(d.Tokens)
	return x.resolve()
}

// Substrings, in ASCII lower case, that every match of a family of
// patterns contains: without one, the family's regexps cannot match.
var (
	currencyStems    = []string{"dollar", "usd", "buck", "eur", "pound", "gbp", "quid", "yen", "jpy"}
	monthStems       = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
	orderPrefixStems = []string{"ord", "a-"}
	relativeStems    = []string{"day", "tonight", "tomorrow", "week", "month", "year"}
)

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// asciiLower lower-cases ASCII letters only. The patterns' (?i) also
// folds a few non-ASCII letters (the Kelvin sign matches k); text that
// spells a keyword with them is not a date anyone meant, so missing it
// in the prefilter is harmless.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// Ranks give each kind's priority in overlap resolution; lower wins.
const (
	rankEmail = iota
	rankMoney
	rankDate
	rankOrder
	rankPhone
	rankNamed
)

type candidate struct {
	Entity
	rank int
	// strong candidates survive inside URLs.
	strong bool
}

type extraction struct {
	text  string
	cands []candidate
}

func (x *extraction) add(kind string, rank int, start, end int, value string, strong bool) {
	x.cands = append(x.cands, candidate{
		Entity: Entity{Kind: kind, Text: x.text[start:end], Value: value, Start: start, End: end},
		rank:   rank, strong: strong,
	})
}

// resolve drops candidates inside URLs and those overlapping a candidate
// of higher priority, and returns the rest in text order.
func (x *extraction) resolve() []Entity {
	if len(x.cands) == 0 {
		return nil
	}
	// taken marks the bytes already covered: every candidate is checked
	// and marked once, so resolution is linear in the total span length,
	// which is at most a few times len(text) (candidates of one kind
	// come from non-overlapping regexp matches or token spans).
	taken := make([]bool, len(x.text))
	var inURL []bool
	if urls := urlRE.FindAllStringIndex(x.text, -1); urls != nil {
		inURL = make([]bool, len(x.text))
		for _, u := range urls {
			for i := u[0]; i < u[1]; i++ {
				inURL[i] = true
			}
		}
	}
	slices.SortStableFunc(x.cands, func(a, b candidate) int {
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		if a.Start != b.Start {
			return a.Start - b.Start
		}
		return (b.End - b.Start) - (a.End - a.Start)
	})
	var out []Entity
	for _, c := range x.cands {
		free := true
		for i := c.Start; i < c.End; i++ {
			if taken[i] || (inURL != nil && inURL[i] && !c.strong) {
				free = false
				break
			}
		}
		if !free {
			continue
		}
		for i := c.Start; i < c.End; i++ {
			taken[i] = true
		}
		out = append(out, c.Entity)
	}
	slices.SortFunc(out, func(a, b Entity) int { return a.Start - b.Start })
	return out
}

var urlRE = regexp.MustCompile(`(?i)\b(?:https?://|www\.)[^\s<>"]+`)

// Emails: a practical subset of RFC 5322 addresses, ASCII only, which is
// what customers type.
var emailRE = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}\b`)

func (x *extraction) emails() {
	for _, m := range emailRE.FindAllStringIndex(x.text, -1) {
		s, e := m[0], m[1]
		// The local part may not start with a dot; "see:.a@b.com" means a@b.com.
		for s < e && x.text[s] == '.' {
			s++
		}
		if x.text[s] == '@' {
			continue // the local part was only dots
		}
		x.add(KindEmail, rankEmail, s, e, strings.ToLower(x.text[s:e]), true)
	}
}

// amount is a number as written in prices: 12, 12.99, 12,99 (decimal
// comma), 1,299.00, 1.299,00. The repetition bounds keep amounts below
// a trillion, so values stay short.
const amount = `(\d{1,3}(?:,\d{3}){1,3}(?:\.\d{1,2})?|\d{1,3}(?:\.\d{3}){1,3},\d{1,2}|\d{1,9}(?:[.,]\d{1,2})?)`

const currencyWord = `dollars?|usd|bucks?|euros?|eur|pounds?|gbp|quid|yen|jpy`

var (
	// "$12.99", "£ 5", "USD 40", "eur 12,50"
	moneyBeforeRE = regexp.MustCompile(`(?:([$€£¥])|(?i:\b(usd|eur|gbp|jpy)))\s?` + amount)
	// "40 euros", "12.99GBP", "15 bucks", "12,50€"
	moneyAfterRE = regexp.MustCompile(amount + `\s?(?:([$€£¥])|(?i:(` + currencyWord + `)\b))`)
)

var currencies = map[string]string{
	"$": "USD", "dollar": "USD", "dollars": "USD", "usd": "USD", "buck": "USD", "bucks": "USD",
	"€": "EUR", "euro": "EUR", "euros": "EUR", "eur": "EUR",
	"£": "GBP", "pound": "GBP", "pounds": "GBP", "gbp": "GBP", "quid": "GBP",
	"¥": "JPY", "yen": "JPY", "jpy": "JPY",
}

func (x *extraction) money() {
	for _, m := range moneyBeforeRE.FindAllStringSubmatchIndex(x.text, -1) {
		cur := x.group(m, 1) + x.group(m, 2)
		x.addMoney(m[0], m[1], x.group(m, 3), cur)
	}
	for _, m := range moneyAfterRE.FindAllStringSubmatchIndex(x.text, -1) {
		cur := x.group(m, 2) + x.group(m, 3)
		x.addMoney(m[0], m[1], x.group(m, 1), cur)
	}
}

func (x *extraction) addMoney(start, end int, num, cur string) {
	// (?i) also matches non-ASCII case variants (the Kelvin sign for k,
	// long s for s), which are not currency names: the lookup fails.
	code, ok := currencies[strings.ToLower(cur)]
	if !ok || glued(x.text, start, end) {
		return
	}
	x.add(KindMoney, rankMoney, start, end, normalizeAmount(num)+" "+code, false)
}

// normalizeAmount writes a matched amount with a dot and two decimals.
// The last separator is the decimal one when one or two digits follow
// it; every other separator groups thousands.
func normalizeAmount(s string) string {
	intPart, frac := s, ""
	if i := strings.LastIndexAny(s, ".,"); i >= 0 && len(s)-i-1 <= 2 {
		intPart, frac = s[:i], s[i+1:]
	}
	b := make([]byte, 0, len(s)+2)
	for i := 0; i < len(intPart); i++ {
		if c := intPart[i]; isDigit(c) && (c != '0' || len(b) > 0) {
			b = append(b, c) // drops separators and leading zeros
		}
	}
	if len(b) == 0 {
		b = append(b, '0')
	}
	b = append(b, '.')
	b = append(b, frac...)
	for i := len(frac); i < 2; i++ {
		b = append(b, '0')
	}
	return string(b)
}

const month = `(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)`

var (
	// 2026-03-03, 2026/3/3
	isoDateRE = regexp.MustCompile(`\b(\d{4})([-/.])(\d{1,2})([-/.])(\d{1,2})\b`)
	// 12/05/2026, 3.3.26, 25-12-2026
	numDateRE = regexp.MustCompile(`\b(\d{1,2})([-/.])(\d{1,2})([-/.])(\d{4}|\d{2})\b`)
	// March 3rd 2026, Mar. 3, 2026, march 3
	mdyRE = regexp.MustCompile(`(?i)\b` + month + `\.?\s(\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s(\d{4})\b)?`)
	// 3 March, 3rd of March 2026, 3 mar, 2026
	dmyRE = regexp.MustCompile(`(?i)\b(\d{1,2})(?:st|nd|rd|th)?\s(?:of\s)?` + month + `\b\.?(?:,?\s(\d{4})\b)?`)
	// Relative expressions; their value is the lower-cased text, resolved
	// later against the conversation's date.
	relDateRE = regexp.MustCompile(`(?i)\b(?:` +
		`(?:the\s)?day\s(?:before\syesterday|after\stomorrow)|yesterday|today|tonight|tomorrow|last\snight|` +
		`(?:last|next|this|coming)\s(?:week(?:end)?|month|year|` + weekday + `)|` +
		`(?:\d{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten|a\sfew|(?:a\s)?couple\sof)\s(?:days?|weeks?|months?)\sago|` +
		`in\s(?:\d{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten|a\sfew)\s(?:days?|weeks?|months?)|` +
		weekday + `)\b`)
)

const weekday = `(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)`

var months = map[string]time.Month{
	"jan": time.January, "feb": time.February, "mar": time.March, "apr": time.April,
	"may": time.May, "jun": time.June, "jul": time.July, "aug": time.August,
	"sep": time.September, "oct": time.October, "nov": time.November, "dec": time.December,
}

func (x *extraction) numericDates() {
	for _, m := range isoDateRE.FindAllStringSubmatchIndex(x.text, -1) {
		if x.group(m, 2) != x.group(m, 4) || glued(x.text, m[0], m[1]) {
			continue
		}
		y, mo, d := atoi(x.group(m, 1)), atoi(x.group(m, 3)), atoi(x.group(m, 5))
		if v, ok := isoDate(y, mo, d); ok {
			x.add(KindDate, rankDate, m[0], m[1], v, false)
		}
	}
	for _, m := range numDateRE.FindAllStringSubmatchIndex(x.text, -1) {
		if x.group(m, 2) != x.group(m, 4) || glued(x.text, m[0], m[1]) {
			continue
		}
		a, b, y := atoi(x.group(m, 1)), atoi(x.group(m, 3)), atoi(x.group(m, 5))
		if y < 100 {
			y += 2000 // a store's customers write about this century
		}
		dm, okDM := isoDate(y, b, a)
		md, okMD := isoDate(y, a, b)
		var v string
		switch {
		case okDM && okMD && dm != md:
			// 12/05/2026: 12 May or 5 December; keep what was written.
			v = strings.ToLower(x.text[m[0]:m[1]])
		case okDM:
			v = dm
		case okMD:
			v = md
		default:
			continue // 31/31/2026 is not a date
		}
		x.add(KindDate, rankDate, m[0], m[1], v, false)
	}
}

func (x *extraction) namedMonthDates() {
	for _, m := range mdyRE.FindAllStringSubmatchIndex(x.text, -1) {
		x.addNamedMonth(m, x.group(m, 1), x.group(m, 2), x.group(m, 3))
	}
	for _, m := range dmyRE.FindAllStringSubmatchIndex(x.text, -1) {
		x.addNamedMonth(m, x.group(m, 2), x.group(m, 1), x.group(m, 3))
	}
}

func (x *extraction) relativeDates() {
	for _, m := range relDateRE.FindAllStringIndex(x.text, -1) {
		x.add(KindDate, rankDate, m[0], m[1], strings.ToLower(x.text[m[0]:m[1]]), false)
	}
}

func (x *extraction) addNamedMonth(m []int, name, day, year string) {
	lower := strings.ToLower(name)
	if len(lower) < 3 {
		return
	}
	mo, ok := months[lower[:3]]
	if !ok {
		return // a non-ASCII case variant matched by (?i)
	}
	d := atoi(day)
	if year == "" {
		// No year: validate against a leap year so 29 February passes.
		if _, ok := isoDate(2000, int(mo), d); ok {
			x.add(KindDate, rankDate, m[0], m[1], "--"+pad2(int(mo))+"-"+pad2(d), false)
		}
		return
	}
	if v, ok := isoDate(atoi(year), int(mo), d); ok {
		x.add(KindDate, rankDate, m[0], m[1], v, false)
	}
}

// isoDate formats a calendar date, reporting false for dates that do
// not exist and years outside what a store's conversation mentions.
func isoDate(y, m, d int) (string, bool) {
	if y < 1900 || y > 2199 || m < 1 || m > 12 || d < 1 || d > 31 {
		return "", false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d {
		return "", false // 31 April rolled over
	}
	return t.Format(time.DateOnly), true
}

var (
	// ORD-220934, ORD 220934, ORD220934, A-771204, #5530192, # 5530192
	prefixedOrderRE = regexp.MustCompile(`(?i)(?:\b(ord)[- ]?|\b(a)-|(#) ?)(\d{5,8})\b`)
	bareOrderRE     = regexp.MustCompile(`\b\d{5,8}\b`)
	wordRE          = regexp.MustCompile(`[\p{L}\p{N}]+`)
)

// orderWords announce an order number: "order 48213", "tracking number: 1234567".
var orderWords = map[string]bool{
	"order": true, "orders": true, "ordered": true,
	"parcel": true, "parcels": true, "package": true, "packages": true,
	"shipment": true, "shipments": true, "purchase": true, "purchases": true, "purchased": true,
	"tracking": true, "ref": true, "reference": true,
}

// orderWordWindow is how many words before a bare number are searched
// for an order word; orderLookback bounds the bytes searched for them.
const (
	orderWordWindow = 4
	orderLookback   = 96
)

func (x *extraction) prefixedOrders() {
	// The regexp's word boundaries are enough: "order#5530192" is an
	// order number even though a letter comes right before the "#".
	for _, m := range prefixedOrderRE.FindAllStringSubmatchIndex(x.text, -1) {
		digits := x.group(m, 4)
		var v string
		switch {
		case m[2] >= 0:
			v = "ORD-" + digits
		case m[4] >= 0:
			v = "A-" + digits
		default:
			v = digits
		}
		x.add(KindOrderID, rankOrder, m[0], m[1], v, true)
	}
}

func (x *extraction) bareOrders() {
	ms := bareOrderRE.FindAllStringIndex(x.text, -1)
	if len(ms) == 0 {
		return
	}
	// A number inside an amount, a date or a phone number is not an
	// order number, whatever precedes it.
	blocked := make([]bool, len(x.text))
	for _, c := range x.cands {
		if c.rank == rankMoney || c.rank == rankDate || c.rank == rankPhone {
			for i := c.Start; i < c.End; i++ {
				blocked[i] = true
			}
		}
	}
	for _, m := range ms {
		s, e := m[0], m[1]
		if glued(x.text, s, e) || slices.Contains(blocked[s:e], true) || !x.orderWordBefore(s) {
			continue
		}
		x.add(KindOrderID, rankOrder, s, e, x.text[s:e], false)
	}
}

// orderWordBefore reports whether one of the orderWordWindow words
// before offset i is an order word.
func (x *extraction) orderWordBefore(i int) bool {
	lo := max(0, i-orderLookback)
	for lo < i && !utf8.RuneStart(x.text[lo]) {
		lo++
	}
	words := wordRE.FindAllString(x.text[lo:i], -1)
	for _, w := range words[max(0, len(words)-orderWordWindow):] {
		if orderWords[Fold(w)] {
			return true
		}
	}
	return false
}

// phoneRE finds phone-number shapes: an optional country code, an
// optional area code in parentheses, then digit groups separated by
// single spaces, dots or hyphens. addPhone decides which are numbers.
var phoneRE = regexp.MustCompile(`(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{1,12}(?:[ .-]\d{2,12}){0,5}`)

// dateShapeRE matches what looks like a date even when it is not a valid
// one ("2026-02-30"): a mistyped date is still not a phone number.
var dateShapeRE = regexp.MustCompile(`^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.](?:\d{2}|\d{4}))$`)

func (x *extraction) phones() {
	for _, m := range phoneRE.FindAllStringIndex(x.text, -1) {
		s, e := m[0], m[1]
		if glued(x.text, s, e) {
			continue
		}
		span := x.text[s:e]
		if dateShapeRE.MatchString(span) {
			continue
		}
		var digits []byte
		groups, inGroup := 0, false
		for i := 0; i < len(span); i++ {
			c := span[i]
			if '0' <= c && c <= '9' {
				digits = append(digits, c)
				if !inGroup {
					groups++
				}
				inGroup = true
			} else {
				inGroup = false
			}
		}
		n := len(digits)
		plus := span[0] == '+'
		paren := strings.IndexByte(span, '(') >= 0
		// E.164 allows 15 digits. Unmarked digit runs must be long or
		// grouped like a phone number to be one: "order 48213 123" and a
		// 7-digit order number are not phone numbers.
		ok := n >= 7 && n <= 15 && (plus || paren || (groups == 1 && n >= 9) || (groups >= 3) || n >= 10)
		if !ok {
			continue
		}
		v := string(digits)
		if plus {
			v = "+" + v
		}
		x.add(KindPhone, rankPhone, s, e, v, false)
	}
}

// named builds PERSON, GPE and ORG spans from the IOB labels prose's
// entity model put on tokens: B-X starts a span, I-X continues a span
// of the same kind (or starts one, as IOB1 allows), anything else ends
// it. One exception: prose's model labels most two-word names B-PERSON
// B-PERSON ("John Smith"), so a capitalized B-X token one space after a
// capitalized X span continues it; prose's own chunker merges such
// tokens too. Tokens whose offsets do not fit the text are skipped, so
// a Doc built by hand cannot cause a panic.
func (x *extraction) named(toks []Token) {
	kind, start, end := "", 0, 0
	flush := func() {
		if kind != "" && strings.IndexFunc(x.text[start:end], unicode.IsLetter) >= 0 {
			x.add(kind, rankNamed, start, end, x.text[start:end], false)
		}
		kind = ""
	}
	prevEnd := 0
	for _, t := range toks {
		if t.Start < prevEnd || t.End < t.Start || t.End > len(x.text) {
			flush()
			continue
		}
		prevEnd = t.End
		iob, k, _ := strings.Cut(t.Label, "-")
		k = nerKinds[k]
		switch {
		case k == "" || (iob != "B" && iob != "I"):
			flush()
		case k == kind && (iob == "I" || t.Start == end+1 && x.text[end] == ' ' && capitalized(x.text[start:end]) && capitalized(t.Text)):
			end = t.End
		default:
			flush()
			kind, start, end = k, t.Start, t.End
		}
	}
	flush()
}

func capitalized(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsUpper(r)
}

// nerKinds maps prose's entity labels to ours. prose's model knows
// GPE, GSP (geo-socio-political: the older ACE name for GPE), LOCATION,
// ORGANIZATION, PERSON and FACILITY; a customer's places are where
// things ship, so LOCATION counts as GPE, and FACILITY is dropped.
var nerKinds = map[string]string{
	"PERSON": KindPerson,
	"GPE":    KindGPE, "GSP": KindGPE, "LOCATION": KindGPE,
	"ORG": KindOrg, "ORGANIZATION": KindOrg,
}

// glued reports whether the match [s, e) is part of a longer number or
// word: a letter or digit right before it, a digit right after it (or a
// letter after a final digit), or a separator and a digit on either side
// ("1.5", "3/4"). So "12.99" in "112.99.5" and "48213" in "A48213" are
// not taken on their own.
func glued(text string, s, e int) bool {
	if s < 0 || e <= s || e > len(text) {
		return true
	}
	if s > 0 && (isAlnum(text[s-1]) || s > 1 && isSep(text[s-1]) && isDigit(text[s-2])) {
		return true
	}
	if e < len(text) {
		c := text[e]
		if isDigit(c) || isAlnum(c) && isDigit(text[e-1]) || e+1 < len(text) && isSep(c) && isDigit(text[e+1]) {
			return true
		}
	}
	return false
}

func isSep(c byte) bool { return c == '.' || c == ',' || c == '/' || c == '-' || c == ':' }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isAlnum(c byte) bool {
	return isDigit(c) || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || c == '_'
}

// group returns submatch i of match m, or "" when it did not take part.
func (x *extraction) group(m []int, i int) string {
	if 2*i+1 >= len(m) || m[2*i] < 0 {
		return ""
	}
	return x.text[m[2*i]:m[2*i+1]]
}

// atoi parses the short ASCII digit strings the regexps capture.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s) && i < 9; i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

func pad2(n int) string {
	if n < 10 {
		return "0" + string(rune('0'+n))
	}
	return string(rune('0'+n/10)) + string(rune('0'+n%10))
}
