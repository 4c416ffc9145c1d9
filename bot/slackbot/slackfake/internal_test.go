package slackfake

import (
	"testing"
	"time"
)

func TestCompareTS(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"1700000000.000100", "1700000000.000200", -1},
		{"1700000000.000200", "1700000000.000100", 1},
		{"1700000000.000100", "1700000000.000100", 0},
		{"9.5", "10.1", -1},                      // numeric, not string order
		{"1700000000.1", "1700000000.000100", 1}, // .1 is 100000 micros
		{"1700000000.10", "1700000000.1", 0},
		{"01.5", "1.5", 0},
	}
	for _, tt := range tests {
		if got := compareTS(tt.a, tt.b); got != tt.want {
			t.Errorf("compareTS(%q, %q): got %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestValidTS(t *testing.T) {
	tests := []struct {
		ts   string
		want bool
	}{
		{"1700000000.000100", true},
		{"1.1", true},
		{"1700000000", false},
		{".000100", false},
		{"1700000000.", false},
		{"17e8.000100", false},
		{"", false},
		{"1.2.3", false},
	}
	for _, tt := range tests {
		if got := validTS(tt.ts); got != tt.want {
			t.Errorf("validTS(%q): got %v, want %v", tt.ts, got, tt.want)
		}
	}
}

func TestRetryAfterSeconds(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want int64
	}{
		{0, 1}, {-time.Second, 1}, {time.Millisecond, 1}, {time.Second, 1},
		{1500 * time.Millisecond, 2}, {30 * time.Second, 30},
	}
	for _, tt := range tests {
		if got := retryAfterSeconds(tt.d); got != tt.want {
			t.Errorf("retryAfterSeconds(%v): got %d, want %d", tt.d, got, tt.want)
		}
	}
}

func TestFlattenJSON(t *testing.T) {
	tests := []struct {
		body    string
		want    map[string]string
		wantErr bool
	}{
		{``, map[string]string{}, false},
		{`null`, map[string]string{}, false},
		{`{"a":"x","b":1.50,"c":true,"d":null,"e":{"k": [1, 2]}}`,
			map[string]string{"a": "x", "b": "1.50", "c": "true", "d": "", "e": `{"k":[1,2]}`}, false},
		{`[1]`, nil, true},
		{`{"a":`, nil, true},
	}
	for _, tt := range tests {
		got, err := flattenJSON([]byte(tt.body))
		if (err != nil) != tt.wantErr {
			t.Errorf("flattenJSON(%q): got error %v, want error %v", tt.body, err, tt.wantErr)
			continue
		}
		if tt.wantErr {
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("flattenJSON(%q): got %v, want %v", tt.body, got, tt.want)
		}
		for k, v := range tt.want {
			if got.Get(k) != v {
				t.Errorf("flattenJSON(%q)[%s]: got %q, want %q", tt.body, k, got.Get(k), v)
			}
		}
	}
}

func TestFaultKindString(t *testing.T) {
	tests := []struct {
		k    FaultKind
		want string
	}{
		{0, "none"}, {ServerError, "ServerError"}, {RateLimited, "RateLimited"}, {SlackError, "SlackError"},
		{DropAfterPost, "DropAfterPost"}, {Timeout, "Timeout"}, {FaultKind(42), "FaultKind(42)"},
	}
	for _, tt := range tests {
		if got := tt.k.String(); got != tt.want {
			t.Errorf("FaultKind(%d).String(): got %q, want %q", int(tt.k), got, tt.want)
		}
	}
}

func TestTimestampsSkipUsed(t *testing.T) {
	s := New()
	defer s.Close()
	if err := s.AddMessage(Message{Channel: "C1", TS: "1700000000.000100", User: "U1"}); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	got := s.nextTSLocked("C1")
	s.mu.Unlock()
	if want := "1700000000.000200"; got != want {
		t.Errorf("nextTS after a user message took the first ts: got %q, want %q", got, want)
	}
}
