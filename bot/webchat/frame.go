package webchat

import (
	"regexp"
	"strings"
)

// cspSource is an allowed-origin pattern that CSP can state as a
// host-source: an optional scheme, a host that is "*" or has at most a
// leading "*." wildcard, an optional port. path.Match can say more
// ("shop-?.example", "[ab].example"); CSP cannot.
var cspSource = regexp.MustCompile(`^([a-z][a-z0-9+.-]*://)?(\*|(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*)(:([0-9]+|\*))?$`)

// frameAncestors is the Content-Security-Policy of the demo page: it
// may be framed by this server's pages and by the origins allowed to
// open chats, the same list (--allow-origin), so that a shop allowed to
// embed the chat can also embed the page. Patterns CSP cannot state are
// left out (framing there is refused) and returned, to be logged.
func frameAncestors(allowed []string) (policy string, skipped []string) {
	sources := []string{"'self'"}
	for _, p := range allowed {
		lp := strings.ToLower(strings.TrimSpace(p))
		if !cspSource.MatchString(lp) {
			skipped = append(skipped, p)
			continue
		}
		sources = append(sources, lp)
	}
	return "frame-ancestors " + strings.Join(sources, " "), skipped
}
