// Package crmtest helps test crm.Store implementations and the code that
// uses them.
//
// Run is the contract suite: every crm.Store implementation calls it
// from its own tests with a function that opens a fresh, empty store on
// a clock the suite controls. Memory is a working in-memory crm.Store
// (maps behind one mutex) that passes the same suite, for fast tests of
// code that needs a CRM; Clock is a settable clock for both.
//
// An implementation gets its timestamps from a func() time.Time it is
// given (crm/sqlite's WithClock, Memory's WithClock), so the suite can
// make every time it checks exact.
package crmtest
