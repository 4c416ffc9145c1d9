package console

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/parley-chat/parley/crm"
)

// Inbox views.
const (
	viewAll        = "all" // every open conversation: waiting or assigned
	viewMine       = "mine"
	viewUnassigned = "unassigned"
	viewResolved   = "resolved"
)

var views = []struct{ ID, Label string }{
	{viewAll, "Open"}, {viewMine, "Mine"}, {viewUnassigned, "Unassigned"}, {viewResolved, "Resolved"},
}

// parseView reads ?view=, defaulting to all open.
func parseView(v string) string {
	for _, x := range views {
		if v == x.ID {
			return v
		}
	}
	return viewAll
}

// Listing bounds: the open conversations read for the inbox, and the
// recent ones scanned for resolved escalations.
const (
	openLimit     = 500
	resolvedScan  = 200
	resolvedShown = 100
	previewRunes  = 110
)

// The priority formula. A conversation's priority is
//
//	minutes waiting since its escalation
//	+ negativeBoost × how negative the customer's last message is (0..1:
//	  the sentiment score's negative part)
//	+ leadBoost × the customer's lead score (0..1)
//	+ highValueBoost when the customer's segment is "high value"
//
// The boosts are in minutes of waiting: an angry customer (score -1)
// counts as one who has waited 20 minutes more, a valuable one up to 25.
// Waiting time stays the main term, so nobody waits for ever behind a
// stream of important newcomers: after half an hour, anyone outranks a
// fresh arrival however valuable.
const (
	negativeBoost  = 20.0
	leadBoost      = 10.0
	highValueBoost = 15.0
)

// priority computes the formula above.
func priority(waited time.Duration, sentimentScore, leadScore float64, highValue bool) float64 {
	p := max(waited.Minutes(), 0)
	p += negativeBoost * min(max(-sentimentScore, 0), 1)
	p += leadBoost * min(max(leadScore, 0), 1)
	if highValue {
		p += highValueBoost
	}
	return p
}

// highValue reports whether a customer's segment is a valuable one:
// crm/segment names a segment by its traits, spend being "high value".
func highValue(c crm.Customer) bool {
	return strings.Contains(strings.ToLower(c.SegmentProfile), "high value")
}

// row is one conversation in the inbox list.
type row struct {
	ID           int64
	State        crm.State
	Channel      crm.Channel
	Customer     string
	Reason       string
	Since        time.Time     // waiting since (the escalation)
	Waited       time.Duration // until now
	Preview      string        // the customer's last message
	Sentiment    string        // of that message
	Assignee     string
	AssignedToMe bool
	HighValue    bool
	LeadScore    float64
	Priority     float64
	// Resolution and ResolvedAt, for the resolved view.
	Resolution string
	ResolvedAt time.Time
	// Active marks the conversation open in the pane.
	Active bool
}

// inbox is the inbox list: a view's rows and every view's count.
type inbox struct {
	View   string
	Views  []viewTab
	Rows   []row
	Active int64
	// Now is the server's clock when the list was read: console.js
	// measures waiting times against it, whatever the browser's clock says.
	Now time.Time
	// Err is shown instead of rows when the CRM could not be read.
	Err string
}

type viewTab struct {
	ID, Label string
	Count     int // -1: not counted
	Current   bool
}

// loadInbox reads a view of the inbox for me at now.
func (s *Server) loadInbox(ctx context.Context, me crm.StaffUser, view string, active int64) (inbox, error) {
	now := s.now()
	in := inbox{View: view, Active: active, Now: now}
	open, err := s.store.Conversations(ctx, crm.ConversationFilter{States: []crm.State{crm.StateEscalated, crm.StateAssigned}, Limit: openLimit})
	if err != nil {
		return in, fmt.Errorf("inbox: list open conversations: %w", err)
	}
	counts := map[string]int{viewAll: len(open), viewResolved: -1}
	for _, c := range open {
		switch {
		case c.State == crm.StateEscalated:
			counts[viewUnassigned]++
		case c.AssigneeID == me.ID:
			counts[viewMine]++
		}
	}
	for _, v := range views {
		in.Views = append(in.Views, viewTab{ID: v.ID, Label: v.Label, Count: counts[v.ID], Current: v.ID == view})
	}
	var convs []crm.Conversation
	switch view {
	case viewResolved:
		convs, err = s.store.Conversations(ctx, crm.ConversationFilter{States: []crm.State{crm.StateResolved, crm.StateBot}, Limit: resolvedScan})
		if err != nil {
			return in, fmt.Errorf("inbox: list resolved conversations: %w", err)
		}
	default:
		for _, c := range open {
			if view == viewAll || view == viewUnassigned && c.State == crm.StateEscalated ||
				view == viewMine && c.State == crm.StateAssigned && c.AssigneeID == me.ID {
				convs = append(convs, c)
			}
		}
	}
	staff := s.staffDirectory(ctx)
	customers := map[int64]crm.Customer{}
	for _, c := range convs {
		r, ok, err := s.makeRow(ctx, c, now, me, staff, customers, view == viewResolved)
		if err != nil {
			return in, err
		}
		if ok {
			r.Active = c.ID == active
			in.Rows = append(in.Rows, r)
		}
	}
	if view == viewResolved {
		slices.SortFunc(in.Rows, func(a, b row) int { return cmp.Or(b.ResolvedAt.Compare(a.ResolvedAt), cmp.Compare(b.ID, a.ID)) })
		in.Rows = in.Rows[:min(len(in.Rows), resolvedShown)]
	} else {
		sortByPriority(in.Rows)
	}
	return in, nil
}

// sortByPriority orders rows most urgent first; ties go to whoever has
// waited longer, then to the older conversation.
func sortByPriority(rows []row) {
	slices.SortStableFunc(rows, func(a, b row) int {
		return cmp.Or(cmp.Compare(b.Priority, a.Priority), a.Since.Compare(b.Since), cmp.Compare(a.ID, b.ID))
	})
}

// makeRow reads what a row shows of a conversation. For the resolved
// view, a conversation without a resolved escalation is no row (ok false).
func (s *Server) makeRow(ctx context.Context, c crm.Conversation, now time.Time, me crm.StaffUser, staff *staffNames, customers map[int64]crm.Customer, resolved bool) (row, bool, error) {
	r := row{ID: c.ID, State: c.State, Channel: c.Channel, Since: c.UpdatedAt}
	escs, err := s.store.Escalations(ctx, c.ID)
	if err != nil {
		return r, false, fmt.Errorf("inbox: escalations of conversation %d: %w", c.ID, err)
	}
	if resolved {
		last, ok := latestEscalation(escs)
		if !ok || last.Status != crm.EscalationResolved {
			return r, false, nil
		}
		r.Reason, r.Resolution, r.ResolvedAt, r.Since = last.Reason, last.Resolution, last.ResolvedAt, last.CreatedAt
		r.Assignee = staff.name(last.AssigneeID)
	} else if e, ok := openEscalation(escs); ok {
		r.Reason, r.Since = e.Reason, e.CreatedAt
	}
	if c.State == crm.StateAssigned {
		r.Assignee = staff.name(c.AssigneeID)
		r.AssignedToMe = c.AssigneeID == me.ID
	}
	cust, ok := customers[c.CustomerID]
	if !ok {
		if cust, err = s.store.Customer(ctx, c.CustomerID); err != nil {
			return r, false, fmt.Errorf("inbox: customer %d: %w", c.CustomerID, err)
		}
		customers[c.CustomerID] = cust
	}
	r.Customer = customerName(cust)
	r.HighValue, r.LeadScore = highValue(cust), cust.LeadScore
	msgs, err := s.store.Messages(ctx, c.ID)
	if err != nil {
		return r, false, fmt.Errorf("inbox: messages of conversation %d: %w", c.ID, err)
	}
	var score float64
	for i := len(msgs) - 1; i >= 0; i-- {
		if m := msgs[i]; m.Direction == crm.FromCustomer {
			r.Preview, r.Sentiment, score = preview(m.Text, previewRunes), m.Sentiment, m.SentimentScore
			break
		}
	}
	r.Waited = max(now.Sub(r.Since), 0)
	if !resolved {
		r.Priority = priority(r.Waited, score, cust.LeadScore, r.HighValue)
	}
	return r, true, nil
}

// openEscalation is a conversation's escalation that is not resolved
// (there is at most one).
func openEscalation(escs []crm.Escalation) (crm.Escalation, bool) {
	for i := len(escs) - 1; i >= 0; i-- {
		if escs[i].Status != crm.EscalationResolved {
			return escs[i], true
		}
	}
	return crm.Escalation{}, false
}

// latestEscalation is the escalation opened last.
func latestEscalation(escs []crm.Escalation) (crm.Escalation, bool) {
	if len(escs) == 0 {
		return crm.Escalation{}, false
	}
	last := escs[0]
	for _, e := range escs[1:] {
		if e.CreatedAt.After(last.CreatedAt) || e.CreatedAt.Equal(last.CreatedAt) && e.ID > last.ID {
			last = e
		}
	}
	return last, true
}

// customerName is how the console names a customer: name, email, or a
// number (web visitors are anonymous).
func customerName(c crm.Customer) string {
	switch {
	case c.Name != "":
		return c.Name
	case c.Email != "":
		return c.Email
	}
	return fmt.Sprintf("Visitor #%d", c.ID)
}

type inboxPage struct {
	page
	Inbox inbox
}

// inboxPage is the console's home: the inbox and an empty pane.
func (s *Server) inboxPage(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	in, err := s.loadInbox(r.Context(), p.Staff, parseView(r.URL.Query().Get("view")), 0)
	if err != nil {
		s.log.Error("console: inbox", "err", err)
		in.Err = "The inbox could not be read. Try again in a moment."
	}
	pg := newPage(p, "Inbox")
	pg.Nav = "inbox"
	s.render(w, r, http.StatusOK, "inbox.html", inboxPage{page: pg, Inbox: in})
}

// inboxFragment is the inbox list alone, for console.js to swap in.
func (s *Server) inboxFragment(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	var active int64
	fmt.Sscan(r.URL.Query().Get("open"), &active)
	in, err := s.loadInbox(r.Context(), p.Staff, parseView(r.URL.Query().Get("view")), active)
	if err != nil {
		status, msg := s.httpStatus(r, err)
		s.fail(w, r, status, msg)
		return
	}
	s.render(w, r, http.StatusOK, "inbox.html/inbox_list", inboxPage{page: newPage(p, ""), Inbox: in})
}
