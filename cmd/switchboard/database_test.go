package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"switchboard/config"
	"switchboard/internal/dbtest"
	"switchboard/internal/logbuf"
	"switchboard/internal/redistest"
	"switchboard/repository"
)

// latestSchema is the newest schema version this binary knows, read from
// a database migrated to it.
func latestSchema(t *testing.T) int64 {
	t.Helper()
	db := dbtest.OpenEngine(t, repository.SQLite)
	_, latest, err := db.SchemaVersion(context.Background())
	if err != nil || latest < 1 {
		t.Fatalf("latest schema version %d: %v", latest, err)
	}
	return latest
}

// migrationCount is how many migrations this binary applies to an empty
// database: not latestSchema when the versions have gaps (features built
// side by side number their migrations ahead of one another).
func migrationCount(t *testing.T) int {
	t.Helper()
	db := dbtest.OpenEngine(t, repository.SQLite)
	var n int
	if err := db.SQL().QueryRowContext(context.Background(), `SELECT COUNT(*) FROM schema_migrations WHERE version_id > 0`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// writeConfig writes yaml to a file in dir and returns its path.
func writeConfig(t *testing.T, dir, yaml string) string {
	t.Helper()
	p := filepath.Join(dir, "switchboard.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// runCmd runs the binary's command line and returns its exit code, stdout
// and stderr. A command still running after 15s (a serve that should have
// refused to start) is stopped, so the test fails instead of hanging.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var out, errOut bytes.Buffer
	code := run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// wantLines fails unless every line of want is in got, in order.
func wantLines(t *testing.T, what, got string, want ...string) {
	t.Helper()
	rest := got
	for _, w := range want {
		i := strings.Index(rest, w)
		if i < 0 {
			t.Fatalf("%s: %q is missing (or out of order) in:\n%s", what, w, got)
		}
		rest = rest[i+len(w):]
	}
}

// The operator's view of `switchboard migrate`: where the schema is, what
// was applied, and that running it again is harmless. Both engines: SQLite
// from database.path, PostgreSQL from SWITCHBOARD_DATABASE_URL over a
// config file that names no database.
func TestMigrateCommand(t *testing.T) {
	latest := latestSchema(t)
	for _, e := range dbtest.Engines {
		t.Run(string(e), func(t *testing.T) {
			dir := t.TempDir()
			var cfg, where string
			switch e {
			case repository.SQLite:
				t.Setenv(config.EnvDatabaseURL, "")
				where = filepath.Join(dir, "data", "sb.db")
				if err := os.Mkdir(filepath.Dir(where), 0o700); err != nil {
					t.Fatal(err)
				}
				cfg = writeConfig(t, dir, "database:\n  path: "+where+"\n")
			case repository.Postgres:
				u := dbtest.Schema(t)
				t.Setenv(config.EnvDatabaseURL, u)
				pu, err := url.Parse(u)
				if err != nil {
					t.Fatal(err)
				}
				where = pu.Host + pu.Path
				cfg = writeConfig(t, dir, "log:\n  level: info\n")
			}

			code, out, errOut := runCmd(t, "migrate", "--status", "--config", cfg)
			if code != 0 {
				t.Fatalf("migrate --status on a new database: exit %d\n%s", code, errOut)
			}
			wantLines(t, "status before", out, "database: ", where, "("+string(e)+")",
				"schema version: 0\n", fmt.Sprintf("latest: %d\n", latest), "pending: run `switchboard migrate`")

			code, out, errOut = runCmd(t, "migrate", "--config", cfg)
			if code != 0 {
				t.Fatalf("migrate: exit %d\n%s", code, errOut)
			}
			wantLines(t, "first migrate", out, "schema version before: 0\n",
				fmt.Sprintf("applied %d migration(s)\n", migrationCount(t)), fmt.Sprintf("schema version after: %d\n", latest))

			code, out, errOut = runCmd(t, "migrate", "--config", cfg)
			if code != 0 {
				t.Fatalf("migrate again: exit %d\n%s", code, errOut)
			}
			wantLines(t, "second migrate", out, fmt.Sprintf("schema version before: %d\n", latest),
				"applied 0 migration(s)\n", fmt.Sprintf("schema version after: %d\n", latest))

			code, out, _ = runCmd(t, "migrate", "--status", "--config", cfg)
			if code != 0 {
				t.Fatalf("migrate --status: exit %d", code)
			}
			wantLines(t, "status after", out, fmt.Sprintf("schema version: %d\nlatest: %d\nup to date\n", latest, latest))
		})
	}
}

func TestMigrateCommandMistakes(t *testing.T) {
	t.Setenv(config.EnvDatabaseURL, "")
	if code, _, errOut := runCmd(t, "migrate", "--statuz"); code != 2 || !strings.Contains(errOut, "statuz") {
		t.Fatalf("unknown flag: exit %d, %q", code, errOut)
	}
	if code, _, errOut := runCmd(t, "migrate", "now"); code != 2 || !strings.Contains(errOut, `unexpected argument "now"`) {
		t.Fatalf("stray argument: exit %d, %q", code, errOut)
	}
	cfg := writeConfig(t, t.TempDir(), "database:\n  url: mysql://sb:hunter2@db/sb\n")
	code, _, errOut := runCmd(t, "migrate", "--config", cfg)
	if code != 1 || !strings.Contains(errOut, "database.url: want postgres://") || strings.Contains(errOut, "hunter2") {
		t.Fatalf("a MySQL URL: exit %d, %q", code, errOut)
	}
	cfg = writeConfig(t, t.TempDir(), "database:\n  path: /nonexistent/data/sb.db\n")
	if code, _, errOut := runCmd(t, "migrate", "--config", cfg); code != 1 ||
		!strings.Contains(errOut, "database.path /nonexistent/data/sb.db: the directory /nonexistent/data does not exist") {
		t.Fatalf("a SQLite file in a missing directory: exit %d, %q", code, errOut)
	}
	if code, out, _ := runCmd(t, "help"); code != 0 || !strings.Contains(out, "switchboard migrate [--config FILE] [--status]") ||
		!strings.Contains(out, "--no-migrate") {
		t.Fatalf("usage does not show migrate and --no-migrate:\n%s", out)
	}
}

// openDatabase on a new SQLite file: refuses when it may not migrate,
// migrates when it may (saying how many), and says loudly which file it
// uses and that production wants PostgreSQL.
func TestOpenDatabaseOnSQLite(t *testing.T) {
	ctx := context.Background()
	latest := latestSchema(t)
	path := filepath.Join(t.TempDir(), "switchboard.db")
	c := config.Database{Path: path}

	logs := &logbuf.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	if _, err := openDatabase(ctx, c, false, logger, nil); err == nil ||
		!strings.Contains(err.Error(), "schema version 0, this binary needs "+fmt.Sprint(latest)) ||
		!strings.Contains(err.Error(), "run `switchboard migrate` first") {
		t.Fatalf("a new database without migrations: %v, want a refusal naming switchboard migrate", err)
	}

	var notice bytes.Buffer
	db, err := openDatabase(ctx, c, true, logger, &notice)
	if err != nil {
		t.Fatal(err)
	}
	if cur, _, err := db.SchemaVersion(ctx); err != nil || cur != latest {
		t.Fatalf("after openDatabase: schema %d (%v), want %d", cur, err, latest)
	}
	db.Close()
	if !strings.Contains(logs.String(), `"msg":"database: migrated"`) || !strings.Contains(logs.String(), fmt.Sprintf(`"applied":%d`, migrationCount(t))) {
		t.Fatalf("the log does not say how many migrations were applied:\n%s", logs)
	}
	want := "switchboard: DATABASE: using the SQLite file " + path + " (the embedded default); in production set database.url (or SWITCHBOARD_DATABASE_URL) to PostgreSQL\n"
	if notice.String() != want {
		t.Fatalf("notice = %q, want one line:\n%q", notice.String(), want)
	}
	if !strings.Contains(logs.String(), `"level":"WARN","msg":"database: using the SQLite file `+path) {
		t.Fatalf("no warning naming the SQLite file in the log:\n%s", logs)
	}

	// Migrated: starting without migrations is fine now, and says so.
	logs = &logbuf.Buffer{}
	db, err = openDatabase(ctx, c, false, slog.New(slog.NewJSONHandler(logs, nil)), nil)
	if err != nil {
		t.Fatalf("an up-to-date database with migrations off: %v", err)
	}
	defer db.Close()
	if !strings.Contains(logs.String(), "database: schema up to date") {
		t.Fatalf("log:\n%s", logs)
	}
}

// A schema newer than the binary (a rollback) is not touched: the older
// binary starts, warning.
func TestOpenDatabaseOnANewerSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "switchboard.db")
	db := openTestDB(t, config.Database{Path: path}, true)
	if _, err := db.SQL().ExecContext(ctx, "INSERT INTO schema_migrations (version_id, is_applied) VALUES (99999, TRUE)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	logs := &logbuf.Buffer{}
	db, err := openDatabase(ctx, config.Database{Path: path}, true, slog.New(slog.NewJSONHandler(logs, nil)), nil)
	if err != nil {
		t.Fatalf("a newer schema: %v, want a start with a warning", err)
	}
	defer db.Close()
	if !strings.Contains(logs.String(), "the schema is newer than this binary knows") || !strings.Contains(logs.String(), `"schema_version":99999`) {
		t.Fatalf("no warning about the newer schema:\n%s", logs)
	}
}

func openTestDB(t *testing.T, c config.Database, migrate bool) *repository.DB {
	t.Helper()
	db, err := openDatabase(context.Background(), c, migrate, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// On PostgreSQL there is no SQLite warning, and a replica that finds the
// schema migrated by another applies nothing.
func TestOpenDatabaseOnPostgres(t *testing.T) {
	ctx := context.Background()
	c := config.Database{URL: dbtest.Schema(t), Path: "switchboard.db"}
	if _, err := openDatabase(ctx, c, false, slog.New(slog.DiscardHandler), nil); err == nil ||
		!strings.Contains(err.Error(), "run `switchboard migrate` first") {
		t.Fatalf("a new PostgreSQL schema without migrations: %v", err)
	}
	logs := &logbuf.Buffer{}
	var notice bytes.Buffer
	db, err := openDatabase(ctx, c, true, slog.New(slog.NewJSONHandler(logs, nil)), &notice)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db.Dialect() != repository.Postgres || notice.Len() != 0 || strings.Contains(logs.String(), "SQLite") {
		t.Fatalf("PostgreSQL: dialect %s, notice %q, log:\n%s", db.Dialect(), notice.String(), logs)
	}
	if !strings.Contains(logs.String(), `"msg":"database: migrated"`) {
		t.Fatalf("log:\n%s", logs)
	}
	if _, err := os.Stat("switchboard.db"); err == nil {
		t.Fatal("a SQLite file was created although database.url is set")
	}
}

// serve migrates at start (database.migrate_on_start's default) and tells
// the terminal which SQLite file it uses; --no-migrate and
// migrate_on_start: false make it refuse a database that is behind.
func TestServeMigratesAtStartUnlessTold(t *testing.T) {
	t.Setenv(config.EnvDatabaseURL, "")
	t.Setenv(config.EnvRedisURL, "")
	dir := t.TempDir()
	path := filepath.Join(dir, "sb.db")
	yaml := "http:\n  addr: 127.0.0.1:0\ndatabase:\n  path: " + path + "\n"
	cfg := writeConfig(t, dir, yaml)

	code, _, errOut := runCmd(t, "serve", "--no-migrate", "--config", cfg)
	if code != 1 || !strings.Contains(errOut, "schema version 0") || !strings.Contains(errOut, "run `switchboard migrate` first") {
		t.Fatalf("serve --no-migrate on a new database: exit %d, %q", code, errOut)
	}
	off := writeConfig(t, t.TempDir(), yaml+"  migrate_on_start: false\n")
	if code, _, errOut := runCmd(t, "serve", "--config", off); code != 1 || !strings.Contains(errOut, "run `switchboard migrate` first") {
		t.Fatalf("serve with migrate_on_start: false on a new database: exit %d, %q", code, errOut)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &logbuf.Buffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve", "--config", cfg}, &bytes.Buffer{}, stderr) }()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(stderr.String(), "Listening on http://") {
		select {
		case code := <-done:
			t.Fatalf("serve stopped at start: exit %d\n%s", code, stderr)
		case <-deadline:
			t.Fatalf("serve did not start within 30s:\n%s", stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if !strings.Contains(stderr.String(), "switchboard: DATABASE: using the SQLite file "+path) {
		t.Fatalf("serve does not say which SQLite file it uses:\n%s", stderr)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve: exit %d after SIGTERM\n%s", code, stderr)
	}
	code, out, _ := runCmd(t, "migrate", "--status", "--config", cfg)
	if code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("after serve: exit %d, %s", code, out)
	}
	// Now that serve has migrated, --no-migrate starts.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	stderr = &logbuf.Buffer{}
	go func() { done <- run(ctx2, []string{"serve", "--no-migrate", "--config", cfg}, &bytes.Buffer{}, stderr) }()
	deadline = time.After(30 * time.Second)
	for !strings.Contains(stderr.String(), "Listening on http://") {
		select {
		case code := <-done:
			t.Fatalf("serve --no-migrate on a migrated database stopped: exit %d\n%s", code, stderr)
		case <-deadline:
			t.Fatalf("serve --no-migrate did not start within 30s:\n%s", stderr)
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel2()
	if code := <-done; code != 0 {
		t.Fatalf("serve --no-migrate: exit %d\n%s", code, stderr)
	}
}

// inScratchDir moves the test into a directory of its own and returns
// it: the commands open the default database (switchboard.db) in the
// working directory, which must be neither the source tree nor another
// test's.
func inScratchDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	return dir
}

// /readyz fails while the database does not answer, whatever the role:
// the process would fail every API request and every message it took.
// It says which dependency failed, and /healthz stays 200 (the process is
// alive; restarting it would not bring the database back).
func TestReadyzFailsWhenTheDatabaseDoesNotAnswer(t *testing.T) {
	rdb := redistest.Client(t)
	yaml := channelYAML(redistest.URL(rdb), "http://127.0.0.1:1/v21.0")
	readyz := func(t *testing.T, base string) (int, map[string]any) {
		t.Helper()
		code, raw := get(t, base+"/readyz")
		var body map[string]any
		if err := json.Unmarshal([]byte(raw), &body); err != nil {
			t.Fatalf("/readyz = %d %q: %v", code, raw, err)
		}
		return code, body
	}
	wantDown := func(t *testing.T, base string, logs *logbuf.Buffer) {
		t.Helper()
		code, body := readyz(t, base)
		if code != http.StatusServiceUnavailable || body["status"] != "unavailable" || body["database"] != "unreachable" || body["redis"] != "ok" {
			t.Fatalf("/readyz with the database gone = %d %v, want 503 naming the database", code, body)
		}
		if code, _ := get(t, base+"/healthz"); code != http.StatusOK {
			t.Fatalf("/healthz with the database gone = %d, want 200", code)
		}
		if !strings.Contains(logs.String(), "not ready: database unreachable") {
			t.Fatalf("the log does not say the database is why:\n%s", logs)
		}
	}

	t.Run("closed", func(t *testing.T) {
		cfg, err := config.Parse([]byte(yaml+databaseYAML(testDatabase(t))), func(k string) (string, bool) { v, ok := secretEnv[k]; return v, ok })
		if err != nil {
			t.Fatal(err)
		}
		logs := &logbuf.Buffer{}
		logger := slog.New(slog.NewJSONHandler(logs, nil))
		db := openTestDB(t, cfg.Database, true)
		base, _ := serveOn(t, cfg, db, roleAll, logger)
		if code, body := readyz(t, base); code != http.StatusOK || body["database"] != "ok" || body["redis"] != "ok" {
			t.Fatalf("/readyz with the database up = %d %v", code, body)
		}
		db.Close()
		wantDown(t, base, logs)
	})

	t.Run("postgres schema dropped", func(t *testing.T) {
		d := config.Database{URL: dbtest.Schema(t)}
		base, _, logs := start(t, yaml+databaseYAML(d), secretEnv, roleGateway)
		if code, body := readyz(t, base); code != http.StatusOK || body["database"] != "ok" {
			t.Fatalf("/readyz with the database up = %d %v", code, body)
		}
		u, err := url.Parse(d.URL)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := recordsDB(t, d).SQL().ExecContext(context.Background(), "DROP SCHEMA "+u.Query().Get("search_path")+" CASCADE"); err != nil {
			t.Fatal(err)
		}
		wantDown(t, base, logs)
	})
}
