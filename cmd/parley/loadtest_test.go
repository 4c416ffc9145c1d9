package main

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// TestLoadtest runs both load generators briefly against a real server:
// the REST API, then web chat widgets over WebSockets with the check
// that every acknowledged message reached the CRM file.
func TestLoadtest(t *testing.T) {
	db := filepath.Join(t.TempDir(), "crm.db")
	base, _ := startServe(t, "--db", db)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"rest", []string{"--clients", "4", "--think", "20ms"}},
		{"ws", []string{"--ws", "--clients", "20", "--think", "600ms", "--db", db}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"loadtest", "--url", base, "--warmup", "300ms", "--duration", "1500ms", "--json"}, tc.args...)
			code, out, errOut := run(t, args...)
			if code != 0 {
				t.Fatalf("parley %v: exit %d\n%s", args, code, errOut)
			}
			var res wsLoadResult
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out)
			}
			if res.Messages < 10 || res.Errors != 0 || res.P99ms <= 0 {
				t.Errorf("%s: %d messages, %d errors %v, p99 %v ms; want ≥ 10 messages, no errors", tc.name, res.Messages, res.Errors, res.ErrorSamples, res.P99ms)
			}
			if tc.name == "ws" && (res.Acked < res.Messages || res.Lost != 0 || res.Unanswered != 0) {
				t.Errorf("ws: %d acked of %d sent, %d lost, %d unanswered; want all acked, none lost or unanswered", res.Acked, res.Messages, res.Lost, res.Unanswered)
			}
		})
	}
}
