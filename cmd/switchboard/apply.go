package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"switchboard/config"
	"switchboard/redisconn"
	"switchboard/settings"
)

// applyCommand validates a settings file and applies it atomically as the
// next version, in the database; workers pick it up within a second,
// without a restart.
func applyCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("f", "", "the settings YAML file to apply (- for standard input)")
	dryRun := fs.Bool("dry-run", false, "validate and show what would change, without applying")
	configPath := fs.String("config", os.Getenv(config.EnvConfigPath), "Switchboard's configuration, for the database (default $"+config.EnvConfigPath+")")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if *file == "" {
		fmt.Fprintln(stderr, "apply: -f FILE is required")
		return errUsage
	}
	var data []byte
	var err error
	if *file == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(*file)
	}
	if err != nil {
		return fmt.Errorf("read settings: %w", err)
	}
	if _, err := settings.Parse(data); err != nil {
		return fmt.Errorf("%s is not valid:\n%w", *file, err)
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
	if _, err := settings.Validate(ctx, db.Settings(), data); errors.Is(err, settings.ErrUnknownStaff) {
		return fmt.Errorf("%s is not valid:\n%w", *file, err)
	} else if err != nil {
		return err
	}

	var current []byte
	version := int64(0)
	switch st, err := settings.Load(ctx, db.Settings()); {
	case errors.Is(err, settings.ErrNone):
	case err != nil:
		return err
	default:
		current, version = st.YAML, st.Version
	}
	diff := settings.Diff(string(current), string(data), 3)
	if diff == "" {
		fmt.Fprintf(stdout, "settings unchanged (version %d)\n", version)
		return nil
	}
	if *dryRun {
		fmt.Fprintf(stdout, "would apply version %d (now %d):\n%s", version+1, version, diff)
		return nil
	}
	v, err := settings.Apply(ctx, db.Settings(), data, time.Now(), version, "cli")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied settings version %d:\n%s", v, diff)
	// A type may name other groups or accounts now.
	return queueRecheck(ctx, cfg, db, nil, stdout, stderr)
}

// openRedis connects to cfg's Redis, for the commands that change what is
// in flight there (sessions). The embedded Redis lives only inside its
// serve process, so they need a real one.
func openRedis(ctx context.Context, command string, cfg *config.Config, stderr io.Writer) (*redisconn.Conn, error) {
	if !cfg.Redis.Configured() {
		return nil, fmt.Errorf("%s needs a Redis: set redis.url (or redis.sentinel, redis.cluster) or %s", command, config.EnvRedisURL)
	}
	return redisconn.Open(ctx, cfg.Redis, cliLogger(stderr))
}

// cliLogger logs what the commands' storage has to say only when it is
// an error: their output is for the person at the terminal.
func cliLogger(stderr io.Writer) *slog.Logger {
	return newLogger(config.Log{Level: "error", Format: "text"}, stderr)
}
