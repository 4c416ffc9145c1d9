package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A configuration with several problems is refused with all of them at
// once, each with where it came from.
func TestConfigProblemsAtOnce(t *testing.T) {
	cfg := writeFile(t, "parley.yml", "addr: 127.0.0.1:0\nmodel-poll: often\ncolour: blue\ntls-cert: /nonexistent/cert.pem\n")
	var errb bytes.Buffer
	cmd := &serveCommand{stdout: &errb, stderr: &errb, getenv: func(k string) string {
		return map[string]string{"PARLEY_LOG_FORMAT": "xml", "SLACK_BOT_TOKEN": "xoxb-1"}[k]
	}}
	err := cmd.Run(context.Background(), []string{"--config", cfg, "--db", filepath.Join(t.TempDir(), "x.db")})
	if err == nil {
		t.Fatal("serve started with a broken configuration")
	}
	for _, want := range []string{
		cfg + `:2: model-poll`, // a bad value, with its line
		cfg + `:3: unknown setting "colour"`,
		"tls-cert and tls-key go together",
		"PARLEY_LOG_FORMAT",
		"SLACK_STAFF_CHANNEL", // the partial Slack configuration
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not report %q:\n%v", want, err)
		}
	}
}

// Flags override PARLEY_* variables, which override the file; config
// print shows the result with secrets masked.
func TestConfigPrecedenceAndPrint(t *testing.T) {
	cfg := writeFile(t, "parley.yml", "addr: file:1\ndb: file.db\nmodel-poll: 9s\n")
	t.Setenv("PARLEY_DB", "env.db")
	t.Setenv("PARLEY_MODEL_POLL", "7s")
	t.Setenv("SLACK_BOT_TOKEN", "xoxb-secret-value")
	t.Setenv("SLACK_SIGNING_SECRET", "very-secret")
	t.Setenv("SLACK_STAFF_CHANNEL", "C0STAFF")
	var out, errb bytes.Buffer
	c := &configCommand{stdout: &out, stderr: &errb}
	if err := c.Run(context.Background(), []string{"print", "--config", cfg, "--model-poll", "5s"}); err != nil {
		t.Fatalf("config print: %v\n%s", err, errb.String())
	}
	got := out.String()
	for _, want := range []string{`addr: "file:1"`, `db: "env.db"`, `model-poll: "5s"`, "# SLACK_BOT_TOKEN: ****** (set)", "# SLACK_STAFF_CHANNEL: C0STAFF"} {
		if !strings.Contains(got, want) {
			t.Errorf("config print lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "xoxb-secret-value") || strings.Contains(got, "very-secret") {
		t.Errorf("config print shows a secret:\n%s", got)
	}
}
