package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-chat/parley/bot/console/auth"
	"github.com/parley-chat/parley/crm/sqlite"
)

func TestUsers(t *testing.T) {
	db := filepath.Join(t.TempDir(), "crm.db")
	users := func(stdin string, args ...string) (string, error) {
		var out, errb bytes.Buffer
		c := &usersCommand{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}
		err := c.Run(context.Background(), append(args, "--db", db))
		return out.String() + errb.String(), err
	}
	const pw = "a long enough secret phrase"
	if out, err := users(pw+"\n", "add", "--email", "Alice@Shop.Example", "--name", "Alice", "--role", "agent", "--password-stdin"); err != nil || !strings.Contains(out, "added alice@shop.example (agent)") {
		t.Fatalf("add: %v\n%s", err, out)
	}
	// Without a terminal or --password-stdin a password is generated and shown once.
	out, err := users("", "add", "--email", "root@shop.example", "--role", "admin")
	if err != nil || !strings.Contains(out, "password: ") {
		t.Fatalf("add with a generated password: %v\n%s", err, out)
	}
	generated := strings.Fields(out[strings.Index(out, "password: "):])[1]
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"duplicate", pw + "\n", []string{"add", "--email", "alice@shop.example", "--password-stdin"}, "has an account already"},
		{"bad role", pw + "\n", []string{"add", "--email", "x@shop.example", "--role", "boss", "--password-stdin"}, "want agent, analyst or admin"},
		{"weak password", "short\n", []string{"add", "--email", "y@shop.example", "--password-stdin"}, "12 to 256"},
		{"no email", "", []string{"disable"}, "--email is required"},
		{"unknown user", "", []string{"disable", "--email", "nobody@shop.example"}, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if out, err := users(tc.stdin, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("users %v: %v (%s), want an error with %q", tc.args, err, out, tc.want)
			}
		})
	}
	if _, err := users("", "disable", "--email", "alice@shop.example"); err != nil {
		t.Fatal(err)
	}
	out, err = users("", "list")
	if err != nil || !strings.Contains(out, "alice@shop.example") || !strings.Contains(out, "disabled") || !strings.Contains(out, "root@shop.example") {
		t.Errorf("list: %v\n%s", err, out)
	}
	// The passwords are stored hashed, never in clear: not in the database
	// file, nor in its write-ahead log.
	store, err := sqlite.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	root, err := store.StaffByEmail(context.Background(), "root@shop.example")
	store.Close()
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := auth.CheckPassword(root.PasswordHash, generated); !ok || err != nil {
		t.Errorf("the generated password does not match the stored hash: %v", err)
	}
	files, _ := filepath.Glob(db + "*")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if bytes.Contains(b, []byte(pw)) || bytes.Contains(b, []byte(generated)) {
			t.Errorf("%s holds a password in clear", f)
		}
	}
}
