package repository

import (
	"context"

	"switchboard/conversations"
)

// ListQuery exposes List's statement, for tests that EXPLAIN it.
func ListQuery(f conversations.Filter) (string, []any) {
	q, a, _ := listQuery(f, false)
	return q, a
}

// ContactTerms exposes the search terms of a contact, for tests that
// seed contacts in bulk.
var ContactTerms = contactTerms

// ListQueryWalk is List's statement for a search commonSearch finds
// common.
func ListQueryWalk(f conversations.Filter) (string, []any) {
	q, a, _ := listQuery(f, true)
	return q, a
}

// MigrateTo applies the migrations up to version v only, for tests of an
// upgrade from a database an older binary left.
func (d *DB) MigrateTo(ctx context.Context, v int64) error {
	p, err := d.provider(nil)
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, v)
	return err
}
