package webchat_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-chat/parley/bot/webchat"
)

// FuzzFrames sends one fuzzed frame after the hello on a real
// connection, then a probe: whatever the frame was, the server must not
// crash, and the connection must still answer (only a frame over the
// read limit may close it).
func FuzzFrames(f *testing.F) {
	for _, seed := range []string{
		`{"type":"message","id":"c1","text":"where is my order 12345"}`,
		`{"type":"hello","visitor":"v_fuzz_seed"}`,
		`{"type":"message","id":"c1","text":""}`,
		`{"type":"message","id":"../../etc","text":"hi"}`,
		`{"type":"message","id":"c1","text":"` + strings.Repeat("x", 9000) + `"}`,
		`{"type":"message","id":"c1","text":"\ud800 lone surrogate"}`,
		`{"type":123}`, `[]`, `null`, `"string"`, `{`, ``, "\x00\xff",
		`{"type":"message","id":"c1","text":{"nested":[1,2,3]}}`,
		strings.Repeat(`{"a":`, 5000) + `1` + strings.Repeat(`}`, 5000),
	} {
		f.Add([]byte(seed), false)
	}
	f.Add([]byte{0x01, 0x02}, true) // a binary frame
	h := newHarness(f, webchat.Config{MaxFrameBytes: 32 << 10, Rate: 1e6, Burst: 1e6}, nil)
	f.Fuzz(func(t *testing.T, frame []byte, binary bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		ws, _, err := websocket.Dial(ctx, h.wsURL(), nil)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		defer ws.CloseNow()
		ws.SetReadLimit(1 << 20)
		write := func(typ websocket.MessageType, b []byte) error { return ws.Write(ctx, typ, b) }
		if err := write(websocket.MessageText, []byte(`{"type":"hello","visitor":"v_fuzzing_1"}`)); err != nil {
			t.Fatal(err)
		}
		typ := websocket.MessageText
		if binary {
			typ = websocket.MessageBinary
		}
		if err := write(typ, frame); err != nil {
			return // the server closed it on the frame (too large): allowed below
		}
		if err := write(websocket.MessageText, []byte(`{"type":"fuzz_probe"}`)); err != nil {
			if len(frame) <= 32<<10 {
				t.Fatalf("the connection died on a %d-byte frame %.80q: %v", len(frame), frame, err)
			}
			return
		}
		for {
			_, b, err := ws.Read(ctx)
			if err != nil {
				if len(frame) <= 32<<10 {
					t.Fatalf("no answer to the probe after %.80q: %v", frame, err)
				}
				return
			}
			var got struct{ Type, Code, Message string }
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("the server sent a frame that is not JSON: %.80q", b)
			}
			if got.Type == "error" && strings.Contains(got.Message, "fuzz_probe") {
				return // still answering
			}
		}
	})
}
