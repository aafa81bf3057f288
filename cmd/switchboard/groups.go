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

const groupsUsage = `Usage:
  switchboard groups create --name NAME [--id ID] [--members ID,ID]
  switchboard groups list [--json]
  switchboard groups rename --id GROUP --name NAME
  switchboard groups set-members --id GROUP --members ID,ID   (--members "" empties the group)
  switchboard groups delete --id GROUP
`

// groupsCommand creates and manages agent groups from the command line,
// as the /api/v1/groups routes do; every change is audited by "cli".
func groupsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, groupsUsage)
		return errUsage
	}
	fs := flag.NewFlagSet("groups "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", os.Getenv(config.EnvConfigPath), "Switchboard's configuration, for the database")
	var id, name, members string
	asJSON := false
	// required are the flags the command cannot do without.
	var required []string
	switch args[0] {
	case "create":
		fs.StringVar(&id, "id", "", "a readable id for the settings to name the group by (billing); generated (g_...) when absent")
		fs.StringVar(&name, "name", "", "the group's name (1 to 100 characters, unique)")
		fs.StringVar(&members, "members", "", "account ids (u_...), comma-separated")
		required = []string{"name"}
	case "list":
		fs.BoolVar(&asJSON, "json", false, "print JSON")
	case "rename":
		fs.StringVar(&id, "id", "", "the group's id (g_...)")
		fs.StringVar(&name, "name", "", "the new name")
		required = []string{"id", "name"}
	case "set-members":
		fs.StringVar(&id, "id", "", "the group's id (g_...)")
		fs.StringVar(&members, "members", "", "every member's account id (u_...), comma-separated; replaces the members")
		required = []string{"id", "members"}
	case "delete":
		fs.StringVar(&id, "id", "", "the group's id (g_...)")
		required = []string{"id"}
	default:
		fmt.Fprintf(stderr, "groups: unknown command %q\n%s", args[0], groupsUsage)
		return errUsage
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "groups %s: unexpected argument %q\n%s", args[0], fs.Arg(0), groupsUsage)
		return errUsage
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, f := range required {
		if !set[f] {
			fmt.Fprintf(stderr, "groups %s: --%s is required\n%s", args[0], f, groupsUsage)
			return errUsage
		}
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
	groups := accounts.NewGroups(db.Groups(), clock.System{})
	audit := auth.NewAudit(db.Audit(), clock.System{}, newLogger(cfg.Log, stderr))
	record := func(action, target string) {
		audit.Record(ctx, auth.Entry{Actor: "cli", Action: action, Target: target})
	}

	switch args[0] {
	case "create":
		g, err := groups.CreateWithID(ctx, id, name, splitIDs(members))
		if err != nil {
			return err
		}
		record("group.create", g.ID)
		fmt.Fprintln(stdout, g.ID)
		return queueRecheck(ctx, cfg, db, nil, io.Discard, stderr)
	case "list":
		all, err := groups.List(ctx)
		if err != nil {
			return err
		}
		if asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(all)
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tMEMBERS")
		for _, g := range all {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", g.ID, g.Name, strings.Join(g.Members, ","))
		}
		return tw.Flush()
	case "rename":
		g, err := groups.Rename(ctx, id, name)
		if err != nil {
			return err
		}
		record("group.rename", g.ID)
		fmt.Fprintf(stdout, "%s: renamed to %q\n", g.ID, g.Name)
	case "set-members":
		g, err := groups.SetMembers(ctx, id, splitIDs(members))
		if err != nil {
			return err
		}
		record("group.set_members", g.ID)
		fmt.Fprintf(stdout, "%s: %d members\n", g.ID, len(g.Members))
		return queueRecheck(ctx, cfg, db, nil, stdout, stderr)
	case "delete":
		if err := groups.Delete(ctx, id); err != nil {
			return err
		}
		record("group.delete", id)
		fmt.Fprintf(stdout, "%s: deleted; its members' accounts stay\n", id)
		return queueRecheck(ctx, cfg, db, nil, stdout, stderr)
	}
	return nil
}

// splitIDs reads a comma-separated list of ids; empty is none.
func splitIDs(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
