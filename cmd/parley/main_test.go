package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// run calls Main as the binary would and returns its exit code and output.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

const (
	tinyTrain = "../../testdata/intents/tiny_train.csv"
	tinyTest  = "../../testdata/intents/tiny_test.csv"
	dataDir   = "../../testdata/data/"
)

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 0, "Commands:"},
		{[]string{"help"}, 0, "Commands:"},
		{[]string{"nonsense"}, 2, `unknown command "nonsense"`},
		{[]string{"train"}, 2, "Usage: parley train"},
		{[]string{"eval", "--train", tinyTrain}, 2, "Usage: parley eval"},
		{[]string{"predict"}, 2, "Usage: parley predict"},
		{[]string{"data"}, 2, "Usage: parley data"},
		{[]string{"train", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"eval", "--train", tinyTrain, "--folds", "1"}, 1, "need at least 2"},
		{[]string{"train", "--data", tinyTrain, "--model", "bayes", "--out", os.DevNull}, 1, `unknown model family "bayes"`},
	} {
		code, out, errOut := run(t, tc.args...)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("parley %v: exit %d, output %q; want exit %d and %q", tc.args, code, out+errOut, tc.code, tc.want)
		}
	}
}

// Train a model, then use it: predict, and the file is a valid model.
func TestTrainPredict(t *testing.T) {
	model := filepath.Join(t.TempDir(), "tiny.model")
	code, out, errOut := run(t, "train", "-q", "--data", tinyTrain, "--model", "svm", "--out", model)
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "trained svm on 60 examples, 8 labels") || !strings.Contains(out, "wrote "+model) {
		t.Errorf("train output %q lacks the summary", out)
	}
	code, out, errOut = run(t, "predict", "--model", model, "--json", "where is my order 48213?")
	if code != 0 {
		t.Fatalf("predict: exit %d: %s", code, errOut)
	}
	var a analysis
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatalf("predict --json output %q: %v", out, err)
	}
	if a.Intent.Label != "order_status" || a.Model != "svm" || a.Sentiment.Label == "" {
		t.Errorf("predict = %+v, want order_status from the svm, with a sentiment", a)
	}
	if len(a.Entities) != 1 || a.Entities[0].Kind != "order_id" || a.Entities[0].Value != "48213" {
		t.Errorf("entities %+v, want the order id 48213", a.Entities)
	}
	// The text form says the same.
	code, out, _ = run(t, "predict", "--model", model, "where is my order 48213?")
	if code != 0 || !strings.Contains(out, "intent        order_status") || !strings.Contains(out, `order_id "48213"`) {
		t.Errorf("predict (text): exit %d, output %q", code, out)
	}
	// Bad input: a clear error, no panic.
	for _, text := range []string{"", "   ", strings.Repeat("a", 9000)} {
		if code, _, errOut := run(t, "predict", "--model", model, text); code != 1 || !strings.Contains(errOut, "cannot classify") {
			t.Errorf("predict %.20q: exit %d, stderr %q; want 1 and a clear error", text, code, errOut)
		}
	}
	// A corrupt model file is an error that names the file.
	bad := filepath.Join(t.TempDir(), "bad.model")
	b, _ := os.ReadFile(model)
	os.WriteFile(bad, b[:len(b)/2], 0o644)
	if code, _, errOut := run(t, "predict", "--model", bad, "hello"); code != 1 || !strings.Contains(errOut, bad) || !strings.Contains(errOut, "corrupt") {
		t.Errorf("predict with a truncated model: exit %d, stderr %q", code, errOut)
	}
	// Train from a directory of data files.
	dir := t.TempDir()
	for _, f := range []string{tinyTrain, "../../testdata/intents/tiny_oos.csv"} {
		b, _ := os.ReadFile(f)
		os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o644)
	}
	if code, out, errOut := run(t, "train", "-q", "--data", dir, "--model", "svm", "--out", model); code != 0 || !strings.Contains(out, "70 examples, 9 labels") {
		t.Errorf("train --data DIR: exit %d, %q %q", code, out, errOut)
	}
}

func TestPredictBuiltin(t *testing.T) {
	code, out, errOut := run(t, "predict", "--json", "where is my order A-771204, this is ridiculous, two weeks late")
	if code != 0 {
		t.Fatalf("predict: exit %d: %s", code, errOut)
	}
	var a analysis
	if err := json.Unmarshal([]byte(out), &a); err != nil {
		t.Fatal(err)
	}
	if a.Intent.Label != "order_status" || a.Model != "ensemble" || a.Sentiment.Label != "negative" || a.Sentiment.Score > -0.5 {
		t.Errorf("built-in predict = %+v, want order_status from the ensemble, clearly negative", a)
	}
	if code, out, _ := run(t, "predict", "--json", "who won the world cup in 2018"); code != 0 || !strings.Contains(out, `"out_of_scope": true`) {
		t.Errorf("an out-of-scope question: exit %d, %s", code, out)
	}
}

func TestEvalJSON(t *testing.T) {
	for _, args := range [][]string{
		{"--test", tinyTest},
		{"--folds", "3"},
	} {
		code, out, errOut := run(t, append([]string{"eval", "--train", tinyTrain, "--model", "svm", "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("eval %v: exit %d: %s", args, code, errOut)
		}
		var res map[string]any
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("eval %v: %v in %q", args, err, out)
		}
		want := []string{"accuracy", "macro_f1", "ece", "train_seconds", "predict_p50_us", "predict_p99_us", "peak_rss_mb"}
		if args[0] == "--test" {
			want = append(want, "in_scope_accuracy", "oos_recall", "in_scope_label_accuracy") // the test file has oos
		}
		for _, k := range want {
			if _, ok := res[k]; !ok {
				t.Errorf("eval %v --json lacks %q: %s", args, k, out)
			}
		}
		if acc, _ := res["accuracy"].(float64); acc < 0.5 {
			t.Errorf("eval %v: accuracy %v", args, acc)
		}
	}
}

func TestData(t *testing.T) {
	for _, tc := range []struct {
		file string
		code int
		want string
	}{
		{"good.csv", 0, "0 conflicts"},
		{"nlu.yml", 0, "labels"},
		{"bad_quote.csv", 1, "bad_quote.csv:"},
		{"invalid_utf8.csv", 1, "invalid UTF-8"},
		{"bad_json.jsonl", 1, "bad_json.jsonl:"},
		{"syntax.yml", 1, "syntax.yml:"},
		{"data.txt", 1, "unknown format"},
		{"missing.csv", 1, "no such file"},
	} {
		code, out, errOut := run(t, "data", dataDir+tc.file)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("parley data %s: exit %d, output %q; want exit %d and %q", tc.file, code, out+errOut, tc.code, tc.want)
		}
	}
	// Conflicting labels are reported with both lines and fail the check.
	f := filepath.Join(t.TempDir(), "conflict.csv")
	os.WriteFile(f, []byte("text,label\nwhere is my order,order_status\nWhere is my order,cancel_order\n"), 0o644)
	code, out, _ := run(t, "data", "--counts", f)
	if code != 1 || !strings.Contains(out, "conflict.csv:2 (order_status) "+f+":3 (cancel_order)") || !strings.Contains(out, "order_status") {
		t.Errorf("data on a conflict: exit %d, output %q", code, out)
	}
}

// startServer runs `parley serve` with args on a free port until the
// test ends (or stop is called), and returns its base URL.
func startServer(t *testing.T, args ...string) (base string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	var logs bytes.Buffer
	cmd := &serveCommand{stdout: io.Discard, stderr: &logs, listening: func(a string) { addrc <- a }}
	go func() { done <- cmd.Run(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...)) }()
	select {
	case a := <-addrc:
		base = "http://" + a
	case err := <-done:
		cancel()
		t.Fatalf("serve exited: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatal("server did not start")
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
	t.Cleanup(stop)
	return base, stop
}

type apiReply struct {
	ConversationID int64 `json:"conversation_id"`
	Replies        []struct {
		Text         string   `json:"text"`
		QuickReplies []string `json:"quick_replies"`
	} `json:"replies"`
	Intent struct {
		Name       string  `json:"name"`
		Confidence float64 `json:"confidence"`
	} `json:"intent"`
	Sentiment struct {
		Label string  `json:"label"`
		Score float64 `json:"score"`
	} `json:"sentiment"`
	Escalated bool   `json:"escalated"`
	Error     string `json:"error"`
}

func postMessage(t *testing.T, base, body string) (int, apiReply) {
	t.Helper()
	status, r, err := sendMessage(base, body)
	if err != nil {
		t.Fatal(err)
	}
	return status, r
}

// sendMessage posts a message to the REST API (from any goroutine).
func sendMessage(base, body string) (int, apiReply, error) {
	resp, err := http.Post(base+"/api/v1/messages", "application/json", strings.NewReader(body))
	if err != nil {
		return 0, apiReply{}, err
	}
	defer resp.Body.Close()
	var r apiReply
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return resp.StatusCode, r, fmt.Errorf("response is not JSON: %v", err)
	}
	return resp.StatusCode, r, nil
}

// TestServe drives `parley serve` over HTTP on a fresh CRM file: a
// conversation with slot filling, a redelivery, bad requests, and a
// restart that finds the conversation where it was.
func TestServe(t *testing.T) {
	db := filepath.Join(t.TempDir(), "crm.db")
	base, stop := startServer(t, "--db", db)

	status, r := postMessage(t, base, `{"customer_id":"c1","text":"where is my order?","client_msg_id":"m1"}`)
	if status != 200 || r.Intent.Name != "order_status" || len(r.Replies) != 1 || !strings.Contains(r.Replies[0].Text, "order number") {
		t.Fatalf("first message: %d %+v, want a question for the order number", status, r)
	}
	conv := r.ConversationID
	status, r = postMessage(t, base, fmt.Sprintf(`{"customer_id":"c1","text":"A-771204","client_msg_id":"m2","conversation_id":%d}`, conv))
	if status != 200 || r.ConversationID != conv || !strings.Contains(r.Replies[0].Text, "A-771204") {
		t.Fatalf("second message: %d %+v, want the answer for order A-771204", status, r)
	}
	answer := r.Replies[0].Text
	// A redelivery gets the same reply.
	if status, again := postMessage(t, base, `{"customer_id":"c1","text":"A-771204","client_msg_id":"m2"}`); status != 200 || again.Replies[0].Text != answer {
		t.Errorf("redelivery: %d %+v, want the first reply", status, again)
	}
	for _, tc := range []struct {
		body   string
		status int
	}{
		{`not json`, 400},
		{`{"customer_id":"c1","text":"","client_msg_id":"m9"}`, 400},
		{`{"customer_id":"c1","text":"hi"}`, 400},
		{`{"customer_id":"c1","text":"hi","client_msg_id":"m9","conversation_id":12345}`, 404},
		{`{"customer_id":"c1","text":"` + strings.Repeat("a", 9000) + `","client_msg_id":"m9"}`, 413},
	} {
		if status, r := postMessage(t, base, tc.body); status != tc.status || r.Error == "" {
			t.Errorf("POST %.40q: %d %+v, want %d with an error", tc.body, status, r, tc.status)
		}
	}
	// Ask for a person, then restart: the conversation is still theirs.
	if status, r := postMessage(t, base, `{"customer_id":"c1","text":"I want to talk to a human","client_msg_id":"m3"}`); status != 200 || !r.Escalated {
		t.Fatalf("asking for a person: %d %+v", status, r)
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("GET /healthz: %v %v", resp, err)
	}
	stop()

	base, _ = startServer(t, "--db", db)
	status, r = postMessage(t, base, `{"customer_id":"c1","text":"hello? is anyone there","client_msg_id":"m4"}`)
	if status != 200 || r.ConversationID != conv || len(r.Replies) != 0 || !r.Escalated {
		t.Errorf("after a restart: %d %+v, want the escalated conversation %d, the bot silent", status, r, conv)
	}
	status, r = postMessage(t, base, `{"customer_id":"c2","text":"how much is shipping","client_msg_id":"n1"}`)
	if status != 200 || r.Intent.Name != "shipping_cost" {
		t.Errorf("a new customer after the restart: %d %+v", status, r)
	}
}

// A broken policy or knowledge base stops the server at start, naming
// the file and line.
func TestServeRefusesBrokenFiles(t *testing.T) {
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yml")
	os.WriteFile(policy, []byte("thresholds:\n  answer: 2\n"), 0o644)
	kb := filepath.Join(dir, "kb")
	os.Mkdir(kb, 0o755)
	os.WriteFile(filepath.Join(kb, "broken.md"), []byte("---\nid: broken\ntitle: [unclosed\n---\nbody\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--policy", policy}, policy + ":2"},
		{[]string{"--kb", kb}, "broken.md:"},
		{[]string{"--model", filepath.Join(dir, "missing.model")}, "missing.model"},
	} {
		code, _, errOut := run(t, append([]string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "crm.db")}, tc.args...)...)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("serve %v: exit %d, %q; want exit 1 naming %s", tc.args, code, errOut, tc.want)
		}
	}
}

// TestCRMCommands drives the CRM tools end to end on a real SQLite file:
// synthetic data, segmentation, lead scoring and its explanation, export,
// backup and erasure.
func TestCRMCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "crm.db")
	mustRun := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(t, args...)
		if code != 0 {
			t.Fatalf("parley %v: exit %d\n%s%s", args, code, out, errOut)
		}
		return out
	}
	out := mustRun("demo-data", "--db", db, "--customers", "400", "--end", "2026-06-01", "--seed", "3")
	if !strings.Contains(out, "400 customers") {
		t.Errorf("demo-data: %q", out)
	}
	// Idempotent: a second run adds nothing.
	if out := mustRun("demo-data", "--db", db, "--customers", "400", "--end", "2026-06-01", "--seed", "3"); !strings.Contains(out, "already there") || strings.Contains(out, "; 0 already there") {
		t.Errorf("second demo-data run: %q, want everything already there", out)
	}

	svg, table := filepath.Join(dir, "seg.svg"), filepath.Join(dir, "seg.md")
	mustRun("segment", "--db", db, "--as-of", "2026-06-01", "--svg", svg, "--table", table)
	for _, f := range []string{svg, table} {
		if b, err := os.ReadFile(f); err != nil || len(b) < 200 {
			t.Errorf("segment output %s: %d bytes, %v", f, len(b), err)
		}
	}
	if b, _ := os.ReadFile(table); !strings.Contains(string(b), "| S1 |") {
		t.Errorf("profile table lacks segment S1:\n%s", b)
	}

	out = mustRun("score", "--db", db, "--as-of", "2026-06-01")
	if !strings.Contains(out, "ROC AUC") || !strings.Contains(out, "scored") {
		t.Errorf("score: %q", out)
	}
	out = mustRun("score", "--db", db, "--as-of", "2026-06-01", "--explain", "5")
	if !strings.Contains(out, "lead score") || !strings.Contains(out, "effect") {
		t.Errorf("score --explain: %q", out)
	}

	out = mustRun("customer", "export", "5", "--db", db)
	var x struct {
		Customer struct {
			ID        int64   `json:"id"`
			Segment   string  `json:"segment"`
			LeadScore float64 `json:"lead_score"`
		} `json:"customer"`
		Conversations []json.RawMessage `json:"conversations"`
	}
	if err := json.Unmarshal([]byte(out), &x); err != nil {
		t.Fatalf("export is not JSON: %v\n%s", err, out)
	}
	if x.Customer.ID != 5 || x.Customer.Segment == "" || x.Customer.LeadScore == 0 || len(x.Conversations) == 0 {
		t.Errorf("export of customer 5: %+v with %d conversations, want its segment, lead score and conversations", x.Customer, len(x.Conversations))
	}

	backup := filepath.Join(dir, "backup.db")
	mustRun("backup", backup, "--db", db)
	if code, _, errOut := run(t, "backup", backup, "--db", db); code != 1 || !strings.Contains(errOut, "exists") {
		t.Errorf("backup over an existing file: exit %d, %q; want a refusal", code, errOut)
	}
	// The backup is a working CRM.
	if out := mustRun("customer", "export", "5", "--db", backup); !strings.Contains(out, `"id": 5`) {
		t.Errorf("export from the backup: %q", out)
	}

	mustRun("customer", "delete", "5", "--yes", "--db", db)
	if code, _, errOut := run(t, "customer", "export", "5", "--db", db); code != 1 || !strings.Contains(errOut, "not found") {
		t.Errorf("export after delete: exit %d, %q; want not found", code, errOut)
	}
	for _, args := range [][]string{
		{"customer", "export", "abc", "--db", db},
		{"customer", "frobnicate", "5", "--db", db},
		{"score", "--db", db, "--model", "bayes"},
		{"score", "--db", db, "--horizon", "soon"},
		{"segment", "--db", db, "--method", "magic"},
	} {
		if code, _, _ := run(t, args...); code == 0 {
			t.Errorf("parley %v succeeded, want an error", args)
		}
	}
}

func TestKB(t *testing.T) {
	code, out, errOut := run(t, "kb", "search", "-k", "3", "can I send back a jacket I bought on sale")
	if code != 0 || !strings.Contains(out, "return-policy") || strings.Count(out, "\n") != 4 {
		t.Errorf("kb search: exit %d, %q %q", code, out, errOut)
	}
	if code, out, _ := run(t, "kb", "check"); code != 0 || !strings.Contains(out, "0 errors") {
		t.Errorf("kb check (built-in): exit %d, %q", code, out)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.md"), []byte("---\nid: a\ntitle: A\nanswer: x\nintents: [order_status]\n---\nbody\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.md"), []byte("---\nid: a\ntitle: B\nanswer: y\n---\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "c.md"), []byte("---\nid: c\ntitle: [oops\n---\n"), 0o644)
	code, out, _ = run(t, "kb", "check", dir)
	if code != 1 || !strings.Contains(out, "b.md:2") || !strings.Contains(out, "c.md:") || !strings.Contains(out, "duplicate") {
		t.Errorf("kb check on a broken directory: exit %d, %q; want the duplicate id and the syntax error with file:line", code, out)
	}
	if code, out, _ := run(t, "kb", "eval", "--split", "dev"); code != 0 || !strings.Contains(out, "hybrid") || !strings.Contains(out, "R@1") {
		t.Errorf("kb eval: exit %d, %q", code, out)
	}
	if code, _, _ := run(t, "kb", "frobnicate"); code != 2 {
		t.Errorf("kb frobnicate: exit %d, want 2", code)
	}
}

func TestChat(t *testing.T) {
	var out bytes.Buffer
	c := &chatCommand{stdin: strings.NewReader("hi\nmy account\n2\n\n/quit\n"), stdout: &out, stderr: io.Discard}
	if err := c.Run(context.Background(), []string{"--debug"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"How can I help", "[intent greeting", "[1] Delete my account", "(My account is locked)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("chat output lacks %q:\n%s", want, out.String())
		}
	}
}
