package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"switchboard/auth"
	"switchboard/clock"
	"switchboard/config"
	"switchboard/conversations"
)

const contactsUsage = `Usage:
  switchboard contacts erase --contact ID [--config FILE]
`

// contactsCommand erases a customer's data on request (a right-to-erasure
// request, say): the contact, their conversations and messages.
func contactsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "erase" {
		fmt.Fprint(stderr, contactsUsage)
		return errUsage
	}
	fs := flag.NewFlagSet("contacts erase", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", os.Getenv(config.EnvConfigPath), "Switchboard's configuration, for the database")
	id := fs.String("contact", "", "the contact's id (as the API shows it)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if *id == "" {
		fmt.Fprint(stderr, "contacts erase: --contact is required\n"+contactsUsage)
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
	svc := conversations.New(conversations.Options{Repository: db.Conversations()})
	audit := auth.NewAudit(db.Audit(), clock.System{}, newLogger(cfg.Log, stderr))
	erased, err := svc.EraseContact(ctx, *id)
	if errors.Is(err, conversations.ErrNotFound) {
		return fmt.Errorf("contacts erase: no contact %s", *id)
	}
	if err != nil {
		return err
	}
	audit.Record(ctx, auth.Entry{Actor: "cli", Action: "contact.erase", Target: *id,
		Outcome: fmt.Sprintf("%d conversations, %d messages", erased.Conversations, erased.Messages)})
	fmt.Fprintf(stdout, "erased contact %s: %d conversations, %d messages\n", *id, erased.Conversations, erased.Messages)
	return nil
}
