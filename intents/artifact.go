package intents

import (
	"bytes"
	"compress/flate"
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
//	14+H    4     payload length P before compression, uint32
//	                little-endian (<= MaxArtifactBytes)
//	18+H    Z     payload: the model family's weights (see its package
//	                doc), compressed with DEFLATE (RFC 1951)
//	18+H+Z  4     CRC-32 (IEEE) of every preceding byte, little-endian
//
// The header stays uncompressed so tools can read it without inflating
// the weights. Compression halves the built-in models (tree structure and
// sparse index lists compress well, float weights less so). The checksum
// makes a truncated or corrupted file an error at load time instead of a
// model that silently predicts garbage; the declared length bounds what
// inflating may produce, so a small forged file cannot expand without
// limit.

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
	var raw bytes.Buffer
	if err := payload(&raw); err != nil {
		return 0, fmt.Errorf("write %s model: %w", h.Kind, err)
	}
	if raw.Len() > MaxArtifactBytes {
		return 0, fmt.Errorf("write %s model: payload of %d bytes exceeds %d", h.Kind, raw.Len(), MaxArtifactBytes)
	}
	var out bytes.Buffer
	var pre [14]byte
	copy(pre[:8], magic[:])
	binary.LittleEndian.PutUint16(pre[8:], FormatVersion)
	binary.LittleEndian.PutUint32(pre[10:], uint32(len(hj)))
	out.Write(pre[:])
	out.Write(hj)
	var plen [4]byte
	binary.LittleEndian.PutUint32(plen[:], uint32(raw.Len()))
	out.Write(plen[:])
	zw, err := flate.NewWriter(&out, flate.BestCompression)
	if err != nil {
		return 0, err
	}
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return 0, err
	}
	if err := zw.Close(); err != nil {
		return 0, err
	}
	var sum [4]byte
	binary.LittleEndian.PutUint32(sum[:], crc32.ChecksumIEEE(out.Bytes()))
	out.Write(sum[:])
	n, err := w.Write(out.Bytes())
	if err != nil {
		return int64(n), fmt.Errorf("write %s model: %w", h.Kind, err)
	}
	return int64(n), nil
}

// ReadArtifact reads a whole artifact, verifies its magic, version,
// checksum and kind (wantKind "" accepts any), and returns the header
// and the inflated payload bytes.
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
	if len(data) < 22 {
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
	if hl > MaxHeaderBytes || int(hl) > len(body)-18 {
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
	plen := binary.LittleEndian.Uint32(body[14+hl:])
	if plen > MaxArtifactBytes {
		return h, nil, fmt.Errorf("%w: payload length %d", ErrCorrupt, plen)
	}
	zr := flate.NewReader(bytes.NewReader(body[18+hl:]))
	defer zr.Close()
	// Grow with what inflates, never to the declared length up front.
	payload, err := io.ReadAll(io.LimitReader(zr, int64(plen)+1))
	if err != nil {
		return h, nil, fmt.Errorf("%w: payload: %v", ErrCorrupt, err)
	}
	if len(payload) != int(plen) {
		return h, nil, fmt.Errorf("%w: payload inflates to %d bytes, header says %d", ErrCorrupt, len(payload), plen)
	}
	return h, payload, nil
}

// CheckLabels verifies that a payload's label count matches its header.
func (h Header) CheckLabels(n int) error {
	if n != len(h.Labels) {
		return fmt.Errorf("%w: %d classes in weights, %d labels in header", ErrCorrupt, n, len(h.Labels))
	}
	return nil
}
