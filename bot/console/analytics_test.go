package console_test

import (
	"context"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/bot/console/charts"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/crmtest"
	"github.com/parley-chat/parley/crm/demo"
	"github.com/parley-chat/parley/crm/sqlite"
)

// The analytics page is for analysts (and admins, who pass every
// guard); agents are refused, visitors sent to sign in.
func TestAnalyticsRoles(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		who  string
		user *crm.StaffUser
		want int
	}{
		{"agent", &f.alice, http.StatusForbidden},
		{"analyst", &f.ana, http.StatusOK},
		{"admin", &f.root, http.StatusOK},
		{"nobody", nil, http.StatusSeeOther},
	} {
		c := f.client()
		if tc.user != nil {
			c = f.signedIn(*tc.user)
		}
		res := c.get("/console/analytics?days=7")
		if res.StatusCode != tc.want {
			t.Errorf("GET /console/analytics as %s: status %d, want %d", tc.who, res.StatusCode, tc.want)
		}
		if tc.want == http.StatusSeeOther && !strings.HasPrefix(res.Header.Get("Location"), "/console/login?next=") {
			t.Errorf("GET /console/analytics as %s: sent to %q, want the login page", tc.who, res.Header.Get("Location"))
		}
		// The top bar links the page for the roles that may see it.
		if tc.user != nil {
			home := c.get("/console/login")
			if home.StatusCode == http.StatusSeeOther {
				home = c.get(home.Header.Get("Location"))
			}
			link := strings.Contains(home.body, `href="/console/analytics"`)
			if link != (tc.want == http.StatusOK) {
				t.Errorf("%s's console home: analytics link %v, want %v", tc.who, link, tc.want == http.StatusOK)
			}
		}
	}
}

func TestAnalyticsPeriods(t *testing.T) {
	f := newFixture(t)
	c := f.signedIn(f.ana)
	for _, tc := range []struct {
		query    string
		want     int
		wantDays string
	}{
		{"", http.StatusOK, "30"},
		{"?days=7", http.StatusOK, "7"},
		{"?days=30", http.StatusOK, "30"},
		{"?days=90", http.StatusOK, "90"},
		{"?days=365", http.StatusBadRequest, ""},
		{"?days=-7", http.StatusBadRequest, ""},
		{"?days=%3Cscript%3E", http.StatusBadRequest, ""},
	} {
		res := c.get("/console/analytics" + tc.query)
		if res.StatusCode != tc.want {
			t.Errorf("GET /console/analytics%s: status %d, want %d", tc.query, res.StatusCode, tc.want)
			continue
		}
		if tc.want != http.StatusOK {
			if !strings.Contains(res.body, "days must be 7, 30 or 90") || strings.Contains(res.body, "<script>") {
				t.Errorf("GET /console/analytics%s: the error page does not say what is wrong (or echoes markup):\n%s", tc.query, res.body)
			}
			continue
		}
		current := regexp.MustCompile(`href="/console/analytics\?days=(\d+)" aria-current="page"`).FindStringSubmatch(res.body)
		if current == nil || current[1] != tc.wantDays {
			t.Errorf("GET /console/analytics%s: current tab %v, want %s days", tc.query, current, tc.wantDays)
		}
	}
}

// seedAnalytics fills the fixture's CRM with the demo history up to the
// fixture's clock, and a segmentation that names a segment like markup.
func seedAnalytics(t testing.TB, f *fixture, customers int) {
	t.Helper()
	ctx := context.Background()
	cfg := demo.Config{Customers: customers, Days: 100, Seed: 5, End: t0.Add(-2 * time.Hour), Logger: slog.New(slog.DiscardHandler)}
	if _, err := demo.Generate(ctx, f.store, cfg); err != nil {
		t.Fatalf("demo.Generate: %v", err)
	}
	cs, err := f.store.Customers(ctx, 0, crm.MaxLimit)
	if err != nil {
		t.Fatal(err)
	}
	var as []crm.SegmentAssignment
	for i, c := range cs {
		seg, profile := "S1", "high value, loyal"
		if i%3 == 1 {
			seg, profile = "<script>", "<script>alert('segment')</script>"
		} else if i%3 == 2 {
			continue // not segmented
		}
		as = append(as, crm.SegmentAssignment{CustomerID: c.ID, Segment: seg, Profile: profile, X: float64(i % 7), Y: float64(i % 5)})
	}
	if err := f.store.SaveSegments(ctx, as); err != nil {
		t.Fatal(err)
	}
}

var tileValue = regexp.MustCompile(`id="(kpi-[a-z]+)">([^<]*)</text>`)

func tiles(page string) map[string]string {
	out := map[string]string{}
	for _, m := range tileValue.FindAllStringSubmatch(page, -1) {
		out[m[1]] = html.UnescapeString(m[2])
	}
	return out
}

// The numbers on the page are the store's, for every period.
func TestAnalyticsNumbers(t *testing.T) {
	f := newFixture(t)
	seedAnalytics(t, f, 80)
	store := f.store.(crm.ActivityStore)
	c := f.signedIn(f.ana)
	ctx := context.Background()
	today := crm.Day(t0)
	for _, days := range []int{7, 30, 90} {
		res := c.get("/console/analytics?days=" + strconv.Itoa(days))
		if res.StatusCode != http.StatusOK {
			t.Fatalf("days=%d: status %d\n%s", days, res.StatusCode, res.body)
		}
		from, to := today.AddDate(0, 0, 1-days), today.AddDate(0, 0, 1)
		acts, err := store.Activity(ctx, from, to)
		if err != nil {
			t.Fatal(err)
		}
		var total crm.DayActivity
		for _, a := range acts {
			total = total.Plus(a)
		}
		if total.Conversations == 0 {
			t.Fatalf("days=%d: the demo history has no conversations in the period", days)
		}
		rate := func(v float64, ok bool) string {
			if !ok {
				return "–"
			}
			return charts.Value(v, charts.Percent)
		}
		sent, sentOK := total.MeanSentiment()
		want := map[string]string{
			"kpi-conversations": charts.Thousands(float64(total.Conversations)),
			"kpi-messages":      charts.Thousands(float64(total.Messages)),
			"kpi-containment":   rate(total.ContainmentRate()),
			"kpi-escalation":    rate(total.EscalationRate()),
			"kpi-fallback":      rate(total.FallbackRate()),
			"kpi-sentiment":     "–",
		}
		if sentOK {
			want["kpi-sentiment"] = charts.Value(sent, charts.Signed)
		}
		got := tiles(res.body)
		for id, w := range want {
			if got[id] != w {
				t.Errorf("days=%d: tile %s shows %q, want %q (store totals %+v)", days, id, got[id], w, total)
			}
		}
		for _, row := range []struct {
			label string
			n     int
		}{
			{"Conversations started", total.Conversations},
			{"Resolved by the bot", total.ResolvedByBot},
			{"Resolved by a person", total.ResolvedByPerson},
			{"Still open", total.Conversations - total.ResolvedByBot - total.ResolvedByPerson},
			{"Escalated", total.Escalations},
			{"Customer messages", total.Messages},
			{"Fallbacks", total.Fallbacks},
		} {
			want := `<td>` + row.label + `</td><td class="num">` + charts.Thousands(float64(row.n)) + `</td>`
			if !strings.Contains(res.body, want) {
				t.Errorf("days=%d: no %q in the counts table", days, want)
			}
		}
		// The message chart's bars add up to the period's messages.
		sum := 0
		for _, m := range regexp.MustCompile(`<title>[^<]* · [^<]*: ([\d,]+) customer messages</title>`).FindAllStringSubmatch(res.body, -1) {
			n, err := strconv.Atoi(strings.ReplaceAll(m[1], ",", ""))
			if err != nil {
				t.Fatal(err)
			}
			sum += n
		}
		if sum != total.Messages {
			t.Errorf("days=%d: the message bars add up to %d, want %d", days, sum, total.Messages)
		}
	}

	// Conversion by segment: the store's counts, the markup escaped.
	res := c.get("/console/analytics")
	conv, err := store.SegmentConversion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range conv {
		want := charts.Thousands(float64(sc.Converted)) + " of " + charts.Thousands(float64(sc.Customers)) + " customers ordered"
		if !strings.Contains(res.body, want) {
			t.Errorf("no %q for segment %q on the page", want, sc.Segment)
		}
	}
	if strings.Contains(res.body, "<script>alert") || strings.Contains(res.body, "<script>·") {
		t.Errorf("a segment's name reached the page as markup")
	}
	if !strings.Contains(res.body, "&lt;script&gt; · &lt;script&gt;alert(&#39;segment&#39;)&lt;/script&gt;") {
		t.Errorf("the segment named <script> is not on the page as text")
	}
	if n := strings.Count(res.body, "<script"); n != 1 {
		t.Errorf("%d script tags on the page, want only the layout's console.js", n)
	}
	for _, inline := range []string{` style="`, `<style`, ` onload=`, ` onclick=`, `javascript:`} {
		if strings.Contains(res.body, inline) {
			t.Errorf("the page has %q, which the Content-Security-Policy forbids", inline)
		}
	}
	for _, want := range []string{`role="img" aria-label="Segment map"`, `role="img" aria-label="Intent distribution over time"`,
		`role="img" aria-label="Sentiment trend"`, `role="img" aria-label="Conversion rate by segment"`} {
		if !strings.Contains(res.body, want) {
			t.Errorf("the page has no chart %s", want)
		}
	}
}

func TestAnalyticsEmpty(t *testing.T) {
	f := newFixture(t)
	c := f.signedIn(f.ana)
	res := c.get("/console/analytics")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	if n := strings.Count(res.body, ">No data yet<"); n < 6 {
		t.Errorf("an empty CRM: %d charts say No data yet, want every chart (6)", n)
	}
	if !strings.Contains(res.body, ">No segments yet<") {
		t.Errorf("an empty CRM: the segment map does not say there are no segments")
	}
	got := tiles(res.body)
	if got["kpi-conversations"] != "0" || got["kpi-containment"] != "–" {
		t.Errorf("an empty CRM: tiles %v, want 0 conversations and no containment rate", got)
	}
}

// storeOnly hides every capability but crm.Store's methods.
type storeOnly struct{ crm.Store }

func TestAnalyticsWithoutCapability(t *testing.T) {
	f := newFixtureOn(t, func(clock *crmtest.Clock) crm.Store {
		return storeOnly{crmtest.NewMemory(crmtest.WithClock(clock.Now))}
	})
	c := f.signedIn(f.ana)
	res := c.get("/console/analytics")
	if res.StatusCode != http.StatusOK || !strings.Contains(res.body, "cannot compute analytics") {
		t.Errorf("a store without analytics: status %d, want 200 with a notice\n%s", res.StatusCode, res.body)
	}
}

// BenchmarkAnalyticsPage serves the 90-day page, signed in for real, on
// a demo CRM of 1,000 customers in crm/sqlite (the store serve uses):
// four aggregate queries and eight charts.
func BenchmarkAnalyticsPage(b *testing.B) {
	f := newFixtureOn(b, func(clock *crmtest.Clock) crm.Store {
		st, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "crm.db"), sqlite.WithClock(clock.Now), sqlite.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			b.Fatal(err)
		}
		return st
	})
	seedAnalytics(b, f, 1000)
	cookie := "parley_session=" + f.signedIn(f.ana).cookie("parley_session")
	h := f.console.Handler()
	for _, days := range []int{7, 90} {
		b.Run(fmt.Sprintf("days=%d", days), func(b *testing.B) {
			var size int
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest("GET", fmt.Sprintf("/console/analytics?days=%d", days), nil)
				r.Header.Set("Accept", "text/html")
				r.Header.Set("Cookie", cookie)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d", w.Code)
				}
				size = w.Body.Len()
			}
			b.ReportMetric(float64(size), "page-bytes")
		})
	}
}
