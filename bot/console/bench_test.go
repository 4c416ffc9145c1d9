package console_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/crmtest"
	"github.com/parley-chat/parley/crm/sqlite"
)

// benchDesk is a desk with n open conversations and a function that
// serves a GET as an agent signed in for real (the session look-up is
// part of every page's cost).
func benchDesk(b *testing.B, n int) (*fixture, func(path string) int) {
	return benchDeskOn(b, n, newFixture(b))
}

// benchDeskSQLite is benchDesk on crm/sqlite, the store serve uses.
func benchDeskSQLite(b *testing.B, n int) (*fixture, func(path string) int) {
	f := newFixtureOn(b, func(clock *crmtest.Clock) crm.Store {
		st, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "crm.db"), sqlite.WithClock(clock.Now), sqlite.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			b.Fatal(err)
		}
		return st
	})
	return benchDeskOn(b, n, f)
}

func benchDeskOn(b *testing.B, n int, f *fixture) (*fixture, func(path string) int) {
	for i := range n {
		f.clock.Advance(time.Minute)
		f.escalated(fmt.Sprintf("v-%d", i), fmt.Sprintf("Customer %d", i))
	}
	cookie := "parley_session=" + f.signedIn(f.alice).cookie("parley_session")
	h := f.console.Handler()
	serve := func(path string) int {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Accept", "text/html")
		r.Header.Set("Cookie", cookie)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	return f, serve
}

// BenchmarkInboxList is the fragment console.js fetches on every event,
// on the in-memory store (the console's own cost) and on SQLite (with
// the CRM reads serve pays: a few per conversation listed).
func BenchmarkInboxList(b *testing.B) {
	for _, tc := range []struct {
		store string
		n     int
		desk  func(*testing.B, int) (*fixture, func(string) int)
	}{{"memory", 10, benchDesk}, {"memory", 100, benchDesk}, {"sqlite", 10, benchDeskSQLite}, {"sqlite", 100, benchDeskSQLite}} {
		b.Run(fmt.Sprintf("%s/open=%d", tc.store, tc.n), func(b *testing.B) {
			_, serve := tc.desk(b, tc.n)
			b.ReportAllocs()
			for b.Loop() {
				if code := serve("/console/inbox?view=all"); code != http.StatusOK {
					b.Fatalf("status %d", code)
				}
			}
		})
	}
}

// BenchmarkConversationPage is a full conversation page: the inbox, the
// transcript and the profile.
func BenchmarkConversationPage(b *testing.B) {
	f, serve := benchDesk(b, 50)
	convs, err := f.store.Conversations(b.Context(), crm.ConversationFilter{Limit: 1})
	if err != nil || len(convs) == 0 {
		b.Fatal(err)
	}
	path := fmt.Sprintf("/console/conversations/%d", convs[0].ID)
	b.ReportAllocs()
	for b.Loop() {
		if code := serve(path); code != http.StatusOK {
			b.Fatalf("status %d", code)
		}
	}
}
