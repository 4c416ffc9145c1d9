package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strconv"
	"strings"

	"github.com/parley-chat/parley/bot"
	"github.com/parley-chat/parley/crm"
	"github.com/parley-chat/parley/crm/crmtest"
)

type chatCommand struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func (c *chatCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("chat", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	var (
		db        = fs.String("db", "", "CRM database file (default: an in-memory CRM, forgotten on exit)")
		debug     = fs.Bool("debug", false, "show intent, confidence, sentiment and the bot's decision for each message")
		modelPath = fs.String("model", "", "intent model file (default: the built-in model)")
		sentPath  = fs.String("sentiment-model", "", "sentiment model file (default: the built-in model)")
		policy    = fs.String("policy", "", "dialogue policy file (default: the built-in policy)")
	)
	fs.Usage = func() {
		fmt.Fprintln(c.stderr, "Usage: parley chat [--debug] [--db FILE]\n\nChat with the bot in the terminal. Type a number to pick a quick reply; /quit or Ctrl-D ends.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log := quietLogger(c.stderr)
	var store crm.Store
	if *db == "" {
		store = crmtest.NewMemory()
	} else {
		s, err := openStore(ctx, *db, log)
		if err != nil {
			return err
		}
		store = s
	}
	defer store.Close()
	set, err := loadModelSet(*modelPath, *sentPath)
	if err != nil {
		return err
	}
	models, err := bot.NewModels(set)
	if err != nil {
		return err
	}
	pol := bot.DefaultPolicy()
	if *policy != "" {
		f, err := os.Open(*policy)
		if err != nil {
			return err
		}
		pol, err = bot.ParsePolicy(f, *policy, set.Intent.Header().Labels)
		f.Close()
		if err != nil {
			return err
		}
	}
	kb, err := loadKnowledge("", set.Intent)
	if err != nil {
		return err
	}
	engine := bot.NewEngine(models, kb, store, pol, slog.New(slog.DiscardHandler))
	return c.loop(ctx, engine, *debug)
}

func (c *chatCommand) loop(ctx context.Context, engine *bot.Engine, debug bool) error {
	name := "you"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	customer := crm.ExternalID{Kind: crm.IDAPI, Value: "terminal:" + name}
	fmt.Fprintln(c.stdout, "Chat with Parley (/quit to leave).")
	in := bufio.NewScanner(c.stdin)
	in.Buffer(make([]byte, 0, 4096), 64<<10)
	var quick []string
	for seq := 1; ; seq++ {
		fmt.Fprint(c.stdout, "> ")
		if !in.Scan() {
			fmt.Fprintln(c.stdout)
			return in.Err()
		}
		text := strings.TrimSpace(in.Text())
		if text == "/quit" || text == "/exit" {
			return nil
		}
		if text == "" {
			continue
		}
		if n, err := strconv.Atoi(text); err == nil && n >= 1 && n <= len(quick) {
			text = quick[n-1]
			fmt.Fprintf(c.stdout, "  (%s)\n", text)
		}
		turn, err := engine.Handle(ctx, bot.Message{Channel: crm.ChannelAPI, Customer: customer, Text: text, ChannelMsgID: fmt.Sprintf("chat-%d-%d", os.Getpid(), seq)})
		if errors.Is(err, bot.ErrBadMessage) {
			fmt.Fprintf(c.stdout, "  (%v)\n", err)
			continue
		} else if err != nil {
			return err
		}
		if debug {
			p := turn.Prediction
			var alts []string
			for _, a := range p.Alternatives {
				alts = append(alts, fmt.Sprintf("%s %.2f", a.Label, a.Confidence))
			}
			oos := ""
			if p.OutOfScope {
				oos = ", out of scope"
			}
			fmt.Fprintf(c.stdout, "  [intent %s %.2f%s; %s; sentiment %s %+.2f; %s -> %s]\n",
				p.Label, p.Confidence, oos, strings.Join(alts, ", "), turn.Sentiment.Label, turn.Sentiment.Score, turn.Action, turn.State)
		}
		quick = nil
		for _, r := range turn.Replies {
			fmt.Fprintf(c.stdout, "parley: %s\n", r.Text)
			for _, q := range r.QuickReplies {
				quick = append(quick, q)
				fmt.Fprintf(c.stdout, "  [%d] %s\n", len(quick), q)
			}
		}
		if turn.Action == bot.ActionHandoff {
			fmt.Fprintln(c.stdout, "  (a person has this conversation; the bot stays quiet)")
		}
	}
}
