package sqlite_test

import (
	"os"
	"testing"
)

// filepathAbs makes a directory that outlives the test, for -dump.
func filepathAbs(t testing.TB) (string, error) {
	return os.MkdirTemp("", "crm-sqlite-"+sanitize(t.Name())+"-")
}

func sanitize(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			b[i] = '_'
		}
	}
	return string(b)
}
