package repository

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"switchboard/conversations"
)

// Group commit (PostgreSQL only). Most inbound messages continue their
// contact's open conversation, and a worker pool applies many at once.
// What PostgreSQL spends on such a message is mostly per transaction and
// per round trip, not per row (BENCHMARKS.md, issue 12), so continuing
// messages submitted by concurrent ApplyInbound calls are applied
// together: one transaction, one statement each, sent in one round trip
// and committed in a second.
//
// Isolation from one another is kept by two rules. Each message's
// statement guards itself: a message that is not a plain continuation
// writes nothing and is applied afterwards on its own by the general
// path. And anything unexpected in a group (an error of any statement, a
// racing duplicate, a deadlock, a failed commit) rolls the whole group
// back and every member is applied on its own, so one bad message never
// costs the others and nothing half-written remains.
const (
	// groupMax caps a group: more waiting requests go to the next one.
	groupMax = 32
	// groupCommitters is how many groups may be in flight at once: one
	// gathers while another waits for PostgreSQL, so neither the
	// database nor the callers sit idle behind a single transaction.
	groupCommitters = 2
	// groupTimeout bounds a group's database work. A group runs on its
	// own context, not a caller's: one caller giving up must not fail
	// the others' messages.
	groupTimeout = 30 * time.Second
)

// groupOutcome is what the group did with one message.
type groupOutcome int

const (
	// groupFailed: the group was rolled back (or never ran); the
	// message is applied on its own by the whole individual path.
	groupFailed groupOutcome = iota
	// groupApplied: committed; the result is the message's.
	groupApplied
	// groupIneligible: not a plain continuation, nothing written; the
	// general path applies it.
	groupIneligible
)

// groupReq is one ApplyInbound call waiting for a group.
type groupReq struct {
	ctx  context.Context
	in   *inbound
	done chan groupResult // buffered: the committer never waits for a caller gone
}

// groupResult is a group's answer to one request.
type groupResult struct {
	outcome groupOutcome
	res     conversations.InboundResult
}

// committer gathers continuing messages into groups. Its goroutines
// start on the first message and stop on DB.Close.
type committer struct {
	// reqs is unbuffered: a request is handed to a committer goroutine
	// or not at all, so none is stranded when they stop.
	reqs    chan *groupReq
	stopped chan struct{} // closed by close
	wg      sync.WaitGroup
	running atomic.Bool // started (or closed): submit's fast path
	mu      sync.Mutex  // guards started and closed, so no goroutine starts after close
	started bool
	closed  bool
}

func newCommitter() *committer {
	return &committer{reqs: make(chan *groupReq), stopped: make(chan struct{})}
}

// submit hands in to a group and waits for its outcome. groupFailed
// without an error means no group took it (the DB is closing).
func (g *committer) submit(ctx context.Context, d *DB, in *inbound) (groupResult, error) {
	if !g.running.Load() {
		g.startOnce(d)
	}
	r := &groupReq{ctx: ctx, in: in, done: make(chan groupResult, 1)}
	select {
	case g.reqs <- r:
	case <-g.stopped:
		return groupResult{outcome: groupFailed}, nil
	case <-ctx.Done():
		return groupResult{outcome: groupFailed}, ctx.Err()
	}
	select {
	case out := <-r.done:
		return out, nil
	case <-ctx.Done():
		// The group may still commit the message: as after a crash past
		// the commit, its redelivery is reported a duplicate.
		return groupResult{outcome: groupFailed}, ctx.Err()
	}
}

// startOnce starts the committer goroutines, unless started or closed.
func (g *committer) startOnce(d *DB) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.started || g.closed {
		return
	}
	g.started = true
	for range groupCommitters {
		g.wg.Add(1)
		go g.run(d)
	}
	g.running.Store(true)
}

// close stops the committer goroutines once their current groups are
// answered.
func (g *committer) close() {
	g.mu.Lock()
	if !g.closed {
		g.closed = true
		close(g.stopped)
		g.running.Store(true) // nothing to start any more
	}
	g.mu.Unlock()
	g.wg.Wait()
}

// run is one committer goroutine: it takes the first waiting request,
// adds whatever else is already waiting (never waiting for more, so a
// lone message is not delayed), applies them and answers each once.
func (g *committer) run(d *DB) {
	defer g.wg.Done()
	for {
		var first *groupReq
		select {
		case first = <-g.reqs:
		case <-g.stopped:
			return
		}
		batch := []*groupReq{first}
	gather:
		for len(batch) < groupMax {
			select {
			case r := <-g.reqs:
				batch = append(batch, r)
			default:
				break gather
			}
		}
		// A caller that gave up has returned already: its message is
		// not applied, and its redelivery will be.
		live := batch[:0]
		for _, r := range batch {
			if r.ctx.Err() != nil {
				r.done <- groupResult{outcome: groupFailed}
				continue
			}
			live = append(live, r)
		}
		if len(live) == 0 {
			continue
		}
		ins := make([]*inbound, len(live))
		for i, r := range live {
			ins[i] = r.in
		}
		ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
		outs := d.Conversations().applyGroup(ctx, ins)
		cancel()
		for i, r := range live {
			r.done <- outs[i]
		}
	}
}

// groupSQL applies one message that continues its contact's open
// conversation, or writes nothing and returns no row. It is the
// individual path's upsert, conversation UPDATE and message INSERT as
// data-modifying CTEs, all conditioned on the first:
//
//   - c moves the contact's newest message time forward, only when the
//     contact has an open conversation, the message is not in its
//     history and brings no new profile name (which the general path
//     also indexes for search). Its row lock comes first, as in the
//     individual path, so all of a contact's messages serialize on it.
//   - q is continueSQL's UPDATE, run only when c matched (its EXISTS is
//     evaluated once, before the conversation is scanned).
//   - m inserts the message into q's conversation. When c matched but q
//     did not (the conversation closed between the statement's snapshot
//     and c's lock), conversation_id is NULL and its NOT NULL constraint
//     fails the statement, and so the group: it is retried on its own
//     rather than leave the contact moved without its message.
//
// A duplicate committed between the snapshot and c's lock is not seen by
// c's NOT EXISTS; the message's primary key then fails the INSERT, with
// the same effect. $1 contact, $2 now, $3 provider time, $4 provider
// order, $5 message id, $6 profile name, $7 channel, $8 arrival, $9 body.
func (c *Conversations) groupSQL() string {
	newer := c.newerSQL("$3", "$4", "last_inbound_at", "last_inbound_order")
	return `
		WITH c AS (
			UPDATE contacts SET
				last_inbound_at = CASE WHEN ` + newer + ` THEN $3 ELSE last_inbound_at END,
				last_inbound_order = CASE WHEN ` + newer + ` THEN $4 ELSE last_inbound_order END
			WHERE id = $1
				AND ($6 = '' OR profile_name = $6 OR NOT ` + newer + `)
				AND EXISTS (SELECT 1 FROM conversations WHERE contact_id = $1 AND state <> 'closed')
				AND NOT EXISTS (SELECT 1 FROM messages WHERE contact_id = $1 AND id = $5)
			RETURNING portfolio_owner
		), q AS (
			UPDATE conversations SET ` + c.continueSetSQL() + `
			WHERE contact_id = $1 AND state <> 'closed' AND EXISTS (SELECT 1 FROM c)
			RETURNING ` + continueReturning + `
		), m AS (
			INSERT INTO messages (contact_id, id, conversation_id, channel, direction, at, seq, body)
			SELECT $1, $5, q.id, $7::TEXT, 'in', $3, $8::BIGINT, $9::TEXT FROM c LEFT JOIN q ON true
		)
		SELECT c.portfolio_owner, q.* FROM c, q`
}

// groupArgs are groupSQL's arguments.
func (in *inbound) groupArgs() []any {
	return []any{in.cid, in.nowMS, in.at, in.order, in.m.ID, in.m.ProfileName, in.m.Channel, in.m.Arrival, in.body}
}

// prefixed scans its first columns into first, the rest into Scan's
// destinations.
type prefixed struct {
	row   scanner
	first []any
}

func (p prefixed) Scan(dest ...any) error { return p.row.Scan(append(p.first, dest...)...) }

// applyGroup applies ins in one transaction and says, for each, what it
// did. Statements go in contact order (a contact's messages in their
// order in ins), so concurrent groups lock contacts in one order and a
// contact's messages apply as they would one after the other.
func (c *Conversations) applyGroup(ctx context.Context, ins []*inbound) []groupResult {
	outs := make([]groupResult, len(ins))
	order := make([]int, len(ins))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return ins[order[a]].cid < ins[order[b]].cid })

	conn, err := c.d.db.Conn(ctx)
	if err != nil {
		return outs // all groupFailed: each gets its own connection
	}
	defer conn.Close()
	committed := false
	// Why a group failed does not matter to its members: each is then
	// applied on its own and reports its own error, if any.
	_ = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		b := &pgx.Batch{}
		b.Queue("BEGIN")
		stmt := c.groupSQL()
		for _, i := range order {
			in := ins[i]
			res := conversations.InboundResult{ContactID: in.cid}
			ev := &conversations.Event{Type: conversations.EventMessage, MessageID: in.m.ID, Direction: conversations.DirectionInbound}
			b.Queue(stmt, in.groupArgs()...).QueryRow(func(row pgx.Row) error {
				found, err := scanContinued(prefixed{row, []any{&res.PortfolioOwner}}, in, &res, ev)
				if err != nil {
					return err
				}
				if !found {
					outs[i].outcome = groupIneligible
					return nil
				}
				res.Event = ev
				outs[i] = groupResult{outcome: groupApplied, res: res}
				return nil
			})
		}
		err := pc.SendBatch(ctx, b).Close()
		if err == nil {
			err = outOfOrder(ins, order, outs)
		}
		if err == nil {
			if _, err = pc.Exec(ctx, "COMMIT"); err == nil {
				committed = true
				return nil
			}
			// Committed or not, the members are applied on their own:
			// what did commit, they report a duplicate.
			return fmt.Errorf("commit: %w", err)
		}
		if _, rerr := pc.Exec(ctx, "ROLLBACK"); rerr != nil {
			// Never hand the pool a connection inside a transaction.
			_ = pc.Close(ctx)
		}
		return err
	})
	if !committed {
		clear(outs) // all groupFailed
	}
	return outs
}

// errOutOfOrder: a contact's message was applied in a group after one of
// its earlier messages fell out of it.
var errOutOfOrder = errors.New("a contact's message applied before its earlier one")

// outOfOrder refuses a group in which a message that fell out (to be
// applied later, on its own) precedes an applied one of the same contact:
// they would apply in the other order than one after the other. Rare (two
// messages of one contact in a group, the first bringing a new name or
// opening a conversation), so the whole group is retried on its own.
func outOfOrder(ins []*inbound, order []int, outs []groupResult) error {
	var fell map[string]bool
	for _, i := range order {
		cid := ins[i].cid
		switch outs[i].outcome {
		case groupIneligible:
			if fell == nil {
				fell = map[string]bool{}
			}
			fell[cid] = true
		case groupApplied:
			if fell[cid] {
				return errOutOfOrder
			}
		}
	}
	return nil
}
