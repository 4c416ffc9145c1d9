package console

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parley-chat/parley/bot/handoff"
	"github.com/parley-chat/parley/crm"
)

// entry is one line of a transcript: a message, or a change of hands
// (escalated, assigned, resolved) from the escalations.
type entry struct {
	// Kind is customer, bot, agent, note or event.
	Kind   string
	Author string
	Text   string
	At     time.Time
	// What the models understood of a customer message.
	HasNLU         bool
	Intent         string
	Confidence     float64
	OutOfScope     bool
	Sentiment      string
	SentimentScore float64
	Action         string
}

// conversationView is the pane's header and transcript.
type conversationView struct {
	ID         int64
	CustomerID int64
	State      crm.State
	Channel    crm.Channel
	Customer   string
	Reason     string
	Since      time.Time
	Waited     time.Duration
	Open       bool // waiting or assigned
	AssigneeID int64
	Assignee   string
	Mine       bool
	Entries    []entry
	// Assignable are the staff who can take the conversation.
	Assignable []crm.StaffUser
}

// profile is the customer's CRM profile panel.
type profile struct {
	Customer      crm.Customer
	Name          string
	HighValue     bool
	Conversations []pastConversation
	Orders        []crm.Order
	MoreOrders    int
	Spend         string
}

type pastConversation struct {
	ID        int64
	State     crm.State
	Channel   crm.Channel
	UpdatedAt time.Time
	Current   bool
}

type cannedView struct {
	Enabled bool
	Query   string
	Hits    []cannedHit
}

type conversationPage struct {
	page
	Inbox   inbox
	Conv    conversationView
	Profile profile
	Canned  cannedView
	Notice  string
}

// Profile bounds.
const (
	profileConversations = 20
	profileOrders        = 10
)

// notices are the messages an action's redirect shows, by code: the URL
// carries a code, never text, so a link cannot put words on the page.
var notices = map[string]string{
	"claimed":  "You took this conversation.",
	"assigned": "Conversation assigned.",
	"replied":  "Reply sent to the customer.",
	"noted":    "Internal note added.",
	"resolved": "Resolved: the bot answers this customer again.",

	"user-disabled": "Account disabled: its sessions no longer work.",
	"user-enabled":  "Account enabled.",

	"labelled":   "Labelled. The next retraining learns from it.",
	"retraining": "Retraining started: it runs in the background, the serving model is untouched.",
	"cancelled":  "Retraining cancelled: nothing was stored.",
	"promoted":   "Promoted: every server switches to it within seconds.",
	"rolledback": "Rolled back to the previous version.",
}

func (s *Server) conversationPage(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, http.StatusNotFound, "no such conversation")
		return
	}
	ctx := r.Context()
	q := r.URL.Query()
	conv, err := s.loadConversation(ctx, id, p.Staff)
	if err != nil {
		status, msg := s.httpStatus(r, err)
		s.fail(w, r, status, msg)
		return
	}
	data := conversationPage{Conv: conv, Notice: notices[q.Get("notice")]}
	if data.Profile, err = s.loadProfile(ctx, conv); err != nil {
		status, msg := s.httpStatus(r, err)
		s.fail(w, r, status, msg)
		return
	}
	data.Inbox.View = parseView(q.Get("view"))
	if q.Get("fragment") == "pane" {
		// What console.js swaps in live: the header, the transcript and
		// the profile (the composer stays, with what the agent is typing).
		data.page = newPage(p, "")
		s.render(w, r, http.StatusOK, "conversation.html/pane_fragment", data)
		return
	}
	data.page = newPage(p, conv.Customer)
	data.Nav = "inbox"
	if data.Inbox, err = s.loadInbox(ctx, p.Staff, data.Inbox.View, id); err != nil {
		s.log.Error("console: inbox", "err", err)
		data.Inbox.Err = "The inbox could not be read. Try again in a moment."
	}
	data.Canned = cannedView{Enabled: s.kb != nil, Query: strings.TrimSpace(q.Get("canned"))}
	if data.Canned.Enabled && data.Canned.Query != "" {
		data.Canned.Hits = s.searchCanned(data.Canned.Query)
	}
	s.render(w, r, http.StatusOK, "conversation.html", data)
}

// loadConversation reads the pane: the conversation, its escalations
// and messages, and the staff who may take it.
func (s *Server) loadConversation(ctx context.Context, id int64, me crm.StaffUser) (conversationView, error) {
	c, err := s.store.Conversation(ctx, id)
	if err != nil {
		return conversationView{}, fmt.Errorf("conversation %d: %w", id, err)
	}
	cust, err := s.store.Customer(ctx, c.CustomerID)
	if err != nil {
		return conversationView{}, fmt.Errorf("customer of conversation %d: %w", id, err)
	}
	escs, err := s.store.Escalations(ctx, id)
	if err != nil {
		return conversationView{}, fmt.Errorf("escalations of conversation %d: %w", id, err)
	}
	msgs, err := s.store.Messages(ctx, id)
	if err != nil {
		return conversationView{}, fmt.Errorf("messages of conversation %d: %w", id, err)
	}
	staff := s.staffDirectory(ctx)
	v := conversationView{
		ID: c.ID, CustomerID: c.CustomerID, State: c.State, Channel: c.Channel, Customer: customerName(cust),
		Open:       c.State == crm.StateEscalated || c.State == crm.StateAssigned,
		AssigneeID: c.AssigneeID, Assignee: staff.name(c.AssigneeID), Mine: c.AssigneeID == me.ID && c.State == crm.StateAssigned,
	}
	if e, ok := openEscalation(escs); ok {
		v.Reason, v.Since = e.Reason, e.CreatedAt
		v.Waited = max(s.now().Sub(e.CreatedAt), 0)
	}
	for _, u := range staff.list {
		if !u.Disabled && (u.Role == crm.RoleAgent || u.Role == crm.RoleAdmin) {
			v.Assignable = append(v.Assignable, u)
		}
	}
	v.Entries = transcript(msgs, escs, staff)
	return v, nil
}

// transcript merges the messages and the escalations' changes of hands
// in time order; a change at the same instant as a message follows it
// (the message caused it).
func transcript(msgs []crm.Message, escs []crm.Escalation, staff *staffNames) []entry {
	type timed struct {
		e     entry
		order int
	}
	var all []timed
	for i, m := range msgs {
		e := entry{Text: m.Text, At: m.CreatedAt}
		switch m.Direction {
		case crm.FromCustomer:
			e.Kind, e.HasNLU = "customer", m.Intent != "" || m.Sentiment != ""
			e.Intent, e.Confidence, e.OutOfScope = m.Intent, m.Confidence, m.OutOfScope
			e.Sentiment, e.SentimentScore, e.Action = m.Sentiment, m.SentimentScore, m.Action
		case crm.FromBot:
			e.Kind, e.Author = "bot", "Parley bot"
		case crm.FromAgent:
			e.Kind, e.Author = "agent", staff.name(m.AuthorID)
		case crm.Note:
			e.Kind, e.Author = "note", staff.name(m.AuthorID)
		default:
			continue
		}
		all = append(all, timed{e, 2 * i})
	}
	for i, esc := range escs {
		add := func(at time.Time, text string) {
			if !at.IsZero() {
				all = append(all, timed{entry{Kind: "event", Text: text, At: at}, 2*len(msgs) + 3*i + len(all)})
			}
		}
		add(esc.CreatedAt, "Handed to a person: "+esc.Reason)
		if esc.AssigneeID != 0 {
			add(esc.AssignedAt, "Assigned to "+staff.name(esc.AssigneeID))
		}
		if esc.Status == crm.EscalationResolved {
			add(esc.ResolvedAt, "Resolved: "+esc.Resolution)
		}
	}
	slices.SortStableFunc(all, func(a, b timed) int { return cmp.Or(a.e.At.Compare(b.e.At), cmp.Compare(a.order, b.order)) })
	out := make([]entry, len(all))
	for i, t := range all {
		out[i] = t.e
	}
	return out
}

// loadProfile reads the customer panel.
func (s *Server) loadProfile(ctx context.Context, conv conversationView) (profile, error) {
	cust, err := s.store.Customer(ctx, conv.CustomerID)
	if err != nil {
		return profile{}, fmt.Errorf("customer %d: %w", conv.CustomerID, err)
	}
	p := profile{Customer: cust, Name: customerName(cust), HighValue: highValue(cust)}
	convs, err := s.store.Conversations(ctx, crm.ConversationFilter{CustomerID: cust.ID, Limit: profileConversations})
	if err != nil {
		return p, fmt.Errorf("conversations of customer %d: %w", cust.ID, err)
	}
	for _, pc := range convs {
		p.Conversations = append(p.Conversations, pastConversation{ID: pc.ID, State: pc.State, Channel: pc.Channel, UpdatedAt: pc.UpdatedAt, Current: pc.ID == conv.ID})
	}
	orders, err := s.store.Orders(ctx, cust.ID)
	if err != nil {
		return p, fmt.Errorf("orders of customer %d: %w", cust.ID, err)
	}
	slices.SortFunc(orders, func(a, b crm.Order) int { return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID)) })
	spend := map[string]float64{}
	var currencies []string
	for _, o := range orders {
		if o.Kind != crm.OrderPurchase {
			continue
		}
		if _, ok := spend[o.Currency]; !ok {
			currencies = append(currencies, o.Currency)
		}
		spend[o.Currency] += o.Amount
	}
	var parts []string
	for _, cur := range currencies {
		parts = append(parts, strings.TrimSpace(fmt.Sprintf("%.2f %s", spend[cur], cur)))
	}
	p.Spend = strings.Join(parts, " + ")
	if len(orders) > profileOrders {
		p.MoreOrders = len(orders) - profileOrders
		orders = orders[:profileOrders]
	}
	p.Orders = orders
	return p, nil
}

// The desk's actions. Each is a form post: it acts, then redirects to
// the conversation (POST-redirect-GET), or answers JSON to console.js.

func (s *Server) claim(w http.ResponseWriter, r *http.Request) {
	s.act(w, r, "claimed", func(ctx context.Context, id int64, me crm.StaffUser) error {
		_, err := s.desk.Claim(ctx, id, me, handoff.SourceConsole)
		return err
	})
}

func (s *Server) assign(w http.ResponseWriter, r *http.Request) {
	s.act(w, r, "assigned", func(ctx context.Context, id int64, me crm.StaffUser) error {
		staffID, err := strconv.ParseInt(r.PostForm.Get("staff_id"), 10, 64)
		if err != nil || staffID <= 0 {
			return fmt.Errorf("assign: %w: choose a staff member", crm.ErrInvalid)
		}
		to, err := s.store.Staff(ctx, staffID)
		if err != nil {
			return fmt.Errorf("assign to staff %d: %w", staffID, err)
		}
		if to.Role != crm.RoleAgent && to.Role != crm.RoleAdmin {
			return fmt.Errorf("assign to staff %d: %w: %s works no inbox", staffID, crm.ErrInvalid, to.Role)
		}
		if to.ID == me.ID {
			_, err = s.desk.Claim(ctx, id, me, handoff.SourceConsole)
		} else {
			_, err = s.desk.Assign(ctx, id, to, me, handoff.SourceConsole)
		}
		return err
	})
}

func (s *Server) reply(w http.ResponseWriter, r *http.Request) {
	s.act(w, r, "replied", func(ctx context.Context, id int64, me crm.StaffUser) error {
		_, err := s.desk.Reply(ctx, id, me, r.PostForm.Get("text"), handoff.SourceConsole)
		return err
	})
}

func (s *Server) note(w http.ResponseWriter, r *http.Request) {
	s.act(w, r, "noted", func(ctx context.Context, id int64, me crm.StaffUser) error {
		_, err := s.desk.Note(ctx, id, me, r.PostForm.Get("text"), handoff.SourceConsole)
		return err
	})
}

func (s *Server) resolve(w http.ResponseWriter, r *http.Request) {
	s.act(w, r, "resolved", func(ctx context.Context, id int64, me crm.StaffUser) error {
		reason := strings.TrimSpace(r.PostForm.Get("resolution"))
		if reason == "" {
			return fmt.Errorf("resolve: %w: give a resolution", crm.ErrInvalid)
		}
		_, err := s.desk.Resolve(ctx, id, me, reason, handoff.SourceConsole)
		return err
	})
}

// act runs one action on the conversation of the route.
func (s *Server) act(w http.ResponseWriter, r *http.Request, notice string, do func(ctx context.Context, id int64, me crm.StaffUser) error) {
	id, err := pathID(r)
	if err != nil {
		s.fail(w, r, http.StatusNotFound, "no such conversation")
		return
	}
	if err := r.ParseForm(); err != nil {
		status, msg := s.httpStatus(r, fmt.Errorf("%w: the form could not be read: %w", crm.ErrInvalid, err))
		s.fail(w, r, status, msg)
		return
	}
	me := principal(r).Staff
	if err := do(r.Context(), id, me); err != nil {
		status, msg := s.httpStatus(r, err)
		if status >= 500 {
			s.log.Error("console: "+notice, "conversation", id, "staff", me.ID, "err", err)
		}
		s.fail(w, r, status, msg)
		return
	}
	s.log.Info("console: "+notice, "conversation", id, "staff", me.ID)
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "notice": notices[notice]})
		return
	}
	q := url.Values{"notice": {notice}}
	if v := r.PostForm.Get("view"); v != "" {
		q.Set("view", parseView(v))
	}
	http.Redirect(w, r, fmt.Sprintf("/console/conversations/%d?%s", id, q.Encode()), http.StatusSeeOther)
}
