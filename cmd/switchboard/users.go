package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/clock"
	"switchboard/config"
)

const usersUsage = `Usage:
  switchboard users create --name NAME --phone +E164 --role ROLE [--email E] [--query-types a,b] [--groups a,b] [--channels a,b] [--capacity N]
  switchboard users list [--json]
  switchboard users disable ID
  switchboard users enable ID
  switchboard users delete ID
`

// usersCommand creates and manages CS accounts from the command line, so
// the first admin exists before anyone can log in.
func usersCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usersUsage)
		return errUsage
	}
	fs := flag.NewFlagSet("users "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", os.Getenv(config.EnvConfigPath), "Switchboard's configuration, for the database, Redis and the auth secret")
	var u accounts.User
	var queryTypes, groups, chans string
	asJSON := false
	switch args[0] {
	case "create":
		fs.StringVar(&u.Name, "name", "", "full name")
		fs.StringVar(&u.Phone, "phone", "", "phone number in E.164, like +5511912345678 (the login)")
		fs.StringVar(&u.Role, "role", "", strings.Join(auth.BuiltInNames, ", ")+" or a custom role")
		fs.StringVar(&u.Email, "email", "", "email (optional)")
		fs.StringVar(&queryTypes, "query-types", "", "query types served, comma-separated")
		fs.StringVar(&chans, "channels", "", "channel ids whose customers routing gives the user, comma-separated (all when empty)")
		fs.StringVar(&groups, "groups", "", "agent group ids (g_..., see switchboard groups list), comma-separated")
		fs.IntVar(&u.Capacity, "capacity", 5, "queries at once")
	case "list":
		fs.BoolVar(&asJSON, "json", false, "print JSON")
	case "disable", "enable", "delete":
	default:
		fmt.Fprintf(stderr, "users: unknown command %q\n%s", args[0], usersUsage)
		return errUsage
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	cfg, err := config.Load(*configPath, os.LookupEnv)
	if err != nil {
		return err
	}
	db, err := openDatabase(ctx, cfg.Database, cfg.Database.AutoMigrate(), cliLogger(stderr), nil)
	if err != nil {
		return err
	}
	defer db.Close()
	roles := auth.NewRoles(db.Roles())
	store := accounts.NewStore(db.Accounts(), clock.System{}, roles.Exists)
	audit := auth.NewAudit(db.Audit(), clock.System{}, newLogger(cfg.Log, stderr))
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}

	switch args[0] {
	case "create":
		if u.Role == "" {
			fmt.Fprintln(stderr, "users create: --role is required")
			return errUsage
		}
		u.QueryTypes, u.Groups, u.Channels = split(queryTypes), split(groups), split(chans)
		created, err := createAccount(ctx, store, audit, u, "cli")
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, created.ID)
	case "list":
		users, err := store.List(ctx)
		if err != nil {
			return err
		}
		if asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(users)
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tPHONE\tROLE\tSTATUS")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.ID, u.Name, u.Phone, u.Role, u.Status)
		}
		return tw.Flush()
	case "enable":
		if fs.NArg() != 1 {
			fmt.Fprintln(stderr, "users enable: give one user id")
			return errUsage
		}
		id := fs.Arg(0)
		_, changed, err := store.Enable(ctx, id)
		if err != nil {
			return err
		}
		if !changed {
			fmt.Fprintf(stdout, "%s: already active\n", id)
			return nil
		}
		audit.Record(ctx, auth.Entry{Actor: "cli", Action: "user.enable", Target: id})
		fmt.Fprintf(stdout, "%s: enabled; they log in again with a new code\n", id)
		conn, err := openRedis(ctx, "users enable", cfg, stderr)
		if err != nil {
			return err
		}
		defer conn.Close()
		return queueRecheck(ctx, cfg, db, conn, stdout, stderr)
	case "disable", "delete":
		if fs.NArg() != 1 {
			fmt.Fprintf(stderr, "users %s: give one user id\n", args[0])
			return errUsage
		}
		id := fs.Arg(0)
		// The user's sessions are in Redis: they are revoked there.
		conn, err := openRedis(ctx, "users "+args[0], cfg, stderr)
		if err != nil {
			return err
		}
		defer conn.Close()
		login, err := auth.NewLogin(conn.Client, auth.LoginOptions{Users: store, Clock: clock.System{}, Secret: []byte(cfg.Auth.Secret)})
		if err != nil {
			return err
		}
		if args[0] == "disable" {
			if _, err := store.Disable(ctx, id, login); err != nil {
				return err
			}
		} else if err := store.Delete(ctx, id, login); err != nil {
			return err
		}
		audit.Record(ctx, auth.Entry{Actor: "cli", Action: "user." + args[0], Target: id})
		fmt.Fprintf(stdout, "%s: %sd; its sessions are revoked\n", id, args[0])
		return queueRecheck(ctx, cfg, db, conn, stdout, stderr)
	}
	return nil
}

// createAccount validates and stores u and audits it as done by actor:
// `users create` and the demo's seeding both create accounts so.
func createAccount(ctx context.Context, store *accounts.Store, audit *auth.Audit, u accounts.User, actor string) (*accounts.User, error) {
	created, err := store.Create(ctx, u)
	if err != nil {
		return nil, err
	}
	audit.Record(ctx, auth.Entry{Actor: actor, Action: "user.create", Target: created.ID})
	return created, nil
}
