package convtest

import (
	"context"
	"errors"
	"sync"
	"time"

	"switchboard/channels"
	"switchboard/conversations"
)

// ErrInjected is the error a Faulty repository fails with unless told another.
var ErrInjected = errors.New("injected repository fault")

// Faulty wraps a real repository and fails chosen calls on cue: before
// the call reaches the database (nothing written), or after it (written,
// but the caller sees a failure, as when a process dies right after a
// commit).
type Faulty struct {
	conversations.Repository

	mu    sync.Mutex
	rules []*Rule
}

// Rule is one injected fault; Fired says how often it fired.
type Rule struct {
	mu     *sync.Mutex // the Faulty's
	method string
	after  bool
	times  int // remaining; <0 forever
	err    error
	fired  int
}

// Fired reports how many calls the rule failed. It is safe to call while
// the code under test runs.
func (r *Rule) Fired() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fired
}

// With makes the rule fail calls with err instead of ErrInjected: what a
// driver reports when the connection drops, say.
func (r *Rule) With(err error) *Rule {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
	return r
}

// NewFaulty wraps repo.
func NewFaulty(repo conversations.Repository) *Faulty { return &Faulty{Repository: repo} }

// FailBefore fails the next times calls of method (<0: every call) with
// ErrInjected before they reach the database.
func (f *Faulty) FailBefore(method string, times int) *Rule { return f.add(method, false, times) }

// FailAfter lets the next times calls of method reach the database and
// then fails them with ErrInjected.
func (f *Faulty) FailAfter(method string, times int) *Rule { return f.add(method, true, times) }

// Clear removes every rule.
func (f *Faulty) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rules = nil
}

func (f *Faulty) add(method string, after bool, times int) *Rule {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := &Rule{mu: &f.mu, method: method, after: after, times: times, err: ErrInjected}
	f.rules = append(f.rules, r)
	return r
}

// fault reports the error a call of method must fail with at this stage.
func (f *Faulty) fault(method string, after bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.rules {
		if r.method == method && r.after == after && r.times != 0 {
			if r.times > 0 {
				r.times--
			}
			r.fired++
			return r.err
		}
	}
	return nil
}

// ApplyInbound calls the wrapped repository unless a rule fails it.
func (f *Faulty) ApplyInbound(ctx context.Context, m *channels.Inbound, body []byte, now time.Time) (conversations.InboundResult, error) {
	var r0 conversations.InboundResult
	if err := f.fault("ApplyInbound", false); err != nil {
		return r0, err
	}
	v0, err := f.Repository.ApplyInbound(ctx, m, body, now)
	if err == nil {
		err = f.fault("ApplyInbound", true)
	}
	return v0, err
}

// EditContact calls the wrapped repository unless a rule fails it.
func (f *Faulty) EditContact(ctx context.Context, id, displayName, notes string) error {
	if err := f.fault("EditContact", false); err != nil {
		return err
	}
	err := f.Repository.EditContact(ctx, id, displayName, notes)
	if err == nil {
		err = f.fault("EditContact", true)
	}
	return err
}

// SetPortfolioOwner calls the wrapped repository unless a rule fails it.
func (f *Faulty) SetPortfolioOwner(ctx context.Context, contactID, operator string) error {
	if err := f.fault("SetPortfolioOwner", false); err != nil {
		return err
	}
	err := f.Repository.SetPortfolioOwner(ctx, contactID, operator)
	if err == nil {
		err = f.fault("SetPortfolioOwner", true)
	}
	return err
}

// List calls the wrapped repository unless a rule fails it.
func (f *Faulty) List(ctx context.Context, filter conversations.Filter) (conversations.Page, error) {
	var r0 conversations.Page
	if err := f.fault("List", false); err != nil {
		return r0, err
	}
	v0, err := f.Repository.List(ctx, filter)
	if err == nil {
		err = f.fault("List", true)
	}
	return v0, err
}

// History calls the wrapped repository unless a rule fails it.
func (f *Faulty) History(ctx context.Context, queryID string, r conversations.HistoryRange) (conversations.HistoryPage, error) {
	var r0 conversations.HistoryPage
	if err := f.fault("History", false); err != nil {
		return r0, err
	}
	v0, err := f.Repository.History(ctx, queryID, r)
	if err == nil {
		err = f.fault("History", true)
	}
	return v0, err
}

// RecordOutbound calls the wrapped repository unless a rule fails it.
func (f *Faulty) RecordOutbound(ctx context.Context, queryID, msgID, author, text string, tmpl *conversations.TemplateRef, now time.Time) (bool, *conversations.Event, error) {
	var r0 bool
	var r1 *conversations.Event
	if err := f.fault("RecordOutbound", false); err != nil {
		return r0, r1, err
	}
	v0, v1, err := f.Repository.RecordOutbound(ctx, queryID, msgID, author, text, tmpl, now)
	if err == nil {
		err = f.fault("RecordOutbound", true)
	}
	return v0, v1, err
}

// MarkSent calls the wrapped repository unless a rule fails it.
func (f *Faulty) MarkSent(ctx context.Context, queryID, msgID, providerID string, now time.Time) (*conversations.Event, error) {
	var r0 *conversations.Event
	if err := f.fault("MarkSent", false); err != nil {
		return r0, err
	}
	v0, err := f.Repository.MarkSent(ctx, queryID, msgID, providerID, now)
	if err == nil {
		err = f.fault("MarkSent", true)
	}
	return v0, err
}

// MarkFailed calls the wrapped repository unless a rule fails it.
func (f *Faulty) MarkFailed(ctx context.Context, queryID, msgID string, cause channels.StatusError, now time.Time) (*conversations.Event, error) {
	var r0 *conversations.Event
	if err := f.fault("MarkFailed", false); err != nil {
		return r0, err
	}
	v0, err := f.Repository.MarkFailed(ctx, queryID, msgID, cause, now)
	if err == nil {
		err = f.fault("MarkFailed", true)
	}
	return v0, err
}

// ApplyStatus calls the wrapped repository unless a rule fails it.
func (f *Faulty) ApplyStatus(ctx context.Context, st *channels.Status) (conversations.StatusResult, error) {
	var r0 conversations.StatusResult
	if err := f.fault("ApplyStatus", false); err != nil {
		return r0, err
	}
	v0, err := f.Repository.ApplyStatus(ctx, st)
	if err == nil {
		err = f.fault("ApplyStatus", true)
	}
	return v0, err
}

// ApplyDecision calls the wrapped repository unless a rule fails it.
func (f *Faulty) ApplyDecision(ctx context.Context, d conversations.Decision) (*conversations.Event, error) {
	var r0 *conversations.Event
	if err := f.fault("ApplyDecision", false); err != nil {
		return r0, err
	}
	v0, err := f.Repository.ApplyDecision(ctx, d)
	if err == nil {
		err = f.fault("ApplyDecision", true)
	}
	return v0, err
}

// ClearEffects calls the wrapped repository unless a rule fails it.
func (f *Faulty) ClearEffects(ctx context.Context, queryID, effects string) error {
	if err := f.fault("ClearEffects", false); err != nil {
		return err
	}
	err := f.Repository.ClearEffects(ctx, queryID, effects)
	if err == nil {
		err = f.fault("ClearEffects", true)
	}
	return err
}

// Loads calls the wrapped repository unless a rule fails it.
func (f *Faulty) Loads(ctx context.Context, operators []string) (map[string]conversations.OperatorLoad, error) {
	var r0 map[string]conversations.OperatorLoad
	if err := f.fault("Loads", false); err != nil {
		return r0, err
	}
	v0, err := f.Repository.Loads(ctx, operators)
	if err == nil {
		err = f.fault("Loads", true)
	}
	return v0, err
}

// Pool calls the wrapped repository unless a rule fails it.
func (f *Faulty) Pool(ctx context.Context, queryType string, n int) ([]string, error) {
	var r0 []string
	if err := f.fault("Pool", false); err != nil {
		return r0, err
	}
	v0, err := f.Repository.Pool(ctx, queryType, n)
	if err == nil {
		err = f.fault("Pool", true)
	}
	return v0, err
}

// PoolOldest calls the wrapped repository unless a rule fails it.
func (f *Faulty) PoolOldest(ctx context.Context, queryType string) (time.Time, bool, error) {
	var r0 time.Time
	var r1 bool
	if err := f.fault("PoolOldest", false); err != nil {
		return r0, r1, err
	}
	v0, v1, err := f.Repository.PoolOldest(ctx, queryType)
	if err == nil {
		err = f.fault("PoolOldest", true)
	}
	return v0, v1, err
}

// QueryCounts calls the wrapped repository unless a rule fails it.
func (f *Faulty) QueryCounts(ctx context.Context) (map[string]int, error) {
	var r0 map[string]int
	if err := f.fault("QueryCounts", false); err != nil {
		return r0, err
	}
	v0, err := f.Repository.QueryCounts(ctx)
	if err == nil {
		err = f.fault("QueryCounts", true)
	}
	return v0, err
}

// AssignedTo calls the wrapped repository unless a rule fails it.
func (f *Faulty) AssignedTo(ctx context.Context, operator string) ([]string, error) {
	var r0 []string
	if err := f.fault("AssignedTo", false); err != nil {
		return r0, err
	}
	v0, err := f.Repository.AssignedTo(ctx, operator)
	if err == nil {
		err = f.fault("AssignedTo", true)
	}
	return v0, err
}

// PurgeMessages calls the wrapped repository unless a rule fails it.
func (f *Faulty) PurgeMessages(ctx context.Context, before time.Time, batch int) (int, error) {
	var r0 int
	if err := f.fault("PurgeMessages", false); err != nil {
		return r0, err
	}
	v0, err := f.Repository.PurgeMessages(ctx, before, batch)
	if err == nil {
		err = f.fault("PurgeMessages", true)
	}
	return v0, err
}

// Contact calls the wrapped repository unless a rule fails it.
func (f *Faulty) Contact(ctx context.Context, id string) (*conversations.Contact, error) {
	if err := f.fault("Contact", false); err != nil {
		return nil, err
	}
	v0, err := f.Repository.Contact(ctx, id)
	if err == nil {
		err = f.fault("Contact", true)
	}
	return v0, err
}

// Query calls the wrapped repository unless a rule fails it.
func (f *Faulty) Query(ctx context.Context, id string) (*conversations.Query, error) {
	if err := f.fault("Query", false); err != nil {
		return nil, err
	}
	v0, err := f.Repository.Query(ctx, id)
	if err == nil {
		err = f.fault("Query", true)
	}
	return v0, err
}

// Message calls the wrapped repository unless a rule fails it.
func (f *Faulty) Message(ctx context.Context, queryID, msgID string) (*conversations.Message, error) {
	if err := f.fault("Message", false); err != nil {
		return nil, err
	}
	v0, err := f.Repository.Message(ctx, queryID, msgID)
	if err == nil {
		err = f.fault("Message", true)
	}
	return v0, err
}

// RoutingState calls the wrapped repository unless a rule fails it.
func (f *Faulty) RoutingState(ctx context.Context, queryID string) (*conversations.RoutingState, error) {
	if err := f.fault("RoutingState", false); err != nil {
		return nil, err
	}
	v0, err := f.Repository.RoutingState(ctx, queryID)
	if err == nil {
		err = f.fault("RoutingState", true)
	}
	return v0, err
}

// EraseContact calls the wrapped repository unless a rule fails it.
func (f *Faulty) EraseContact(ctx context.Context, contactID string) (conversations.Erased, error) {
	var r0 conversations.Erased
	if err := f.fault("EraseContact", false); err != nil {
		return r0, err
	}
	v0, err := f.Repository.EraseContact(ctx, contactID)
	if err == nil {
		err = f.fault("EraseContact", true)
	}
	return v0, err
}

var _ conversations.Repository = (*Faulty)(nil)

// RecordSLABreach calls the wrapped repository unless a rule fails it.
func (f *Faulty) RecordSLABreach(ctx context.Context, queryID, kind string, due, now time.Time) (*conversations.Event, error) {
	var r0 *conversations.Event
	if err := f.fault("RecordSLABreach", false); err != nil {
		return r0, err
	}
	v0, err := f.Repository.RecordSLABreach(ctx, queryID, kind, due, now)
	if err == nil {
		err = f.fault("RecordSLABreach", true)
	}
	return v0, err
}

// RequestCSAT calls the wrapped repository unless a rule fails it.
func (f *Faulty) RequestCSAT(ctx context.Context, r conversations.CSATRequest) (bool, *conversations.Event, error) {
	if err := f.fault("RequestCSAT", false); err != nil {
		return false, nil, err
	}
	created, ev, err := f.Repository.RequestCSAT(ctx, r)
	if err == nil {
		err = f.fault("RequestCSAT", true)
	}
	return created, ev, err
}
