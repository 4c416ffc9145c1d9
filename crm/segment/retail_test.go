package segment

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/crm"
	"gonum.org/v1/gonum/mat"
)

var (
	onlineRetail = flag.String("online-retail", "", "path to the online-retail transactions.csv: compare k-means with scikit-learn on its RFM features")
	pythonFlag   = flag.String("python", "", "Python interpreter with scikit-learn (default: the first of python3, /usr/bin/python3 that imports sklearn)")
)

// onlineRetailStats reads the online-retail transactions into per-customer
// stats, cleaned as testdata/sklearn_kmeans.py documents (the two must
// stay in step): rows without CustomerID and exact duplicates dropped,
// cancellations ("C" invoices) taken off the spend without counting as
// orders, other rows with a non-positive quantity or price dropped,
// customers without a purchase left out. asOf is the day after the last
// invoice.
func onlineRetailStats(r io.Reader) (stats []crm.CustomerStats, asOf time.Time, err error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, asOf, fmt.Errorf("read header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for _, h := range []string{"InvoiceNo", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"} {
		if _, ok := col[h]; !ok {
			return nil, asOf, fmt.Errorf("no column %s in %v", h, header)
		}
	}
	type agg struct {
		invoices    map[string]bool
		money       float64
		first, last time.Time
	}
	seen := map[string]bool{}
	byID := map[int64]*agg{}
	var latest time.Time
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, asOf, fmt.Errorf("line %d: %w", line, err)
		}
		if strings.TrimSpace(rec[col["CustomerID"]]) == "" {
			continue
		}
		key := strings.Join(rec, "\x00")
		if seen[key] {
			continue
		}
		seen[key] = true
		idf, err1 := strconv.ParseFloat(rec[col["CustomerID"]], 64)
		qty, err2 := strconv.ParseFloat(rec[col["Quantity"]], 64)
		price, err3 := strconv.ParseFloat(rec[col["UnitPrice"]], 64)
		when, err4 := time.Parse(time.DateTime, rec[col["InvoiceDate"]])
		for _, e := range []error{err1, err2, err3, err4} {
			if e != nil {
				return nil, asOf, fmt.Errorf("line %d: %w", line, e)
			}
		}
		invoice := rec[col["InvoiceNo"]]
		cancel := strings.HasPrefix(invoice, "C")
		if !cancel && (qty <= 0 || price <= 0) {
			continue
		}
		if when.After(latest) {
			latest = when
		}
		id := int64(idf)
		a := byID[id]
		if a == nil {
			a = &agg{invoices: map[string]bool{}}
			byID[id] = a
		}
		a.money += qty * price
		if !cancel {
			a.invoices[invoice] = true
			if a.first.IsZero() || when.Before(a.first) {
				a.first = when
			}
			if when.After(a.last) {
				a.last = when
			}
		}
	}
	asOf = latest.Add(24 * time.Hour)
	for id, a := range byID {
		if len(a.invoices) == 0 {
			continue
		}
		stats = append(stats, crm.CustomerStats{
			CustomerID: id, CreatedAt: a.first, Orders: len(a.invoices), Monetary: a.money,
			FirstOrder: a.first, LastOrder: a.last,
		})
	}
	sort.Slice(stats, func(i, j int) bool { return stats[i].CustomerID < stats[j].CustomerID })
	return stats, asOf, nil
}

// findPython returns an interpreter that imports sklearn.
func findPython(t *testing.T) string {
	candidates := []string{"python3", "/usr/bin/python3"}
	if *pythonFlag != "" {
		candidates = []string{*pythonFlag}
	}
	for _, py := range candidates {
		if exec.Command(py, "-c", "import sklearn").Run() == nil {
			return py
		}
	}
	t.Fatalf("no Python with scikit-learn among %v: apt-get install -y python3-sklearn, or pass -python", candidates)
	return ""
}

// TestOnlineRetail compares our k-means with scikit-learn's on the RFM
// features of the online-retail data set:
//
//	go test ./crm/segment -run TestOnlineRetail -v \
//	    -online-retail /work/shared/datasets/online-retail/transactions.csv
//
// Both sides compute the features from the CSV and the test checks they
// agree; scikit-learn then clusters the Go features (the same numbers)
// with KMeans(k-means++, n_init=10) for k=4 and for the k our silhouette
// picks, and our inertia must be within 1% of its.
func TestOnlineRetail(t *testing.T) {
	if *onlineRetail == "" {
		t.Skip("needs -online-retail path/to/transactions.csv (and scikit-learn)")
	}
	py := findPython(t)
	f, err := os.Open(*onlineRetail)
	if err != nil {
		t.Fatal(err)
	}
	stats, asOf, err := onlineRetailStats(f)
	f.Close()
	if err != nil {
		t.Fatalf("read %s: %v", *onlineRetail, err)
	}
	feats, err := Extract(stats, asOf, nil)
	if err != nil {
		t.Fatal(err)
	}
	n := len(stats)
	rfm := mat.NewDense(n, 3, nil)
	for i := 0; i < n; i++ {
		for j, feat := range []Feature{Recency, Frequency, Monetary} {
			rfm.Set(i, j, feats.Z.At(i, int(feat)))
		}
	}
	t.Logf("%d customers with purchases, reference time %s", n, asOf.Format(time.DateTime))

	// Choose k by silhouette, as Run does (k-means for each k, silhouette
	// on a 3,000-point sample).
	bestK, bestSil := 0, math.Inf(-1)
	inertia := map[int]float64{}
	for k := 2; k <= 8; k++ {
		cl, err := KMeans(t.Context(), rfm, KMeansConfig{K: k, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		s, err := SilhouetteSample(t.Context(), rfm, cl.Labels, k, DefaultSilhouetteSample, 1)
		if err != nil {
			t.Fatal(err)
		}
		inertia[k] = cl.Inertia
		t.Logf("go k=%d inertia %.4f silhouette %.4f (%d iterations)", k, cl.Inertia, s, cl.Iterations)
		if s > bestSil {
			bestK, bestSil = k, s
		}
	}

	dir := t.TempDir()
	goCSV, pyCSV := filepath.Join(dir, "go_features.csv"), filepath.Join(dir, "py_features.csv")
	var b strings.Builder
	b.WriteString("customer_id,recency,frequency,monetary\n")
	for i, s := range stats {
		fmt.Fprintf(&b, "%d,%s,%s,%s\n", s.CustomerID,
			strconv.FormatFloat(rfm.At(i, 0), 'g', -1, 64),
			strconv.FormatFloat(rfm.At(i, 1), 'g', -1, 64),
			strconv.FormatFloat(rfm.At(i, 2), 'g', -1, 64))
	}
	if err := os.WriteFile(goCSV, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	ks := fmt.Sprintf("4,%d", bestK)
	start := time.Now()
	cmd := exec.CommandContext(t.Context(), py, filepath.Join("testdata", "sklearn_kmeans.py"),
		"--transactions", *onlineRetail, "--features-out", pyCSV, "--cluster", goCSV, "--k", ks)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("sklearn_kmeans.py: %v\n%s", err, stderr.String())
	}
	var sk struct {
		Sklearn     string             `json:"sklearn"`
		Customers   int                `json:"customers"`
		Inertia     map[string]float64 `json:"inertia"`
		Silhouette  map[string]float64 `json:"silhouette"`
		SilhouetteK int                `json:"silhouette_k"`
	}
	if err := json.Unmarshal(out.Bytes(), &sk); err != nil {
		t.Fatalf("sklearn_kmeans.py output %q: %v", out.String(), err)
	}
	t.Logf("scikit-learn %s ran in %s", sk.Sklearn, time.Since(start).Round(time.Millisecond))

	// The features must agree before the inertias mean anything.
	if sk.Customers != n {
		t.Fatalf("scikit-learn side found %d customers, Go %d", sk.Customers, n)
	}
	pyFeats := readFeatureCSV(t, pyCSV)
	maxDiff := 0.0
	for i, s := range stats {
		row, ok := pyFeats[s.CustomerID]
		if !ok {
			t.Fatalf("customer %d missing on the scikit-learn side", s.CustomerID)
		}
		for j := 0; j < 3; j++ {
			maxDiff = math.Max(maxDiff, math.Abs(row[j]-rfm.At(i, j)))
		}
	}
	t.Logf("largest difference between Go and Python standardized RFM: %.3g", maxDiff)
	if maxDiff > 1e-9 {
		t.Errorf("Go and Python RFM features differ by up to %g, want <= 1e-9", maxDiff)
	}

	t.Logf("silhouette picks k=%d here (%.4f); scikit-learn's silhouette_score (full data) picks k=%d %v",
		bestK, bestSil, sk.SilhouetteK, sk.Silhouette)
	for _, k := range []int{4, bestK} {
		want, ok := sk.Inertia[strconv.Itoa(k)]
		if !ok {
			t.Fatalf("no scikit-learn inertia for k=%d in %v", k, sk.Inertia)
		}
		ratio := inertia[k] / want
		t.Logf("k=%d inertia: go %.4f, scikit-learn %.4f, ratio %.5f", k, inertia[k], want, ratio)
		if ratio > 1.01 {
			t.Errorf("k=%d: our inertia %.4f is more than 1%% above scikit-learn's %.4f", k, inertia[k], want)
		}
	}
}

func readFeatureCSV(t *testing.T, path string) map[int64][3]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	m := make(map[int64][3]float64, len(recs))
	for _, r := range recs[1:] {
		id, err := strconv.ParseInt(r[0], 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		var row [3]float64
		for j := range row {
			if row[j], err = strconv.ParseFloat(r[j+1], 64); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		m[id] = row
	}
	return m
}

// TestOnlineRetailStats checks the cleaning on a hand-made file.
func TestOnlineRetailStats(t *testing.T) {
	const in = `InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
1,A,a,2,2011-01-01 10:00:00,5.0,100.0,UK
1,A,a,2,2011-01-01 10:00:00,5.0,100.0,UK
2,B,b,1,2011-02-01 10:00:00,3.0,100.0,UK
C3,A,a,-1,2011-03-01 10:00:00,5.0,100.0,UK
4,A,a,1,2011-03-05 10:00:00,0,100.0,UK
5,A,a,1,2011-01-10 10:00:00,2.5,,UK
C6,A,a,-3,2011-02-10 10:00:00,4.0,200.0,UK
7,Z,z,4,2011-01-15 09:00:00,1.0,300.0,FR
`
	stats, asOf, err := onlineRetailStats(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	// 100: invoices 1 (duplicate row dropped) and 2, spend 10+3-5 = 8, last 2011-02-01.
	// 200: only a cancellation, left out. 300: one order of 4.
	want := []crm.CustomerStats{
		{CustomerID: 100, Orders: 2, Monetary: 8, LastOrder: time.Date(2011, 2, 1, 10, 0, 0, 0, time.UTC)},
		{CustomerID: 300, Orders: 1, Monetary: 4, LastOrder: time.Date(2011, 1, 15, 9, 0, 0, 0, time.UTC)},
	}
	if len(stats) != len(want) {
		t.Fatalf("got %d customers %+v, want %d", len(stats), stats, len(want))
	}
	for i, w := range want {
		g := stats[i]
		if g.CustomerID != w.CustomerID || g.Orders != w.Orders || g.Monetary != w.Monetary || !g.LastOrder.Equal(w.LastOrder) {
			t.Errorf("customer %d: got orders %d spend %v last %v, want %d %v %v",
				w.CustomerID, g.Orders, g.Monetary, g.LastOrder, w.Orders, w.Monetary, w.LastOrder)
		}
	}
	// The latest kept row is the cancellation on 2011-03-01 (the 03-05
	// row has price 0 and is dropped).
	if want := time.Date(2011, 3, 2, 10, 0, 0, 0, time.UTC); !asOf.Equal(want) {
		t.Errorf("asOf %v, want %v", asOf, want)
	}
}
