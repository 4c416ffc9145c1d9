package forest

import (
	"bytes"
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/parley-chat/parley/intents"
	"github.com/parley-chat/parley/intents/intentstest"
)

// TestDecodeHostile writes models whose trees or calibration break an
// invariant; the checksum is valid, so only Decode's checks stand
// between such a file and an out-of-range walk.
func TestDecodeHostile(t *testing.T) {
	train, _ := intentstest.Fixture(t, "../..")
	c := DefaultConfig()
	c.Trees = 3
	good, err := c.Fit(context.Background(), train, 1)
	if err != nil {
		t.Fatal(err)
	}
	internal := slices.IndexFunc(good.trees.nodes, func(n node) bool { return n.feature >= 0 })
	leaf := slices.IndexFunc(good.trees.nodes, func(n node) bool { return n.feature < 0 })
	if internal < 0 || leaf < 0 {
		t.Fatalf("fixture forest has no internal node or no leaf")
	}
	tests := []struct {
		name   string
		mutate func(m *Model)
	}{
		{"self loop", func(m *Model) { m.trees.nodes[internal].left = int32(internal) }},
		{"child before parent", func(m *Model) { m.trees.nodes[internal+1].right = int32(internal) }},
		{"child in next tree", func(m *Model) { m.trees.nodes[internal].right = m.trees.start[1] }},
		{"child out of range", func(m *Model) { m.trees.nodes[internal].right = math.MaxInt32 }},
		{"column out of range", func(m *Model) { m.trees.nodes[internal].feature = int32(m.vec.Dim()) }},
		{"NaN threshold", func(m *Model) { m.trees.nodes[internal].threshold = float32(math.NaN()) }},
		{"leaf index skipped", func(m *Model) { m.trees.nodes[leaf].left++ }},
		{"negative feature", func(m *Model) { m.trees.nodes[leaf].feature = -7 }},
		{"class out of range", func(m *Model) { m.trees.votes[0].class = int32(m.nClass) }},
		{"probability above 1", func(m *Model) { m.trees.votes[0].prob = 1.5 }},
		{"leaf pointer past votes", func(m *Model) { m.trees.leafPtr[1] = int32(len(m.trees.votes) + 1) }},
		{"tree past nodes", func(m *Model) { m.trees.start[1] = int32(len(m.trees.nodes) + 5) }},
		{"empty tree", func(m *Model) { m.trees.start[1] = m.trees.start[0] }},
		{"prior length", func(m *Model) { m.prior = m.prior[1:] }},
		{"prior sum", func(m *Model) { m.prior[0] += 0.5 }},
		{"temperature", func(m *Model) { m.temp = 0 }},
		{"bias length", func(m *Model) { m.bias = m.bias[1:] }},
		{"NaN bias", func(m *Model) { m.bias[0] = math.NaN() }},
		{"smoothing", func(m *Model) { m.smooth = math.Inf(1) }},
		{"labels", func(m *Model) { m.header.Labels = append(m.header.Labels, "extra") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := clone(good)
			tt.mutate(m)
			var buf bytes.Buffer
			if _, err := m.WriteTo(&buf); err != nil {
				t.Fatalf("WriteTo: %v", err)
			}
			if _, err := Decode(&buf); !errors.Is(err, intents.ErrCorrupt) {
				t.Errorf("Decode(%s) = %v, want ErrCorrupt", tt.name, err)
			}
		})
	}
	t.Run("unmodified", func(t *testing.T) {
		var buf bytes.Buffer
		if _, err := clone(good).WriteTo(&buf); err != nil {
			t.Fatalf("WriteTo: %v", err)
		}
		if _, err := Decode(&buf); err != nil {
			t.Errorf("Decode(unmodified clone) = %v, want success", err)
		}
	})
}

func clone(m *Model) *Model {
	c := &Model{
		header: m.header,
		vec:    m.vec,
		temp:   m.temp,
		smooth: m.smooth,
		bias:   slices.Clone(m.bias),
		prior:  slices.Clone(m.prior),
		nClass: m.nClass,
		trees: &trees{
			start:   slices.Clone(m.trees.start),
			nodes:   slices.Clone(m.trees.nodes),
			leafPtr: slices.Clone(m.trees.leafPtr),
			votes:   slices.Clone(m.trees.votes),
		},
	}
	c.header.Labels = slices.Clone(m.header.Labels)
	return c
}
