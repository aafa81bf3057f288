// Package repository is Switchboard's system of record: contacts,
// conversations with their routing state, messages, accounts, roles,
// groups, settings versions and the audit log, in PostgreSQL (production)
// or SQLite (the embedded default, pure Go). docs/database.md shows the
// schema and why it is so.
//
// Every statement is written once for both engines: `$n` placeholders,
// BIGINT milliseconds for times, TEXT ids and JSON. Where the engines must
// differ (row locks that skip locked rows) the DB's Dialect says which.
// The rules that must hold under concurrent workers and replicas (one open
// conversation per contact, one claim winner, capacity, oldest-first
// pools) hold by transactions, row locks and conditional updates.
package repository

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, without cgo

	"switchboard/conversations"
)

// Dialect names the database engine a DB runs on.
type Dialect string

// The engines Switchboard runs on.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// ErrNotFound means the row asked for does not exist. It is the
// conversations package's, so callers test one error whichever layer
// they talk to.
var ErrNotFound = conversations.ErrNotFound

//go:embed migrations/*.sql
var migrations embed.FS

// DB is an open system of record.
type DB struct {
	db      *sql.DB
	dialect Dialect
	// where names the database for people (a path or host/database),
	// never with its password.
	where string
	// writers takes SQLite's write transactions in turn inside this
	// process. SQLite has one write lock and its busy handler polls for
	// it: under steady writes from many goroutines a waiter can keep
	// missing it until busy_timeout gives up (SQLITE_BUSY). A Go mutex
	// queues them instead.
	writers sync.Mutex
	// group applies continuing inbound messages of concurrent callers
	// in shared transactions (PostgreSQL; see groupcommit.go).
	group *committer
}

// maxParallel is the PostgreSQL setting Open turns off by default: see
// there.
const maxParallel = "max_parallel_workers_per_gather"

// Options say which database to open.
type Options struct {
	// URL is a postgres:// (or postgresql://) URL; empty opens Path.
	URL string
	// Path is the SQLite file, used when URL is empty.
	Path string
	// MaxConns caps open connections (0: 20 on PostgreSQL).
	MaxConns int
}

// Open connects to the database Options name and checks it answers. It
// does not migrate: see Migrate.
func Open(ctx context.Context, o Options) (*DB, error) {
	d := &DB{group: newCommitter()}
	var err error
	switch {
	case o.URL != "":
		u, perr := url.Parse(o.URL)
		if perr != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return nil, errors.New("database.url: want postgres://user:password@host:5432/database")
		}
		d.dialect, d.where = Postgres, u.Host+u.Path
		cfg, perr := pgx.ParseConfig(o.URL)
		if perr != nil {
			return nil, fmt.Errorf("open database %s: %w", d.where, perr)
		}
		// No parallel query on Switchboard's connections, unless the URL
		// sets max_parallel_workers_per_gather itself (as a parameter or
		// in options=-c...). Its statements are short OLTP reads of an
		// index range cut at a page; a parallel plan pays for starting
		// its workers (14 to 19 ms of a 20 ms search on two cores,
		// BENCHMARKS.md, issue 12) to save a few milliseconds of scan.
		if _, ok := cfg.RuntimeParams[maxParallel]; !ok &&
			!strings.Contains(cfg.RuntimeParams["options"], maxParallel) {
			cfg.RuntimeParams[maxParallel] = "0"
		}
		d.db = stdlib.OpenDB(*cfg)
		n := o.MaxConns
		if n <= 0 {
			n = 20
		}
		d.db.SetMaxOpenConns(n)
		d.db.SetMaxIdleConns(n)
		d.db.SetConnMaxIdleTime(5 * time.Minute)
	case o.Path != "":
		d.dialect, d.where = SQLite, o.Path
		// WAL lets readers run beside the one writer; BEGIN IMMEDIATE
		// takes the write lock at the start of a transaction, so two
		// writers queue (busy_timeout) instead of failing on upgrade;
		// foreign keys are off by default in SQLite.
		dsn := "file:" + o.Path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
			"&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
		d.db, err = sql.Open("sqlite", dsn)
		if err != nil {
			return nil, fmt.Errorf("open database %s: %w", d.where, err)
		}
		n := o.MaxConns
		if n <= 0 {
			n = 8
		}
		d.db.SetMaxOpenConns(n)
	default:
		return nil, errors.New("database: set database.url (PostgreSQL) or database.path (SQLite)")
	}
	if d.dialect == SQLite {
		// Processes opening one SQLite file take turns for the first
		// connection, the lock file Migrate takes: a file being created
		// or switched to WAL is locked in a way SQLite answers with
		// SQLITE_BUSY at once, busy_timeout or not (seen when several
		// replicas start together on a new file).
		unlock, err := lockFile(d.where + ".migrate-lock")
		if err != nil {
			d.db.Close()
			return nil, err
		}
		defer unlock()
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := d.db.PingContext(pctx); err != nil {
		d.db.Close()
		return nil, fmt.Errorf("connect to database %s: %w", d.where, err)
	}
	return d, nil
}

// Dialect says which engine d runs on.
func (d *DB) Dialect() Dialect { return d.dialect }

// Where names the database for logs: a file path, or host and database.
func (d *DB) Where() string { return d.where }

// SQL returns the connection pool, for the device store of linked
// WhatsApp numbers, which may share the database.
func (d *DB) SQL() *sql.DB { return d.db }

// Close stops the inbound group committer, once its groups in flight are
// answered, and closes the connection pool.
func (d *DB) Close() error {
	d.group.close()
	return d.db.Close()
}

// Ping checks the database answers with Switchboard's schema, for
// readiness. It reads the schema's version table, not only the
// connection: a server that answers while the schema is gone (dropped,
// restored elsewhere, search_path naming another) fails every request.
func (d *DB) Ping(ctx context.Context) error {
	var one int
	err := d.db.QueryRowContext(ctx, `SELECT 1 FROM schema_migrations LIMIT 1`).Scan(&one)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("ping database %s: %w", d.where, err)
	}
	return nil
}

// migrationLockID is the PostgreSQL advisory lock replicas take to
// migrate one at a time ("switchboard" in ASCII, truncated).
const migrationLockID = 0x737769746368

// provider builds goose's migration provider for d.
func (d *DB) provider(logger *slog.Logger) (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true), goose.WithTableName("schema_migrations"),
		goose.WithGoMigrations(groupsMigration),
		// Migrations are numbered by features developed side by side: a
		// database migrated with a later number applies an earlier one
		// that arrives afterwards instead of refusing to start.
		goose.WithAllowOutofOrder(true)}
	if logger != nil {
		opts = append(opts, goose.WithSlog(logger))
	}
	dialect := goose.DialectSQLite3
	if d.dialect == Postgres {
		dialect = goose.DialectPostgres
		// Replicas starting together: one migrates while the others wait
		// on the advisory lock (polled every second, up to 5 minutes),
		// then find nothing left to do.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID), lock.WithLockTimeout(1, 300))
		if err != nil {
			return nil, fmt.Errorf("migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, d.db, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// Migrate applies the migrations not yet applied and returns how many it
// applied. Safe to run from several replicas at once.
func (d *DB) Migrate(ctx context.Context, logger *slog.Logger) (int, error) {
	if d.dialect == SQLite {
		// goose locks PostgreSQL only; processes sharing one SQLite file
		// take turns on a lock file beside it.
		unlock, err := lockFile(d.where + ".migrate-lock")
		if err != nil {
			return 0, err
		}
		defer unlock()
	}
	p, err := d.provider(logger)
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrate database %s: %w", d.where, err)
	}
	return len(res), nil
}

// SchemaVersion returns the schema version applied and the newest this
// binary knows; a database behind the binary needs Migrate.
func (d *DB) SchemaVersion(ctx context.Context) (current, latest int64, err error) {
	p, err := d.provider(nil)
	if err != nil {
		return 0, 0, err
	}
	current, latest, err = p.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("read schema version: %w", err)
	}
	return current, latest, nil
}

// isUniqueViolation reports whether err is a unique-constraint violation
// on either engine.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	s := err.Error()
	return strings.Contains(s, "SQLSTATE 23505") || strings.Contains(s, "UNIQUE constraint failed")
}

// tx runs fn in a transaction, committing if it returns nil.
func (d *DB) tx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if d.dialect == SQLite {
		d.writers.Lock() // every transaction here is a write one (BEGIN IMMEDIATE)
		defer d.writers.Unlock()
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
