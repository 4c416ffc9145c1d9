package metrics_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/parley-chat/parley/bot/metrics"
)

func TestRateLimited(t *testing.T) {
	m := metrics.New(quiet)
	m.RateLimited(metrics.SurfaceAPI, metrics.LimitVisitor)
	m.RateLimited(metrics.SurfaceAPI, metrics.LimitVisitor)
	m.RateLimited(metrics.SurfaceWebChat, metrics.LimitHandshake)
	m.RateLimited("carrier pigeon", metrics.LimitIP) // unknown surface: bounded
	m.RateLimited(metrics.SurfaceAPI, metrics.LimitHandshake)
	// Every known series is there from the start, at 0 until used.
	want := `
# HELP parley_rate_limited_total Requests, messages and web chat connections refused by a rate limit, by surface (api, webchat) and the limit (ip, visitor, handshake, connection).
# TYPE parley_rate_limited_total counter
parley_rate_limited_total{limit="connection",surface="webchat"} 0
parley_rate_limited_total{limit="handshake",surface="webchat"} 1
parley_rate_limited_total{limit="ip",surface="api"} 0
parley_rate_limited_total{limit="ip",surface="webchat"} 0
parley_rate_limited_total{limit="other",surface="other"} 2
parley_rate_limited_total{limit="visitor",surface="api"} 2
parley_rate_limited_total{limit="visitor",surface="webchat"} 0
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "parley_rate_limited_total"); err != nil {
		t.Error(err)
	}
}
