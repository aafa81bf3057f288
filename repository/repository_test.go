package repository_test

import (
	"context"
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
			if total != int(latest) {
				t.Fatalf("replicas applied %d migrations in all, want each of the %d once", total, latest)
			}
		})
	}
}

// Switchboard's PostgreSQL connections run without parallel query unless
// the URL sets it.
func TestOpenTurnsParallelQueryOff(t *testing.T) {
	ctx := context.Background()
	url := dbtest.Schema(t) // skips without PostgreSQL
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	for _, c := range []struct{ url, want string }{
		{url, "0"},
		{url + sep + "max_parallel_workers_per_gather=1", "1"},
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
