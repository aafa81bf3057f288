package repository

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"switchboard/conversations"
	"switchboard/routing"
)

// List limits.
const (
	defaultList = 50
	maxList     = 200
)

// List pages through conversations by activity, newest first, ties
// broken by id: a page continues strictly after its cursor's (activity,
// id), so no row is skipped or repeated whatever rows share a millisecond.
func (c *Conversations) List(ctx context.Context, f conversations.Filter) (conversations.Page, error) {
	var walk bool
	if f.Viewer == nil {
		var err error
		if walk, err = c.commonSearch(ctx, f.Search); err != nil {
			return conversations.Page{}, fmt.Errorf("list conversations: %w", err)
		}
	}
	query, a, limit := listQuery(f, walk)
	if query == "" {
		return conversations.Page{}, nil
	}
	rows, err := c.d.db.QueryContext(ctx, query, a...)
	if err != nil {
		return conversations.Page{}, fmt.Errorf("list conversations: %w", err)
	}
	defer rows.Close()
	var page conversations.Page
	for rows.Next() {
		var s conversations.Summary
		var display, profile string
		if err := scanQuery(rows, &s.Query, &display, &profile, &s.ContactPhone); err != nil {
			return conversations.Page{}, fmt.Errorf("list conversations: %w", err)
		}
		s.ContactName = display
		if s.ContactName == "" {
			s.ContactName = profile
		}
		page.Items = append(page.Items, s)
	}
	if err := rows.Err(); err != nil {
		return conversations.Page{}, fmt.Errorf("list conversations: %w", err)
	}
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		last := page.Items[limit-1]
		page.Next = &conversations.Cursor{At: last.ActivityAt, ID: last.ID}
	}
	if err := c.fillTags(ctx, page.Items); err != nil {
		return conversations.Page{}, fmt.Errorf("list conversations: tags: %w", err)
	}
	return page, nil
}

// A search's first word is common when more than commonTerms terms
// start with it, and then so common that a hashed set of its contacts
// might not fit PostgreSQL's work_mem when more than maxWalkTerms do.
const (
	commonTerms  = 1000
	maxWalkTerms = 20000
)

// commonSearch reports whether List should walk conversations by
// activity, checking each against the set of contacts a search matches,
// rather than leave the planner to choose: a bounded count of the terms
// the first word starts, at most maxWalkTerms+1 index entries read.
//
// For a word a few contacts have ("jurema", a phone number), reading
// those contacts' conversations by the term index and sorting them costs
// what they number. For one that 1 contact in 40 has ("lucas"), the
// page is found after some 2,000 conversations by activity whatever the
// table's size, but PostgreSQL checks each of them with a probe of
// contact_terms_contact (about 2 us each: 4 ms at 100,000 conversations,
// against 1 ms for the hash join it picks at 1,000); a hashed set of the
// word's contacts, built once from the term range, checks each in a
// fraction of that. Beyond maxWalkTerms the set might not be hashed, and
// the page is found so soon that the planner's probes are cheap.
func (c *Conversations) commonSearch(ctx context.Context, search string) (bool, error) {
	ws := searchWords(search)
	if search == "" || len(ws) == 0 {
		return false, nil
	}
	lo, hi := prefixRange(ws[0])
	var n int
	err := c.d.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM contact_terms WHERE term >= $1 AND term < $2 LIMIT $3) c`,
		lo, hi, maxWalkTerms+1).Scan(&n)
	return n > commonTerms && n <= maxWalkTerms, err
}

// states are every state a conversation can be in, as the schema's CHECK
// on conversations.state allows.
var states = []string{routing.StatePending, routing.StateAssigned, routing.StateInactive, routing.StateClosed}

// listQuery builds List's statement for f, its arguments, and the page
// size; "" when f can match nothing. walk says that f's search is
// common (commonSearch): a statement of one branch then checks each
// conversation against the set of the search's contacts.
//
// The rows are the union of branches, each a conjunction of equalities
// an index of conversations starts with (state; query_type and state;
// assignee and state), read in that index's order and cut at the
// page size, so each is a short range scan and the union is merged, not
// sorted. An operator's view is such a union: their assigned
// conversations, and the pending and inactive ones of each type they
// serve. One OR over all of it could only be served by reading every
// matching row and sorting them.
func listQuery(f conversations.Filter, walk bool) (string, []any, int) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultList
	}
	limit = min(limit, maxList)
	var a args
	wheres := listWhere(f, walk, &a)
	if wheres == nil {
		return "", nil, limit
	}
	// One more row than the page says whether another page follows.
	n := a.add(limit + 1)
	const order = " ORDER BY activity_at DESC, id DESC LIMIT "
	selects := make([]string, len(wheres))
	for i, where := range wheres {
		selects[i] = "SELECT " + queryColumns + " FROM conversations" + where + order + n
	}
	inner := selects[0]
	if len(selects) > 1 {
		for i, s := range selects {
			selects[i] = fmt.Sprintf("SELECT * FROM (%s) b%d", s, i)
		}
		inner = strings.Join(selects, " UNION ALL ") + order + n
	}
	query := "SELECT k.display_name, k.profile_name, k.external_id, " + columns("u") +
		" FROM (" + inner + ") u JOIN contacts k ON k.id = u.contact_id ORDER BY u.activity_at DESC, u.id DESC"
	return query, a, limit
}

// listWhere is the WHERE clause ("" for none) of each of the branches
// the list of f reads (see listQuery), with their arguments added to a;
// nil when f can match nothing. The branches are disjoint: each names a
// state, and an operator's view reads their assigned conversations and
// the pending and inactive ones of distinct types. So the list is their
// union and the count (Count) the sum of theirs.
func listWhere(f conversations.Filter, walk bool, a *args) []string {

	// Conditions every branch has; common[search] is the search's.
	var common []string
	search := -1
	if f.Channel != "" {
		common = append(common, "channel = "+a.add(f.Channel))
	}
	if f.Tag != "" {
		// A semi-join on conversation_tags' primary key (tag,
		// conversation_id): each branch still reads its index of
		// conversations in activity order, so the page and its cursor
		// are exactly the unfiltered list's, restricted.
		common = append(common, "id IN (SELECT conversation_id FROM conversation_tags WHERE tag = "+a.add(f.Tag)+")")
	}
	if !f.UpdatedFrom.IsZero() {
		common = append(common, "activity_at >= "+a.add(ms(f.UpdatedFrom)))
	}
	if !f.UpdatedTo.IsZero() {
		common = append(common, "activity_at < "+a.add(ms(f.UpdatedTo)))
	}
	if !f.InboundBefore.IsZero() {
		common = append(common, "last_inbound_at < "+a.add(ms(f.InboundBefore)))
	}
	if f.After != nil {
		// The first condition bounds the index scan on both engines; the
		// second drops the rows of the cursor's millisecond up to its id.
		at, id := a.add(ms(f.After.At)), a.add(f.After.ID)
		common = append(common, fmt.Sprintf("activity_at <= %[1]s AND (activity_at < %[1]s OR id < %[2]s)", at, id))
	}
	if ws := searchWords(f.Search); f.Search != "" && len(ws) > 0 {
		// The contacts having, for every word, a term it starts: the
		// first word is a range scan of contact_terms' primary key, each
		// other word a join on the contact checking its terms. A join,
		// not an INTERSECT or an IN per word: PostgreSQL then estimates
		// the words together as rarer than each alone (as they are:
		// "joana ferr"), and reads those few contacts' conversations by
		// index instead of scanning conversations.
		var from, where []string
		for i, w := range ws {
			lo, hi := prefixRange(w)
			t := fmt.Sprintf("t%d", i)
			if i == 0 {
				from = append(from, "contact_terms "+t)
			} else {
				from = append(from, "JOIN contact_terms "+t+" ON "+t+".contact_id = t0.contact_id")
			}
			where = append(where, t+".term >= "+a.add(lo)+" AND "+t+".term < "+a.add(hi))
		}
		search = len(common)
		common = append(common, "contact_id IN (SELECT t0.contact_id FROM "+strings.Join(from, " ")+
			" WHERE "+strings.Join(where, " AND ")+")")
	}

	var branches [][]string
	if v := f.Viewer; v != nil {
		if (f.State == "" || f.State == routing.StateAssigned) && (f.Assignee == "" || f.Assignee == v.ID) {
			b := []string{"assignee = " + a.add(v.ID), "state = '" + routing.StateAssigned + "'"}
			if f.QueryType != "" {
				b = append(b, "query_type = "+a.add(f.QueryType))
			}
			branches = append(branches, b)
		}
		types := slices.Clone(v.Types)
		slices.Sort(types)
		for _, t := range slices.Compact(types) {
			if f.QueryType != "" && t != f.QueryType {
				continue
			}
			for _, s := range []string{routing.StatePending, routing.StateInactive} {
				if f.State != "" && f.State != s {
					continue
				}
				b := []string{"query_type = " + a.add(t), "state = '" + s + "'"}
				if f.Assignee != "" {
					b = append(b, "assignee = "+a.add(f.Assignee))
				}
				branches = append(branches, b)
			}
		}
		if len(branches) == 0 {
			return nil
		}
	} else {
		var b []string
		if f.QueryType != "" {
			b = append(b, "query_type = "+a.add(f.QueryType))
		}
		if f.Assignee != "" {
			b = append(b, "assignee = "+a.add(f.Assignee))
		}
		switch {
		case f.State != "":
			branches = append(branches, append(b, "state = "+a.add(f.State)))
		case len(b) > 0:
			// The type and assignee indexes go on with the state: one
			// branch per state reads each in order. The schema's CHECK
			// keeps the states to these.
			for _, s := range states {
				branches = append(branches, append(slices.Clip(b), "state = '"+s+"'"))
			}
		default:
			branches = append(branches, nil)
		}
	}

	if walk && search >= 0 && len(branches) == 1 {
		// IS TRUE keeps the IN a filter: neither engine turns it into a
		// join, so the branch reads its index in order and checks each
		// row against the subquery's set, built once (PostgreSQL: a
		// hashed SubPlan; SQLite: an ephemeral index). Not for a union:
		// each branch would build the set again, and the planner's own
		// choice was measured within target for an operator's view.
		common[search] = "(" + common[search] + ") IS TRUE"
	}

	wheres := make([]string, len(branches))
	for i, b := range branches {
		if conds := slices.Concat(b, common); len(conds) > 0 {
			wheres[i] = " WHERE " + strings.Join(conds, " AND ")
		}
	}
	return wheres
}

// Count counts the conversations List would return for f across all its
// pages (f's cursor and limit aside): the same conditions on the same
// indexes, each branch counted and the counts added.
func (c *Conversations) Count(ctx context.Context, f conversations.Filter) (int, error) {
	query, a := countQuery(f)
	if query == "" {
		return 0, nil
	}
	var n int
	if err := c.d.db.QueryRowContext(ctx, query, a...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count conversations: %w", err)
	}
	return n, nil
}

// countQuery builds Count's statement for f and its arguments; "" when f
// can match nothing.
func countQuery(f conversations.Filter) (string, []any) {
	f.After = nil
	var a args
	wheres := listWhere(f, false, &a)
	if wheres == nil {
		return "", nil
	}
	counts := make([]string, len(wheres))
	for i, where := range wheres {
		counts[i] = "(SELECT COUNT(*) FROM conversations" + where + ")"
	}
	return "SELECT " + strings.Join(counts, " + "), a
}
