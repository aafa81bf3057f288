package store

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/routing"
)

// Keys of the routing state shared by all queries. The routing script
// touches them with a query's keys; Prefix's hash tag keeps them all in
// one Cluster slot.
const (
	keyPresence   = Prefix + "roster:presence"  // hash operator -> presence
	keyLoad       = Prefix + "roster:load"      // hash operator -> assigned queries
	keyLast       = Prefix + "roster:last"      // hash operator -> last assignment (ms)
	keyStateCount = Prefix + "stats:queries"    // hash state -> queries in it
	poolPrefix    = Prefix + "pool:"            // zset per query type: pending query ids by wait start
	assignedPref  = Prefix + "assigned:"        // set per operator: the queries assigned to them
	keyActivity   = Prefix + "queries:activity" // zset: query ids by last message time, for listing
)

var (
	//go:embed lua/route_apply.lua
	routeApplySrc string
	routeApply    = redis.NewScript(routeApplySrc)
)

// ErrConflict means the query's routing state changed since it was read;
// decide again on the new state.
var ErrConflict = errors.New("routing state changed concurrently")

// ErrAtCapacity means the chosen operator filled up meanwhile.
var ErrAtCapacity = errors.New("operator at capacity")

// RoutingState is a query's routing state and what is needed to change it.
type RoutingState struct {
	Query routing.Query
	// Version increases with every routing change (optimistic locking).
	Version int64
	// AnsweredSinceAssignment is true when an outbound message was sent
	// after the current assignment.
	AnsweredSinceAssignment bool
	// LastInboundAt is the customer's newest message time.
	LastInboundAt time.Time
	ContactID     string
	// Effects are the pending effects (auto-replies, timers) of a stored
	// decision the worker has not yet carried out, as it wrote them; ""
	// when none are pending.
	Effects string
}

// RoutingState reads a query's routing state.
func (s *Store) RoutingState(ctx context.Context, queryID string) (*RoutingState, error) {
	cid, err := splitQueryID(queryID)
	if err != nil {
		return nil, err
	}
	vals, err := s.rdb.HMGet(ctx, contactPrefix(cid)+":q:"+queryID,
		"routing", "rv", "outbound_count", "assigned_outbound", "last_inbound_at", "contact_id", "channel", "effects").Result()
	if err != nil {
		return nil, fmt.Errorf("read routing state: %w", err)
	}
	str := func(i int) string { v, _ := vals[i].(string); return v }
	if str(5) == "" {
		return nil, fmt.Errorf("query %s: %w", queryID, ErrNotFound)
	}
	st := &RoutingState{ContactID: str(5), LastInboundAt: millis(str(4)), Effects: str(7)}
	st.Version, _ = strconv.ParseInt(str(1), 10, 64)
	if raw := str(0); raw != "" {
		if err := json.Unmarshal([]byte(raw), &st.Query); err != nil {
			return nil, fmt.Errorf("decode routing state of %s: %w", queryID, err)
		}
	}
	st.Query.ID = queryID
	if st.Query.Channel == "" {
		st.Query.Channel = str(6)
	}
	out, _ := strconv.Atoi(str(2))
	atAssign, _ := strconv.Atoi(str(3))
	st.AnsweredSinceAssignment = out > atAssign
	return st, nil
}

// ApplyRouting stores q as the query's routing state if its version is
// still expectVersion. capacity is the new assignee's (ignored without
// one). It returns ErrConflict or ErrAtCapacity when the decision is stale.
func (s *Store) ApplyRouting(ctx context.Context, q routing.Query, expectVersion int64, capacity int, now time.Time) error {
	return s.ApplyDecision(ctx, q, expectVersion, capacity, now, "", "")
}

// ApplyDecision is ApplyRouting that also keeps effects (opaque to the
// store) with the decision, in the same atomic step, as the query's
// pending effects until ClearEffects: what the decision must still cause
// is then never lost between storing it and doing it. The effects replace
// older pending ones ("" clears them), as the decision supersedes the
// older one. inbound, when not "", is the provider id of the customer
// message the decision routes: it is marked routed in the same step (see
// InboundResult.Routed).
func (s *Store) ApplyDecision(ctx context.Context, q routing.Query, expectVersion int64, capacity int, now time.Time, effects, inbound string) error {
	cid, err := splitQueryID(q.ID)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(q)
	if err != nil {
		return fmt.Errorf("encode routing state: %w", err)
	}
	keys := []string{contactPrefix(cid) + ":q:" + q.ID, keyLoad, keyLast, keyStateCount, poolPrefix, assignedPref, contactPrefix(cid) + ":contact"}
	if inbound != "" {
		keys = append(keys, contactPrefix(cid)+":m:"+inbound)
	}
	n, err := routeApply.Run(ctx, s.rdb, keys,
		expectVersion, raw, q.State, q.Assignee, q.Type, capacity, now.UnixMilli(), q.ID, now.UnixMilli(), EventsChannel, effects).Int()
	if err != nil {
		return fmt.Errorf("apply routing decision: %w", err)
	}
	switch n {
	case 0:
		return ErrConflict
	case -1:
		return ErrAtCapacity
	}
	return nil
}

// clearEffects deletes a query's pending effects if they are still the
// ones carried out.
var clearEffects = redis.NewScript(`
if redis.call("HGET", KEYS[1], "effects") == ARGV[1] then
  return redis.call("HDEL", KEYS[1], "effects")
end
return 0`)

// ClearEffects drops the query's pending effects once they are carried
// out; effects are the ones read, so newer ones stored meanwhile stay.
func (s *Store) ClearEffects(ctx context.Context, queryID, effects string) error {
	cid, err := splitQueryID(queryID)
	if err != nil {
		return err
	}
	if err := clearEffects.Run(ctx, s.rdb, []string{contactPrefix(cid) + ":q:" + queryID}, effects).Err(); err != nil {
		return fmt.Errorf("clear pending effects: %w", err)
	}
	return nil
}

// Roster reads the live state of the given operators.
func (s *Store) Roster(ctx context.Context, operators []string) (routing.Roster, error) {
	r := routing.Roster{}
	if len(operators) == 0 {
		return r, nil
	}
	pipe := s.rdb.Pipeline()
	pres := pipe.HMGet(ctx, keyPresence, operators...)
	load := pipe.HMGet(ctx, keyLoad, operators...)
	last := pipe.HMGet(ctx, keyLast, operators...)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("read roster: %w", err)
	}
	for i, id := range operators {
		p, _ := pres.Val()[i].(string)
		l, _ := load.Val()[i].(string)
		a, _ := last.Val()[i].(string)
		n, _ := strconv.Atoi(l)
		if p == "" {
			p = routing.PresenceOffline
		}
		r[id] = routing.OperatorState{Presence: p, Load: n, LastAssigned: millis(a)}
	}
	return r, nil
}

// SetPresence records an operator's presence (online, away, offline).
func (s *Store) SetPresence(ctx context.Context, operator, presence string) error {
	switch presence {
	case routing.PresenceOnline, routing.PresenceAway, routing.PresenceOffline:
	default:
		return fmt.Errorf("presence %q: want online, away or offline", presence)
	}
	if err := s.rdb.HSet(ctx, keyPresence, operator, presence).Err(); err != nil {
		return fmt.Errorf("set presence: %w", err)
	}
	return nil
}

// Pool returns up to n pending query ids of a type, longest waiting first.
func (s *Store) Pool(ctx context.Context, queryType string, n int) ([]string, error) {
	ids, err := s.rdb.ZRange(ctx, poolPrefix+queryType, 0, int64(n)-1).Result()
	if err != nil {
		return nil, fmt.Errorf("read pool %s: %w", queryType, err)
	}
	return ids, nil
}

// PoolOldest returns when the longest-waiting query of a type's pool began
// waiting; false when the pool is empty.
func (s *Store) PoolOldest(ctx context.Context, queryType string) (time.Time, bool, error) {
	zs, err := s.rdb.ZRangeWithScores(ctx, poolPrefix+queryType, 0, 0).Result()
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read pool %s: %w", queryType, err)
	}
	if len(zs) == 0 {
		return time.Time{}, false, nil
	}
	return time.UnixMilli(int64(zs[0].Score)), true, nil
}

// QueryCounts returns how many routed queries are in each state.
func (s *Store) QueryCounts(ctx context.Context) (map[string]int, error) {
	h, err := s.rdb.HGetAll(ctx, keyStateCount).Result()
	if err != nil {
		return nil, fmt.Errorf("read query counts: %w", err)
	}
	out := make(map[string]int, len(h))
	for k, v := range h {
		out[k], _ = strconv.Atoi(v)
	}
	return out, nil
}

// OperatorLoad returns how many queries are assigned to operator now.
func (s *Store) OperatorLoad(ctx context.Context, operator string) (int, error) {
	n, err := s.rdb.HGet(ctx, keyLoad, operator).Int()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read load: %w", err)
	}
	return n, nil
}

// Touch records activity on a query (a message in or out), for listing
// conversations newest first. Activity only moves forward, so a late or
// repeated message does not reorder the list.
func (s *Store) Touch(ctx context.Context, queryID string, at time.Time) error {
	if err := s.rdb.ZAddGT(ctx, keyActivity, redis.Z{Score: float64(at.UnixMilli()), Member: queryID}).Err(); err != nil {
		return fmt.Errorf("index query activity: %w", err)
	}
	return nil
}

// Page is one page of query ids, newest activity first.
type Page struct {
	IDs []string
	// Next is the cursor of the following page; empty at the end.
	Next string
}

// RecentQueries pages through queries by last activity, newest first.
// cursor is "" for the first page, else a previous Page.Next.
func (s *Store) RecentQueries(ctx context.Context, cursor string, n int) (Page, error) {
	max := "+inf"
	if cursor != "" {
		ms, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil {
			return Page{}, fmt.Errorf("bad cursor: %w", ErrNotFound)
		}
		max = "(" + strconv.FormatInt(ms, 10)
	}
	zs, err := s.rdb.ZRevRangeByScoreWithScores(ctx, keyActivity, &redis.ZRangeBy{Max: max, Min: "-inf", Count: int64(n)}).Result()
	if err != nil {
		return Page{}, fmt.Errorf("list queries: %w", err)
	}
	p := Page{}
	for _, z := range zs {
		p.IDs = append(p.IDs, z.Member.(string))
	}
	if len(zs) == n {
		p.Next = strconv.FormatInt(int64(zs[len(zs)-1].Score), 10)
	}
	return p, nil
}

// AssignedTo returns the ids of the queries assigned to operator.
func (s *Store) AssignedTo(ctx context.Context, operator string) ([]string, error) {
	ids, err := s.rdb.SMembers(ctx, assignedPref+operator).Result()
	if err != nil {
		return nil, fmt.Errorf("list assigned queries: %w", err)
	}
	return ids, nil
}

// Event is a state change announced on EventsChannel. Every event carries
// the query's routing state as the script that published it left it
// (State, Assignee, QueryType, Channel), so who may see it is decided from
// the event alone: a process serving many streams reads nothing back per
// stream and event.
type Event struct {
	Type      string `json:"type"` // message, state or status
	QueryID   string `json:"query_id"`
	MessageID string `json:"message_id,omitempty"`
	Direction string `json:"direction,omitempty"`
	State     string `json:"state,omitempty"`
	Assignee  string `json:"assignee,omitempty"`
	// PreviousAssignee lets the operator a query left be told it left.
	PreviousAssignee string `json:"previous_assignee,omitempty"`
	Status           string `json:"status,omitempty"`
	// QueryType and Channel are the query's, for visibility.
	QueryType string `json:"query_type,omitempty"`
	Channel   string `json:"channel,omitempty"`
}

// Subscribe listens to events until ctx ends. The caller closes the
// returned PubSub.
func (s *Store) Subscribe(ctx context.Context) (*redis.PubSub, error) {
	ps := s.rdb.Subscribe(ctx, EventsChannel)
	if _, err := ps.Receive(ctx); err != nil {
		ps.Close()
		return nil, fmt.Errorf("subscribe to events: %w", err)
	}
	return ps, nil
}
