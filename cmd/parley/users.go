package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/parley-chat/parley/bot/console/auth"
	"github.com/parley-chat/parley/crm"
)

// usersCommand manages staff accounts: parley users add|list|disable|enable|passwd.
type usersCommand struct {
	stdin          io.Reader
	stdout, stderr io.Writer
}

func (c *usersCommand) Run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("users", flag.ContinueOnError)
	fs.SetOutput(c.stderr)
	db := fs.String("db", defaultDB, "CRM database file")
	email := fs.String("email", "", "the staff member's email (their sign-in name)")
	name := fs.String("name", "", "display name (add)")
	role := fs.String("role", "agent", "agent, analyst or admin (add)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin instead of prompting or generating one")
	fs.Usage = func() {
		fmt.Fprint(c.stderr, `Usage: parley users add --email E [--name N] [--role agent|analyst|admin] [--password-stdin]
       parley users list
       parley users disable|enable --email E
       parley users passwd --email E [--password-stdin]

add prompts for the password when run in a terminal, otherwise generates one and prints
it once. Passwords are stored as argon2id hashes, never in clear.
`)
		fs.PrintDefaults()
	}
	if len(args) == 0 {
		fs.Usage()
		return errUsage
	}
	verb := args[0]
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	store, err := openStore(ctx, *db, quietLogger(c.stderr))
	if err != nil {
		return err
	}
	defer store.Close()
	addr := strings.ToLower(strings.TrimSpace(*email))
	if verb != "list" && addr == "" {
		return fmt.Errorf("users %s: --email is required", verb)
	}
	switch verb {
	case "add":
		r := crm.Role(*role)
		if !r.Valid() {
			return fmt.Errorf("users add: role %q: want agent, analyst or admin", *role)
		}
		pw, generated, err := c.password(*fromStdin)
		if err != nil {
			return err
		}
		hash, err := auth.HashPassword(pw)
		if err != nil {
			return fmt.Errorf("users add: %w", err)
		}
		u, err := store.CreateStaff(ctx, crm.StaffUser{Email: addr, Name: *name, Role: r, PasswordHash: hash})
		if errors.Is(err, crm.ErrConflict) {
			return fmt.Errorf("users add: %s has an account already (parley users passwd to change its password)", addr)
		} else if err != nil {
			return fmt.Errorf("users add: %w", err)
		}
		fmt.Fprintf(c.stdout, "added %s (%s), id %d\n", u.Email, u.Role, u.ID)
		if generated {
			fmt.Fprintf(c.stdout, "password: %s\n(shown once: pass it on securely)\n", pw)
		}
		return nil
	case "list":
		us, err := store.ListStaff(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tROLE\tSTATUS")
		for _, u := range us {
			status := "active"
			if u.Disabled {
				status = "disabled"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", u.ID, u.Email, u.Name, u.Role, status)
		}
		return tw.Flush()
	case "disable", "enable", "passwd":
		u, err := store.StaffByEmail(ctx, addr)
		if err != nil {
			return fmt.Errorf("users %s %s: %w", verb, addr, err)
		}
		var pw string
		var generated bool
		switch verb {
		case "disable", "enable":
			u.Disabled = verb == "disable"
		case "passwd":
			if pw, generated, err = c.password(*fromStdin); err != nil {
				return err
			}
			if u.PasswordHash, err = auth.HashPassword(pw); err != nil {
				return fmt.Errorf("users passwd: %w", err)
			}
		}
		if err := store.UpdateStaff(ctx, u); err != nil {
			return fmt.Errorf("users %s %s: %w", verb, addr, err)
		}
		fmt.Fprintf(c.stdout, "%s: %s done\n", addr, verb)
		if generated {
			fmt.Fprintf(c.stdout, "password: %s\n(shown once: pass it on securely)\n", pw)
		}
		return nil
	}
	fs.Usage()
	return errUsage
}

// password reads a new password: from stdin when asked, by prompting
// twice (without echo) in a terminal, or generated.
func (c *usersCommand) password(fromStdin bool) (pw string, generated bool, err error) {
	switch {
	case fromStdin:
		line, err := bufio.NewReader(c.stdin).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", false, fmt.Errorf("read the password: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	case c.stdin == os.Stdin && term.IsTerminal(int(os.Stdin.Fd())):
		fmt.Fprint(c.stderr, "Password (at least 12 characters): ")
		a, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(c.stderr)
		if err != nil {
			return "", false, fmt.Errorf("read the password: %w", err)
		}
		fmt.Fprint(c.stderr, "Again: ")
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(c.stderr)
		if err != nil {
			return "", false, fmt.Errorf("read the password: %w", err)
		}
		if string(a) != string(b) {
			return "", false, errors.New("the passwords differ")
		}
		pw = string(a)
	default:
		return auth.GeneratePassword(), true, nil
	}
	if err := auth.CheckPasswordPolicy(pw); err != nil {
		return "", false, err
	}
	return pw, false, nil
}
