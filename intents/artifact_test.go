package intents_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/intents"
)

func testHeader() intents.Header {
	return intents.Header{
		Kind:      "svm",
		Labels:    []string{"greeting", "order_status"},
		Config:    json.RawMessage(`{"c":1.5}`),
		DataHash:  "abc123",
		Examples:  42,
		Seed:      7,
		Threshold: 0.35,
		Metrics:   map[string]float64{"accuracy": 0.9},
		Created:   time.Date(2026, 3, 3, 12, 0, 0, 0, time.UTC),
	}
}

var testPayload = []byte("weights\x00\x01\x02")

func mustArtifact(tb testing.TB, h intents.Header, payload []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	n, err := intents.WriteArtifact(&buf, h, func(w io.Writer) error {
		_, err := w.Write(payload)
		return err
	})
	if err != nil || n != int64(buf.Len()) {
		tb.Fatalf("WriteArtifact = %d, %v; wrote %d bytes", n, err, buf.Len())
	}
	return buf.Bytes()
}

// withCRC recomputes the trailing checksum, for corruptions the checksum
// would otherwise catch first.
func withCRC(b []byte) []byte {
	b = slices.Clone(b)
	binary.LittleEndian.PutUint32(b[len(b)-4:], crc32.ChecksumIEEE(b[:len(b)-4]))
	return b
}

func TestArtifactRoundTrip(t *testing.T) {
	h := testHeader()
	data := mustArtifact(t, h, testPayload)
	if !bytes.HasPrefix(data, []byte("PARLEYMD\x01\x00")) {
		t.Errorf("artifact starts %q, want magic and version 1", data[:10])
	}
	for _, kind := range []string{"svm", ""} {
		got, payload, err := intents.ReadArtifact(bytes.NewReader(data), kind)
		if err != nil {
			t.Fatalf("ReadArtifact(%q): %v", kind, err)
		}
		if !bytes.Equal(payload, testPayload) {
			t.Errorf("ReadArtifact(%q) payload = %q, want %q", kind, payload, testPayload)
		}
		want := h
		want.FormatVersion = intents.FormatVersion
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if !bytes.Equal(gj, wj) || !got.Created.Equal(want.Created) {
			t.Errorf("ReadArtifact(%q) header = %s, want %s", kind, gj, wj)
		}
	}
	if err := h.CheckLabels(2); err != nil {
		t.Errorf("CheckLabels(2) with 2 labels: %v", err)
	}
	if err := h.CheckLabels(3); !errors.Is(err, intents.ErrCorrupt) {
		t.Errorf("CheckLabels(3) with 2 labels = %v, want ErrCorrupt", err)
	}
}

func TestReadArtifactErrors(t *testing.T) {
	good := mustArtifact(t, testHeader(), testPayload)
	flip := func(i int) []byte {
		b := slices.Clone(good)
		b[i] ^= 0x40
		return b
	}
	setU32 := func(b []byte, off int, v uint32) []byte {
		b = slices.Clone(b)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	noLabels := testHeader()
	noLabels.Labels = nil
	hl := int(binary.LittleEndian.Uint32(good[10:]))
	badJSON := slices.Clone(good)
	badJSON[14] = '['
	tests := []struct {
		name string
		in   []byte
		kind string
		want error
	}{
		{"Empty", nil, "", intents.ErrNotArtifact},
		{"Garbage", []byte("this is not a Parley model file at all"), "", intents.ErrNotArtifact},
		{"ShortMagic", good[:5], "", intents.ErrNotArtifact},
		{"OtherMagic", flip(0), "", intents.ErrNotArtifact},
		{"Version", withCRC(append(slices.Clone(good[:8]), append([]byte{99, 0}, good[10:]...)...)), "", intents.ErrVersion},
		{"VersionNoCRC", flip(8), "", intents.ErrVersion},
		{"FlippedHeaderByte", flip(20), "", intents.ErrCorrupt},
		{"FlippedPayloadByte", flip(14 + hl + 2), "", intents.ErrCorrupt},
		{"FlippedCRC", flip(len(good) - 1), "", intents.ErrCorrupt},
		{"TruncatedHeader", good[:12], "", intents.ErrCorrupt},
		{"TruncatedHalf", good[:len(good)/2], "", intents.ErrCorrupt},
		{"NoCRC", good[:len(good)-4], "", intents.ErrCorrupt},
		{"HeaderLengthTooLong", withCRC(setU32(good, 10, uint32(len(good)))), "", intents.ErrCorrupt},
		{"HeaderLengthHuge", withCRC(setU32(good, 10, 1<<31)), "", intents.ErrCorrupt},
		{"HeaderNotJSON", withCRC(badJSON), "", intents.ErrCorrupt},
		{"NoLabels", mustArtifact(t, noLabels, testPayload), "", intents.ErrCorrupt},
		{"WrongKind", good, "forest", intents.ErrKind},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, payload, err := intents.ReadArtifact(bytes.NewReader(tt.in), tt.kind)
			if !errors.Is(err, tt.want) || payload != nil {
				t.Errorf("ReadArtifact(%d bytes, %q) = %d payload bytes, %v; want %v", len(tt.in), tt.kind, len(payload), err, tt.want)
			}
		})
	}
	// Every truncation fails cleanly.
	for n := range len(good) {
		if _, _, err := intents.ReadArtifact(bytes.NewReader(good[:n]), ""); err == nil {
			t.Fatalf("ReadArtifact(first %d of %d bytes) = nil error", n, len(good))
		}
	}
}

type brokenWriter struct{ after int }

func (w *brokenWriter) Write(p []byte) (int, error) {
	if len(p) > w.after {
		n := w.after
		w.after = 0
		return n, errors.New("disk full")
	}
	w.after -= len(p)
	return len(p), nil
}

func TestWriteArtifactErrors(t *testing.T) {
	payloadErr := errors.New("weights exploded")
	_, err := intents.WriteArtifact(io.Discard, testHeader(), func(io.Writer) error { return payloadErr })
	if !errors.Is(err, payloadErr) || !strings.Contains(err.Error(), "svm") {
		t.Errorf("WriteArtifact with a failing payload = %v, want it wrapped with the kind", err)
	}
	for _, after := range []int{0, 5, 20, 200} {
		w := &brokenWriter{after: after}
		n, err := intents.WriteArtifact(w, testHeader(), func(w io.Writer) error {
			_, err := w.Write(testPayload)
			return err
		})
		if err == nil || n != int64(after) {
			t.Errorf("WriteArtifact to a writer failing after %d bytes = %d, %v; want %d and an error", after, n, err, after)
		}
	}
	bad := testHeader()
	bad.Config = json.RawMessage(`{not json`)
	if _, err := intents.WriteArtifact(io.Discard, bad, func(io.Writer) error { return nil }); err == nil {
		t.Errorf("WriteArtifact with an invalid config = nil error")
	}
}
