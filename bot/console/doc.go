// Package console is the staff console: the inbox of conversations the
// bot handed to people, each conversation's transcript with what the
// models understood of every customer message, the customer's CRM
// profile, and the desk's actions (claim, assign, reply, internal note,
// resolve), plus the admin page for staff accounts. It is mounted at
// /console by `parley serve`.
//
// Design choices, and why:
//
//   - Server-rendered html/template pages. Every customer word reaches the
//     page through html/template's contextual escaping, so a message that
//     looks like markup is shown as text; there is no client-side
//     templating that could get this wrong. Every form works without
//     JavaScript (POST, then a 303 redirect to a GET: reloading never
//     repeats an action).
//   - One small embedded console.js enhances the forms: it posts them with
//     fetch (the CSRF token travels in the X-CSRF-Token header, read from
//     <meta name="csrf-token">) and swaps in server-rendered fragments, so
//     the HTML has one source of truth. No build step and no CDN: the
//     binary carries everything (static/, embedded with go:embed), served
//     under /console/static/ with a content-hash version in the URL, so it
//     can be cached for a year and a new build is picked up at once.
//   - A strict Content-Security-Policy on every response (no inline
//     script or style at all, not even style="" attributes): an injected
//     tag would not run even if escaping failed somewhere.
//   - Live updates with Server-Sent Events (GET /console/events), not a
//     WebSocket: the traffic is one-way (the server says "conversation 12
//     changed"), EventSource reconnects by itself, and it is a plain GET
//     that the session cookie and the role check guard like any page. An
//     event carries only the conversation's id, the kind of change and its
//     state, never customer text; the page then fetches the fragment it
//     shows. A client too slow to take its events is dropped (its
//     EventSource reconnects and the page re-fetches), so the desk, which
//     calls Observe on the acting goroutine, never waits for a browser.
//   - Security is bot/console/auth's: every route but the login page and
//     the static files is wrapped in Auth.Require with its roles (the
//     inbox and conversations for agents, staff accounts for admins), which
//     checks the session cookie and, on POST, the CSRF token.
//
// The inbox is ordered by priority (see priority in inbox.go): minutes
// waiting since the escalation, raised for a customer whose last message
// was negative and for valuable customers (lead score, a "high value"
// segment).
package console
