package console

import (
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
)

func TestPriority(t *testing.T) {
	for _, tc := range []struct {
		name      string
		waited    time.Duration
		sentiment float64
		lead      float64
		highValue bool
		want      float64
	}{
		{"fresh, neutral", 0, 0, 0, false, 0},
		{"waiting", 12 * time.Minute, 0, 0, false, 12},
		{"positive counts nothing", 12 * time.Minute, 0.8, 0, false, 12},
		{"certainly negative", 12 * time.Minute, -1, 0, false, 32},
		{"somewhat negative", 12 * time.Minute, -0.5, 0, false, 22},
		{"sure buyer", 0, 0, 1, false, 10},
		{"high value", 0, 0, 0, true, 15},
		{"everything", 30 * time.Minute, -1, 1, true, 75},
		{"out of range is clamped", -time.Minute, -3, 7, false, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := priority(tc.waited, tc.sentiment, tc.lead, tc.highValue); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("priority(%v, %v, %v, %v) = %v, want %v", tc.waited, tc.sentiment, tc.lead, tc.highValue, got, tc.want)
			}
		})
	}
}

// The order the inbox shows: by priority, then by waiting time, then id.
func TestSortByPriority(t *testing.T) {
	at := func(min int) time.Time { return time.Date(2026, 3, 2, 9, min, 0, 0, time.UTC) }
	rows := []row{
		{ID: 1, Priority: 10, Since: at(20)},
		{ID: 2, Priority: 38, Since: at(10)},
		{ID: 3, Priority: 29, Since: at(25)},
		{ID: 4, Priority: 29, Since: at(5)}, // same priority, waited longer
		{ID: 5, Priority: 29, Since: at(5)}, // same again: older id first
	}
	sortByPriority(rows)
	var got []int64
	for _, r := range rows {
		got = append(got, r.ID)
	}
	if want := []int64{2, 4, 5, 3, 1}; !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestFormatWait(t *testing.T) {
	for _, tc := range []struct {
		d       time.Duration
		want    string
		urgency string
	}{
		{0, "now", "wait-low"},
		{59 * time.Second, "now", "wait-low"},
		{4 * time.Minute, "4 min", "wait-low"},
		{5 * time.Minute, "5 min", "wait-mid"},
		{14*time.Minute + 59*time.Second, "14 min", "wait-mid"},
		{15 * time.Minute, "15 min", "wait-high"},
		{65 * time.Minute, "1 h 05", "wait-high"},
		{49 * time.Hour, "2 d", "wait-high"},
	} {
		if got, u := formatWait(tc.d), urgency(tc.d); got != tc.want || u != tc.urgency {
			t.Errorf("formatWait(%v) = %q, %q; want %q, %q", tc.d, got, u, tc.want, tc.urgency)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "/console"},
		{"/console", "/console"},
		{"/console/", "/console/"},
		{"/console/conversations/12?view=mine", "/console/conversations/12?view=mine"},
		{"/console/admin/users", "/console/admin/users"},
		{"/consolex", "/console"},
		{"/api/v1/messages", "/console"},
		{"https://evil.example/console", "/console"},
		{"//evil.example/console", "/console"},
		{"/\\evil.example", "/console"},
		{"\\\\evil.example", "/console"},
		{"/console/../api", "/console"},
		{"/console/./x", "/console"},
		{"/console/login?next=//evil", "/console"},
		{"/console/logout", "/console"},
		{"javascript:alert(1)", "/console"},
		{"/console\r\nSet-Cookie: x=y", "/console"},
		{"/console%2f..%2fapi", "/console"},
	} {
		if got := safeNext(tc.in); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPreview(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"  spaces\n\tand   lines ", 30, "spaces and lines"},
		{"the quick brown fox jumps over", 18, "the quick brown…"},
		{"ünïcödé ünïcödé ünïcödé", 10, "ünïcödé…"},
		{"nospacesatallinthisone", 8, "nospaces…"},
	} {
		if got := preview(tc.in, tc.n); got != tc.want {
			t.Errorf("preview(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}

func TestInitials(t *testing.T) {
	for in, want := range map[string]string{"Ada Lovelace": "AL", "bob": "B", "": "?", "Visitor #12": "V", "élodie marie curie": "ÉM", "<b>x</b>": "?"} {
		if got := initials(in); got != want {
			t.Errorf("initials(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHighValue(t *testing.T) {
	for profile, want := range map[string]bool{"high value, frequent": true, "High value": true, "low value, new": false, "": false} {
		if got := highValue(crm.Customer{SegmentProfile: profile}); got != want {
			t.Errorf("highValue(%q) = %v, want %v", profile, got, want)
		}
	}
}

// A stream that does not keep up is dropped, never waited for: the
// desk's goroutine publishes on.
func TestHubDropsSlowStreams(t *testing.T) {
	h := newHub()
	slow, _ := h.subscribe()
	fast, _ := h.subscribe()
	for i := range subscriberBuffer + 1 {
		h.publish(liveEvent{ConversationID: int64(i), Kind: "escalated"})
		<-fast.ch // this one keeps up
	}
	select {
	case <-slow.gone:
	default:
		t.Fatal("the slow stream was not dropped")
	}
	select {
	case <-fast.gone:
		t.Fatal("the stream that kept up was dropped")
	default:
	}
	if n := h.count(); n != 1 {
		t.Errorf("%d streams left, want 1", n)
	}
	h.close()
	select {
	case <-fast.gone:
	case <-time.After(time.Second):
		t.Fatal("close did not end the stream")
	}
	if _, ok := h.subscribe(); ok {
		t.Error("a stream opened after close")
	}
}

// Every page and fragment template renders with zero data (catching a
// field a template names that its data lacks).
func TestTemplatesRender(t *testing.T) {
	for _, name := range []string{"login.html", "inbox.html", "inbox.html/inbox_list", "conversation.html", "conversation.html/pane_live", "conversation.html/pane_fragment", "users.html", "error.html"} {
		var b strings.Builder
		var data any
		switch strings.Split(name, "/")[0] {
		case "login.html":
			data = loginPage{}
		case "inbox.html":
			data = inboxPage{}
		case "conversation.html":
			data = conversationPage{}
		case "users.html":
			data = usersPage{}
		default:
			data = errorPage{}
		}
		if err := pages.ExecuteTemplate(&b, name, data); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
