package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// depsPolicy is a statement of policy: which project packages each
// package may import, and which outside modules. The standard library is
// always allowed. The direction is
//
//	cmd -> bot/{slackbot,webchat} -> bot -> {intents, knowledge, crm} -> nlp
//
// with one package per heavy dependency (prose only in nlp, gorgonia only
// in intents/rnn (with gonum's BLAS, which gorgonia is built on),
// slack-go only in bot/slackbot, modernc sqlite only in
// crm/sqlite). DO NOT CHANGE THIS DATA TO FIX BUILDS: move the code
// instead, or change the design on purpose (and ../../shared/STYLE.md).
// A package missing from the map fails the test until it gets a rule.
var depsPolicy = map[string]struct {
	project  []string // project packages (relative to the module)
	external []string // outside import path prefixes
}{
	"nlp/binio":           {},
	"nlp":                 {project: []string{"nlp/binio"}, external: []string{"github.com/jdkato/prose/v2", "golang.org/x/text/"}},
	"intents":             {project: []string{"nlp", "nlp/binio"}, external: []string{"gopkg.in/yaml.v3"}},
	"intents/intentstest": {project: []string{"intents", "nlp"}},
	"intents/builtin":     {project: []string{"intents", "nlp", "nlp/binio"}},
	"intents/svm":         {project: []string{"intents", "nlp", "nlp/binio"}},
	"intents/forest":      {project: []string{"intents", "nlp", "nlp/binio"}},
	"intents/rnn":         {project: []string{"intents", "nlp", "nlp/binio"}, external: []string{"gorgonia.org/", "gonum.org/v1/gonum/blas"}},
	"intents/ensemble":    {project: []string{"intents", "intents/svm", "intents/forest", "intents/rnn", "nlp", "nlp/binio"}},
	"crm":                 {project: []string{"nlp"}},
	"crm/crmtest":         {project: []string{"crm", "nlp"}},
	"crm/sqlite":          {project: []string{"crm", "nlp"}, external: []string{"modernc.org/sqlite"}},
	"crm/segment":         {project: []string{"crm"}, external: []string{"gonum.org/v1/gonum/"}},
	"crm/conversion":      {project: []string{"crm"}, external: []string{"gonum.org/v1/gonum/"}},
	"crm/demo":            {project: []string{"crm"}},
	"knowledge":           {project: []string{"nlp"}, external: []string{"gopkg.in/yaml.v3"}},
	"bot":                 {project: []string{"intents", "knowledge", "crm", "nlp"}, external: []string{"gopkg.in/yaml.v3"}},
	"bot/api":             {project: []string{"bot", "bot/clientip", "bot/ratelimit", "crm", "nlp"}},
	"bot/webchat":         {project: []string{"bot", "bot/clientip", "bot/ratelimit", "crm", "nlp"}, external: []string{"github.com/coder/websocket"}},
	"bot/handoff":         {project: []string{"crm"}},
	"bot/ratelimit":       {},
	"bot/clientip":        {},
	"bot/metrics":         {project: []string{"bot", "crm"}, external: []string{"github.com/prometheus/client_golang/"}},
	"bot/console/auth":    {project: []string{"crm"}, external: []string{"golang.org/x/crypto/"}},
	"bot/console":         {project: []string{"bot/training", "bot", "bot/handoff", "bot/console/auth", "bot/console/charts", "crm", "knowledge"}},
	"bot/console/charts":  {},
	"bot/bottest":         {project: []string{"bot", "intents", "intents/builtin", "intents/ensemble", "knowledge"}},
	"bot/training":        {project: []string{"crm", "intents", "intents/builtin", "intents/ensemble", "nlp"}},
	// Slack stays at the edge: nothing but this package (and cmd) imports slack-go.
	"bot/slackbot":           {project: []string{"bot", "bot/handoff", "crm"}, external: []string{"github.com/slack-go/slack"}},
	"bot/slackbot/slackfake": {project: []string{}, external: []string{"github.com/slack-go/slack", "github.com/coder/websocket", "github.com/gorilla/websocket"}},
	"cmd/parley":             {project: []string{"*"}, external: []string{"*"}},
}

func TestDependencyDirection(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go command not found; the dependency policy needs go list")
	}
	cmd := exec.Command("go", "list", "-json", "github.com/parley-chat/parley/...")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	const module = "github.com/parley-chat/parley/"
	dec := json.NewDecoder(&out)
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		rel := strings.TrimPrefix(p.ImportPath, module)
		rule, ok := depsPolicy[rel]
		if !ok {
			t.Errorf("package %s has no rule in depsPolicy: add one that respects the dependency direction", rel)
			continue
		}
		for _, imp := range p.Imports {
			switch {
			case strings.HasPrefix(imp, module):
				dep := strings.TrimPrefix(imp, module)
				if dep == "cmd" || strings.HasPrefix(dep, "cmd/") {
					t.Errorf("%s imports %s: nothing imports cmd", rel, dep)
				} else if !slices.Contains(rule.project, dep) && !slices.Contains(rule.project, "*") {
					t.Errorf("%s imports %s, which the dependency policy forbids", rel, dep)
				}
			case !strings.Contains(strings.Split(imp, "/")[0], "."):
				// standard library
			default:
				allowed := slices.ContainsFunc(rule.external, func(pre string) bool {
					return pre == "*" || imp == pre || strings.HasPrefix(imp, pre)
				})
				if !allowed {
					t.Errorf("%s imports %s, an outside module the dependency policy does not allow there", rel, imp)
				}
			}
		}
	}
}
