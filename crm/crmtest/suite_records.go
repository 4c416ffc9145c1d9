package crmtest

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
)

func testCustomers(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	v1 := crm.ExternalID{Kind: crm.IDWebVisitor, Value: "v1"}
	c1 := must(s.FindOrCreateCustomer(ctx, v1, "Ann", "ann@example.com"))(t)
	want := crm.Customer{ID: c1.ID, Name: "Ann", Email: "ann@example.com", ExternalIDs: []crm.ExternalID{v1}, CreatedAt: T0}
	if c1.ID <= 0 {
		t.Fatalf("FindOrCreateCustomer(%v) id = %d, want > 0", v1, c1.ID)
	}
	equal(t, "created customer", c1, want)

	e.clock.Advance(time.Minute)
	again := must(s.FindOrCreateCustomer(ctx, v1, "Someone Else", ""))(t)
	equal(t, "found customer (profile kept)", again, want)
	equal(t, "CustomerByExternalID", must(s.CustomerByExternalID(ctx, v1))(t), want)
	equal(t, "Customer", must(s.Customer(ctx, c1.ID))(t), want)

	email := crm.ExternalID{Kind: crm.IDEmail, Value: "ann@example.com"}
	noErr(t, "LinkExternalID", s.LinkExternalID(ctx, c1.ID, email))
	noErr(t, "LinkExternalID again", s.LinkExternalID(ctx, c1.ID, email))
	want.ExternalIDs = []crm.ExternalID{v1, email}
	equal(t, "customer after link", must(s.Customer(ctx, c1.ID))(t), want)
	equal(t, "customer by linked id", must(s.CustomerByExternalID(ctx, email))(t), want)

	u2 := crm.ExternalID{Kind: crm.IDSlackUser, Value: "U2"}
	c2 := must(s.FindOrCreateCustomer(ctx, u2, "", ""))(t)
	if c2.ID == c1.ID {
		t.Fatalf("second customer got the first one's id %d", c1.ID)
	}
	wantErr(t, "LinkExternalID of another customer's id", s.LinkExternalID(ctx, c2.ID, v1), crm.ErrConflict)
	wantErr(t, "LinkExternalID to a missing customer", s.LinkExternalID(ctx, 999999, crm.ExternalID{Kind: crm.IDAPI, Value: "x"}), crm.ErrNotFound)
	wantErr(t, "LinkExternalID bad kind", s.LinkExternalID(ctx, c1.ID, crm.ExternalID{Kind: "fax", Value: "x"}), crm.ErrInvalid)
	equal(t, "second customer untouched", must(s.Customer(ctx, c2.ID))(t).ExternalIDs, []crm.ExternalID{u2})

	_, err := s.CustomerByExternalID(ctx, crm.ExternalID{Kind: crm.IDSlackUser, Value: "nobody"})
	wantErr(t, "CustomerByExternalID unknown", err, crm.ErrNotFound)
	_, err = s.Customer(ctx, 999999)
	wantErr(t, "Customer unknown", err, crm.ErrNotFound)
	_, err = s.FindOrCreateCustomer(ctx, crm.ExternalID{Kind: "fax", Value: "1"}, "", "")
	wantErr(t, "FindOrCreateCustomer bad kind", err, crm.ErrInvalid)
	_, err = s.FindOrCreateCustomer(ctx, crm.ExternalID{Kind: crm.IDAPI}, "", "")
	wantErr(t, "FindOrCreateCustomer empty value", err, crm.ErrInvalid)

	for _, tt := range []struct {
		after int64
		limit int
		want  []int64
	}{
		{0, 0, []int64{c1.ID, c2.ID}},
		{c1.ID, 10, []int64{c2.ID}},
		{0, 1, []int64{c1.ID}},
		{c2.ID, 0, []int64{}},
	} {
		got := must(s.Customers(ctx, tt.after, tt.limit))(t)
		equal(t, fmt.Sprintf("Customers(%d, %d) ids", tt.after, tt.limit), ids(got, func(c crm.Customer) int64 { return c.ID }), tt.want)
	}
	_, err = s.Customers(ctx, 0, -1)
	wantErr(t, "Customers negative limit", err, crm.ErrInvalid)
}

func testOrders(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	c := e.customer("c1")
	o1 := must(s.AddOrder(ctx, crm.Order{CustomerID: c.ID, Ref: "A-1001", Item: "kettle", Category: "kitchen",
		Amount: 19.99, Currency: "EUR", Kind: crm.OrderPurchase}))(t)
	if o1.ID <= 0 || !o1.CreatedAt.Equal(T0) {
		t.Errorf("AddOrder = %+v, want an id and CreatedAt %v", o1, T0)
	}
	past := T0.AddDate(0, -1, 0)
	o0 := must(s.AddOrder(ctx, crm.Order{CustomerID: c.ID, Item: "newsletter", Kind: crm.OrderSignup, CreatedAt: past}))(t)
	o2 := must(s.AddOrder(ctx, crm.Order{CustomerID: c.ID, Item: "mug", Amount: 5, Currency: "EUR", Kind: crm.OrderPurchase}))(t)
	equal(t, "Orders", must(s.Orders(ctx, c.ID))(t), []crm.Order{o0, o1, o2})

	before := e.snapshot()
	for _, tt := range []struct {
		name   string
		o      crm.Order
		target error
	}{
		{"duplicate ref", crm.Order{CustomerID: c.ID, Ref: "A-1001", Kind: crm.OrderPurchase}, crm.ErrConflict},
		{"unknown customer", crm.Order{CustomerID: 999999, Kind: crm.OrderPurchase}, crm.ErrNotFound},
		{"bad kind", crm.Order{CustomerID: c.ID, Kind: "gift"}, crm.ErrInvalid},
		{"NaN amount", crm.Order{CustomerID: c.ID, Kind: crm.OrderPurchase, Amount: math.NaN()}, crm.ErrInvalid},
		{"invalid item", crm.Order{CustomerID: c.ID, Kind: crm.OrderPurchase, Item: "\xff"}, crm.ErrInvalid},
	} {
		_, err := s.AddOrder(ctx, tt.o)
		wantErr(t, "AddOrder "+tt.name, err, tt.target)
	}
	e.unchanged("failed AddOrder calls", before)
	_, err := s.Orders(ctx, 999999)
	wantErr(t, "Orders of an unknown customer", err, crm.ErrNotFound)
	if got := must(s.Orders(ctx, e.customer("c2").ID))(t); len(got) != 0 {
		t.Errorf("Orders of a new customer = %+v, want none", got)
	}
}

func testStaff(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	u := must(s.CreateStaff(ctx, crm.StaffUser{Email: "Sam@Example.com", Name: "Sam", Role: crm.RoleAgent, PasswordHash: "h1"}))(t)
	want := crm.StaffUser{ID: u.ID, Email: "Sam@Example.com", Name: "Sam", Role: crm.RoleAgent, PasswordHash: "h1", CreatedAt: T0}
	equal(t, "CreateStaff", u, want)
	equal(t, "Staff", must(s.Staff(ctx, u.ID))(t), want)
	equal(t, "StaffByEmail other case", must(s.StaffByEmail(ctx, "sam@example.COM"))(t), want)
	_, err := s.CreateStaff(ctx, crm.StaffUser{Email: "SAM@example.com", Role: crm.RoleAdmin})
	wantErr(t, "CreateStaff same email, other case", err, crm.ErrConflict)
	v := must(s.CreateStaff(ctx, crm.StaffUser{Email: "viv@example.com", Role: crm.RoleAnalyst}))(t)
	equal(t, "ListStaff", ids(must(s.ListStaff(ctx))(t), func(u crm.StaffUser) int64 { return u.ID }), []int64{u.ID, v.ID})

	// Update: an empty hash keeps the stored one.
	upd := crm.StaffUser{ID: u.ID, Email: "samuel@example.com", Name: "Samuel", Role: crm.RoleAdmin, Disabled: true}
	noErr(t, "UpdateStaff", s.UpdateStaff(ctx, upd))
	want = crm.StaffUser{ID: u.ID, Email: "samuel@example.com", Name: "Samuel", Role: crm.RoleAdmin, PasswordHash: "h1", Disabled: true, CreatedAt: T0}
	equal(t, "updated staff", must(s.Staff(ctx, u.ID))(t), want)
	_, err = s.StaffByEmail(ctx, "sam@example.com")
	wantErr(t, "StaffByEmail old email", err, crm.ErrNotFound)
	equal(t, "StaffByEmail new email", must(s.StaffByEmail(ctx, "SAMUEL@example.com"))(t), want)
	upd.PasswordHash, upd.Email = "h2", "Samuel@example.com"
	noErr(t, "UpdateStaff own email in another case", s.UpdateStaff(ctx, upd))
	if got := must(s.Staff(ctx, u.ID))(t); got.PasswordHash != "h2" || got.Email != "Samuel@example.com" {
		t.Errorf("staff after password change = %+v, want hash h2", got)
	}

	before := e.snapshot()
	for _, tt := range []struct {
		name   string
		err    error
		target error
	}{
		{"UpdateStaff taken email", s.UpdateStaff(ctx, crm.StaffUser{ID: u.ID, Email: "VIV@example.com", Role: crm.RoleAgent}), crm.ErrConflict},
		{"UpdateStaff unknown", s.UpdateStaff(ctx, crm.StaffUser{ID: 999999, Email: "x@example.com", Role: crm.RoleAgent}), crm.ErrNotFound},
		{"UpdateStaff bad role", s.UpdateStaff(ctx, crm.StaffUser{ID: u.ID, Email: "x@example.com", Role: "boss"}), crm.ErrInvalid},
		{"CreateStaff bad role", second(s.CreateStaff(ctx, crm.StaffUser{Email: "x@example.com", Role: "boss"})), crm.ErrInvalid},
		{"CreateStaff no email", second(s.CreateStaff(ctx, crm.StaffUser{Email: " ", Role: crm.RoleAgent})), crm.ErrInvalid},
		{"Staff unknown", second(s.Staff(ctx, 999999)), crm.ErrNotFound},
		{"StaffByEmail unknown", second(s.StaffByEmail(ctx, "nobody@example.com")), crm.ErrNotFound},
	} {
		wantErr(t, tt.name, tt.err, tt.target)
	}
	e.unchanged("failed staff calls", before)
}

func second[T any](_ T, err error) error { return err }

func testSessions(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	u := e.staff("sam@example.com", crm.RoleAgent)
	sess := crm.Session{TokenHash: "h1", StaffID: u.ID, CSRF: "c1", ExpiresAt: T0.Add(time.Hour)}
	noErr(t, "CreateSession", s.CreateSession(ctx, sess))
	want := sess
	want.CreatedAt = T0
	equal(t, "Session before expiry", must(s.Session(ctx, "h1", T0.Add(30*time.Minute)))(t), want)
	_, err := s.Session(ctx, "h1", T0.Add(time.Hour))
	wantErr(t, "Session at expiry", err, crm.ErrNotFound)
	_, err = s.Session(ctx, "nope", T0)
	wantErr(t, "Session unknown", err, crm.ErrNotFound)
	wantErr(t, "CreateSession duplicate", s.CreateSession(ctx, sess), crm.ErrConflict)
	wantErr(t, "CreateSession unknown staff", s.CreateSession(ctx, crm.Session{TokenHash: "h2", StaffID: 999999, ExpiresAt: T0.Add(time.Hour)}), crm.ErrNotFound)
	wantErr(t, "CreateSession no expiry", s.CreateSession(ctx, crm.Session{TokenHash: "h3", StaffID: u.ID}), crm.ErrInvalid)
	wantErr(t, "CreateSession no token", s.CreateSession(ctx, crm.Session{StaffID: u.ID, ExpiresAt: T0.Add(time.Hour)}), crm.ErrInvalid)
	noErr(t, "DeleteSession", s.DeleteSession(ctx, "h1"))
	_, err = s.Session(ctx, "h1", T0)
	wantErr(t, "Session after delete", err, crm.ErrNotFound)
	wantErr(t, "DeleteSession again", s.DeleteSession(ctx, "h1"), crm.ErrNotFound)
}

func testLabels(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	l := e.log(web("v1", "s", "m1", "i want my money back"))
	analyst := e.staff("ana@example.com", crm.RoleAnalyst)
	e.clock.Advance(time.Minute)
	l1 := must(s.AddLabel(ctx, crm.Label{MessageID: l.MessageID, Intent: "refund", StaffID: analyst.ID}))(t)
	equal(t, "label of a message", l1, crm.Label{ID: l1.ID, MessageID: l.MessageID, Text: "i want my money back",
		Intent: "refund", StaffID: analyst.ID, CreatedAt: T0.Add(time.Minute)})
	e.clock.Advance(time.Minute)
	l2 := must(s.AddLabel(ctx, crm.Label{Text: "cancel my subscription", Intent: "cancel"}))(t)
	if l2.ID <= 0 || l2.StaffID != 0 || l2.MessageID != 0 {
		t.Errorf("hand-written label = %+v", l2)
	}
	l0 := must(s.AddLabel(ctx, crm.Label{Text: "older", Intent: "oos", CreatedAt: T0.Add(-time.Hour)}))(t)
	equal(t, "Labels oldest first", must(s.Labels(ctx))(t), []crm.Label{l0, l1, l2})

	before := e.snapshot()
	for _, tt := range []struct {
		name   string
		l      crm.Label
		target error
	}{
		{"unknown message", crm.Label{MessageID: 999999, Intent: "x"}, crm.ErrNotFound},
		{"unknown staff", crm.Label{Text: "x", Intent: "x", StaffID: 999999}, crm.ErrNotFound},
		{"no intent", crm.Label{Text: "x"}, crm.ErrInvalid},
		{"no text or message", crm.Label{Intent: "x"}, crm.ErrInvalid},
		{"invalid text", crm.Label{Text: "\xff", Intent: "x"}, crm.ErrInvalid},
	} {
		_, err := s.AddLabel(ctx, tt.l)
		wantErr(t, "AddLabel "+tt.name, err, tt.target)
	}
	e.unchanged("failed AddLabel calls", before)
}

func testModels(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	_, err := s.ActiveModel(ctx, "intent")
	wantErr(t, "ActiveModel with none", err, crm.ErrNotFound)
	art := make([]byte, 1<<20)
	for i := range art {
		art[i] = byte(i * 7)
	}
	v1 := must(s.SaveModelVersion(ctx, crm.ModelVersion{Kind: "intent", Version: "v1", DataHash: "d1",
		Metrics: map[string]float64{"accuracy": 0.9, "macro_f1": 0.85}, Artifact: art, Notes: "first"}))(t)
	if v1.ID <= 0 || v1.Active || !v1.CreatedAt.Equal(T0) {
		t.Errorf("SaveModelVersion = %+v, want id, inactive, created %v", v1, T0)
	}
	e.clock.Advance(time.Hour)
	v2 := must(s.SaveModelVersion(ctx, crm.ModelVersion{Kind: "intent", Version: "v2", DataHash: "d2", Artifact: []byte("two"),
		Active: true, PromotedAt: T0}))(t)
	if v2.Active || !v2.PromotedAt.IsZero() {
		t.Errorf("SaveModelVersion kept Active/PromotedAt from the input: %+v", v2)
	}
	sv := must(s.SaveModelVersion(ctx, crm.ModelVersion{Kind: "sentiment", Version: "v1", Artifact: []byte("s")}))(t)

	got := must(s.ModelVersion(ctx, v1.ID))(t)
	equal(t, "ModelVersion", got, v1)
	if len(got.Artifact) != len(art) {
		t.Errorf("artifact round trip: %d bytes, want %d", len(got.Artifact), len(art))
	}
	list := must(s.ModelVersions(ctx, "intent"))(t)
	equal(t, "ModelVersions ids newest first", ids(list, func(v crm.ModelVersion) int64 { return v.ID }), []int64{v2.ID, v1.ID})
	for _, v := range list {
		if v.Artifact != nil {
			t.Errorf("ModelVersions returned version %d with a %d-byte artifact, want none", v.ID, len(v.Artifact))
		}
	}
	noArt := v1
	noArt.Artifact = nil
	if len(list) == 2 {
		equal(t, "listed version", list[1], noArt)
	}

	t1 := e.clock.Advance(time.Minute)
	noErr(t, "PromoteModel v1", s.PromoteModel(ctx, v1.ID))
	active := must(s.ActiveModel(ctx, "intent"))(t)
	want := v1
	want.Active, want.PromotedAt = true, t1
	equal(t, "ActiveModel", active, want)
	t2 := e.clock.Advance(time.Minute)
	noErr(t, "PromoteModel v2", s.PromoteModel(ctx, v2.ID))
	noErr(t, "PromoteModel sentiment", s.PromoteModel(ctx, sv.ID))
	var actives []int64
	for _, v := range must(s.ModelVersions(ctx, "intent"))(t) {
		if v.Active {
			actives = append(actives, v.ID)
		}
	}
	equal(t, "active intent versions", actives, []int64{v2.ID})
	if a := must(s.ActiveModel(ctx, "intent"))(t); a.ID != v2.ID || !a.PromotedAt.Equal(t2) || string(a.Artifact) != "two" {
		t.Errorf("ActiveModel after promoting v2 = %+v", a)
	}
	if a := must(s.ActiveModel(ctx, "sentiment"))(t); a.ID != sv.ID {
		t.Errorf("ActiveModel(sentiment) = %d, want %d", a.ID, sv.ID)
	}
	if v := must(s.ModelVersion(ctx, v1.ID))(t); v.Active || !v.PromotedAt.Equal(t1) {
		t.Errorf("v1 after v2's promotion = active %v promoted %v, want inactive, promoted %v", v.Active, v.PromotedAt, t1)
	}

	before := e.snapshot()
	_, err = s.SaveModelVersion(ctx, crm.ModelVersion{Kind: "intent", Version: "v1"})
	wantErr(t, "SaveModelVersion duplicate", err, crm.ErrConflict)
	_, err = s.SaveModelVersion(ctx, crm.ModelVersion{Version: "v9"})
	wantErr(t, "SaveModelVersion no kind", err, crm.ErrInvalid)
	_, err = s.SaveModelVersion(ctx, crm.ModelVersion{Kind: "intent", Version: "v9", Metrics: map[string]float64{"acc": math.Inf(1)}})
	wantErr(t, "SaveModelVersion infinite metric", err, crm.ErrInvalid)
	wantErr(t, "PromoteModel unknown", s.PromoteModel(ctx, 999999), crm.ErrNotFound)
	_, err = s.ModelVersion(ctx, 999999)
	wantErr(t, "ModelVersion unknown", err, crm.ErrNotFound)
	e.unchanged("failed model calls", before)
	if got := must(s.ModelVersions(ctx, "none"))(t); len(got) != 0 {
		t.Errorf("ModelVersions of an unknown kind = %+v", got)
	}
}

func testSegments(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	c1, c2, c3 := e.customer("c1"), e.customer("c2"), e.customer("c3")
	seg := func(id int64) (string, string) {
		c := must(s.Customer(ctx, id))(t)
		return c.Segment, c.SegmentProfile
	}
	noErr(t, "SaveSegments", s.SaveSegments(ctx, []crm.SegmentAssignment{
		{CustomerID: c1.ID, Segment: "loyal", Profile: "orders often", X: 1, Y: 2},
		{CustomerID: c2.ID, Segment: "new", Profile: "one order", X: -1, Y: 0.5},
	}))
	for _, tt := range []struct {
		id            int64
		segment, prof string
	}{{c1.ID, "loyal", "orders often"}, {c2.ID, "new", "one order"}, {c3.ID, "", ""}} {
		if g, p := seg(tt.id); g != tt.segment || p != tt.prof {
			t.Errorf("customer %d segment = %q %q, want %q %q", tt.id, g, p, tt.segment, tt.prof)
		}
	}
	noErr(t, "SaveSegments again", s.SaveSegments(ctx, []crm.SegmentAssignment{{CustomerID: c3.ID, Segment: "at risk", Profile: "quiet"}}))
	for _, tt := range []struct {
		id      int64
		segment string
	}{{c1.ID, ""}, {c2.ID, ""}, {c3.ID, "at risk"}} {
		if g, _ := seg(tt.id); g != tt.segment {
			t.Errorf("after replacing: customer %d segment = %q, want %q", tt.id, g, tt.segment)
		}
	}
	if got := must(s.Customers(ctx, 0, 0))(t); len(got) == 3 && got[2].Segment != "at risk" {
		t.Errorf("Customers listing segment = %q, want %q", got[2].Segment, "at risk")
	}

	before := e.snapshot()
	for _, tt := range []struct {
		name   string
		as     []crm.SegmentAssignment
		target error
	}{
		{"unknown customer", []crm.SegmentAssignment{{CustomerID: c1.ID, Segment: "a"}, {CustomerID: 999999, Segment: "a"}}, crm.ErrNotFound},
		{"duplicate", []crm.SegmentAssignment{{CustomerID: c1.ID, Segment: "a"}, {CustomerID: c1.ID, Segment: "b"}}, crm.ErrInvalid},
		{"empty segment", []crm.SegmentAssignment{{CustomerID: c1.ID}}, crm.ErrInvalid},
		{"NaN position", []crm.SegmentAssignment{{CustomerID: c1.ID, Segment: "a", X: math.NaN()}}, crm.ErrInvalid},
	} {
		wantErr(t, "SaveSegments "+tt.name, s.SaveSegments(ctx, tt.as), tt.target)
	}
	e.unchanged("failed SaveSegments calls", before)
	noErr(t, "SaveSegments none", s.SaveSegments(ctx, nil))
	if g, _ := seg(c3.ID); g != "" {
		t.Errorf("after saving no segments: %q, want none", g)
	}
}

func testLeadScores(t *testing.T, e *env) {
	ctx, s := e.ctx, e.s
	c1, c2 := e.customer("c1"), e.customer("c2")
	at := T0.Add(-time.Hour)
	noErr(t, "SaveLeadScores", s.SaveLeadScores(ctx, []crm.LeadScore{{CustomerID: c1.ID, Score: 0.7}, {CustomerID: c2.ID, Score: 0.1}}, at))
	check := func(id int64, score float64, at time.Time) {
		t.Helper()
		c := must(s.Customer(ctx, id))(t)
		if c.LeadScore != score || !c.ScoredAt.Equal(at) {
			t.Errorf("customer %d score = %v at %v, want %v at %v", id, c.LeadScore, c.ScoredAt, score, at)
		}
	}
	check(c1.ID, 0.7, at)
	check(c2.ID, 0.1, at)
	noErr(t, "SaveLeadScores now", s.SaveLeadScores(ctx, []crm.LeadScore{{CustomerID: c1.ID, Score: 0.2}}, time.Time{}))
	check(c1.ID, 0.2, T0)
	check(c2.ID, 0.1, at)

	before := e.snapshot()
	for _, tt := range []struct {
		name   string
		scores []crm.LeadScore
		target error
	}{
		{"above one", []crm.LeadScore{{CustomerID: c1.ID, Score: 1.5}}, crm.ErrInvalid},
		{"NaN", []crm.LeadScore{{CustomerID: c1.ID, Score: math.NaN()}}, crm.ErrInvalid},
		{"duplicate", []crm.LeadScore{{CustomerID: c1.ID, Score: 0.3}, {CustomerID: c1.ID, Score: 0.4}}, crm.ErrInvalid},
		{"unknown customer", []crm.LeadScore{{CustomerID: c1.ID, Score: 0.9}, {CustomerID: 999999, Score: 0.5}}, crm.ErrNotFound},
	} {
		wantErr(t, "SaveLeadScores "+tt.name, s.SaveLeadScores(ctx, tt.scores, at), tt.target)
	}
	e.unchanged("failed SaveLeadScores calls", before)
	check(c1.ID, 0.2, T0)
}
