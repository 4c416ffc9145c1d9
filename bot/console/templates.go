package console

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/parley-chat/parley/bot/console/auth"
	"github.com/parley-chat/parley/crm"
)

//go:embed templates/*.html
var templateFS embed.FS

// pageSet holds one template set per page: the layout, the shared
// partials and the page's own blocks (each page defines "content", so
// they cannot share one set).
type pageSet map[string]*template.Template

// pages is parsed once; the templates are part of the package, so a
// parse error is a bug that the package's tests catch, not input.
var pages = mustParsePages("login.html", "inbox.html", "conversation.html", "users.html", "error.html", "training.html", "models.html", "compare.html")

var funcs = template.FuncMap{
	"asset":     assetURL,
	"pct":       func(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) },
	"money":     func(amount float64, cur string) string { return strings.TrimSpace(fmt.Sprintf("%.2f %s", amount, cur)) },
	"date":      func(t time.Time) string { return t.UTC().Format("2 Jan 2006") },
	"datetime":  func(t time.Time) string { return t.UTC().Format("2 Jan 2006 15:04 UTC") },
	"clock":     func(t time.Time) string { return t.UTC().Format("15:04") },
	"rfc3339":   func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"waited":    formatWait,
	"urgency":   urgency,
	"channel":   channelLabel,
	"stateText": stateLabel,
	"initials":  initials,
	"signed":    func(f float64) string { return fmt.Sprintf("%+.2f", f) },
	"metric":    metric,
	"points":    func(f float64) string { return fmt.Sprintf("%+.1f pt", 100*f) },
	"join":      joinIDs,
	"scoreBar":  func(f float64) int { return int(math.Round(math.Max(0, math.Min(1, f)) * 10)) },
}

func mustParsePages(names ...string) pageSet {
	set := pageSet{}
	for _, name := range names {
		t := template.Must(template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/"+name))
		set[name] = t
	}
	return set
}

// ExecuteTemplate runs a page ("inbox.html") or, with "page/block", one
// block of it ("inbox.html/inbox_list"), for fragments.
func (p pageSet) ExecuteTemplate(w io.Writer, name string, data any) error {
	page, block, _ := strings.Cut(name, "/")
	t, ok := p[page]
	if !ok {
		return fmt.Errorf("no page %q", page)
	}
	if block == "" {
		block = "layout"
	}
	return t.ExecuteTemplate(w, block, data)
}

// page is what the layout needs of every page.
type page struct {
	Title string
	// Me is the signed-in staff member (zero on the login page).
	Me      crm.StaffUser
	CSRF    string
	IsAdmin bool
	// CanInbox is set for the roles that work the inbox; CanTrain for
	// those that label and retrain.
	CanInbox, CanTrain bool
	// Nav is the active top-bar item ("inbox", "users").
	Nav string
}

func newPage(p auth.Principal, title string) page {
	return page{Title: title, Me: p.Staff, CSRF: p.CSRF, IsAdmin: p.Staff.Role == crm.RoleAdmin, CanInbox: worksInbox(p.Staff.Role),
		CanTrain: p.Staff.Role == crm.RoleAnalyst || p.Staff.Role == crm.RoleAdmin}
}

// worksInbox reports whether a role may use the inbox (Handler's
// guards say the same).
func worksInbox(r crm.Role) bool { return r == crm.RoleAgent || r == crm.RoleAdmin }

type errorPage struct {
	page
	Status  int
	Message string
}

// formatWait is a waiting time as a badge shows it: "now", "12 min",
// "3 h 05", "2 d".
func formatWait(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "now"
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d h %02d", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%d d", int(d/(24*time.Hour)))
}

// Urgency thresholds of the waiting badge. console.js recolours the
// badges with the same thresholds as time passes.
const (
	urgentAfter = 15 * time.Minute
	soonAfter   = 5 * time.Minute
)

// urgency is the waiting badge's colour class.
func urgency(d time.Duration) string {
	switch {
	case d >= urgentAfter:
		return "wait-high"
	case d >= soonAfter:
		return "wait-mid"
	}
	return "wait-low"
}

func channelLabel(c crm.Channel) string {
	switch c {
	case crm.ChannelWeb:
		return "Web chat"
	case crm.ChannelSlack:
		return "Slack"
	case crm.ChannelAPI:
		return "API"
	}
	return string(c)
}

func stateLabel(s crm.State) string {
	switch s {
	case crm.StateEscalated:
		return "Waiting"
	case crm.StateAssigned:
		return "Assigned"
	case crm.StateResolved:
		return "Resolved"
	case crm.StateBot:
		return "With the bot"
	}
	return string(s)
}

// initials are an avatar's letters: "Ada Lovelace" -> "AL".
func initials(name string) string {
	var out []rune
	for _, f := range strings.Fields(name) {
		r, _ := utf8.DecodeRuneInString(f)
		if r != utf8.RuneError && (r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r > 127) {
			out = append(out, r)
		}
		if len(out) == 2 {
			break
		}
	}
	if len(out) == 0 {
		return "?"
	}
	return strings.ToUpper(string(out))
}

// preview cuts text to at most n characters at a word boundary when it
// can, for the inbox's one-line previews.
func preview(text string, n int) string {
	text = strings.Join(strings.Fields(text), " ")
	if utf8.RuneCountInString(text) <= n {
		return text
	}
	runes := []rune(text)[:n]
	cut := string(runes)
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return cut + "…"
}

// metric shows the first of keys a version has, as a percentage ("—"
// when it has none).
func metric(m map[string]float64, keys ...string) string {
	for _, k := range keys {
		if v, ok := m[k]; ok {
			return fmt.Sprintf("%.1f%%", 100*v)
		}
	}
	return "—"
}

// joinIDs is message ids as a form value ("3,7,9").
func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}
