package segment

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
	"gonum.org/v1/gonum/mat"
)

func TestRunFindsKinds(t *testing.T) {
	for _, tc := range []struct {
		name       string
		n          int
		method     Method
		wantMethod Method
	}{
		{"ward auto", 800, MethodAuto, MethodWard},
		{"kmeans auto", 3000, "", MethodKMeans},
		{"kmeans asked", 800, MethodKMeans, MethodKMeans},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stats, kinds := synthStats(tc.n, 1)
			r := mustRun(t, stats, Config{Seed: 1, Method: tc.method})
			if r.Method != tc.wantMethod {
				t.Errorf("method %s, want %s", r.Method, tc.wantMethod)
			}
			if r.K != len(customerKinds) {
				t.Errorf("chose k=%d (scores %+v), want %d", r.K, r.Scores, len(customerKinds))
			}
			if p := purity(r.Labels, kinds); p < 0.95 {
				t.Errorf("purity %.3f against the synthetic kinds, want >= 0.95", p)
			}
			if len(r.Scores) != DefaultMaxK-DefaultMinK+1 {
				t.Errorf("%d scores, want one per k in 2..8", len(r.Scores))
			}
			// Segments are numbered by size.
			for s := 1; s < r.K; s++ {
				if r.Profiles[s].Size > r.Profiles[s-1].Size {
					t.Errorf("segment %d larger than segment %d: %d > %d", s+1, s, r.Profiles[s].Size, r.Profiles[s-1].Size)
				}
			}
			names := map[string]bool{}
			for _, p := range r.Profiles {
				if names[p.Name] {
					t.Errorf("profile name %q used twice", p.Name)
				}
				names[p.Name] = true
			}
		})
	}
}

func TestRunProfiles(t *testing.T) {
	// The synthetic "unhappy" kind escalates and complains; "new" joined
	// recently. Their segments' names must say so.
	stats, kinds := synthStats(1200, 2)
	r := mustRun(t, stats, Config{Seed: 2, K: 4})
	kindOf := map[int]int{} // segment -> majority kind
	counts := map[[2]int]int{}
	for i, l := range r.Labels {
		counts[[2]int{l, kinds[i]}]++
	}
	for s := 0; s < r.K; s++ {
		best := -1
		for k := range customerKinds {
			if best < 0 || counts[[2]int{s, k}] > counts[[2]int{s, best}] {
				best = k
			}
		}
		kindOf[s] = best
	}
	for s, k := range kindOf {
		name := r.Profiles[s].Name
		var want string
		switch customerKinds[k].name {
		case "unhappy":
			want = "unhappy"
			if !strings.Contains(name, "unhappy") && !strings.Contains(name, "often escalated") {
				t.Errorf("segment of unhappy customers named %q, want unhappy or often escalated", name)
			}
			continue
		case "new":
			want = "new"
		case "loyal":
			want = "frequent"
			if !strings.Contains(name, "frequent") && !strings.Contains(name, "high value") {
				t.Errorf("segment of loyal customers named %q, want frequent or high value", name)
			}
			continue
		default:
			continue
		}
		if !strings.Contains(name, want) {
			t.Errorf("segment of %s customers named %q, want it to contain %q", customerKinds[k].name, name, want)
		}
	}
}

func TestRunDeterministic(t *testing.T) {
	stats, _ := synthStats(2500, 3)
	a := mustRun(t, stats, Config{Seed: 9})
	b := mustRun(t, stats, Config{Seed: 9})
	if !slices.Equal(a.Labels, b.Labels) || a.Inertia != b.Inertia || a.Silhouette != b.Silhouette || !mat.Equal(a.Centroids, b.Centroids) {
		t.Fatalf("two runs with seed 9: inertia %v vs %v, silhouette %v vs %v; want identical", a.Inertia, b.Inertia, a.Silhouette, b.Silhouette)
	}
	var sa, sb bytes.Buffer
	if err := a.WriteSVG(&sa); err != nil {
		t.Fatal(err)
	}
	if err := b.WriteSVG(&sb); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sa.Bytes(), sb.Bytes()) {
		t.Error("two runs with seed 9 wrote different SVGs")
	}
}

func TestRunEdgeCases(t *testing.T) {
	day := 24 * time.Hour
	identical := make([]crm.CustomerStats, 10)
	for i := range identical {
		identical[i] = crm.CustomerStats{CustomerID: int64(i + 1), CreatedAt: testAsOf.Add(-day)}
	}
	three := []crm.CustomerStats{
		{CustomerID: 1, Orders: 1, LastOrder: testAsOf.Add(-day), Monetary: 10},
		{CustomerID: 2, Orders: 5, LastOrder: testAsOf.Add(-2 * day), Monetary: 500},
		{CustomerID: 3, Orders: 2, LastOrder: testAsOf.Add(-90 * day), Monetary: 40},
	}
	for _, tc := range []struct {
		name  string
		stats []crm.CustomerStats
		cfg   Config
		want  error
	}{
		{"empty", nil, Config{}, ErrEmpty},
		{"one customer", three[:1], Config{}, ErrTooFew},
		{"two customers choose k", three[:2], Config{}, ErrTooFew},
		{"fewer customers than k", three, Config{K: 4}, ErrTooFew},
		{"identical", identical, Config{}, ErrTooFew},
		{"identical k given", identical, Config{K: 2}, ErrTooFew},
		{"k is 1", three, Config{K: 1}, crm.ErrInvalid},
		{"k too large", three, Config{K: MaxSegments + 1}, crm.ErrInvalid},
		{"min above max", three, Config{MinK: 5, MaxK: 3}, crm.ErrInvalid},
		{"unknown method", three, Config{Method: "dbscan"}, crm.ErrInvalid},
		{"negative", three, Config{Restarts: -2}, crm.ErrInvalid},
		{"bad stats", []crm.CustomerStats{{CustomerID: 1, Orders: -1}, three[1], three[2]}, Config{}, crm.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(t.Context(), tc.stats, testAsOf, tc.cfg)
			if !errors.Is(err, tc.want) {
				t.Errorf("Run(%s, %+v) error %v, want %v", tc.name, tc.cfg, err, tc.want)
			}
		})
	}
	// Three customers, k chosen: k=2 is the only candidate.
	r := mustRun(t, three, Config{})
	if r.K != 2 || len(r.Assignments()) != 3 {
		t.Errorf("Run(three customers) k=%d, %d assignments; want 2, 3", r.K, len(r.Assignments()))
	}
	// k equal to the population.
	r = mustRun(t, three, Config{K: 3, Method: MethodKMeans})
	if r.Inertia > 1e-12 {
		t.Errorf("Run(three customers, k=3) inertia %v, want 0", r.Inertia)
	}
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	stats, _ := synthStats(3000, 1)
	if _, err := Run(canceled, stats, testAsOf, Config{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Run(canceled context) error %v, want context.Canceled", err)
	}
}

func TestAssignments(t *testing.T) {
	stats, _ := synthStats(300, 4)
	r := mustRun(t, stats, Config{K: 3})
	as := r.Assignments()
	if len(as) != len(stats) {
		t.Fatalf("%d assignments for %d customers", len(as), len(stats))
	}
	for i, a := range as {
		p := r.Profiles[r.Labels[i]]
		if a.CustomerID != stats[i].CustomerID || a.Segment != p.Segment || a.Profile != p.Name ||
			a.X != r.PCA.X[i] || a.Y != r.PCA.Y[i] {
			t.Fatalf("assignment %d = %+v, want customer %d in %s %q at (%v, %v)",
				i, a, stats[i].CustomerID, p.Segment, p.Name, r.PCA.X[i], r.PCA.Y[i])
		}
	}
}

// checkXML parses an SVG completely and returns its element counts.
func checkXML(t *testing.T, svg []byte) map[string]int {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	counts := map[string]int{}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			counts[se.Name.Local]++
			if counts["svg"] == 1 && se.Name.Local == "svg" && se.Name.Space != "http://www.w3.org/2000/svg" {
				t.Errorf("root element namespace %q, want the SVG namespace", se.Name.Space)
			}
		}
	}
	return counts
}

func TestWriteSVG(t *testing.T) {
	stats, _ := synthStats(6000, 5)
	r := mustRun(t, stats, Config{K: 4, Seed: 5})
	// A profile name with markup must come out escaped.
	r.Profiles[0].Name = `<b>"odd" & 'risky'</b>`
	var buf bytes.Buffer
	if err := r.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	counts := checkXML(t, buf.Bytes())
	if counts["svg"] != 1 || counts["circle"] != MaxPlotPoints {
		t.Errorf("SVG has %d svg elements and %d circles, want 1 and %d (sampled from 6000)", counts["svg"], counts["circle"], MaxPlotPoints)
	}
	if !strings.Contains(buf.String(), "&lt;b&gt;") || strings.Contains(buf.String(), "<b>") {
		t.Error("profile name with markup not escaped in the SVG")
	}
	for _, p := range r.Profiles[1:] {
		if !strings.Contains(buf.String(), p.Segment+": "+p.Name) {
			t.Errorf("legend lacks %s: %s", p.Segment, p.Name)
		}
	}
	if !strings.Contains(buf.String(), "showing a sample of 5,000 of 6,000 customers") {
		t.Error("SVG does not say it shows a sample")
	}

	small := mustRun(t, stats[:50], Config{K: 2})
	buf.Reset()
	if err := small.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	if c := checkXML(t, buf.Bytes()); c["circle"] != 50 {
		t.Errorf("SVG of 50 customers has %d circles, want 50", c["circle"])
	}
	if err := small.WriteSVG(failWriter{}); err == nil {
		t.Error("WriteSVG to a failing writer: no error")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteTable(t *testing.T) {
	stats, _ := synthStats(400, 6)
	r := mustRun(t, stats, Config{K: 3})
	var buf bytes.Buffer
	if err := r.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	// header, rule, 3 segments, population, blank, note
	if len(lines) != 2+3+1+2 {
		t.Fatalf("table has %d lines, want 8:\n%s", len(lines), buf.String())
	}
	cols := strings.Count(lines[0], "|")
	for i, l := range lines[:6] {
		if strings.Count(l, "|") != cols {
			t.Errorf("table line %d has %d cells separators, want %d: %s", i, strings.Count(l, "|"), cols, l)
		}
	}
	for s, p := range r.Profiles {
		if !strings.HasPrefix(lines[2+s], "| "+p.Segment+" | "+p.Name+" | "+thousands(p.Size)+" |") {
			t.Errorf("table row %d = %q, want segment %s %q of %d", s, lines[2+s], p.Segment, p.Name, p.Size)
		}
	}
	if !strings.HasPrefix(lines[5], "| all | | 400 | 100.0% |") {
		t.Errorf("population row = %q", lines[5])
	}
	if err := r.WriteTable(failWriter{}); err == nil {
		t.Error("WriteTable to a failing writer: no error")
	}
}

func TestThousands(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1,000"}, {100000, "100,000"}, {-1234567, "-1,234,567"}} {
		if got := thousands(tc.n); got != tc.want {
			t.Errorf("thousands(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
