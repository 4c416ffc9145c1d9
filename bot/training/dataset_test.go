package training_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/parley-chat/parley/bot/training"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/intents"
)

func TestTrainingSet(t *testing.T) {
	ctx := context.Background()
	b := newBench(t)
	base := b.wb.Data().Train
	ls := b.labelAll(t,
		ex("Where is my order", "cancel_order"),   // overrides train.csv:2 (order_status)
		ex("where is my order", "order_status"),   // ...and is overridden back: a label conflict, the latest wins
		ex("hello", "greeting"),                   // confirms train.csv:50
		ex("cancel my order", "order_status"),     // overrides train.csv:14
		ex("ship it to my mum", "order_status"),   // new
		ex("ship it to my mum", "order_status"),   // repeated
		ex("tell me a story", "oos"),              // a test utterance: held out
		ex("do you sell gift cards", "gift_card"), // new (a new intent)
	)
	s, err := b.wb.TrainingSet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := s.Report
	if r.Base != len(base.Examples) || r.Labels != len(ls) || r.Added != 2 || r.Repeated != 1 {
		t.Errorf("report base %d labels %d added %d repeated %d, want %d %d 2 1", r.Base, r.Labels, r.Added, r.Repeated, len(base.Examples), len(ls))
	}
	// "where is my order" ends where it started: confirmed, as is "hello".
	if r.Confirmed != 2 {
		t.Errorf("confirmed %d, want 2", r.Confirmed)
	}
	if len(r.Overrides) != 1 || r.Overrides[0].Base.String() != "testdata/train.csv:14" || r.Overrides[0].BaseIntent != "cancel_order" ||
		r.Overrides[0].Intent != "order_status" || r.Overrides[0].Label.LabelID != ls[3].ID {
		t.Errorf("overrides %+v, want train.csv:14 cancel_order -> label %d order_status", r.Overrides, ls[3].ID)
	}
	if len(r.Conflicts) != 1 || !slices.Equal(r.Conflicts[0].Intents, []string{"cancel_order", "order_status"}) || r.Conflicts[0].Winner != "order_status" {
		t.Errorf("conflicts %+v, want where is my order: cancel_order / order_status, won by order_status", r.Conflicts)
	}
	if len(r.HeldOut) != 1 || r.HeldOut[0].LabelID != ls[6].ID {
		t.Errorf("held out %+v, want label %d", r.HeldOut, ls[6].ID)
	}
	d := s.Dataset
	if len(d.Examples) != len(base.Examples)+2 || len(s.Origins) != len(d.Examples) {
		t.Fatalf("%d examples (%d origins), want %d", len(d.Examples), len(s.Origins), len(base.Examples)+2)
	}
	// The override takes its base example's place; new ones come last.
	if e, o := d.Examples[12], s.Origins[12]; e.Text != "cancel my order" || e.Label != "order_status" || o.LabelID != ls[3].ID {
		t.Errorf("example 12 = %+v from %v, want the label %d's cancel my order/order_status", e, o, ls[3].ID)
	}
	if e := d.Examples[0]; e.Label != "order_status" || s.Origins[0].String() != "testdata/train.csv:2" {
		t.Errorf("example 0 = %+v from %v, want train.csv:2 kept", e, s.Origins[0])
	}
	tail := d.Examples[len(d.Examples)-2:]
	if !slices.Equal(tail, []intents.Example{ex("ship it to my mum", "order_status"), ex("do you sell gift cards", "gift_card")}) {
		t.Errorf("last examples %+v, want the two new utterances", tail)
	}
	for _, e := range d.Examples {
		if e.Text == "tell me a story" {
			t.Errorf("the held-out test utterance %q is trained on", e.Text)
		}
	}
	var out bytes.Buffer
	r.WriteText(&out)
	for _, want := range []string{"1 overrides", "label conflict \"where is my order\"", "held out: label"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report text lacks %q:\n%s", want, out.String())
		}
	}
}

// Labels that only confirm the base data leave it as it was: the same
// hash, so retraining on it is retraining the same data.
func TestTrainingSetConfirmations(t *testing.T) {
	b := newBench(t)
	b.labelAll(t, ex("HELLO", "greeting"), ex("where is my order", "order_status"))
	s, err := b.wb.TrainingSet(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Dataset.Hash(), b.wb.Data().Train.Hash(); got != want {
		t.Errorf("confirming labels changed the data hash: %s, want %s", got, want)
	}
}

func TestCheck(t *testing.T) {
	b := newBench(t)
	ls := b.labelAll(t,
		ex("where is my order now", "cancel_order"), // near train.csv:2 (order_status): 4 of 5 words
		ex("Hello!!", "greeting"),                   // the same words as train.csv:50, same label
	)
	s, err := b.wb.TrainingSet(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rep := training.Check(s)
	found := func(list []training.NearDuplicate, a, b string) bool {
		return slices.ContainsFunc(list, func(n training.NearDuplicate) bool { return n.A.Origin.String() == a && n.B.Origin.String() == b })
	}
	if !found(rep.NearConflicts, "testdata/train.csv:2", "label "+itoa(ls[0].ID)) {
		t.Errorf("near-conflicts %+v lack train.csv:2 ~ label %d", rep.NearConflicts, ls[0].ID)
	}
	if !found(rep.NearDuplicates, "testdata/train.csv:50", "label "+itoa(ls[1].ID)) {
		t.Errorf("near-duplicates %+v lack train.csv:50 ~ label %d", rep.NearDuplicates, ls[1].ID)
	}
	for _, n := range append(rep.NearConflicts, rep.NearDuplicates...) {
		if n.Similarity < training.Similarity {
			t.Errorf("near-duplicate %+v below the threshold %v", n, training.Similarity)
		}
	}
	if !rep.Problems() {
		t.Errorf("Problems() = false with a near-conflict")
	}
	var out bytes.Buffer
	rep.WriteText(&out, false)
	if !strings.Contains(out.String(), `near-conflict 0.80: "where is my order" testdata/train.csv:2 (order_status) ~ "where is my order now" label`) {
		t.Errorf("report text:\n%s", out.String())
	}
}

// Check on a file's data: exact conflicts and duplicates by line, and
// the pairs table-driven.
func TestCheckFile(t *testing.T) {
	d, err := intents.ReadCSV(strings.NewReader("text,label\nwhere is my order,a\nWhere is my order,b\nhi,c\nhi,c\ncancel my order,d\ndon't cancel my order,d\nplease reset my password now,e\nplease reset my password,e\n"), "f.csv")
	if err != nil {
		t.Fatal(err)
	}
	rep := training.Check(training.SetOf(d))
	if len(rep.Conflicts) != 1 || rep.Conflicts[0].Occurrences[1].String() != "f.csv:3 (b)" {
		t.Errorf("conflicts %+v, want where is my order at f.csv:2 and 3", rep.Conflicts)
	}
	if len(rep.Duplicates) != 1 || rep.Duplicates[0].Occurrences[0].Origin.Line != 4 {
		t.Errorf("duplicates %+v, want hi at f.csv:4 and 5", rep.Duplicates)
	}
	// "cancel my order" and "don't cancel my order" share 3 of 5 words: apart.
	if len(rep.NearDuplicates) != 1 || rep.NearDuplicates[0].A.Origin.Line != 8 || rep.NearDuplicates[0].B.Origin.Line != 9 {
		t.Errorf("near-duplicates %+v, want only f.csv:8 ~ f.csv:9", rep.NearDuplicates)
	}
	if len(rep.NearConflicts) != 0 {
		t.Errorf("near-conflicts %+v, want none", rep.NearConflicts)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestExportImportRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, format := range []string{training.FormatCSV, training.FormatNLU} {
		t.Run(format, func(t *testing.T) {
			src := newBench(t)
			src.labelAll(t,
				ex("cancel my order", "order_status"),
				ex("ship it to\nmy mum", "order_status"),
				ex(`a "quoted" text, with commas: and # hashes`, "greeting"),
				ex("- starts with a dash", "greeting"),
				ex("how much is shipping", "shipping_cost"),
				ex("ünïcödé ✓ text\u2028with a separator", "greeting"),
			)
			set, err := src.wb.TrainingSet(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := training.Export(&buf, set.Dataset, format); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "export."+map[string]string{training.FormatCSV: "csv", training.FormatNLU: "yml"}[format])
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			// Into an empty CRM: every difference from the base data is a
			// label again, and the training sets match.
			dst := newBench(t)
			res, err := dst.wb.ImportFile(ctx, path, dst.staff.ID, training.ImportOptions{NewIntents: true})
			if err != nil {
				t.Fatalf("import %s:\n%s\n%v", format, buf.String(), err)
			}
			got, err := dst.wb.TrainingSet(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := set.Dataset.Examples
			gotEx := got.Dataset.Examples
			if format == training.FormatNLU {
				// nlu.yml has one line per example, grouped by intent.
				want, gotEx = sorted(oneLine(want)), sorted(gotEx)
			}
			if !sameExamples(gotEx, want) {
				t.Errorf("round trip through %s: got\n%v\nwant\n%v", format, got.Dataset.Examples, want)
			}
			if res.Stored != 6 || res.Unchanged != len(set.Dataset.Examples)-6 || !slices.Equal(res.NewIntents, []string{"shipping_cost"}) {
				t.Errorf("import result %+v, want 6 stored (5 new utterances, 1 override), the rest unchanged, shipping_cost new", res)
			}
			// Importing the same file again changes nothing.
			again, err := dst.wb.ImportFile(ctx, path, dst.staff.ID, training.ImportOptions{})
			if err != nil || again.Stored != 0 {
				t.Errorf("second import: %+v, %v; want nothing stored", again, err)
			}
		})
	}
}

// sameExamples compares texts and labels, in order (not lines).
func sameExamples(a, b []intents.Example) bool {
	return slices.EqualFunc(a, b, func(x, y intents.Example) bool { return x.Text == y.Text && x.Label == y.Label })
}

func sorted(exs []intents.Example) []intents.Example {
	out := slices.Clone(exs)
	slices.SortFunc(out, func(a, b intents.Example) int { return strings.Compare(a.Label+"\x00"+a.Text, b.Label+"\x00"+b.Text) })
	return out
}

func oneLine(exs []intents.Example) []intents.Example {
	out := slices.Clone(exs)
	for i := range out {
		out[i].Text = strings.Join(strings.FieldsFunc(out[i].Text, func(r rune) bool { return r == ' ' || r == '\n' || r == '\u2028' }), " ")
	}
	return out
}

func TestExportUnknownFormat(t *testing.T) {
	if err := training.Export(&bytes.Buffer{}, intents.Dataset{}, "xml"); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("Export(xml) = %v, want ErrInvalid", err)
	}
}

func TestImportErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		file   string // in testdata, or written from body
		body   string
		opts   training.ImportOptions
		is     error
		errHas []string
	}{
		{"empty label", "bad_label.csv", "", training.ImportOptions{}, nil, []string{"bad_label.csv:3", "empty label"}},
		{"malformed yaml", "bad.yml", "", training.ImportOptions{}, nil, []string{"bad.yml:5"}},
		{"unknown intents, all named", "bad_intent.csv", "", training.ImportOptions{}, training.ErrUnknownIntent,
			[]string{"nothing imported", "bad_intent.csv:3: unknown intent \"shiping_cost\"", "bad_intent.csv:4: unknown intent \"cancel_ordr\" (closest known: cancel_order"}},
		{"new intents need clean names", "", "text,label\nhi there you,Not A Name\n", training.ImportOptions{NewIntents: true}, crm.ErrInvalid, []string{"f.csv:2", "intent name"}},
		{"a file that contradicts itself", "", "text,label\nwhere is it,order_status\nWhere is it?,order_status\nwhere is it,cancel_order\n", training.ImportOptions{}, crm.ErrInvalid, []string{"f.csv:4", "line 2"}},
		{"missing file", "nope.csv", "", training.ImportOptions{}, os.ErrNotExist, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t)
			path := filepath.Join("testdata", tc.file)
			if tc.body != "" {
				path = filepath.Join(t.TempDir(), "f.csv")
				if err := os.WriteFile(path, []byte(tc.body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			res, err := b.wb.ImportFile(ctx, path, b.staff.ID, tc.opts)
			if err == nil {
				t.Fatalf("ImportFile(%s) = %+v, want an error", path, res)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("ImportFile(%s) error %v, want %v", path, err, tc.is)
			}
			for _, want := range tc.errHas {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("ImportFile(%s) error %q lacks %q", path, err, want)
				}
			}
			if n := len(mustLabels(t, b.store)); n != 0 || res.Stored != 0 {
				t.Errorf("ImportFile(%s) failed but stored %d labels (result %d), want none", path, n, res.Stored)
			}
		})
	}
}

func TestImport(t *testing.T) {
	b := newBench(t)
	res, err := b.wb.ImportFile(context.Background(), filepath.Join("testdata", "import.yml"), b.staff.ID, training.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != 3 || res.Stored != 3 {
		t.Errorf("import result %+v, want 3 read and stored", res)
	}
	ls := mustLabels(t, b.store)
	if len(ls) != 3 || ls[0].Text != "where the heck is my order" || ls[0].Intent != "order_status" || ls[0].StaffID != b.staff.ID || ls[2].Intent != "opening_hours" {
		t.Errorf("labels %+v, want the file's three by staff %d", ls, b.staff.ID)
	}
}
