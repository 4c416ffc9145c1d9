package intents

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"
)

// An artifact is a trained model on disk. Byte by byte:
//
//	offset  size  field
//	0       8     magic "PARLEYMD"
//	8       2     format version, uint16 little-endian (FormatVersion)
//	10      4     header length H, uint32 little-endian (<= MaxHeaderBytes)
//	14      H     header: JSON of Header
//	14+H    P     payload: the model family's weights (see its package doc)
//	14+H+P  4     CRC-32 (IEEE) of every preceding byte, little-endian
//
// The checksum makes a truncated or corrupted file an error at load
// time instead of a model that silently predicts garbage.

// FormatVersion is the artifact format this code writes and reads.
const FormatVersion = 1

// Bounds on artifacts read from disk.
const (
	MaxArtifactBytes = 1 << 30
	MaxHeaderBytes   = 16 << 20
)

var magic = [8]byte{'P', 'A', 'R', 'L', 'E', 'Y', 'M', 'D'}

// Errors reading artifacts. Callers use errors.Is.
var (
	ErrNotArtifact = errors.New("not a Parley model file")
	ErrVersion     = errors.New("unsupported model format version")
	ErrCorrupt     = errors.New("corrupt model file")
	ErrKind        = errors.New("wrong model kind")
)

// Header describes a trained model: enough to know what it is, what it
// was trained on and how, without reading its weights.
type Header struct {
	FormatVersion int `json:"format_version"`
	// Kind is the model family: "svm", "forest", "rnn" or "ensemble".
	Kind   string   `json:"kind"`
	Labels []string `json:"labels"`
	// Config holds the family's hyperparameters, features included.
	Config json.RawMessage `json:"config,omitempty"`
	// DataHash is Dataset.Hash of the training data.
	DataHash string `json:"data_hash"`
	Examples int    `json:"examples"`
	Seed     uint64 `json:"seed"`
	// Threshold is the out-of-scope threshold chosen on validation data
	// (0: none).
	Threshold float64            `json:"oos_threshold"`
	Metrics   map[string]float64 `json:"metrics,omitempty"`
	Created   time.Time          `json:"created"`
}

// WriteArtifact writes header and payload in the artifact format.
// payload writes the family's weights.
func WriteArtifact(w io.Writer, h Header, payload func(io.Writer) error) (int64, error) {
	h.FormatVersion = FormatVersion
	hj, err := json.Marshal(h)
	if err != nil {
		return 0, fmt.Errorf("encode model header: %w", err)
	}
	crc := crc32.NewIEEE()
	cw := &countWriter{w: io.MultiWriter(w, crc)}
	var pre [14]byte
	copy(pre[:8], magic[:])
	binary.LittleEndian.PutUint16(pre[8:], FormatVersion)
	binary.LittleEndian.PutUint32(pre[10:], uint32(len(hj)))
	cw.Write(pre[:])
	cw.Write(hj)
	if cw.err == nil {
		if err := payload(cw); err != nil {
			return cw.n, fmt.Errorf("write %s model: %w", h.Kind, err)
		}
	}
	var sum [4]byte
	binary.LittleEndian.PutUint32(sum[:], crc.Sum32())
	if cw.err == nil {
		n, err := w.Write(sum[:])
		cw.n += int64(n)
		cw.err = err
	}
	if cw.err != nil {
		return cw.n, fmt.Errorf("write %s model: %w", h.Kind, cw.err)
	}
	return cw.n, nil
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

// ReadArtifact reads a whole artifact, verifies its magic, version,
// checksum and kind (wantKind "" accepts any), and returns the header
// and the payload bytes.
func ReadArtifact(r io.Reader, wantKind string) (Header, []byte, error) {
	var h Header
	data, err := io.ReadAll(io.LimitReader(r, MaxArtifactBytes+1))
	if err != nil {
		return h, nil, fmt.Errorf("read model: %w", err)
	}
	if len(data) > MaxArtifactBytes {
		return h, nil, fmt.Errorf("%w: larger than %d bytes", ErrCorrupt, MaxArtifactBytes)
	}
	if len(data) < 8 || !bytes.Equal(data[:8], magic[:]) {
		return h, nil, ErrNotArtifact
	}
	if len(data) < 18 {
		return h, nil, fmt.Errorf("%w: truncated (%d bytes)", ErrCorrupt, len(data))
	}
	if v := binary.LittleEndian.Uint16(data[8:]); v != FormatVersion {
		return h, nil, fmt.Errorf("%w: file has version %d, this build reads %d", ErrVersion, v, FormatVersion)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return h, nil, fmt.Errorf("%w: checksum mismatch (truncated or modified)", ErrCorrupt)
	}
	hl := binary.LittleEndian.Uint32(data[10:])
	if hl > MaxHeaderBytes || int(hl) > len(body)-14 {
		return h, nil, fmt.Errorf("%w: header length %d", ErrCorrupt, hl)
	}
	if err := json.Unmarshal(body[14:14+hl], &h); err != nil {
		return h, nil, fmt.Errorf("%w: header: %v", ErrCorrupt, err)
	}
	if wantKind != "" && h.Kind != wantKind {
		return h, nil, fmt.Errorf("%w: file holds a %q model, want %q", ErrKind, h.Kind, wantKind)
	}
	if len(h.Labels) == 0 {
		return h, nil, fmt.Errorf("%w: header lists no labels", ErrCorrupt)
	}
	return h, body[14+hl:], nil
}

// CheckLabels verifies that a payload's label count matches its header.
func (h Header) CheckLabels(n int) error {
	if n != len(h.Labels) {
		return fmt.Errorf("%w: %d classes in weights, %d labels in header", ErrCorrupt, n, len(h.Labels))
	}
	return nil
}
