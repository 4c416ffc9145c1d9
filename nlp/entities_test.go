package nlp_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parley-chat/parley/nlp"
)

// ent is an expected entity; offsets are checked against the text.
type ent struct{ kind, text, value string }

func (e ent) String() string { return fmt.Sprintf("%s %q=%q", e.kind, e.text, e.value) }

func TestEntities(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []ent
	}{
		// Order ids.
		{"OrderPrefixA", "status of my order A-771204", []ent{{nlp.KindOrderID, "A-771204", "A-771204"}}},
		{"OrderPrefixLower", "it's a-771204 and ord-220934", []ent{{nlp.KindOrderID, "a-771204", "A-771204"}, {nlp.KindOrderID, "ord-220934", "ORD-220934"}}},
		{"OrderPrefixORD", "refund for ORD-220934 never came", []ent{{nlp.KindOrderID, "ORD-220934", "ORD-220934"}}},
		{"OrderPrefixORDSpace", "ORD 220934 please", []ent{{nlp.KindOrderID, "ORD 220934", "ORD-220934"}}},
		{"OrderHash", "tracking number for #5530192", []ent{{nlp.KindOrderID, "#5530192", "5530192"}}},
		{"OrderHashGlued", "order#5530192 pls", []ent{{nlp.KindOrderID, "#5530192", "5530192"}}},
		{"OrderBare", "has order 48213 shipped yet?", []ent{{nlp.KindOrderID, "48213", "48213"}}},
		{"OrderBareNumberWord", "my order number is 12345678", []ent{{nlp.KindOrderID, "12345678", "12345678"}}},
		{"OrderBareParcel", "the parcel with ref: 5530192 is late", []ent{{nlp.KindOrderID, "5530192", "5530192"}}},
		{"OrderBareCase", "ORDERED 3 things, PACKAGE 771204", []ent{{nlp.KindOrderID, "771204", "771204"}}},
		{"OrderWordTooFar", "my order is late and I want to know about 48213", nil},
		{"OrderBareNoWord", "I live at 48213 Main Street", nil},
		{"OrderTooShort", "order 1234 and order #1234", nil},
		// Nine digits are too many for an order number and enough for an
		// unseparated phone number.
		{"OrderTooLong", "order 123456789", []ent{{nlp.KindPhone, "123456789", "123456789"}}},
		{"OrderAfterWordWithDigits", "order 48213, 55301 and 771204", []ent{{nlp.KindOrderID, "48213", "48213"}, {nlp.KindOrderID, "55301", "55301"}, {nlp.KindOrderID, "771204", "771204"}}},
		{"OrderInWord", "orderA48213 and order x48213y", nil},

		// Emails.
		{"Email", "change my email to Anna.Schmidt@Example.com please", []ent{{nlp.KindEmail, "Anna.Schmidt@Example.com", "anna.schmidt@example.com"}}},
		{"EmailPlus", "mail anna.b+x@example.co.uk.", []ent{{nlp.KindEmail, "anna.b+x@example.co.uk", "anna.b+x@example.co.uk"}}},
		{"EmailDigits", "order 48213 from 12345678@shop.example", []ent{{nlp.KindOrderID, "48213", "48213"}, {nlp.KindEmail, "12345678@shop.example", "12345678@shop.example"}}},
		{"NotEmail", "meet @ 5 or email me at anna@", nil},
		{"EmailDotsOnly", "write to ...@b.com", nil},
		{"EmailLeadingDot", "see:.a@b.com", []ent{{nlp.KindEmail, "a@b.com", "a@b.com"}}},

		// Phones.
		{"PhoneIntl", "call me on +44 20 7946 0958 tomorrow", []ent{{nlp.KindPhone, "+44 20 7946 0958", "+442079460958"}, {nlp.KindDate, "tomorrow", "tomorrow"}}},
		{"PhoneParens", "my number is (555) 123-4567", []ent{{nlp.KindPhone, "(555) 123-4567", "5551234567"}}},
		{"PhoneUK", "ring 07946 095812", []ent{{nlp.KindPhone, "07946 095812", "07946095812"}}},
		{"PhoneDots", "555.123.4567", []ent{{nlp.KindPhone, "555.123.4567", "5551234567"}}},
		{"PhoneUnseparated", "text 07946095812", []ent{{nlp.KindPhone, "07946095812", "07946095812"}}},
		{"PhonePlusCompact", "+4915112345678", []ent{{nlp.KindPhone, "+4915112345678", "+4915112345678"}}},
		{"PhoneTooShort", "call 555-1234", nil},
		{"PhoneTooLong", "+1234567890123456789", nil},

		// Money.
		{"MoneyDollar", "I was charged $49.99 twice", []ent{{nlp.KindMoney, "$49.99", "49.99 USD"}}},
		{"MoneyPound", "it was £5", []ent{{nlp.KindMoney, "£5", "5.00 GBP"}}},
		{"MoneyPoundThousands", "paid £1,299.50", []ent{{nlp.KindMoney, "£1,299.50", "1299.50 GBP"}}},
		{"MoneyEuroWord", "it was 40 euros", []ent{{nlp.KindMoney, "40 euros", "40.00 EUR"}}},
		{"MoneyEuroDecimalComma", "12,50€ or 1.299,00 €", []ent{{nlp.KindMoney, "12,50€", "12.50 EUR"}, {nlp.KindMoney, "1.299,00 €", "1299.00 EUR"}}},
		{"MoneyYen", "¥3000", []ent{{nlp.KindMoney, "¥3000", "3000.00 JPY"}}},
		{"MoneyBucks", "like 15 bucks", []ent{{nlp.KindMoney, "15 bucks", "15.00 USD"}}},
		{"MoneyCodeAfter", "refund 12.99 GBP", []ent{{nlp.KindMoney, "12.99 GBP", "12.99 GBP"}}},
		{"MoneyCodeBefore", "USD 40 and eur 7.5", []ent{{nlp.KindMoney, "USD 40", "40.00 USD"}, {nlp.KindMoney, "eur 7.5", "7.50 EUR"}}},
		{"MoneyDollars", "100 dollars", []ent{{nlp.KindMoney, "100 dollars", "100.00 USD"}}},
		{"MoneyLeadingZero", "$0.99", []ent{{nlp.KindMoney, "$0.99", "0.99 USD"}}},
		{"MoneyGlued", "$12.999 and 3$4", nil},

		// Dates.
		{"DateISO", "delivered on 2026-03-03", []ent{{nlp.KindDate, "2026-03-03", "2026-03-03"}}},
		{"DateMonthDayYear", "on March 3rd 2026", []ent{{nlp.KindDate, "March 3rd 2026", "2026-03-03"}}},
		{"DateMonthDayCommaYear", "since Sept. 14, 2025", []ent{{nlp.KindDate, "Sept. 14, 2025", "2025-09-14"}}},
		{"DateDayMonth", "arrived 3 March", []ent{{nlp.KindDate, "3 March", "--03-03"}}},
		{"DateDayOfMonthYear", "the 21st of december 2025", []ent{{nlp.KindDate, "21st of december 2025", "2025-12-21"}}},
		{"DateFeb29NoYear", "29 Feb", []ent{{nlp.KindDate, "29 Feb", "--02-29"}}},
		{"DateFeb29NotLeap", "29 Feb 2026", nil},
		{"DateSlashAmbiguous", "ordered 12/05/2026", []ent{{nlp.KindDate, "12/05/2026", "12/05/2026"}}},
		{"DateSlashDayFirst", "on 25/12/2026", []ent{{nlp.KindDate, "25/12/2026", "2026-12-25"}}},
		{"DateSlashMonthFirst", "on 12/25/2026", []ent{{nlp.KindDate, "12/25/2026", "2026-12-25"}}},
		{"DateSlashSameDayMonth", "on 05/05/2026", []ent{{nlp.KindDate, "05/05/2026", "2026-05-05"}}},
		{"DateDots", "am 31.01.26", []ent{{nlp.KindDate, "31.01.26", "2026-01-31"}}},
		{"DateInvalid", "on 31/31/2026 or 2026-02-30", nil},
		{"DateMixedSeparators", "12/05-2026", nil},
		{"DateRelative", "Yesterday, last Tuesday, next week, in 3 days, 2 weeks ago", []ent{
			{nlp.KindDate, "Yesterday", "yesterday"}, {nlp.KindDate, "last Tuesday", "last tuesday"},
			{nlp.KindDate, "next week", "next week"}, {nlp.KindDate, "in 3 days", "in 3 days"},
			{nlp.KindDate, "2 weeks ago", "2 weeks ago"}}},
		{"DateWeekday", "ordered on monday", []ent{{nlp.KindDate, "monday", "monday"}}},
		{"DateDayBefore", "the day before yesterday", []ent{{nlp.KindDate, "the day before yesterday", "the day before yesterday"}}},
		{"NotDate", "marching 3 bands, 5 maybe, mayday", nil},

		// Overlaps and priorities.
		{"OrderInsideEmail", "write to ORD-220934@shop.example", []ent{{nlp.KindEmail, "ORD-220934@shop.example", "ord-220934@shop.example"}}},
		{"BareNumberInMoney", "order total 12345 dollars", []ent{{nlp.KindMoney, "12345 dollars", "12345.00 USD"}}},
		{"BareNumberInPhone", "order line +44 12345 678901", []ent{{nlp.KindPhone, "+44 12345 678901", "+4412345678901"}}},
		{"BareNumberInDate", "ordered 2026-03-03", []ent{{nlp.KindDate, "2026-03-03", "2026-03-03"}}},
		{"OrderBeatsPhone", "order 48213 123 and A-771204", []ent{{nlp.KindOrderID, "48213", "48213"}, {nlp.KindOrderID, "A-771204", "A-771204"}}},
		{"PrefixedOrderBeatsPhone", "ORD-12345678", []ent{{nlp.KindOrderID, "ORD-12345678", "ORD-12345678"}}},
		{"URL", "see https://shop.example/orders/12345678?ts=1700000000&d=2026-03-03 for ORD-220934", []ent{{nlp.KindOrderID, "ORD-220934", "ORD-220934"}}},
		{"URLEmailBeatsOrder", "https://x.example/?e=ORD-220934@shop.example", []ent{{nlp.KindEmail, "ORD-220934@shop.example", "ord-220934@shop.example"}}},
		{"URLKeepsPrefixedOrder", "https://track.example/?id=ORD-220934", []ent{{nlp.KindOrderID, "ORD-220934", "ORD-220934"}}},
		{"Mixed", "ORD-220934 cost 40 euros, paid on 12/05/2026, mail me: a@b.co", []ent{
			{nlp.KindOrderID, "ORD-220934", "ORD-220934"}, {nlp.KindMoney, "40 euros", "40.00 EUR"},
			{nlp.KindDate, "12/05/2026", "12/05/2026"}, {nlp.KindEmail, "a@b.co", "a@b.co"}}},

		// Negatives.
		{"Items", "I want 5 items", nil},
		{"Year", "I ordered in 2024", nil},
		{"SizeNumber", "size 40 in blue", nil},
		{"Japanese", "注文番号はどこですか？ 東京", nil},
		{"JapaneseOrderHash", "注文 #5530192 はどこ", []ent{{nlp.KindOrderID, "#5530192", "5530192"}}},
		{"Cyrillic", "Где мой заказ? Номер 48213", nil},
		{"Arabic", "أين طلبي ORD-220934؟", []ent{{nlp.KindOrderID, "ORD-220934", "ORD-220934"}}},
		{"ArabicDigits", "طلب ٤٨٢١٣", nil},
		{"Emoji", "\U0001F621\U0001F621 order 48213 \U0001F4E6 $5", []ent{{nlp.KindOrderID, "48213", "48213"}, {nlp.KindMoney, "$5", "5.00 USD"}}},
		{"EmojiOnly", "\U0001F621\U0001F44D\U0001F3FD", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustParse(t, tokenizer, tt.in, 0)
			got := nlp.Entities(d)
			checkEntities(t, d, got)
			if !sameEntities(got, tt.want) {
				t.Errorf("Entities(%q) = %v, want %v", d.Text, describe(got), tt.want)
			}
		})
	}
}

func TestEntitiesNamed(t *testing.T) {
	tk := tokenizer
	tests := []struct {
		name string
		in   string
		want []ent
	}{
		// Expectations are prose's output on these sentences, as measured:
		// they check that spans are built from the labels, not that the
		// model is right (it calls "Hi" a place).
		{"PersonAndPlace", "My name is Maria Garcia and I live in Madrid.", []ent{{nlp.KindPerson, "Maria Garcia", "Maria Garcia"}, {nlp.KindGPE, "Madrid", "Madrid"}}},
		{"MultiWordPlace", "Please send it to New York", []ent{{nlp.KindGPE, "Please", "Please"}, {nlp.KindGPE, "New York", "New York"}}},
		{"RulesWin", "John Smith ordered A-771204 in London on March 3rd 2026 for $12.99", []ent{
			{nlp.KindPerson, "John Smith", "John Smith"}, {nlp.KindOrderID, "A-771204", "A-771204"},
			{nlp.KindGPE, "London", "London"}, {nlp.KindDate, "March 3rd 2026", "2026-03-03"}, {nlp.KindMoney, "$12.99", "12.99 USD"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := mustParse(t, tk, tt.in, nlp.NamedEntities)
			got := nlp.Entities(d)
			checkEntities(t, d, got)
			if !sameEntities(got, tt.want) {
				t.Errorf("Entities(%q) = %v, want %v", d.Text, describe(got), tt.want)
			}
		})
	}
}

// TestEntitiesLabels builds Docs by hand to pin down how IOB labels make
// spans, independent of prose's model.
func TestEntitiesLabels(t *testing.T) {
	doc := func(text string, labels ...string) nlp.Doc {
		d := nlp.Doc{Text: text}
		pos := 0
		for i, w := range strings.Fields(text) {
			start := pos + strings.Index(text[pos:], w)
			pos = start + len(w)
			d.Tokens = append(d.Tokens, nlp.Token{Text: w, Start: start, End: pos, Label: labels[i]})
		}
		return d
	}
	tests := []struct {
		name string
		doc  nlp.Doc
		want []ent
	}{
		{"BI", doc("to New York now", "O", "B-GPE", "I-GPE", "O"), []ent{{nlp.KindGPE, "New York", "New York"}}},
		{"ProseKinds", doc("Acme Corp in Paris", "B-ORGANIZATION", "I-ORGANIZATION", "O", "B-GSP"), []ent{{nlp.KindOrg, "Acme Corp", "Acme Corp"}, {nlp.KindGPE, "Paris", "Paris"}}},
		{"BBCapitalizedMerges", doc("John Smith", "B-PERSON", "B-PERSON"), []ent{{nlp.KindPerson, "John Smith", "John Smith"}}},
		{"BBLowerSplits", doc("John smith", "B-PERSON", "B-PERSON"), []ent{{nlp.KindPerson, "John", "John"}, {nlp.KindPerson, "smith", "smith"}}},
		{"KindChange", doc("Anna Berlin", "B-PERSON", "I-GPE"), []ent{{nlp.KindPerson, "Anna", "Anna"}, {nlp.KindGPE, "Berlin", "Berlin"}}},
		{"IAfterO", doc("in Berlin", "O", "I-GPE"), []ent{{nlp.KindGPE, "Berlin", "Berlin"}}},
		{"Facility", doc("the Eiffel Tower", "O", "B-FACILITY", "I-FACILITY"), nil},
		{"NoLetters", doc("# 48", "B-PERSON", "I-PERSON"), nil},
		{"BadLabels", doc("a b c d", "B", "-X", "B-", "X-PERSON"), nil},
		{"BadOffsets", nlp.Doc{Text: "Anna", Tokens: []nlp.Token{{Start: 2, End: 9, Label: "B-PERSON"}, {Start: -1, End: 2, Label: "B-PERSON"}, {Start: 3, End: 1, Label: "B-PERSON"}}}, nil},
		{"OverlappingTokens", nlp.Doc{Text: "Anna Lee", Tokens: []nlp.Token{{Start: 0, End: 4, Label: "B-PERSON"}, {Start: 2, End: 8, Label: "I-PERSON"}}}, []ent{{nlp.KindPerson, "Anna", "Anna"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := nlp.Entities(tt.doc)
			checkEntities(t, tt.doc, got)
			if !sameEntities(got, tt.want) {
				t.Errorf("Entities(%q with labels) = %v, want %v", tt.doc.Text, describe(got), tt.want)
			}
		})
	}
}

// TestEntitiesLarge runs messages of the largest size, dense with
// candidates, through extraction: the invariants hold and the counts show
// nothing is dropped by the overlap resolution that should not be.
func TestEntitiesLarge(t *testing.T) {
	tests := []struct {
		unit string
		want nlp.Entity // Kind and Value of every entity
	}{
		{"$1 ", nlp.Entity{Kind: nlp.KindMoney, Value: "1.00 USD"}},
		{"order 12345 ", nlp.Entity{Kind: nlp.KindOrderID, Value: "12345"}},
		{"+44 20 7946 0958 ", nlp.Entity{Kind: nlp.KindPhone, Value: "+442079460958"}},
		{"March 3 ", nlp.Entity{Kind: nlp.KindDate, Value: "--03-03"}},
		{"12/05/2026 ", nlp.Entity{Kind: nlp.KindDate, Value: "12/05/2026"}},
		{"a@b.co ", nlp.Entity{Kind: nlp.KindEmail, Value: "a@b.co"}},
		{"https://x.example/12345678 ", nlp.Entity{}},
		{"1 ", nlp.Entity{}},
	}
	for _, tt := range tests {
		n := nlp.DefaultMaxBytes / len(tt.unit)
		d := mustParse(t, tokenizer, strings.Repeat(tt.unit, n), 0)
		got := nlp.Entities(d)
		checkEntities(t, d, got)
		want := n
		if tt.want.Kind == "" {
			want = 0
		}
		if len(got) != want {
			t.Errorf("Entities(%d x %q) = %d entities, want %d", n, tt.unit, len(got), want)
		}
		for _, e := range got {
			if e.Kind != tt.want.Kind || e.Value != tt.want.Value {
				t.Fatalf("Entities(%d x %q): %s %q, want %s %q", n, tt.unit, e.Kind, e.Value, tt.want.Kind, tt.want.Value)
			}
		}
	}
}

// checkEntities checks the invariants every result keeps: offsets index
// the text, spans are sorted and do not overlap.
func checkEntities(tb testing.TB, d nlp.Doc, es []nlp.Entity) {
	tb.Helper()
	end := 0
	for _, e := range es {
		if e.Start < end || e.End <= e.Start || e.End > len(d.Text) {
			tb.Fatalf("Entities(%q): %s [%d:%d] overlaps the previous entity (ends %d) or is out of range", d.Text, e.Kind, e.Start, e.End, end)
		}
		if got := d.Text[e.Start:e.End]; got != e.Text {
			tb.Fatalf("Entities(%q): Text[%d:%d] = %q, entity text %q", d.Text, e.Start, e.End, got, e.Text)
		}
		if e.Kind == "" || e.Value == "" {
			tb.Fatalf("Entities(%q): entity %+v has no kind or value", d.Text, e)
		}
		end = e.End
	}
}

func sameEntities(got []nlp.Entity, want []ent) bool {
	if len(got) != len(want) {
		return false
	}
	for i, e := range got {
		if e.Kind != want[i].kind || e.Text != want[i].text || e.Value != want[i].value {
			return false
		}
	}
	return true
}

func describe(es []nlp.Entity) []ent {
	var out []ent
	for _, e := range es {
		out = append(out, ent{e.Kind, e.Text, e.Value})
	}
	return out
}

func ExampleEntities() {
	d, err := nlp.Parse("Hi, order A-771204 was 40 euros on 25/12/2026 and hasn't arrived. Call +44 20 7946 0958")
	if err != nil {
		panic(err)
	}
	for _, e := range nlp.Entities(d) {
		fmt.Printf("%-8s %-18q %s\n", e.Kind, d.Text[e.Start:e.End], e.Value)
	}
	// Output:
	// order_id "A-771204"         A-771204
	// money    "40 euros"         40.00 EUR
	// date     "25/12/2026"       2026-12-25
	// phone    "+44 20 7946 0958" +442079460958
}

func FuzzEntities(f *testing.F) {
	for _, s := range corpus {
		f.Add(s, false)
	}
	for _, s := range []string{
		"order 48213 123 and A-771204", "https://x.example/ORD-220934 a@b.co", "$1,000,000,000.99", "29 Feb 2000",
		"12/05/2026 12.05.26 2026/5/12", "+44 (0) 20 7946 0958", "in 3 days 2 weeks ago", "weeK", "\u212a", "ſep 3", "uſd 5",
	} {
		f.Add(s, true)
	}
	tk := tokenizer
	f.Fuzz(func(t *testing.T, s string, named bool) {
		// Entities on raw text, which Parse would have normalized: the
		// function must cope with any Doc.
		checkEntities(t, nlp.Doc{Text: s}, nlp.Entities(nlp.Doc{Text: s}))
		stages := nlp.Stages(0)
		if named {
			stages = nlp.NamedEntities
		}
		d, err := tk.Parse(s, stages)
		if err != nil {
			return
		}
		checkEntities(t, d, nlp.Entities(d))
	})
}

// BenchmarkEntities measures extraction per corpus message: the rules
// alone on parsed Docs, and the whole path from raw text with and
// without prose's named-entity stage.
func BenchmarkEntities(b *testing.B) {
	tk := tokenizer
	docs := make([]nlp.Doc, len(corpus))
	for i, s := range corpus {
		docs[i] = mustParse(b, tk, s, 0)
	}
	mustParse(b, tk, corpus[0], nlp.NamedEntities) // builds prose's model outside the timer
	b.Run("Rules", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(corpusBytes())
		for b.Loop() {
			for _, d := range docs {
				nlp.Entities(d)
			}
		}
		reportPerMessage(b)
	})
	for _, bc := range []struct {
		name   string
		stages nlp.Stages
	}{{"ParseRules", 0}, {"ParseNamedEntities", nlp.NamedEntities}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(corpusBytes())
			for b.Loop() {
				for _, s := range corpus {
					d, err := tk.Parse(s, bc.stages)
					if err != nil {
						b.Fatal(err)
					}
					nlp.Entities(d)
				}
			}
			reportPerMessage(b)
		})
	}
}
