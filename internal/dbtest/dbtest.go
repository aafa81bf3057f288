// Package dbtest opens real, migrated databases for tests: a SQLite file
// in the test's temporary directory, and a PostgreSQL schema of its own on
// the server SWITCHBOARD_TEST_POSTGRES names (CI sets it), dropped when
// the test ends.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"switchboard/repository"
)

// EnvPostgres names the PostgreSQL server tests use, e.g.
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const EnvPostgres = "SWITCHBOARD_TEST_POSTGRES"

// Engines are the engines Each runs a test on.
var Engines = []repository.Dialect{repository.SQLite, repository.Postgres}

// Each runs fn as a subtest on every engine, each on a fresh migrated
// database. Without SWITCHBOARD_TEST_POSTGRES the PostgreSQL subtest is
// skipped, saying so; CI always sets it.
func Each(t *testing.T, fn func(t *testing.T, db *repository.DB)) {
	t.Helper()
	for _, e := range Engines {
		t.Run(string(e), func(t *testing.T) { fn(t, OpenEngine(t, e)) })
	}
}

// Open returns a fresh migrated database: PostgreSQL when
// SWITCHBOARD_TEST_POSTGRES is set, else SQLite.
func Open(t testing.TB) *repository.DB {
	t.Helper()
	if os.Getenv(EnvPostgres) != "" {
		return OpenEngine(t, repository.Postgres)
	}
	return OpenEngine(t, repository.SQLite)
}

// OpenEngine returns a fresh migrated database on engine e.
func OpenEngine(t testing.TB, e repository.Dialect) *repository.DB {
	t.Helper()
	ctx := context.Background()
	var o repository.Options
	switch e {
	case repository.SQLite:
		o.Path = filepath.Join(t.TempDir(), "switchboard.db")
	case repository.Postgres:
		o.URL = Schema(t)
	}
	db, err := repository.Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return db
}

// Schema creates an empty PostgreSQL schema for the test and returns a
// URL whose connections use it; the test is skipped without
// SWITCHBOARD_TEST_POSTGRES.
func Schema(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		t.Skip(EnvPostgres + " is not set: no PostgreSQL to test on (CI sets it)")
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	name := "t_" + hex.EncodeToString(rnd[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE SCHEMA " + name); err != nil {
		t.Fatalf("create schema on %s: %v", EnvPostgres, err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.Exec("DROP SCHEMA " + name + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}
