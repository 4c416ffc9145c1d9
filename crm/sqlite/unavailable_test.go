package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/parley-chat/parley/crm"
)

// A database that cannot grow (SQLite's max_page_count gives the same
// SQLITE_FULL a full disk does) reports crm.ErrUnavailable, stores
// nothing of the failed write, keeps what it had, and takes writes again
// once it may grow. The real full disk is TestDiskFull in cmd/parley.
func TestFullDatabaseIsUnavailable(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	turn := func(i int) crm.Interaction {
		return crm.Interaction{
			Channel:  crm.ChannelWeb,
			Customer: crm.ExternalID{Kind: crm.IDWebVisitor, Value: fmt.Sprintf("v%d", i)},
			Message: crm.Message{Direction: crm.FromCustomer, ChannelMsgID: fmt.Sprintf("m%d", i),
				Text: strings.Repeat("where is my parcel? ", 400)},
			Replies: []crm.Message{{Direction: crm.FromBot, Text: "Let me look."}},
		}
	}
	if _, err := s.LogInteraction(ctx, turn(0)); err != nil {
		t.Fatal(err)
	}
	setMaxPages := func(n string) {
		t.Helper()
		if err := s.write(ctx, func(tx *dbtx) error {
			_, err := tx.exec("PRAGMA max_page_count = " + n)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	var pages int
	if err := s.r.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	setMaxPages(fmt.Sprint(pages))
	var err error
	failedAt := -1
	for i := 1; i <= 50 && failedAt < 0; i++ {
		if _, err = s.LogInteraction(ctx, turn(i)); err != nil {
			failedAt = i
		}
	}
	if failedAt < 0 {
		t.Fatal("50 large turns fitted in a database that may not grow")
	}
	if !errors.Is(err, crm.ErrUnavailable) || !strings.Contains(err.Error(), "disk is full") {
		t.Fatalf("full database: got %v, want crm.ErrUnavailable saying the disk is full", err)
	}
	if _, err := s.CustomerByExternalID(ctx, crm.ExternalID{Kind: crm.IDWebVisitor, Value: fmt.Sprintf("v%d", failedAt)}); !errors.Is(err, crm.ErrNotFound) {
		t.Errorf("the failed turn left its customer behind: %v", err)
	}
	setMaxPages("1073741823")
	if _, err := s.LogInteraction(ctx, turn(failedAt)); err != nil {
		t.Fatalf("after the space came back: %v", err)
	}
	for i := 0; i <= failedAt; i++ {
		c, err := s.CustomerByExternalID(ctx, crm.ExternalID{Kind: crm.IDWebVisitor, Value: fmt.Sprintf("v%d", i)})
		if err != nil {
			t.Fatalf("turn %d lost: %v", i, err)
		}
		convs, err := s.Conversations(ctx, crm.ConversationFilter{CustomerID: c.ID})
		if err != nil || len(convs) != 1 {
			t.Fatalf("turn %d: conversations %v, %v", i, convs, err)
		}
	}
}

func TestUnavailableLeavesOtherErrors(t *testing.T) {
	for _, err := range []error{errors.New("boom"), fmt.Errorf("wrapped: %w", crm.ErrConflict), context.Canceled} {
		if got := unavailable(err); got != err {
			t.Errorf("unavailable(%v) = %v, want it unchanged", err, got)
		}
	}
}
