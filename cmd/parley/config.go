package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/parley-chat/parley/bot/slackbot"
)

// envName is the environment variable of a setting: PARLEY_MODEL_POLL
// for --model-poll.
func envName(flagName string) string {
	return "PARLEY_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyConfig fills the settings not given as flags from the
// environment (PARLEY_<NAME>) and then the --config YAML file, and
// checks the whole configuration: every problem is reported at once,
// each with where it came from (file:line, variable, flag).
func applyConfig(fs *flag.FlagSet, getenv func(string) string) error {
	explicit := map[string]bool{}
	source := map[string]string{} // where each setting came from, for the errors
	fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true; source[f.Name] = "--" + f.Name })
	var errs []error
	path := fs.Lookup("config").Value.String()
	if path == "" {
		path = getenv(envName("config"))
	}
	fromEnv := map[string]bool{}
	fs.VisitAll(func(f *flag.Flag) {
		v := getenv(envName(f.Name))
		if v == "" || explicit[f.Name] || f.Name == "config" {
			return
		}
		fromEnv[f.Name] = true
		source[f.Name] = envName(f.Name)
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", envName(f.Name), err))
		}
	})
	if path != "" {
		errs = append(errs, applyFile(fs, path, func(name string) bool { return explicit[name] || fromEnv[name] }, source)...)
	}
	get := func(name string) string { return fs.Lookup(name).Value.String() }
	from := func(name string) string {
		if src, ok := source[name]; ok {
			return src + ": "
		}
		return ""
	}
	if (get("tls-cert") == "") != (get("tls-key") == "") {
		errs = append(errs, errors.New("tls-cert and tls-key go together"))
	}
	for _, name := range []string{"tls-cert", "tls-key", "policy", "model", "sentiment-model"} {
		if p := get(name); p != "" {
			if _, err := os.Stat(p); err != nil {
				errs = append(errs, fmt.Errorf("%s%s: %w", from(name), name, err))
			}
		}
	}
	if f := get("log-format"); f != "" && f != "text" && f != "json" {
		errs = append(errs, fmt.Errorf("%slog-format %q: want text or json", from("log-format"), f))
	}
	errs = append(errs, checkLimits(get, from)...)
	errs = append(errs, protectionProblems(get, from)...)
	if _, _, err := slackbot.ConfigFromEnv(getenv); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, checkAutocert(fs, source)...)
	if len(errs) > 0 {
		return fmt.Errorf("the configuration has %d problem(s):\n%w", len(errs), errors.Join(errs...))
	}
	return nil
}

// applyFile sets from a YAML mapping the settings skip does not claim.
func applyFile(fs *flag.FlagSet, path string, skip func(string) bool, source map[string]string) []error {
	b, err := os.ReadFile(path)
	if err != nil {
		return []error{fmt.Errorf("config: %w", err)}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return []error{fmt.Errorf("%s: %w", path, err)}
	}
	if len(doc.Content) == 0 {
		return nil // an empty file
	}
	m := doc.Content[0]
	if m.Kind != yaml.MappingNode {
		return []error{fmt.Errorf("%s:%d: want a mapping of settings (name: value)", path, m.Line)}
	}
	var errs []error
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		switch {
		case k.Value == "config" || fs.Lookup(k.Value) == nil:
			errs = append(errs, fmt.Errorf("%s:%d: unknown setting %q (the names are serve's flags: parley serve -h)", path, k.Line, k.Value))
		case v.Kind != yaml.ScalarNode:
			errs = append(errs, fmt.Errorf("%s:%d: %s: want a single value", path, v.Line, k.Value))
		case skip(k.Value):
		default:
			source[k.Value] = fmt.Sprintf("%s:%d", path, v.Line)
			if err := fs.Set(k.Value, v.Value); err != nil {
				errs = append(errs, fmt.Errorf("%s:%d: %s: %w", path, v.Line, k.Value, err))
			}
		}
	}
	return errs
}

// configCommand is `parley config print`: the effective configuration
// of `parley serve` with the same arguments, secrets masked.
type configCommand struct{ stdout, stderr io.Writer }

func (c *configCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "print" {
		fmt.Fprintln(c.stderr, "Usage: parley config print [serve's flags, e.g. --config FILE]\n\nPrints the settings serve would run with (flags over PARLEY_* variables over the file), secrets masked.")
		return errUsage
	}
	var cfg serveConfig
	fs := serveFlags(&cfg, c.stderr)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if err := applyConfig(fs, os.Getenv); err != nil {
		return err
	}
	var lines []string
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name != "config" {
			lines = append(lines, fmt.Sprintf("%s: %q", f.Name, f.Value.String()))
		}
	})
	for _, k := range []string{slackbot.EnvBotToken, slackbot.EnvAppToken, slackbot.EnvSigningSecret, slackbot.EnvStaffChannel} {
		v := os.Getenv(k)
		switch {
		case v == "":
			v = "(not set)"
		case k != slackbot.EnvStaffChannel:
			v = "****** (set)"
		}
		lines = append(lines, fmt.Sprintf("# %s: %s", k, v))
	}
	sort.Strings(lines)
	_, err := fmt.Fprintln(c.stdout, strings.Join(lines, "\n"))
	return err
}
