package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzConfigFile feeds arbitrary bytes to the YAML configuration
// loader: it must never panic, and every problem it reports names the
// file, so an operator can find it.
func FuzzConfigFile(f *testing.F) {
	for _, s := range []string{
		"",
		"addr: localhost:9000\nmodel-poll: 5s\n",
		"model-poll: soon\nnope: 1\n",
		"- a\n- b\n",
		"addr: [1, 2]\n",
		"addr: &a x\ndb: *a\n",
		"config: other.yml\n",
		"\"log-format\": json\n",
		"a: {b: {c: d}}\n",
		"\xff\xfe: \x00\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "parley.yml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var cfg serveConfig
		fs := serveFlags(&cfg, io.Discard)
		errs := applyFile(fs, path, func(string) bool { return false }, map[string]string{})
		for _, err := range errs {
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error does not name the file: %v", err)
			}
		}
	})
}
