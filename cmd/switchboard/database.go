package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"switchboard/config"
	"switchboard/repository"
)

// openDatabase opens the system of record c names and makes sure its
// schema is the one this binary needs: it applies pending migrations when
// migrate is true, and otherwise refuses a schema that is behind, because
// queries written for a newer schema would fail one request at a time
// instead of once, at startup. On SQLite it says loudly which file is in
// use (on logger, and on notice unless nil): a file in the working
// directory is easy to lose, and production wants PostgreSQL.
func openDatabase(ctx context.Context, c config.Database, migrate bool, logger *slog.Logger, notice io.Writer) (*repository.DB, error) {
	o, err := databaseOptions(c)
	if err != nil {
		return nil, err
	}
	db, err := repository.Open(ctx, o)
	if err != nil {
		return nil, err
	}
	if err := checkSchema(ctx, db, migrate, logger); err != nil {
		db.Close()
		return nil, err
	}
	if db.Dialect() == repository.SQLite {
		logger.Warn("database: using the SQLite file "+db.Where()+"; production should set database.url (or "+config.EnvDatabaseURL+") to PostgreSQL",
			"path", db.Where())
		if notice != nil {
			fmt.Fprintf(notice, "switchboard: DATABASE: using the SQLite file %s (the embedded default); in production set database.url (or %s) to PostgreSQL\n",
				db.Where(), config.EnvDatabaseURL)
		}
	}
	return db, nil
}

// databaseOptions turns the configuration into the repository's options.
// A SQLite path is made absolute, so the person reading the startup
// warning knows where the file is whatever directory serve started in,
// and its directory must exist: SQLite would only say "unable to open
// database file".
func databaseOptions(c config.Database) (repository.Options, error) {
	o := repository.Options{MaxConns: c.MaxConns}
	if c.Postgres() {
		o.URL = c.URL
		return o, nil
	}
	p, err := filepath.Abs(c.Path)
	if err != nil {
		return o, fmt.Errorf("database.path %s: %w", c.Path, err)
	}
	if fi, err := os.Stat(filepath.Dir(p)); err != nil || !fi.IsDir() {
		return o, fmt.Errorf("database.path %s: the directory %s does not exist (create it, or set database.url to use PostgreSQL)", c.Path, filepath.Dir(p))
	}
	o.Path = p
	return o, nil
}

// checkSchema migrates db, or checks it needs no migration.
func checkSchema(ctx context.Context, db *repository.DB, migrate bool, logger *slog.Logger) error {
	current, latest, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	switch {
	case current > latest:
		// An older binary on a newer schema (a rollback): migrations only
		// add, so it can usually run, but nothing here can undo them.
		logger.Warn("database: the schema is newer than this binary knows; was Switchboard rolled back?",
			"database", db.Where(), "schema_version", current, "binary_schema_version", latest)
		return nil
	case current == latest:
		logger.Info("database: schema up to date", "database", db.Where(), "schema_version", current)
		return nil
	case !migrate:
		return fmt.Errorf("database %s: schema version %d, this binary needs %d, and migrations at start are off (--no-migrate or database.migrate_on_start: false): run `switchboard migrate` first",
			db.Where(), current, latest)
	}
	applied, err := db.Migrate(ctx, logger)
	if err != nil {
		return err
	}
	// Another replica may have migrated while this one waited for the
	// lock: applied is what this process did, the version what holds now.
	now, _, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	logger.Info("database: migrated", "database", db.Where(), "applied", applied, "from_version", current, "schema_version", now)
	return nil
}

// migrateCommand applies pending migrations, or with --status only shows
// where the schema is, so an upgrade can migrate as its own step (a
// Kubernetes Job) before pods started with --no-migrate roll out.
func migrateCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", os.Getenv(config.EnvConfigPath), "Switchboard's configuration, for database.url or database.path (default $"+config.EnvConfigPath+")")
	status := fs.Bool("status", false, "only print the schema version applied and the latest this binary knows")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "migrate: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	cfg, err := config.Load(*configPath, os.LookupEnv)
	if err != nil {
		return err
	}
	logger := newLogger(config.Log{Level: "warn", Format: "text"}, stderr)
	o, err := databaseOptions(cfg.Database)
	if err != nil {
		return err
	}
	// One connection for the migration, one for PostgreSQL's advisory lock.
	o.MaxConns = 2
	db, err := repository.Open(ctx, o)
	if err != nil {
		return err
	}
	defer db.Close()
	current, latest, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "database: %s (%s)\n", db.Where(), db.Dialect())
	if *status {
		fmt.Fprintf(stdout, "schema version: %d\nlatest: %d\n", current, latest)
		switch {
		case current < latest:
			fmt.Fprintf(stdout, "%d migration(s) pending: run `switchboard migrate`\n", latest-current)
		case current > latest:
			fmt.Fprintf(stdout, "the schema is newer than this binary knows\n")
		default:
			fmt.Fprintf(stdout, "up to date\n")
		}
		return nil
	}
	fmt.Fprintf(stdout, "schema version before: %d\n", current)
	applied, err := db.Migrate(ctx, logger)
	if err != nil {
		return err
	}
	after, _, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied %d migration(s)\nschema version after: %d\n", applied, after)
	return nil
}

// closeDB closes the system of record, last: whatever else stops before it
// may still write to it.
func (s *server) closeDB() {
	if s.db == nil {
		return
	}
	if err := s.db.Close(); err != nil {
		s.logger.Warn("database not closed cleanly", "database", s.db.Where(), "err", err)
	}
}
