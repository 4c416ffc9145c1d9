package segment

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/parley-chat/parley/crm"
	"gonum.org/v1/gonum/mat"
)

// PCA is a projection of points onto their top two principal components.
type PCA struct {
	// Components is 2×d: the unit principal axes, largest variance first.
	// Each axis is signed so that its largest-magnitude loading is
	// positive (ties: the first such loading), which makes the plot the
	// same on every run and platform.
	Components *mat.Dense
	// Mean is the column means removed before projecting.
	Mean []float64
	// Variance is the variance along each axis; Explained the share of
	// the total variance it carries (0 when the data has none).
	Variance, Explained [2]float64
	// X and Y are the points' coordinates on the two axes.
	X, Y []float64
}

// Project2D computes the top two principal components of x's rows from
// the eigendecomposition of their covariance (d×d, cheap for a handful
// of features however many rows) and projects the rows onto them. With
// one column the second axis is zero.
func Project2D(x *mat.Dense) (*PCA, error) {
	data, n, d := rowMajor(x)
	if n == 0 {
		return nil, ErrEmpty
	}
	for _, v := range data {
		if bad(v) {
			return nil, fmt.Errorf("pca: non-finite value %v in the data: %w", v, crm.ErrInvalid)
		}
	}
	mean := make([]float64, d)
	for i := 0; i < n; i++ {
		for j, v := range data[i*d : (i+1)*d] {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	cov := mat.NewSymDense(d, nil)
	row := make([]float64, d)
	acc := make([]float64, d*d)
	for i := 0; i < n; i++ {
		for j, v := range data[i*d : (i+1)*d] {
			row[j] = v - mean[j]
		}
		for a := 0; a < d; a++ {
			ra := row[a]
			for b := a; b < d; b++ {
				acc[a*d+b] += ra * row[b]
			}
		}
	}
	for a := 0; a < d; a++ {
		for b := a; b < d; b++ {
			cov.SetSym(a, b, acc[a*d+b]/float64(n))
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(cov, true) {
		return nil, errors.New("pca: eigendecomposition of the covariance did not converge")
	}
	values := eig.Values(nil)
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	order := make([]int, d)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return values[order[a]] > values[order[b]] })

	p := &PCA{Components: mat.NewDense(2, d, nil), Mean: mean, X: make([]float64, n), Y: make([]float64, n)}
	var total float64
	for _, v := range values {
		total += math.Max(0, v)
	}
	for c := 0; c < 2 && c < d; c++ {
		col := order[c]
		axis := make([]float64, d)
		big := 0
		for j := 0; j < d; j++ {
			axis[j] = vecs.At(j, col)
			if math.Abs(axis[j]) > math.Abs(axis[big])+1e-12 {
				big = j
			}
		}
		if axis[big] < 0 {
			for j := range axis {
				axis[j] = -axis[j]
			}
		}
		p.Components.SetRow(c, axis)
		p.Variance[c] = math.Max(0, values[col])
		if total > 0 {
			p.Explained[c] = p.Variance[c] / total
		}
	}
	c0, c1 := p.Components.RawRowView(0), p.Components.RawRowView(1)
	for i := 0; i < n; i++ {
		var px, py float64
		for j, v := range data[i*d : (i+1)*d] {
			v -= mean[j]
			px += v * c0[j]
			py += v * c1[j]
		}
		p.X[i], p.Y[i] = px, py
	}
	return p, nil
}
