package conversations

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"switchboard/channels"
	"switchboard/routing"
	"switchboard/settings"
)

// maxReplyDelay bounds how late a decision's auto-reply may still be sent:
// one carried out later (its task kept failing, or a later task found it
// pending) answers a moment long gone, such as "we are closed" after the
// opening, so it is dropped. Timers have no such bound: they re-check the
// query when they fire.
const maxReplyDelay = 15 * time.Minute

// maxDecisionAttempts bounds re-deciding when another worker changed the
// query or filled the chosen operator between reading and applying.
const maxDecisionAttempts = 8

// countedOutcomes are the outcomes switchboard_routing_decisions_total counts.
var countedOutcomes = map[routing.Outcome]bool{
	routing.OutcomeAssigned: true, routing.OutcomePooled: true, routing.OutcomeQueuedUntilOpen: true,
	routing.OutcomeNotReferred: true, routing.OutcomeMenuPrompted: true,
}

// outcomeExpired marks a session end inside the worker; it is not a
// routing decision and is counted by switchboard_window_expirations_total.
const outcomeExpired routing.Outcome = "expired"

// errContention is returned when a decision could not be applied after
// maxDecisionAttempts; the task is retried.
var errContention = errors.New("routing: the query kept changing concurrently")

// decideFunc makes a decision from the state read just before.
type decideFunc func(rs *routing.Settings, st *RoutingState, r routing.Roster) routing.Decision

// prepareFunc runs on each attempt's state before the decision: it may
// read what the decision will need, and reports whether the decision may
// consult the roster (presence and loads); when not, decide gets an empty
// roster and neither is read.
type prepareFunc func(ctx context.Context, st *RoutingState) (needRoster bool, err error)

// route decides and applies one routing change, optimistically: read the
// state, decide in pure code, apply only if the state is unchanged and the
// chosen operator still has room, else decide again.
//
// A decision's effects (auto-replies, timers) are stored with it in one
// atomic step and carried out afterwards; a failure there fails the task,
// and its retry (or any later task on the query) carries out what is
// still pending before deciding anything new. Carrying out is idempotent:
// auto-replies have ids derived from the decision and timers have
// deterministic task ids, so a retry sends each exactly once.
//
// inbound is the provider id of the customer message being routed ("" for
// a timer or dispatch): the stored decision marks it routed.
func (s *Service) route(ctx context.Context, comp *settings.Compiled, queryID, inbound string, decide decideFunc) (*routing.Decision, error) {
	return s.routeFrom(ctx, comp, queryID, inbound, nil, nil, decide)
}

// routeFrom is route with two savings for a caller that knows more: first,
// when not nil, is the state the first attempt decides from instead of
// reading it (one the caller has just written, as ApplyInbound returns it;
// a decision stored since makes that attempt conflict and the next one
// reads), and prepare, when not nil, runs before each decision (see
// prepareFunc).
func (s *Service) routeFrom(ctx context.Context, comp *settings.Compiled, queryID, inbound string, first *RoutingState,
	prepare prepareFunc, decide decideFunc) (*routing.Decision, error) {
	for range maxDecisionAttempts {
		// The rules alone decide a message that continues its routing;
		// the staff is read (its version checked) only with the roster.
		rs := comp.Routing
		st := first
		first = nil
		if st == nil {
			var err error
			if st, err = s.repo.RoutingState(ctx, queryID); err != nil {
				return nil, err
			}
		}
		if err := s.carryOutPending(ctx, st); err != nil {
			return nil, err
		}
		needRoster := true
		if prepare != nil {
			var err error
			if needRoster, err = prepare(ctx, st); err != nil {
				return nil, err
			}
		}
		roster := routing.Roster{}
		if needRoster {
			var err error
			if rs, err = s.staffed(ctx, comp); err != nil {
				return nil, err
			}
			if roster, err = s.roster(ctx, operatorIDs(rs)); err != nil {
				return nil, err
			}
		}
		d := decide(rs, st, roster)
		continued := d.Query == st.Query && d.Outcome == routing.OutcomeContinued
		version := st.Version + 1
		if continued {
			version = -st.Version // nothing stored: ids apart from the stored decisions'
		}
		eff, err := s.plan(ctx, comp, st, &d, version)
		if err != nil {
			return nil, err
		}
		if continued {
			// Nothing to store. The session timer was armed with the
			// decision that made the query pending or assigned, and
			// re-arms itself when it fires before the window moved on,
			// so a message that continues the session leaves it be:
			// arming it again would cost every message a Redis round
			// trip to be refused. A retry decides the same again from
			// the same state.
			eff.Timers = slices.DeleteFunc(eff.Timers, func(t timer) bool { return t.Type == TimerSessionEnd })
			if err := s.carryOut(ctx, st, eff); err != nil {
				return nil, err
			}
			s.countRejections(eff)
			return &d, nil
		}
		capacity := 0
		if op := rs.Operators[d.Query.Assignee]; op != nil {
			capacity = op.Capacity
			if d.Query.Origin == routing.OriginPortfolio {
				capacity = 1 << 30 // the portfolio is sticky, whatever the load
			}
		}
		raw, err := eff.encode()
		if err != nil {
			return nil, err
		}
		ev, err := s.repo.ApplyDecision(ctx, Decision{Query: d.Query, ExpectVersion: st.Version, Capacity: capacity,
			Effects: raw, Inbound: inbound, Now: s.clock.Now(), SLA: eff.sla})
		if errors.Is(err, ErrConflict) || errors.Is(err, ErrAtCapacity) {
			continue
		}
		if err != nil {
			return nil, err
		}
		s.publish(ctx, ev)
		// Counted here, once per stored decision, not in plan: plan runs
		// again on every conflict and every retry of the task.
		s.countRejections(eff)
		if countedOutcomes[d.Outcome] {
			s.metrics.RoutingDecisions.WithLabelValues(d.Type, string(d.Strategy), string(d.Outcome)).Inc()
			s.logger.DebugContext(ctx, "query routed", "query", queryID, "type", d.Type, "outcome", d.Outcome, "assignee", d.Query.Assignee)
		}
		if err := s.carryOut(ctx, st, eff); err != nil {
			return nil, fmt.Errorf("carry out the routing decision on %s (kept pending for the retry): %w", queryID, err)
		}
		s.clearPending(ctx, queryID, raw)
		return &d, nil
	}
	return nil, errContention
}

// effects are what a routing decision must cause besides its new state.
type effects struct {
	// DecidedAt is when the decision was made, so a reply carried out
	// much later can be told from a timely one (see maxReplyDelay).
	DecidedAt time.Time   `json:"decided_at"`
	Replies   []autoReply `json:"replies,omitempty"`
	Timers    []timer     `json:"timers,omitempty"`
	// rejected counts the replies plan left out because the 24-hour
	// window was closed; it is not stored.
	rejected int
	// sla, when not nil, starts the conversation's targets with the
	// decision (see planSLA); it is not stored with the effects.
	sla *SLA
}

// countRejections counts the auto-replies a stored decision left out
// because the customer-service window was closed.
func (s *Service) countRejections(e effects) {
	if e.rejected > 0 {
		s.metrics.WindowRejections.Add(float64(e.rejected))
	}
}

// autoReply is a rendered automatic reply with the id it is recorded under.
type autoReply struct {
	ID     string `json:"id"`
	Text   string `json:"text"`
	Reason string `json:"reason"`
}

// timer is a routing timer to schedule.
type timer struct {
	Type string    `json:"type"`
	Key  string    `json:"key"`
	At   time.Time `json:"at"`
}

// encode is the effects as stored with the decision; "" for none.
func (e effects) encode() (string, error) {
	if len(e.Replies) == 0 && len(e.Timers) == 0 {
		return "", nil
	}
	b, err := json.Marshal(e)
	if err != nil {
		return "", fmt.Errorf("encode routing effects: %w", err)
	}
	return string(b), nil
}

// replyID derives an auto-reply's message id from the decision (query and
// the routing version it is stored at) and its place in it.
func replyID(queryID string, version int64, i int) string {
	sum := sha256.Sum256([]byte(queryID + ":" + strconv.FormatInt(version, 10) + ":" + strconv.Itoa(i)))
	return "sb-" + hex.EncodeToString(sum[:12])
}

// plan renders a decision's auto-replies and lists its timers. An
// auto-reply is a free-form message, so it is not sent at all outside the
// customer-service window (24 hours since the customer's last message).
func (s *Service) plan(ctx context.Context, comp *settings.Compiled, st *RoutingState, d *routing.Decision, version int64) (effects, error) {
	e := effects{DecidedAt: s.clock.Now()}
	for i, r := range d.Replies {
		if !routing.WindowOpen(st.LastInboundAt, s.clock.Now()) {
			e.rejected++
			s.logger.InfoContext(ctx, "auto-reply not sent: outside the 24-hour window", "query", st.Query.ID, "template", r.Template)
			continue
		}
		text, err := s.renderReply(ctx, comp, st, d, r)
		if errors.Is(err, errNoTemplate) {
			// A settings problem a retry cannot fix.
			s.logger.ErrorContext(ctx, "auto-reply not sent", "query", st.Query.ID, "template", r.Template, "err", err)
			continue
		}
		if err != nil {
			return effects{}, err
		}
		reason := r.Reason
		if reason == "" {
			reason = "other"
		}
		e.Replies = append(e.Replies, autoReply{ID: replyID(st.Query.ID, version, i), Text: text, Reason: reason})
	}
	for _, t := range []timer{
		{TimerSessionEnd, strconv.Itoa(d.Query.Cycle), d.SessionExpiresAt},
		{TimerRelease, strconv.FormatInt(d.ReleaseAt.Unix(), 10), d.ReleaseAt},
		{TimerNoReply, d.Query.Assignee + ":" + strconv.FormatInt(st.Version+1, 10), d.NoReplyAt},
	} {
		if t.At.IsZero() || d.Query.State == routing.StateInactive {
			continue
		}
		if t.Type == TimerSessionEnd && d.Query.State == "" {
			continue
		}
		e.Timers = append(e.Timers, t)
	}
	if err := s.planSLA(ctx, comp, st, d, &e); err != nil {
		return effects{}, err
	}
	return e, nil
}

// carryOut records and queues a decision's auto-replies (on the channel
// the customer wrote on) and schedules its timers. Doing it again does each
// once. A reply is checked right before it is recorded, as it may be
// carried out long after it was decided: outside the 24-hour window, or
// older than maxReplyDelay, it is dropped (see dropReply).
func (s *Service) carryOut(ctx context.Context, st *RoutingState, e effects) error {
	queryID, channel := st.Query.ID, st.Query.Channel
	now := s.clock.Now()
	for _, r := range e.Replies {
		if !routing.WindowOpen(st.LastInboundAt, now) || now.Sub(e.DecidedAt) > maxReplyDelay {
			send, err := s.dropReply(ctx, queryID, r.ID)
			if err != nil {
				return err
			}
			if !send {
				s.logger.InfoContext(ctx, "pending auto-reply dropped: too late or outside the 24-hour window", "query", queryID, "reason", r.Reason, "decided_at", e.DecidedAt)
				continue
			}
		}
		created, ev, err := s.repo.RecordOutbound(ctx, queryID, r.ID, "", r.Text, nil, now)
		if err != nil {
			return fmt.Errorf("record auto-reply: %w", err)
		}
		s.publish(ctx, ev)
		if created {
			s.metrics.AutoReplies.WithLabelValues(r.Reason).Inc()
		} else if m, err := s.repo.Message(ctx, queryID, r.ID); err != nil {
			return fmt.Errorf("read auto-reply: %w", err)
		} else if m.Status != channels.StatusQueued {
			continue // sent or failed already: never again
		}
		if err := s.tasks.EnqueueSend(ctx, channel, queryID, r.ID); err != nil {
			return fmt.Errorf("queue auto-reply: %w", err)
		}
	}
	for _, t := range e.Timers {
		if err := s.tasks.ScheduleTimer(ctx, t.Type, queryID, t.Key, t.At); err != nil {
			return fmt.Errorf("schedule %s timer: %w", t.Type, err)
		}
	}
	return nil
}

// dropReply reports whether a reply that may no longer be recorded must
// still be queued: only when an earlier attempt already recorded it and it
// waits, queued, in the history (its send re-checks the window). A reply
// never recorded is simply not sent: the customer sees nothing and no
// failure is recorded.
func (s *Service) dropReply(ctx context.Context, queryID, id string) (bool, error) {
	m, err := s.repo.Message(ctx, queryID, id)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read auto-reply: %w", err)
	}
	return m.Status == channels.StatusQueued, nil
}

// carryOutPending carries out the effects a stored decision left pending
// (its worker failed or died after storing it) and clears them.
func (s *Service) carryOutPending(ctx context.Context, st *RoutingState) error {
	if st.Effects == "" {
		return nil
	}
	var e effects
	if err := json.Unmarshal([]byte(st.Effects), &e); err != nil {
		// Unreadable, so retrying cannot help; drop them rather than
		// block every later decision on the query.
		s.logger.ErrorContext(ctx, "pending routing effects unreadable; dropped", "query", st.Query.ID, "err", err)
		s.clearPending(ctx, st.Query.ID, st.Effects)
		return nil
	}
	if err := s.carryOut(ctx, st, e); err != nil {
		return fmt.Errorf("carry out pending routing effects of %s: %w", st.Query.ID, err)
	}
	s.clearPending(ctx, st.Query.ID, st.Effects)
	return nil
}

// clearPending drops effects carried out. A failure loses nothing: they
// are carried out again, once each, by the next task on the query.
func (s *Service) clearPending(ctx context.Context, queryID, raw string) {
	if raw == "" {
		return
	}
	if err := s.repo.ClearEffects(ctx, queryID, raw); err != nil {
		s.logger.WarnContext(ctx, "carried-out routing effects not cleared; they run again (once each) later", "query", queryID, "err", err)
	}
}

// errNoTemplate means the settings have no text for a reply template.
var errNoTemplate = errors.New("no text for template")

// renderReply renders a reply template for the query's customer.
func (s *Service) renderReply(ctx context.Context, comp *settings.Compiled, st *RoutingState, d *routing.Decision, r routing.Reply) (string, error) {
	txt := comp.Templates.Pick(r.Template, "")
	if txt == nil {
		return "", fmt.Errorf("%w %q", errNoTemplate, r.Template)
	}
	vars := map[string]string{"contact_name": "", "query_type": ""}
	if t := comp.Routing.Type(d.Type); t != nil {
		vars["query_type"] = t.Name
	}
	c, err := s.repo.Contact(ctx, st.ContactID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return "", fmt.Errorf("read contact for auto-reply: %w", err)
	}
	if c != nil {
		vars["contact_name"] = c.ProfileName
	}
	if _, ok := r.Vars["next_open"]; !ok {
		vars["next_open"] = "" // closed with no opening in sight: say nothing
	}
	maps.Copy(vars, r.Vars)
	text, err := txt.Render(vars)
	if err != nil {
		return "", fmt.Errorf("render auto-reply %q: %w", r.Template, err)
	}
	return text, nil
}

// routeInbound routes the query a customer message was applied to.
func (s *Service) routeInbound(ctx context.Context, res InboundResult, m *channels.Inbound) error {
	comp, err := s.Current(ctx)
	if err != nil || comp == nil {
		return err
	}
	msg := routing.Message{Channel: m.Channel, Text: m.Text, At: m.Timestamp}
	if m.Reply != nil {
		msg.ReplyID = m.Reply.ID
	}
	if m.Referral != nil {
		msg.ReferralSourceID, msg.CTWAClickID = m.Referral.SourceID, m.Referral.CTWAClickID
	}
	// The contact is read only for a conversation closed since the
	// message was applied: ApplyInbound returned its portfolio owner, and
	// the conversation it left was open.
	var openQuery string
	prepare := func(ctx context.Context, st *RoutingState) (bool, error) {
		openQuery = ""
		if st.Query.State == routing.StateClosed {
			contact, err := s.repo.Contact(ctx, res.ContactID)
			if err != nil {
				return false, err
			}
			openQuery = contact.OpenQuery
			if openQuery != "" && openQuery != st.Query.ID {
				return false, nil // continued below
			}
		}
		// A message that continues its routing needs no roster.
		return !routing.Continues(st.Query), nil
	}
	_, err = s.routeFrom(ctx, comp, res.QueryID, m.ID, res.Routing, prepare, func(rs *routing.Settings, st *RoutingState, r routing.Roster) routing.Decision {
		if st.Query.State == routing.StateClosed && openQuery != "" && openQuery != st.Query.ID {
			// Closed after the message was applied, and the customer has
			// written since: their open conversation serves them, and
			// this one cannot be reopened beside it.
			return routing.Decision{Outcome: routing.OutcomeContinued, Query: st.Query}
		}
		return routing.OnMessage(rs, st.Query, routing.Contact{PortfolioOwner: res.PortfolioOwner}, r, msg)
	})
	return err
}

// SessionEnd, a TimerSessionEnd firing, ends a query's routing session when its window has
// passed; a timer that fires early (the customer wrote since) re-arms
// itself for the new end.
func (s *Service) SessionEnd(ctx context.Context, queryID, key string) error {
	comp, err := s.Current(ctx)
	if err != nil || comp == nil {
		return err
	}
	cycle, _, _ := strings.Cut(key, ":")
	var freed string
	var rearm error
	d, err := s.route(ctx, comp, queryID, "", func(rs *routing.Settings, st *RoutingState, r routing.Roster) routing.Decision {
		q := st.Query
		rearm = nil
		if strconv.Itoa(q.Cycle) != cycle || (q.State != routing.StateAssigned && q.State != routing.StatePending) {
			return routing.Decision{Outcome: routing.OutcomeContinued, Query: q}
		}
		if end := routing.SessionEnd(rs, q, st.LastInboundAt); s.clock.Now().Before(end) {
			// The re-arm's task id is deterministic, so the retry a
			// failure here causes arms it once.
			rearm = s.tasks.ScheduleTimer(ctx, TimerSessionEnd, q.ID, cycle+":"+strconv.FormatInt(end.Unix(), 10), end)
			return routing.Decision{Outcome: routing.OutcomeContinued, Query: q}
		}
		freed = q.Assignee
		return routing.Decision{Outcome: outcomeExpired, Type: q.Type, Query: routing.OnSessionEnd(q)}
	})
	if err != nil {
		return err
	}
	if rearm != nil {
		return fmt.Errorf("re-arm the session timer of %s: %w", queryID, rearm)
	}
	if d.Outcome == outcomeExpired {
		s.metrics.WindowExpirations.Inc()
		if freed != "" {
			return s.dispatch(ctx, comp, freed)
		}
	}
	return nil
}

// NoReply, a TimerNoReply firing, returns an assigned query its operator has not answered to
// the pool and routes it to the next operator.
func (s *Service) NoReply(ctx context.Context, queryID, key string) error {
	comp, err := s.Current(ctx)
	if err != nil || comp == nil {
		return err
	}
	assignee, _, _ := strings.Cut(key, ":")
	_, err = s.route(ctx, comp, queryID, "", s.unanswered(assignee))
	return err
}

// unanswered decides on a query assignee has not answered since it was
// assigned to them: back to the pool, and routed to the next operator as
// its type's strategy says (claim: it stays in the pool). A query
// answered, or no longer theirs, is left as it is.
func (s *Service) unanswered(assignee string) decideFunc {
	return func(rs *routing.Settings, st *RoutingState, r routing.Roster) routing.Decision {
		q := st.Query
		if q.State != routing.StateAssigned || q.Assignee != assignee || st.AnsweredSinceAssignment {
			return routing.Decision{Outcome: routing.OutcomeContinued, Query: q}
		}
		return routing.OnNoReply(rs, q, routing.Contact{}, r, s.clock.Now())
	}
}

// Release, a TimerRelease firing, routes a query that waited for opening time.
func (s *Service) Release(ctx context.Context, queryID string) error {
	comp, err := s.Current(ctx)
	if err != nil || comp == nil {
		return err
	}
	_, err = s.route(ctx, comp, queryID, "", func(rs *routing.Settings, st *RoutingState, r routing.Roster) routing.Decision {
		if !st.Query.QueuedUntilOpen {
			return routing.Decision{Outcome: routing.OutcomeContinued, Query: st.Query}
		}
		return routing.OnRelease(rs, st.Query, routing.Contact{}, r, s.clock.Now())
	})
	return err
}

// Dispatch gives an operator who came online the queries waiting
// for them.
func (s *Service) Dispatch(ctx context.Context, operator string) error {
	comp, err := s.Current(ctx)
	if err != nil || comp == nil {
		return err
	}
	return s.dispatch(ctx, comp, operator)
}

// dispatch gives an operator who has room the longest-waiting queries of
// the types they serve (claim pools excepted: those are claimed by reply).
func (s *Service) dispatch(ctx context.Context, comp *settings.Compiled, operator string) error {
	rs, err := s.staffed(ctx, comp)
	if err != nil {
		return err
	}
	op := rs.Operators[operator]
	if op == nil {
		return nil
	}
	for _, t := range rs.Types {
		if t.Strategy == routing.StrategyClaim || !slices.Contains(t.Operators, operator) {
			continue
		}
		ids, err := s.repo.Pool(ctx, t.ID, 2*op.Capacity)
		if err != nil {
			return err
		}
		for _, id := range ids {
			load, err := s.OperatorLoad(ctx, operator)
			if err != nil {
				return err
			}
			if load >= op.Capacity {
				return nil
			}
			if _, err := s.route(ctx, comp, id, "", func(rs *routing.Settings, st *RoutingState, r routing.Roster) routing.Decision {
				if st.Query.QueuedUntilOpen || st.Query.State != routing.StatePending {
					return routing.Decision{Outcome: routing.OutcomeContinued, Query: st.Query}
				}
				return routing.OnRelease(rs, st.Query, routing.Contact{}, r, s.clock.Now())
			}); err != nil {
				return err
			}
		}
	}
	return nil
}
