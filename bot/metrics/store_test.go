package metrics_test

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/parley-chat/parley/bot/metrics"
	"github.com/parley-chat/parley/crm"
)

// dbCount returns a collector of parley_db_seconds' count for op, as a
// counter ToFloat64 reads.
func dbCount(t *testing.T, m *metrics.Metrics, op string) prometheus.Collector {
	t.Helper()
	fams, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "count"})
	for _, f := range fams {
		if f.GetName() != "parley_db_seconds" {
			continue
		}
		for _, s := range f.GetMetric() {
			if label(s, "op") == op {
				c.Add(float64(s.GetHistogram().GetSampleCount()))
			}
		}
	}
	return c
}

func label(s *dto.Metric, name string) string {
	for _, l := range s.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// fakeStore answers every call with err.
type fakeStore struct{ err error }

func (f fakeStore) LogInteraction(context.Context, crm.Interaction) (crm.Logged, error) {
	return crm.Logged{MessageID: 5}, f.err
}
func (f fakeStore) CustomerByExternalID(context.Context, crm.ExternalID) (crm.Customer, error) {
	return crm.Customer{ID: 6}, f.err
}
func (f fakeStore) Conversation(context.Context, int64) (crm.Conversation, error) {
	return crm.Conversation{ID: 7}, f.err
}
func (f fakeStore) Conversations(context.Context, crm.ConversationFilter) ([]crm.Conversation, error) {
	return []crm.Conversation{{ID: 8}}, f.err
}

func TestStoreTimesEachCall(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		err  error
	}{{"ok", nil}, {"failing", crm.ErrNotFound}} {
		t.Run(tc.name, func(t *testing.T) {
			m := metrics.New(quiet)
			s := m.Store(fakeStore{err: tc.err})
			l, err := s.LogInteraction(ctx, crm.Interaction{})
			if l.MessageID != 5 || !errors.Is(err, tc.err) {
				t.Errorf("LogInteraction = %+v, %v; want the store's MessageID 5 and error %v", l, err, tc.err)
			}
			if c, err := s.CustomerByExternalID(ctx, crm.ExternalID{}); c.ID != 6 || !errors.Is(err, tc.err) {
				t.Errorf("CustomerByExternalID = %+v, %v; want ID 6, %v", c, err, tc.err)
			}
			if c, err := s.Conversation(ctx, 1); c.ID != 7 || !errors.Is(err, tc.err) {
				t.Errorf("Conversation = %+v, %v; want ID 7, %v", c, err, tc.err)
			}
			if cs, err := s.Conversations(ctx, crm.ConversationFilter{}); len(cs) != 1 || !errors.Is(err, tc.err) {
				t.Errorf("Conversations = %+v, %v; want one, %v", cs, err, tc.err)
			}
			s.LogInteraction(ctx, crm.Interaction{})
			for op, want := range map[string]float64{metrics.OpLogInteraction: 2, metrics.OpCustomerByExternalID: 1,
				metrics.OpConversation: 1, metrics.OpConversations: 1} {
				if got := testutil.ToFloat64(dbCount(t, m, op)); got != want {
					t.Errorf("parley_db_seconds_count{op=%q} = %v, want %v", op, got, want)
				}
			}
		})
	}
}
