package conversion

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Defaults bounding ReadCSV.
const (
	DefaultMaxCSVBytes   = 512 << 20
	DefaultMaxCategories = 1000
	MaxCSVColumns        = 1000
)

// CSVOptions says how ReadCSV turns a table into a Dataset.
type CSVOptions struct {
	// Target is the label column, mapped to bool: yes/no, true/false,
	// y/n, 1/0 (any case). "" reads an unlabelled dataset.
	Target string
	// Drop lists columns to leave out (each must exist, which catches
	// misspelt names).
	Drop []string
	// Categorical lists columns to one-hot encode even though their
	// values look numeric. Other columns are one-hot encoded when any
	// non-empty value is not a number.
	Categorical []string
	// MaxRows bounds the data rows (0: MaxRows); MaxBytes the input
	// (0: DefaultMaxCSVBytes); MaxCategories the distinct values of one
	// categorical column (0: DefaultMaxCategories).
	MaxRows       int
	MaxBytes      int64
	MaxCategories int
}

// ReadCSV reads a comma-separated table with a header row into a
// Dataset. Numeric columns become one feature each, named as in the
// header; a categorical column becomes one 0/1 feature per distinct value,
// named "column=value", in sorted value order, in the column's place.
// name (usually the file name) prefixes every error, which names the line
// of a malformed row: wrong field count, bad target, an empty or
// non-finite value in a numeric column.
func ReadCSV(r io.Reader, name string, o CSVOptions) (Dataset, error) {
	if o.MaxRows <= 0 || o.MaxRows > MaxRows {
		o.MaxRows = MaxRows
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxCSVBytes
	}
	if o.MaxCategories <= 0 {
		o.MaxCategories = DefaultMaxCategories
	}
	lr := &limitReader{r: r, limit: o.MaxBytes, left: o.MaxBytes}
	cr := csv.NewReader(bufio.NewReader(lr))
	cr.FieldsPerRecord = -1 // checked below, with a clearer message
	header, err := cr.Read()
	if err == io.EOF {
		return Dataset{}, fmt.Errorf("%s: %w: empty file, want a header row", name, ErrInvalidData)
	}
	if err != nil {
		return Dataset{}, csvError(name, err)
	}
	if len(header) > MaxCSVColumns {
		return Dataset{}, fmt.Errorf("%s:1: %w: %d columns, limit %d", name, ErrInvalidData, len(header), MaxCSVColumns)
	}
	col := make(map[string]int, len(header))
	for i, h := range header {
		h = strings.TrimSpace(h)
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		if h == "" {
			return Dataset{}, fmt.Errorf("%s:1: %w: column %d has no name", name, ErrInvalidData, i+1)
		}
		if _, dup := col[h]; dup {
			return Dataset{}, fmt.Errorf("%s:1: %w: column %q appears twice", name, ErrInvalidData, h)
		}
		header[i] = h
		col[h] = i
	}
	target := -1
	if o.Target != "" {
		i, ok := col[o.Target]
		if !ok {
			return Dataset{}, fmt.Errorf("%s:1: %w: no target column %q", name, ErrInvalidData, o.Target)
		}
		target = i
	}
	drop := make([]bool, len(header))
	for _, c := range o.Drop {
		i, ok := col[c]
		if !ok {
			return Dataset{}, fmt.Errorf("%s:1: %w: no column %q to drop", name, ErrInvalidData, c)
		}
		if i == target {
			return Dataset{}, fmt.Errorf("%s:1: %w: cannot drop the target column %q", name, ErrInvalidData, c)
		}
		drop[i] = true
	}
	categorical := make([]bool, len(header))
	for _, c := range o.Categorical {
		i, ok := col[c]
		if !ok {
			return Dataset{}, fmt.Errorf("%s:1: %w: no categorical column %q", name, ErrInvalidData, c)
		}
		categorical[i] = true
	}

	// First pass: read every row (bounded), the labels, and which columns
	// hold only numbers.
	var rows [][]string
	var lines []int
	var y []bool
	numeric := make([]bool, len(header))
	for i := range numeric {
		numeric[i] = !categorical[i] && i != target && !drop[i]
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Dataset{}, csvError(name, err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(header) {
			return Dataset{}, fmt.Errorf("%s:%d: %w: %d fields, header has %d", name, line, ErrInvalidData, len(rec), len(header))
		}
		if len(rows) == o.MaxRows {
			return Dataset{}, fmt.Errorf("%s:%d: %w: more than %d rows", name, line, ErrInvalidData, o.MaxRows)
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
			if numeric[i] && rec[i] != "" {
				// Out of range is still a number: it fails below as
				// infinite rather than turning the column categorical.
				if _, err := strconv.ParseFloat(rec[i], 64); err != nil && !errors.Is(err, strconv.ErrRange) {
					numeric[i] = false
				}
			}
		}
		if target >= 0 {
			v, ok := parseLabel(rec[target])
			if !ok {
				return Dataset{}, fmt.Errorf("%s:%d: %w: target %q is %q, want yes or no", name, line, ErrInvalidData, header[target], rec[target])
			}
			y = append(y, v)
		}
		rows = append(rows, rec)
		lines = append(lines, line)
	}

	// The columns' features: numeric ones as they are, categorical ones
	// one-hot over their sorted distinct values.
	type column struct {
		src    int
		levels map[string]int // nil for numeric; value -> offset
		first  int            // index of the column's first feature
	}
	var cols []column
	var names []string
	for i, h := range header {
		if i == target || drop[i] {
			continue
		}
		c := column{src: i, first: len(names)}
		if numeric[i] {
			names = append(names, h)
			cols = append(cols, c)
			continue
		}
		seen := map[string]bool{}
		var values []string
		for k, rec := range rows {
			if !seen[rec[i]] {
				if len(values) == o.MaxCategories {
					return Dataset{}, fmt.Errorf("%s:%d: %w: column %q has more than %d distinct values", name, lines[k], ErrInvalidData, h, o.MaxCategories)
				}
				seen[rec[i]] = true
				values = append(values, rec[i])
			}
		}
		slices.Sort(values)
		c.levels = make(map[string]int, len(values))
		for k, v := range values {
			c.levels[v] = k
			names = append(names, h+"="+v)
		}
		cols = append(cols, c)
	}
	if len(names) == 0 {
		return Dataset{}, fmt.Errorf("%s:1: %w: no feature columns", name, ErrInvalidData)
	}
	if err := checkNames(names); err != nil {
		return Dataset{}, fmt.Errorf("%s:1: %w", name, err)
	}

	// Second pass: the rows. One backing array keeps the rows compact.
	d := Dataset{Names: names, X: make([][]float64, len(rows)), Y: y}
	backing := make([]float64, len(rows)*len(names))
	for k, rec := range rows {
		x := backing[k*len(names) : (k+1)*len(names) : (k+1)*len(names)]
		for _, c := range cols {
			v := rec[c.src]
			if c.levels != nil {
				x[c.first+c.levels[v]] = 1
				continue
			}
			if v == "" {
				return Dataset{}, fmt.Errorf("%s:%d: %w: column %q is empty", name, lines[k], ErrInvalidData, header[c.src])
			}
			f, _ := strconv.ParseFloat(v, 64) // parsed in the first pass
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return Dataset{}, fmt.Errorf("%s:%d: %w: column %q is %s, want a finite number", name, lines[k], ErrInvalidData, header[c.src], v)
			}
			x[c.first] = f
		}
		d.X[k] = x
	}
	return d, nil
}

// parseLabel maps a target value to a label.
func parseLabel(s string) (v, ok bool) {
	switch strings.ToLower(s) {
	case "yes", "y", "true", "1":
		return true, true
	case "no", "n", "false", "0":
		return false, true
	}
	return false, false
}

// csvError turns a reader error into one naming file:line.
func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d: %w: %v", name, pe.Line, ErrInvalidData, pe.Err)
	}
	return fmt.Errorf("read %s: %w", name, err)
}

// limitReader fails, rather than ending quietly as io.LimitReader does,
// once more than left bytes are read: a truncated table would otherwise
// load as if it were whole.
type limitReader struct {
	r           io.Reader
	limit, left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, fmt.Errorf("%w: input exceeds %d bytes", ErrInvalidData, l.limit)
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, fmt.Errorf("%w: input exceeds %d bytes", ErrInvalidData, l.limit)
	}
	return n, err
}
