package repository

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// tx keeps what fn did when fn returns nil and none of it when fn fails,
// on both engines. (An internal test: package dbtest imports this one.)
func TestTxCommitsOrRollsBack(t *testing.T) {
	for _, e := range []Dialect{SQLite, Postgres} {
		t.Run(string(e), func(t *testing.T) {
			// One connection, so the temporary table is seen by every statement.
			o := Options{MaxConns: 1}
			if e == SQLite {
				o.Path = filepath.Join(t.TempDir(), "tx.db")
			} else if o.URL = os.Getenv("SWITCHBOARD_TEST_POSTGRES"); o.URL == "" {
				t.Skip("SWITCHBOARD_TEST_POSTGRES is not set: no PostgreSQL to test on (CI sets it)")
			}
			ctx := context.Background()
			d, err := Open(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if _, err := d.db.ExecContext(ctx, `CREATE TEMPORARY TABLE tx_probe (n BIGINT NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			insert := func(tx *sql.Tx, n int) error {
				_, err := tx.ExecContext(ctx, `INSERT INTO tx_probe (n) VALUES ($1)`, n)
				return err
			}
			if err := d.tx(ctx, func(tx *sql.Tx) error { return insert(tx, 1) }); err != nil {
				t.Fatal(err)
			}
			failed := errors.New("second step failed")
			err = d.tx(ctx, func(tx *sql.Tx) error {
				if err := insert(tx, 2); err != nil {
					return err
				}
				return failed
			})
			if !errors.Is(err, failed) {
				t.Fatalf("tx = %v, want fn's error", err)
			}
			var sum int
			if err := d.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(n), 0) FROM tx_probe`).Scan(&sum); err != nil {
				t.Fatal(err)
			}
			if sum != 1 {
				t.Fatalf("rows sum to %d, want 1: the committed insert only", sum)
			}
		})
	}
}
