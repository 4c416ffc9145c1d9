package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/parley-chat/parley/intents/builtin"
	"github.com/parley-chat/parley/knowledge"
	"github.com/parley-chat/parley/nlp"
)

type kbCommand struct{ stdout, stderr io.Writer }

func (c *kbCommand) usage() {
	fmt.Fprintln(c.stderr, `Usage:
  parley kb search [--kb DIR] [--mode hybrid|bm25|embedding] [-k N] "question"
  parley kb check [DIR]            validate articles (default: the built-in knowledge base)
  parley kb eval [--kb DIR] [--questions FILE] [--split test|dev|all]
                                    Recall@1/@5 and MRR for BM25, embeddings and hybrid`)
}

func (c *kbCommand) Run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		c.usage()
		return errUsage
	}
	switch args[0] {
	case "search":
		return c.search(args[1:])
	case "check":
		return c.check(args[1:])
	case "eval":
		return c.eval(args[1:])
	case "-h", "--help", "help":
		c.usage()
		return nil
	}
	c.usage()
	return errUsage
}

// index loads the knowledge base (dir, or the built-in one) and indexes
// it with the built-in intent model's RNN embeddings.
func (c *kbCommand) index(dir string) (*knowledge.Index, error) {
	var base *knowledge.Base
	var err error
	if dir == "" {
		base, err = knowledge.Builtin()
	} else {
		base, err = knowledge.Load(os.DirFS(dir), ".")
	}
	if err != nil {
		return nil, fmt.Errorf("knowledge base: %w", err)
	}
	m, err := loadModel("", builtin.IntentModel)
	if err != nil {
		return nil, err
	}
	return knowledge.NewIndex(base, embedderOf(m), knowledge.DefaultIndexConfig())
}

func (c *kbCommand) search(args []string) error {
	fs := flag.NewFlagSet("kb search", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	dir := fs.String("kb", "", "knowledge base directory (default: the built-in one)")
	modeName := fs.String("mode", "hybrid", "hybrid, bm25 or embedding")
	k := fs.Int("k", 5, "how many articles to show")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		c.usage()
		return errUsage
	}
	mode, err := knowledge.ParseMode(*modeName)
	if err != nil {
		return err
	}
	ix, err := c.index(*dir)
	if err != nil {
		return err
	}
	doc, err := nlp.Parse(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("cannot search for this: %w", err)
	}
	hits := ix.Search(doc, *k, nil, mode)
	if len(hits) == 0 {
		fmt.Fprintln(c.stdout, "no article matches")
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "rank\tscore\tbm25\tcosine\tarticle\ttitle\n")
	for i, h := range hits {
		fmt.Fprintf(tw, "%d\t%.3f\t%.2f\t%.3f\t%s\t%s\n", i+1, h.Score, h.BM25, h.Embedding, h.Article.ID, h.Article.Title)
	}
	return tw.Flush()
}

func (c *kbCommand) check(args []string) error {
	fs := flag.NewFlagSet("kb check", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var rep knowledge.Report
	name := "built-in knowledge base"
	switch fs.NArg() {
	case 0:
		rep = knowledge.Check(knowledge.BuiltinFS(), ".", knowledge.AnswerIntents())
	case 1:
		name = fs.Arg(0)
		if st, err := os.Stat(name); err != nil || !st.IsDir() {
			return fmt.Errorf("%s: not a directory", name)
		}
		rep = knowledge.Check(os.DirFS(name), ".", knowledge.AnswerIntents())
	default:
		c.usage()
		return errUsage
	}
	if _, err := rep.WriteTo(c.stdout); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s: %d errors, %d warnings\n", name, rep.Errors(), rep.Warnings())
	if !rep.OK() {
		return errors.New("the knowledge base has errors")
	}
	return nil
}

func (c *kbCommand) eval(args []string) error {
	fs := flag.NewFlagSet("kb eval", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	dir := fs.String("kb", "", "knowledge base directory (default: the built-in one)")
	qfile := fs.String("questions", "", "question set CSV (question,article_id,split; default: the built-in set)")
	split := fs.String("split", knowledge.SplitTest, "which questions: test, dev or all")
	misses := fs.Bool("misses", false, "list the hybrid search's misses")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var qs []knowledge.Question
	var err error
	if *qfile == "" {
		qs, err = knowledge.BuiltinQuestions()
	} else {
		qs, err = knowledge.LoadQuestions(os.DirFS("."), *qfile)
	}
	if err != nil {
		return err
	}
	if *split != "all" {
		qs = knowledge.Split(qs, *split)
	}
	ix, err := c.index(*dir)
	if err != nil {
		return err
	}
	var ms []knowledge.Metrics
	for _, m := range []knowledge.Mode{knowledge.BM25, knowledge.Embedding, knowledge.Hybrid} {
		ms = append(ms, knowledge.Evaluate(ix, qs, m))
	}
	if err := knowledge.WriteMetrics(c.stdout, ms...); err != nil {
		return err
	}
	if *misses {
		for _, m := range ms[2].Misses {
			fmt.Fprintf(c.stdout, "  rank %d, top %s: %q (want %s)\n", m.Rank, m.Top, strings.TrimSpace(m.Question.Text), m.Question.ArticleID)
		}
	}
	return nil
}
