package repository_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/conversations"
	"switchboard/repository"
	"switchboard/routing"
)

// t0 is "now" in every test: no test depends on the day it runs.
var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

const channel = "wa-main"

func inbound(id, from string, ts time.Time, arrival int64, text string) *channels.Inbound {
	return &channels.Inbound{
		Channel: channel, Kind: "whatsapp_cloud", ID: id, From: from, ProfileName: "Ana " + id,
		Timestamp: ts, Arrival: arrival, Type: channels.TypeText, Text: text,
	}
}

func apply(t testing.TB, r *repository.Conversations, m *channels.Inbound) conversations.InboundResult {
	t.Helper()
	res, err := applyErr(r, m)
	if err != nil {
		t.Fatalf("ApplyInbound(%s): %v", m.ID, err)
	}
	return res
}

func applyErr(r *repository.Conversations, m *channels.Inbound) (conversations.InboundResult, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return conversations.InboundResult{}, err
	}
	return r.ApplyInbound(context.Background(), m, body, t0)
}

// decide stores q as the conversation's routing state from its current
// version, with room for the assignee.
func decide(t testing.TB, r *repository.Conversations, q routing.Query) *conversations.Event {
	t.Helper()
	st, err := r.RoutingState(context.Background(), q.ID)
	if err != nil {
		t.Fatal(err)
	}
	if q.Channel == "" {
		q.Channel = st.Query.Channel
	}
	ev, err := r.ApplyDecision(context.Background(), conversations.Decision{Query: q, ExpectVersion: st.Version, Capacity: 1 << 20, Now: t0})
	if err != nil {
		t.Fatalf("ApplyDecision(%s -> %s): %v", q.ID, q.State, err)
	}
	return ev
}

func closeQuery(t testing.TB, r *repository.Conversations, id string) {
	t.Helper()
	decide(t, r, routing.Query{ID: id, State: routing.StateClosed, Resolution: "solved"})
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: error %v, want %v", what, err, want)
	}
}

// column reads one value of a row straight from the database, for what
// the contract does not show (the time of each status, search terms).
func column[T any](t *testing.T, db *repository.DB, query string, a ...any) T {
	t.Helper()
	var v T
	if err := db.SQL().QueryRow(query, a...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return v
}

// seedRow is one contact with one conversation, inserted in bulk.
type seedRow struct {
	contactID, external, profile string
	queryID, state, queryType    string
	assignee                     string
	activity                     time.Time
}

// seed inserts rows directly, many per statement: tests of lists over
// thousands of conversations need them fast, not through ApplyInbound.
func seed(t testing.TB, db *repository.DB, rows []seedRow) {
	t.Helper()
	tx, err := db.SQL().Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var contacts, convs, terms [][]any
	for _, r := range rows {
		at := r.activity.UnixMilli()
		contacts = append(contacts, []any{r.contactID, channel, r.external, r.profile, at, at, "x"})
		routed := r.state != routing.StatePending || r.queryType != ""
		var pool int64
		if r.state == routing.StatePending && r.queryType != "" {
			pool = at
		}
		convs = append(convs, []any{r.queryID, r.contactID, channel, r.state, routed, r.queryType, r.assignee, pool, at, at, at, at, 1})
		for _, term := range repository.ContactTerms(r.profile, "", r.external) {
			terms = append(terms, []any{[]byte(term), r.contactID})
		}
	}
	bulk(t, tx, "contacts (id, channel, external_id, profile_name, created_at, last_inbound_at, last_inbound_order)", contacts)
	bulk(t, tx, "conversations (id, contact_id, channel, state, routed, query_type, assignee, pool_since, created_at, updated_at, last_inbound_at, activity_at, inbound_count)", convs)
	bulk(t, tx, "contact_terms (term, contact_id)", terms)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func bulk(t testing.TB, tx *sql.Tx, into string, rows [][]any) {
	t.Helper()
	for len(rows) > 0 {
		n := min(len(rows), 50) // SQLite binds many parameters slowly
		var b strings.Builder
		var a []any
		b.WriteString("INSERT INTO " + into + " VALUES ")
		for i, r := range rows[:n] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(")
			for j, v := range r {
				if j > 0 {
					b.WriteString(", ")
				}
				a = append(a, v)
				fmt.Fprintf(&b, "$%d", len(a))
			}
			b.WriteString(")")
		}
		if _, err := tx.Exec(b.String(), a...); err != nil {
			t.Fatalf("seed %s: %v", into, err)
		}
		rows = rows[n:]
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
