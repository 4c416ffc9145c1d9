package metrics

import (
	"slices"

	"github.com/prometheus/client_golang/prometheus"
)

// Label values of parley_rate_limited_total: where a request was refused
// and which limit refused it.
const (
	SurfaceAPI     = "api"
	SurfaceWebChat = "webchat"

	// LimitIP: too many messages from one client address.
	LimitIP = "ip"
	// LimitVisitor: too many messages from one customer or visitor.
	LimitVisitor = "visitor"
	// LimitHandshake: too many new web chat connections from one address.
	LimitHandshake = "handshake"
	// LimitConnection: too many messages on one web chat connection.
	LimitConnection = "connection"
)

// rateLimitedSeries are the series that exist: each starts at 0, so an
// alert on their rate sees the first refusal.
var rateLimitedSeries = [][2]string{
	{SurfaceAPI, LimitIP}, {SurfaceAPI, LimitVisitor},
	{SurfaceWebChat, LimitIP}, {SurfaceWebChat, LimitVisitor},
	{SurfaceWebChat, LimitHandshake}, {SurfaceWebChat, LimitConnection},
}

func newRateLimited() *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "parley_rate_limited_total",
		Help: "Requests, messages and web chat connections refused by a rate limit, by surface (api, webchat) and the limit (ip, visitor, handshake, connection).",
	}, []string{"surface", "limit"})
	for _, s := range rateLimitedSeries {
		c.WithLabelValues(s[0], s[1])
	}
	return c
}

// RateLimited counts one refusal by a rate limit; values outside the
// constants above count as Other.
func (m *Metrics) RateLimited(surface, limit string) {
	if !slices.Contains(rateLimitedSeries, [2]string{surface, limit}) {
		surface, limit = Other, Other
	}
	m.rateLimited.WithLabelValues(surface, limit).Inc()
}
