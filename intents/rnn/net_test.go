package rnn

import (
	"testing"

	"github.com/parley-chat/parley/intents"
)

// matVecGo is the plain loop matVec replaced; kept to measure against.
func matVecGo(dst, v, w []float32, cols int) {
	clear(dst[:cols])
	for i, x := range v {
		if x == 0 {
			continue
		}
		row := w[i*cols : (i+1)*cols]
		for j, y := range row {
			dst[j] += x * y
		}
	}
}

func TestMatVec(t *testing.T) {
	r := intents.NewRand(2)
	v := make([]float32, 7)
	w := make([]float32, 7*5)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	for i := range w {
		w[i] = float32(r.NormFloat64())
	}
	got, want := make([]float32, 5), make([]float32, 5)
	matVec(got, v, w, 5)
	matVecGo(want, v, w, 5)
	for j := range got {
		if d := got[j] - want[j]; d > 1e-5 || d < -1e-5 {
			t.Errorf("matVec column %d = %v, want %v", j, got[j], want[j])
		}
	}
}

func BenchmarkMatVec(b *testing.B) {
	r := intents.NewRand(1)
	v := make([]float32, 64)
	w := make([]float32, 64*64)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	for i := range w {
		w[i] = float32(r.NormFloat64())
	}
	dst := make([]float32, 64)
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			matVecGo(dst, v, w, 64)
		}
	})
	b.Run("blas", func(b *testing.B) {
		for b.Loop() {
			matVec(dst, v, w, 64)
		}
	})
}
