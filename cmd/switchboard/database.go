package main

import (
	"context"
	"log/slog"

	"switchboard/config"
	"switchboard/repository"
)

// placeholderDatabasePath is the SQLite file every command opens until
// the configuration names the database.
//
// TODO(db-config): replaced by database.url / database.path.
const placeholderDatabasePath = "switchboard.db"

// openDatabase opens the system of record and brings its schema up to
// date, for serve and for the commands that change a running
// installation (users, apply); it is the one place that decides which
// database they use.
//
// TODO(db-config): a placeholder that opens switchboard.db (SQLite) in
// the working directory whatever cfg says; it is to open cfg's database
// (PostgreSQL or SQLite) instead.
func openDatabase(ctx context.Context, cfg *config.Config, logger *slog.Logger) (*repository.DB, error) {
	db, err := repository.Open(ctx, repository.Options{Path: placeholderDatabasePath})
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx, logger); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
