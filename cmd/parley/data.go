package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"

	"github.com/parley-chat/parley/intents"
)

type dataCommand struct{ stdout, stderr io.Writer }

// errDataProblems marks data files that load but have conflicting labels.
var errDataProblems = errors.New("conflicting labels")

func (c *dataCommand) Run(ctx context.Context, args []string) error {
	if len(args) > 0 {
		// export, import and check work on the CRM (training_cmds.go).
		if sub := dataSubcommand(args[0]); sub != nil {
			return sub(ctx, c.stdout, c.stderr, args[1:])
		}
	}
	fs := flag.NewFlagSet("data", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	counts := fs.Bool("counts", false, "also print the number of examples per label")
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "Usage: parley data [--counts] FILE|DIR...\n       parley data export|import|check ... (the CRM's training set; see parley data check -h)\n\nChecks data files: malformed rows (file:line), duplicate utterances and conflicting labels.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errUsage
	}
	var errs []error
	for _, path := range fs.Args() {
		d, err := loadData(path)
		if err != nil {
			fmt.Fprintf(c.stdout, "%v\n", err)
			errs = append(errs, err)
			continue
		}
		rep := intents.Check(d)
		fmt.Fprintf(c.stdout, "%s: %d examples\n", path, len(d.Examples))
		rep.WriteText(c.stdout)
		if *counts {
			labels := make([]string, 0, len(rep.Counts))
			for l := range rep.Counts {
				labels = append(labels, l)
			}
			slices.Sort(labels)
			for _, l := range labels {
				fmt.Fprintf(c.stdout, "  %-32s %d\n", l, rep.Counts[l])
			}
		}
		if len(rep.Conflicts) > 0 {
			errs = append(errs, fmt.Errorf("%s: %d %w", path, len(rep.Conflicts), errDataProblems))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d files have problems", len(errs), fs.NArg())
	}
	return nil
}
