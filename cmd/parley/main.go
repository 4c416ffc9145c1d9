// Command parley is the Parley customer-service chatbot: its server and
// the tools to train, evaluate and try its models.
//
// Usage:
//
//	parley <command> [flags]
//
// Run "parley help" for the list of commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// command is one subcommand: its own flag set, run with the arguments
// after the command name.
type command interface {
	Run(ctx context.Context, args []string) error
}

// commands maps names to constructors; each gets the program's output
// streams so tests can capture them.
var commands = []struct {
	name, summary string
	make          func(stdout, stderr io.Writer) command
}{
	{"serve", "run the chat server on embedded defaults", func(o, e io.Writer) command { return &serveCommand{stdout: o, stderr: e} }},
	{"loadtest", "load a running server with concurrent chats; report throughput and latency", func(o, e io.Writer) command { return &loadCommand{stdout: o, stderr: e} }},
	{"train", "train an intent or sentiment model from a data file", func(o, e io.Writer) command { return &trainCommand{stdout: o, stderr: e} }},
	{"eval", "train on one file and measure on another, or cross-validate", func(o, e io.Writer) command { return &evalCommand{stdout: o, stderr: e} }},
	{"chat", "chat with the bot in the terminal", func(o, e io.Writer) command { return &chatCommand{stdin: os.Stdin, stdout: o, stderr: e} }},
	{"predict", "classify a message: intent, sentiment, entities", func(o, e io.Writer) command { return &predictCommand{stdout: o, stderr: e} }},
	{"kb", "search, check and evaluate the knowledge base", func(o, e io.Writer) command { return &kbCommand{stdout: o, stderr: e} }},
	{"data", "check a data file for malformed rows, duplicates and conflicting labels", func(o, e io.Writer) command { return &dataCommand{stdout: o, stderr: e} }},
	{"inbox", "review messages the bot understood badly; label them", func(o, e io.Writer) command { return &inboxCommand{stdout: o, stderr: e} }},
	{"compare", "compare two intent model versions on the held-out set", func(o, e io.Writer) command { return &compareCommand{stdout: o, stderr: e} }},
	{"models", "list model versions; promote one or roll back", func(o, e io.Writer) command { return &modelsCommand{stdout: o, stderr: e} }},
	{"demo-data", "fill the CRM with a deterministic synthetic history", func(o, e io.Writer) command { return &demoCommand{stdout: o, stderr: e} }},
	{"segment", "segment the CRM's customers; write the plot and profiles", func(o, e io.Writer) command { return &segmentCommand{stdout: o, stderr: e} }},
	{"score", "train the conversion model and store lead scores; --explain one", func(o, e io.Writer) command { return &scoreCommand{stdout: o, stderr: e} }},
	{"customer", "export or erase one customer's data", func(o, e io.Writer) command { return &customerCommand{stdout: o, stderr: e} }},
	{"config", "print the effective server configuration, secrets masked", func(o, e io.Writer) command { return &configCommand{stdout: o, stderr: e} }},
	{"users", "add, list, disable staff accounts for the console", func(o, e io.Writer) command { return &usersCommand{stdin: os.Stdin, stdout: o, stderr: e} }},
	{"backup", "write a consistent copy of the CRM", func(o, e io.Writer) command { return &backupCommand{stdout: o, stderr: e} }},
	{"retain", "expire old message text now, as serve's --retain-days does", func(o, e io.Writer) command { return &retainCommand{stdout: o, stderr: e} }},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(Main(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Main runs the program with args (without the program name) and returns
// the exit status: 0 on success, 2 for usage errors, 1 otherwise.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.make(stdout, stderr).Run(ctx, args[1:])
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, errUsage):
				return 2
			default:
				fmt.Fprintf(stderr, "parley %s: %v\n", args[0], err)
				return 1
			}
		}
	}
	fmt.Fprintf(stderr, "parley: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// errUsage marks errors already reported by a flag set.
var errUsage = errors.New("usage error")

func usage(w io.Writer) {
	fmt.Fprintln(w, "Parley: a customer-service chatbot.\n\nUsage: parley <command> [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun \"parley <command> -h\" for a command's flags.")
}

// parseFlags parses args, mapping flag errors to errUsage (the flag set
// has already printed them).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	return nil
}
