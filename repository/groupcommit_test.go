package repository_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/conversations"
	"switchboard/internal/dbtest"
	"switchboard/repository"
	"switchboard/routing"
)

// named is a message from a customer who keeps one profile name, as most
// do: the group commit's case (inbound's messages each bring a new name).
func named(id, from string, ts time.Time, arrival int64) *channels.Inbound {
	m := inbound(id, from, ts, arrival, "texto "+id)
	m.ProfileName = "Cliente " + from
	return m
}

func bodyOf(t *testing.T, m *channels.Inbound) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dump is every row ApplyInbound writes, as text, for comparing two
// databases.
func dump(t *testing.T, db *repository.DB) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		`SELECT t::text FROM (SELECT id, profile_name, query_seq, created_at, last_inbound_at, last_inbound_order FROM contacts) t ORDER BY 1`,
		`SELECT t::text FROM (SELECT id, state, inbound_count, created_at, updated_at, last_inbound_at, last_inbound_order, activity_at, version FROM conversations) t ORDER BY 1`,
		`SELECT t::text FROM (SELECT contact_id, id, conversation_id, channel, at, seq, body, routed FROM messages) t ORDER BY 1`,
		`SELECT t::text FROM contact_terms t ORDER BY 1`,
	} {
		rows, err := db.SQL().Query(q)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			b.WriteString(s + "\n")
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// groupCase applies setup one by one and runs after (if not nil), then
// group as one group commit, on one database, and the same with group
// one by one, in order, through the individual path on another. Results
// and rows must be the same; it returns the group's results, errors and
// which ones it applied.
func groupCase(t *testing.T, setup []*channels.Inbound, after func(*testing.T, *repository.Conversations),
	group []*channels.Inbound) ([]conversations.InboundResult, []bool, []error) {
	t.Helper()
	ctx := context.Background()
	grouped, alone := dbtest.OpenEngine(t, repository.Postgres), dbtest.OpenEngine(t, repository.Postgres)
	gr, ar := grouped.Conversations(), alone.Conversations()
	for _, m := range setup {
		apply(t, gr, m)
		apply(t, ar, m)
	}
	if after != nil {
		after(t, gr)
		after(t, ar)
	}
	bodies := make([][]byte, len(group))
	for i, m := range group {
		bodies[i] = bodyOf(t, m)
	}
	res, applied, errs := gr.ApplyInboundGroup(ctx, group, bodies, t0)
	for i, m := range group {
		want, werr := ar.ApplyInboundAlone(ctx, m, bodies[i], t0)
		if (errs[i] == nil) != (werr == nil) {
			t.Fatalf("%s: error %v in the group, %v alone", m.ID, errs[i], werr)
		}
		if !reflect.DeepEqual(res[i], want) {
			t.Errorf("%s: result in the group\n%+v (event %+v, routing %+v)\nalone\n%+v (event %+v, routing %+v)",
				m.ID, res[i], res[i].Event, res[i].Routing, want, want.Event, want.Routing)
		}
	}
	if g, a := dump(t, grouped), dump(t, alone); g != a {
		t.Errorf("rows after the group:\n%s\nafter one by one:\n%s", g, a)
	}
	return res, applied, errs
}

func wantApplied(t *testing.T, group []*channels.Inbound, applied []bool, want ...bool) {
	t.Helper()
	for i, m := range group {
		if applied[i] != want[i] {
			t.Errorf("%s: applied by the group = %v, want %v", m.ID, applied[i], want[i])
		}
	}
}

// A group applies the continuing messages, several of one contact in
// their order (a late one stays late), and leaves the rest, each of which
// writes nothing there, to the general path: a duplicate, a new contact,
// a new profile name, a message to a closed conversation. Every result is
// the one the message gets on its own.
func TestGroupCommitMatchesApplyingOneByOne(t *testing.T) {
	a, b, c, d, e := "5511900000001", "5511900000002", "5511900000003", "5511900000004", "5511900000005"
	setup := []*channels.Inbound{
		named("a1", a, t0.Add(-time.Hour), 1), named("b1", b, t0.Add(-time.Hour), 2),
		named("c1", c, t0.Add(-time.Hour), 3), named("e1", e, t0.Add(-time.Hour), 4),
	}
	renamed := named("b3", b, t0.Add(-time.Minute), 13)
	renamed.ProfileName = "Beatriz"
	group := []*channels.Inbound{
		named("a2", a, t0.Add(-30*time.Minute), 10),
		named("b2", b, t0.Add(-30*time.Minute), 11),
		named("a3", a, t0.Add(-20*time.Minute), 12),
		named("c1", c, t0.Add(-time.Hour), 3), // a duplicate
		named("d1", d, t0.Add(-time.Minute), 14),
		renamed,
		named("a4", a, t0.Add(-25*time.Minute), 15), // provider time before a3's: late
		named("e2", e, t0.Add(-time.Minute), 16),
	}
	// e's conversation is closed: e2 opens a new one.
	closeE := func(t *testing.T, r *repository.Conversations) {
		closeQuery(t, r, conversations.ContactID(channel, e)+"-1")
	}
	res, applied, errs := groupCase(t, setup, closeE, group)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s: %v", group[i].ID, err)
		}
	}
	wantApplied(t, group, applied, true, true, true, false, false, false, true, false)
	if !res[6].Late || res[2].Late || !res[3].Duplicate || !res[4].NewQuery || !res[7].NewQuery {
		t.Errorf("results %+v", res)
	}
}

// A member whose statement fails (a body PostgreSQL refuses: a NUL byte
// in text) rolls the group back; every member is then applied on its
// own, so the others are applied, and the bad one fails without a trace.
func TestGroupCommitMemberFailingCostsNoOther(t *testing.T) {
	a, b, c := "5511900000011", "5511900000012", "5511900000013"
	setup := []*channels.Inbound{named("a1", a, t0.Add(-time.Hour), 1), named("b1", b, t0.Add(-time.Hour), 2),
		named("c1", c, t0.Add(-time.Hour), 3)}
	group := []*channels.Inbound{named("a2", a, t0, 10), named("c2", c, t0, 11), named("b2", b, t0, 12), named("a3", a, t0, 13)}
	ctx := context.Background()
	db := dbtest.OpenEngine(t, repository.Postgres)
	r := db.Conversations()
	for _, m := range setup {
		apply(t, r, m)
	}
	bodies := make([][]byte, len(group))
	for i, m := range group {
		bodies[i] = bodyOf(t, m)
	}
	bodies[1] = []byte("{\"text\":\"\x00\"}")
	res, applied, errs := r.ApplyInboundGroup(ctx, group, bodies, t0)
	wantApplied(t, group, applied, false, false, false, false)
	if errs[1] == nil {
		t.Fatalf("c2 with a NUL byte: applied (%+v), want an error", res[1])
	}
	for _, i := range []int{0, 2, 3} {
		if errs[i] != nil || res[i].Event == nil || res[i].Duplicate {
			t.Fatalf("%s: %+v, %v: want applied", group[i].ID, res[i], errs[i])
		}
	}
	if q, _ := r.Query(ctx, res[0].QueryID); q.InboundCount != 3 {
		t.Errorf("a's conversation has %d messages, want 3", q.InboundCount)
	}
	cq := conversations.ContactID(channel, c) + "-1"
	if q, _ := r.Query(ctx, cq); q.InboundCount != 1 || !q.LastInboundAt.Equal(t0.Add(-time.Hour)) {
		t.Errorf("c's conversation after its failed message: %+v, want as before", q)
	}
	if n := column[int](t, db, `SELECT count(*) FROM messages WHERE id = 'c2'`); n != 0 {
		t.Errorf("c2 stored %d times", n)
	}
	if at := column[int64](t, db, `SELECT last_inbound_at FROM contacts WHERE external_id = $1`, c); at != t0.Add(-time.Hour).UnixMilli() {
		t.Errorf("c's last inbound time moved to %d by a message not applied", at)
	}
}

// A contact's message that falls out of a group (here: a new name, for
// the general path) must not be overtaken by a later one of the same
// contact the group applies: the group is retried one by one instead.
func TestGroupCommitKeepsAContactsOrder(t *testing.T) {
	a, b := "5511900000021", "5511900000022"
	setup := []*channels.Inbound{named("a1", a, t0.Add(-time.Hour), 1), named("b1", b, t0.Add(-time.Hour), 2)}
	renamed := named("a2", a, t0.Add(-time.Minute), 10)
	renamed.ProfileName = "Ana Maria"
	after := named("a3", a, t0, 11)
	after.ProfileName = "" // no name: it would continue on its own
	group := []*channels.Inbound{renamed, named("b2", b, t0, 12), after}
	_, applied, errs := groupCase(t, setup, nil, group)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s: %v", group[i].ID, err)
		}
	}
	wantApplied(t, group, applied, false, false, false)
}

// Many contacts' messages, several each, applied by concurrent callers
// (on PostgreSQL through group commits): each is applied once, a
// contact's conversation holds them all, its times are its newest
// message's, and applying them all again reports duplicates only.
func TestConcurrentInboundAllAppliedOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		r := db.Conversations()
		ctx := context.Background()
		const contacts, each = 40, 6
		var ms []*channels.Inbound
		for k := range each {
			for c := range contacts {
				ms = append(ms, named(fmt.Sprintf("m%d.%d", c, k), fmt.Sprintf("55119100%05d", c),
					t0.Add(time.Duration(k-each)*time.Minute), int64(k*contacts+c)))
			}
		}
		run := func(wantDup bool) {
			var wg sync.WaitGroup
			next := make(chan *channels.Inbound)
			var mu sync.Mutex
			var failed []error
			for range 24 {
				wg.Go(func() {
					for m := range next {
						res, err := applyErr(r, m)
						if err == nil && res.Duplicate != wantDup {
							err = fmt.Errorf("duplicate = %v", res.Duplicate)
						}
						if err == nil && !wantDup && (res.Event == nil || res.Routing == nil || res.Event.QueryID != res.QueryID) {
							err = fmt.Errorf("result %+v", res)
						}
						if err != nil {
							mu.Lock()
							failed = append(failed, fmt.Errorf("%s: %w", m.ID, err))
							mu.Unlock()
						}
					}
				})
			}
			for _, m := range ms {
				next <- m
			}
			close(next)
			wg.Wait()
			if err := errors.Join(failed...); err != nil {
				t.Fatal(err)
			}
		}
		run(false)
		for c := range contacts {
			from := fmt.Sprintf("55119100%05d", c)
			cl, err := r.Contact(ctx, conversations.ContactID(channel, from))
			if err != nil {
				t.Fatal(err)
			}
			newest := t0.Add(-time.Minute)
			if !cl.LastInboundAt.Equal(newest) || cl.OpenQuery == "" {
				t.Fatalf("contact %s: %+v, want its newest message's time and an open conversation", from, cl)
			}
			q, err := r.Query(ctx, cl.OpenQuery)
			if err != nil {
				t.Fatal(err)
			}
			if q.InboundCount != each || !q.LastInboundAt.Equal(newest) || q.State != routing.StatePending {
				t.Fatalf("conversation of %s: %+v, want all %d messages", from, q, each)
			}
		}
		if n := column[int](t, db, `SELECT count(*) FROM messages`); n != contacts*each {
			t.Fatalf("%d messages stored, want %d", n, contacts*each)
		}
		if n := column[int](t, db, `SELECT count(*) FROM conversations`); n != contacts {
			t.Fatalf("%d conversations, want %d", n, contacts)
		}
		run(true)
	})
}

// A caller that gives up gets its context's error and leaves the others'
// messages applied; after Close, ApplyInbound fails instead of waiting.
func TestGroupCommitCancelAndClose(t *testing.T) {
	db := dbtest.OpenEngine(t, repository.Postgres)
	r := db.Conversations()
	from := "5511900000031"
	apply(t, r, named("x1", from, t0.Add(-time.Hour), 1))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m := named("x2", from, t0, 2)
	if _, err := r.ApplyInbound(ctx, m, bodyOf(t, m), t0); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled caller: %v, want context.Canceled", err)
	}
	res := apply(t, r, named("x3", from, t0, 3))
	if res.Event == nil || res.Duplicate {
		t.Fatalf("after a cancelled caller: %+v", res)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := applyErr(r, named("x4", from, t0, 4)); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("ApplyInbound after Close succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ApplyInbound after Close still waiting after 10 s")
	}
}
