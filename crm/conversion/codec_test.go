package conversion_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"hash/crc32"
	"reflect"
	"testing"

	"github.com/parley-chat/parley/crm/conversion"
)

// frame wraps a JSON payload in the model file format of the package
// doc, with a correct checksum: what a forger (or a buggy writer) would
// produce.
func frame(version uint16, payload []byte) []byte {
	b := []byte("PARLEYCV")
	b = binary.LittleEndian.AppendUint16(b, version)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(payload)))
	b = append(b, payload...)
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(b))
}

// payload returns the JSON payload of a model file, decoded generically.
func payload(tb testing.TB, file []byte) map[string]any {
	tb.Helper()
	n := binary.LittleEndian.Uint32(file[10:])
	var m map[string]any
	if err := json.Unmarshal(file[14:14+n], &m); err != nil {
		tb.Fatalf("payload is not JSON: %v", err)
	}
	return m
}

func reframe(tb testing.TB, m map[string]any) []byte {
	tb.Helper()
	p, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return frame(conversion.FormatVersion, p)
}

func TestRoundTrip(t *testing.T) {
	d := xorData(2000, 2, 0.1, 20)
	for name, tr := range trainers() {
		t.Run(name, func(t *testing.T) {
			m := mustFit(t, tr, d, 7)
			file := encode(t, m)
			got, err := conversion.Decode(bytes.NewReader(file))
			if err != nil {
				t.Fatalf("Decode(WriteTo output): %v", err)
			}
			if !reflect.DeepEqual(got.Info(), m.Info()) {
				t.Errorf("decoded info %+v, want %+v", got.Info(), m.Info())
			}
			if got.Base() != m.Base() {
				t.Errorf("decoded base %v, want %v", got.Base(), m.Base())
			}
			for i, x := range d.X[:200] {
				if a, b := got.Prob(x), m.Prob(x); a != b {
					t.Fatalf("row %d: decoded Prob %v, want %v", i, a, b)
				}
				if a, b := got.Explain(x), m.Explain(x); !reflect.DeepEqual(a, b) {
					t.Fatalf("row %d: decoded Explain %v, want %v", i, a, b)
				}
			}
			if again := encode(t, got); !bytes.Equal(again, file) {
				t.Errorf("re-encoding a decoded model gives other bytes (%d vs %d)", len(again), len(file))
			}
		})
	}
}

func TestDecodeCorrupt(t *testing.T) {
	d := xorData(600, 1, 0.1, 21)
	small := quickGBT()
	small.MaxIter = 3
	files := map[string][]byte{
		"logistic": encode(t, mustFit(t, conversion.DefaultLogistic(), d, 1)),
		"gbt":      encode(t, mustFit(t, small, d, 1)),
	}
	for name, file := range files {
		t.Run(name+"/truncated", func(t *testing.T) {
			for n := 0; n < len(file); n++ {
				if _, err := conversion.Decode(bytes.NewReader(file[:n])); err == nil {
					t.Fatalf("Decode(first %d of %d bytes) succeeded, want an error", n, len(file))
				}
			}
		})
		t.Run(name+"/bit flips", func(t *testing.T) {
			for i := 0; i < len(file); i += 1 + len(file)/997 {
				bad := bytes.Clone(file)
				bad[i] ^= 0x10
				if _, err := conversion.Decode(bytes.NewReader(bad)); err == nil {
					t.Fatalf("Decode with byte %d flipped succeeded, want an error", i)
				}
			}
		})
	}

	lr, gbt := payload(t, files["logistic"]), payload(t, files["gbt"])
	edit := func(base map[string]any, f func(m map[string]any)) []byte {
		var m map[string]any
		b, _ := json.Marshal(base)
		json.Unmarshal(b, &m)
		f(m)
		return reframe(t, m)
	}
	tree0 := func(m map[string]any) map[string]any {
		return m["gbt"].(map[string]any)["trees"].([]any)[0].(map[string]any)
	}
	lrp := func(m map[string]any) map[string]any { return m["logistic"].(map[string]any) }
	tests := []struct {
		name string
		file []byte
		want error
	}{
		{"empty", nil, conversion.ErrNotModel},
		{"magic", append([]byte("PARLEYMD"), files["gbt"][8:]...), conversion.ErrNotModel},
		{"version", frame(99, []byte("{}")), conversion.ErrVersion},
		{"huge length", binary.LittleEndian.AppendUint32([]byte("PARLEYCV\x01\x00"), 1<<31), conversion.ErrCorrupt},
		{"not JSON", frame(conversion.FormatVersion, []byte("{\"info\":")), conversion.ErrCorrupt},
		{"unknown field", edit(lr, func(m map[string]any) { m["extra"] = 1 }), conversion.ErrCorrupt},
		{"unknown kind", edit(lr, func(m map[string]any) { m["info"].(map[string]any)["kind"] = "svm" }), conversion.ErrCorrupt},
		{"kind without parameters", edit(lr, func(m map[string]any) { delete(m, "logistic") }), conversion.ErrCorrupt},
		{"both parameters", edit(lr, func(m map[string]any) { m["gbt"] = gbt["gbt"] }), conversion.ErrCorrupt},
		{"no features", edit(lr, func(m map[string]any) { m["info"].(map[string]any)["features"] = []any{} }), conversion.ErrCorrupt},
		{"duplicate features", edit(lr, func(m map[string]any) { m["info"].(map[string]any)["features"] = []any{"a", "a"} }), conversion.ErrCorrupt},
		{"positives > examples", edit(lr, func(m map[string]any) { m["info"].(map[string]any)["positives"] = 1e6 }), conversion.ErrCorrupt},
		{"weights short", edit(lr, func(m map[string]any) { lrp(m)["weights"] = []any{1.0} }), conversion.ErrCorrupt},
		{"zero scale", edit(lr, func(m map[string]any) { lrp(m)["scale"].([]any)[0] = 0.0 }), conversion.ErrCorrupt},
		{"overflowing weight", frame(conversion.FormatVersion, bytes.Replace(mustJSON(t, lr), []byte(`"intercept":`), []byte(`"intercept":1e999,"x":`), 1)), conversion.ErrCorrupt},
		{"bad logistic config", edit(lr, func(m map[string]any) { lrp(m)["config"].(map[string]any)["max_iterations"] = 0 }), conversion.ErrCorrupt},
		{"no trees", edit(gbt, func(m map[string]any) { m["gbt"].(map[string]any)["trees"] = []any{} }), conversion.ErrCorrupt},
		{"feature out of range", edit(gbt, func(m map[string]any) { tree0(m)["feature"].([]any)[0] = 99.0 }), conversion.ErrCorrupt},
		{"child loops back", edit(gbt, func(m map[string]any) { tree0(m)["left"].([]any)[0] = 0.0 }), conversion.ErrCorrupt},
		{"child out of range", edit(gbt, func(m map[string]any) { tree0(m)["right"].([]any)[0] = 1e6 }), conversion.ErrCorrupt},
		{"shared child", edit(gbt, func(m map[string]any) {
			tr := tree0(m)
			tr["right"].([]any)[0] = tr["left"].([]any)[0]
		}), conversion.ErrCorrupt},
		{"node fields mismatched", edit(gbt, func(m map[string]any) { tree0(m)["value"] = []any{0.0} }), conversion.ErrCorrupt},
		{"leaf with children", edit(gbt, func(m map[string]any) {
			tr := tree0(m)
			f := tr["feature"].([]any)
			tr["left"].([]any)[len(f)-1] = 1.0
		}), conversion.ErrCorrupt},
		{"bad gbt config", edit(gbt, func(m map[string]any) {
			m["gbt"].(map[string]any)["config"].(map[string]any)["max_bins"] = 1000
		}), conversion.ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := conversion.Decode(bytes.NewReader(tt.file))
			if !errors.Is(err, tt.want) {
				t.Errorf("Decode(%s) = %v, %v; want error %v", tt.name, m, err, tt.want)
			}
		})
	}
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// FuzzDecode fuzzes the JSON payload inside a correctly framed file, so
// the fuzzer gets past the checksum to the validation of fields (the
// framing itself is covered by TestDecodeCorrupt).
func FuzzDecode(f *testing.F) {
	d := xorData(300, 1, 0.1, 22)
	small := quickGBT()
	small.MaxIter = 2
	for _, m := range []conversion.Model{mustFit(f, conversion.DefaultLogistic(), d, 1), mustFit(f, small, d, 1)} {
		file := encode(f, m)
		f.Add(file[14 : len(file)-4])
	}
	f.Add([]byte(`{"info":{"kind":"gbt","features":["a"]},"gbt":{"trees":[{"feature":[0,-1,-1],"threshold":[0,0,0],"left":[1,0,0],"right":[2,0,0],"value":[0,1,-1]}]}}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		m, err := conversion.Decode(bytes.NewReader(frame(conversion.FormatVersion, payload)))
		if err != nil {
			if !errors.Is(err, conversion.ErrCorrupt) {
				t.Errorf("Decode error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		// A model that decodes must score any row of its width.
		x := make([]float64, len(m.Info().Features))
		if p := m.Prob(x); !(p >= 0 && p <= 1) {
			t.Errorf("decoded model scores %v", p)
		}
		m.Explain(x)
	})
}
