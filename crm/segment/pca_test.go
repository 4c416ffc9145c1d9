package segment

import (
	"errors"
	"math"
	"testing"

	"github.com/parley-chat/parley/crm"
	"gonum.org/v1/gonum/mat"
)

func TestProject2D(t *testing.T) {
	s5 := math.Sqrt(5)
	for _, tc := range []struct {
		name      string
		x         *mat.Dense
		axes      [2][]float64
		variance  [2]float64
		explained [2]float64
		px        []float64
	}{
		{
			// On the line y = 2x: all variance on (1, 2)/√5; var(t) = 2, so 2·5.
			name:      "line",
			x:         mat.NewDense(5, 2, []float64{-2, -4, -1, -2, 0, 0, 1, 2, 2, 4}),
			axes:      [2][]float64{{1 / s5, 2 / s5}, {2 / s5, -1 / s5}},
			variance:  [2]float64{10, 0},
			explained: [2]float64{1, 0},
			px:        []float64{-2 * s5, -s5, 0, s5, 2 * s5},
		},
		{
			// Independent axes with variances 2 and 0.5, offset by (3, -1).
			name:      "axes",
			x:         mat.NewDense(4, 2, []float64{5, -1, 1, -1, 3, 0, 3, -2}),
			axes:      [2][]float64{{1, 0}, {0, 1}},
			variance:  [2]float64{2, 0.5},
			explained: [2]float64{0.8, 0.2},
			px:        []float64{2, -2, 0, 0},
		},
		{
			// The same as "axes" mirrored: the sign convention gives the same axes.
			name:      "mirrored",
			x:         mat.NewDense(4, 2, []float64{-5, 1, -1, 1, -3, 0, -3, 2}),
			axes:      [2][]float64{{1, 0}, {0, 1}},
			variance:  [2]float64{2, 0.5},
			explained: [2]float64{0.8, 0.2},
			px:        []float64{-2, 2, 0, 0},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Project2D(tc.x)
			if err != nil {
				t.Fatal(err)
			}
			for c := 0; c < 2; c++ {
				if tc.variance[c] == 0 {
					continue // the axis of a zero-variance direction is any unit vector orthogonal to the first
				}
				for j, want := range tc.axes[c] {
					if got := p.Components.At(c, j); !near(got, want, 1e-9) {
						t.Errorf("%s: component %d loading %d = %v, want %v", tc.name, c, j, got, want)
					}
				}
			}
			for c := 0; c < 2; c++ {
				if !near(p.Variance[c], tc.variance[c], 1e-9) || !near(p.Explained[c], tc.explained[c], 1e-9) {
					t.Errorf("%s: axis %d variance %v (explained %v), want %v (%v)",
						tc.name, c, p.Variance[c], p.Explained[c], tc.variance[c], tc.explained[c])
				}
			}
			for i, want := range tc.px {
				if !near(p.X[i], want, 1e-9) {
					t.Errorf("%s: X[%d] = %v, want %v", tc.name, i, p.X[i], want)
				}
			}
		})
	}
}

func TestProject2DEdgeCases(t *testing.T) {
	if _, err := Project2D(&mat.Dense{}); !errors.Is(err, ErrEmpty) {
		t.Errorf("Project2D(empty): %v, want ErrEmpty", err)
	}
	if _, err := Project2D(mat.NewDense(1, 2, []float64{math.NaN(), 1})); !errors.Is(err, crm.ErrInvalid) {
		t.Errorf("Project2D(NaN): %v, want crm.ErrInvalid", err)
	}
	// One column: the second axis is zero.
	p, err := Project2D(mat.NewDense(3, 1, []float64{1, 2, 3}))
	if err != nil {
		t.Fatal(err)
	}
	if p.Components.At(0, 0) != 1 || p.Components.At(1, 0) != 0 || p.Y[2] != 0 || !near(p.X[2], 1, 1e-12) {
		t.Errorf("Project2D(one column) = axes %v, X %v, Y %v; want axis 1, X = x-2, Y = 0", mat.Formatted(p.Components), p.X, p.Y)
	}
	// All points equal: no variance, zero coordinates.
	p, err = Project2D(mat.NewDense(3, 2, []float64{1, 1, 1, 1, 1, 1}))
	if err != nil {
		t.Fatal(err)
	}
	if p.Explained != [2]float64{} || p.X[0] != 0 || p.Y[0] != 0 {
		t.Errorf("Project2D(identical) explained %v, X[0] %v; want zeros", p.Explained, p.X[0])
	}
}
