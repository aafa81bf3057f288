package repository_test

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"

	"switchboard/internal/dbtest"
	"switchboard/repository"
)

// Replicas starting at once all migrate; one applies the schema, the
// others find it applied, and every one ends on the latest version.
func TestMigrateFromManyReplicasAtOnce(t *testing.T) {
	for _, e := range dbtest.Engines {
		t.Run(string(e), func(t *testing.T) {
			ctx := context.Background()
			var o repository.Options
			if e == repository.Postgres {
				o.URL = dbtest.Schema(t)
			} else {
				o.Path = t.TempDir() + "/sb.db"
			}
			var wg sync.WaitGroup
			applied := make([]int, 4)
			errs := make([]error, 4)
			for i := range 4 {
				wg.Go(func() {
					db, err := repository.Open(ctx, o)
					if err != nil {
						errs[i] = err
						return
					}
					defer db.Close()
					applied[i], errs[i] = db.Migrate(ctx, nil)
				})
			}
			wg.Wait()
			total := 0
			for i := range 4 {
				if errs[i] != nil {
					t.Fatalf("replica %d: %v", i, errs[i])
				}
				total += applied[i]
			}
			db, err := repository.Open(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			cur, latest, err := db.SchemaVersion(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if cur != latest || latest < 1 {
				t.Fatalf("schema version %d, latest %d", cur, latest)
			}
			n, err := db.MigrationCount()
			if err != nil {
				t.Fatal(err)
			}
			if total != n {
				t.Fatalf("replicas applied %d migrations in all, want each of the %d once", total, n)
			}
		})
	}
}

// Ping, which readiness relies on, fails when the database no longer
// answers: closed, or, on PostgreSQL, reachable but without Switchboard's
// schema (every query would fail, though the server accepts connections).
func TestPingFailsWhenTheDatabaseCannotServe(t *testing.T) {
	ctx := context.Background()
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		if err := db.Ping(ctx); err != nil {
			t.Fatalf("Ping on a migrated database: %v", err)
		}
		db.Close()
		if err := db.Ping(ctx); err == nil {
			t.Fatal("Ping on a closed database succeeded")
		}
	})
	t.Run("postgres schema dropped", func(t *testing.T) {
		u := dbtest.Schema(t)
		db, err := repository.Open(ctx, repository.Options{URL: u})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Migrate(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if err := db.Ping(ctx); err != nil {
			t.Fatalf("Ping on a migrated schema: %v", err)
		}
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.SQL().ExecContext(ctx, "DROP SCHEMA "+pu.Query().Get("search_path")+" CASCADE"); err != nil {
			t.Fatal(err)
		}
		if err := db.Ping(ctx); err == nil || !strings.Contains(err.Error(), "schema_migrations") {
			t.Fatalf("Ping once the schema is dropped: %v, want an error naming the missing table", err)
		}
	})
}

// Switchboard's PostgreSQL connections run without parallel query unless
// the URL sets it.
func TestOpenTurnsParallelQueryOff(t *testing.T) {
	ctx := context.Background()
	base := dbtest.Schema(t) // skips without PostgreSQL
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	for _, c := range []struct{ url, want string }{
		{base, "0"},
		{base + sep + "max_parallel_workers_per_gather=1", "1"},
	} {
		db, err := repository.Open(ctx, repository.Options{URL: c.url})
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if err := db.SQL().QueryRowContext(ctx, "SHOW max_parallel_workers_per_gather").Scan(&got); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if got != c.want {
			t.Errorf("%s: max_parallel_workers_per_gather = %s, want %s", c.url, got, c.want)
		}
	}
}
