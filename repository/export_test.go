package repository

import "switchboard/conversations"

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
