package worker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"switchboard/channels"
	"switchboard/queue"
	"switchboard/routing"
	"switchboard/settings"
	"switchboard/store"
)

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
type decideFunc func(s *routing.Settings, st *store.RoutingState, r routing.Roster) routing.Decision

// route decides and applies one routing change, optimistically: read the
// state, decide in pure code, apply only if the state is unchanged and the
// chosen operator still has room, else decide again. Afterwards it sends
// the decision's replies and schedules its timers.
func (w *Worker) route(ctx context.Context, comp *settings.Compiled, queryID string, decide decideFunc) (*routing.Decision, error) {
	s := comp.Routing
	operators := slices.Sorted(maps.Keys(s.Operators))
	for range maxDecisionAttempts {
		st, err := w.store.RoutingState(ctx, queryID)
		if err != nil {
			return nil, err
		}
		roster, err := w.store.Roster(ctx, operators)
		if err != nil {
			return nil, err
		}
		d := decide(s, st, roster)
		if d.Query == st.Query && d.Outcome == routing.OutcomeContinued {
			// Nothing to store; the session timer may still need arming.
			w.afterDecision(ctx, comp, st, &d)
			return &d, nil
		}
		capacity := 0
		if op := s.Operators[d.Query.Assignee]; op != nil {
			capacity = op.Capacity
			if d.Query.Origin == routing.OriginPortfolio {
				capacity = 1 << 30 // the portfolio is sticky, whatever the load
			}
		}
		err = w.store.ApplyRouting(ctx, d.Query, st.Version, capacity, w.clock.Now())
		if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrAtCapacity) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if countedOutcomes[d.Outcome] {
			w.metrics.RoutingDecisions.WithLabelValues(d.Type, string(d.Strategy), string(d.Outcome)).Inc()
			w.logger.DebugContext(ctx, "query routed", "query", queryID, "type", d.Type, "outcome", d.Outcome, "assignee", d.Query.Assignee)
		}
		w.afterDecision(ctx, comp, st, &d)
		return &d, nil
	}
	return nil, errContention
}

// afterDecision sends auto-replies and schedules timers. Failures are
// logged, not returned: the state change is already stored, and a retry
// of the whole task would not redo it.
func (w *Worker) afterDecision(ctx context.Context, comp *settings.Compiled, st *store.RoutingState, d *routing.Decision) {
	for _, r := range d.Replies {
		if err := w.sendAutoReply(ctx, comp, st, d, r); err != nil {
			w.logger.ErrorContext(ctx, "auto-reply not sent", "query", st.Query.ID, "template", r.Template, "err", err)
		}
	}
	timers := []struct {
		typ string
		key string
		at  time.Time
	}{
		{queue.TypeSessionEnd, strconv.Itoa(d.Query.Cycle), d.SessionExpiresAt},
		{queue.TypeRelease, strconv.FormatInt(d.ReleaseAt.Unix(), 10), d.ReleaseAt},
		{queue.TypeNoReply, d.Query.Assignee + ":" + strconv.FormatInt(st.Version+1, 10), d.NoReplyAt},
	}
	for _, t := range timers {
		if t.at.IsZero() || d.Query.State == routing.StateInactive {
			continue
		}
		if t.typ == queue.TypeSessionEnd && d.Query.State == "" {
			continue
		}
		if err := w.queue.ScheduleTimer(ctx, t.typ, queue.Timer{QueryID: st.Query.ID, Key: t.key}, t.at); err != nil {
			w.logger.ErrorContext(ctx, "routing timer not scheduled", "query", st.Query.ID, "timer", t.typ, "err", err)
		}
	}
}

// sendAutoReply renders a reply template and queues it on the channel the
// customer wrote on.
func (w *Worker) sendAutoReply(ctx context.Context, comp *settings.Compiled, st *store.RoutingState, d *routing.Decision, r routing.Reply) error {
	txt := comp.Templates.Pick(r.Template, "")
	if txt == nil {
		return fmt.Errorf("no text for template %q", r.Template)
	}
	vars := map[string]string{"contact_name": "", "query_type": ""}
	if t := comp.Routing.Type(d.Type); t != nil {
		vars["query_type"] = t.Name
	}
	if c, err := w.store.Contact(ctx, st.ContactID); err == nil {
		vars["contact_name"] = c.ProfileName
	}
	if _, ok := r.Vars["next_open"]; !ok {
		vars["next_open"] = "" // closed with no opening in sight: say nothing
	}
	maps.Copy(vars, r.Vars)
	text, err := txt.Render(vars)
	if err != nil {
		return err
	}
	msgID, err := w.store.RecordOutbound(ctx, st.Query.ID, text)
	if err != nil {
		return err
	}
	if err := w.queue.EnqueueOutbound(ctx, queue.Outbound{Channel: st.Query.Channel, QueryID: st.Query.ID, MessageID: msgID}); err != nil {
		return err
	}
	reason := "other"
	switch r.Template {
	case comp.Routing.OutOfHoursReply:
		reason = "out_of_hours"
	case comp.Routing.Menu.Prompt:
		reason = "menu"
	}
	w.metrics.AutoReplies.WithLabelValues(reason).Inc()
	return nil
}

// currentSettings returns the settings in force, or nil when routing is
// not configured (no settings applied): queries then wait as pending.
func (w *Worker) currentSettings(ctx context.Context) (*settings.Compiled, error) {
	if w.settings == nil {
		return nil, nil
	}
	c, err := w.settings.Current(ctx)
	if errors.Is(err, settings.ErrNone) {
		return nil, nil
	}
	if err != nil && c == nil {
		return nil, err
	}
	if err != nil {
		w.logger.WarnContext(ctx, "settings problem", "err", err)
	}
	return c, nil
}

// routeInbound routes the query a customer message was applied to.
func (w *Worker) routeInbound(ctx context.Context, res store.InboundResult, m *channels.Inbound) error {
	comp, err := w.currentSettings(ctx)
	if err != nil || comp == nil {
		return err
	}
	contact, err := w.store.Contact(ctx, res.ContactID)
	if err != nil {
		return err
	}
	msg := routing.Message{Channel: m.Channel, Text: m.Text, At: m.Timestamp}
	if m.Reply != nil {
		msg.ReplyID = m.Reply.ID
	}
	if m.Referral != nil {
		msg.ReferralSourceID, msg.CTWAClickID = m.Referral.SourceID, m.Referral.CTWAClickID
	}
	_, err = w.route(ctx, comp, res.QueryID, func(s *routing.Settings, st *store.RoutingState, r routing.Roster) routing.Decision {
		return routing.OnMessage(s, st.Query, routing.Contact{PortfolioOwner: contact.PortfolioOwner}, r, msg)
	})
	return err
}

// timer decodes a routing timer task and returns the settings in force;
// nil settings mean routing is off and the timer has nothing to do.
func (w *Worker) timer(ctx context.Context, t *asynq.Task) (*queue.Timer, *settings.Compiled, error) {
	tm, err := queue.DecodeTimer(t.Payload())
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	comp, err := w.currentSettings(ctx)
	return tm, comp, err
}

// handleSessionEnd ends a query's routing session when its window has
// passed; a timer that fires early (the customer wrote since) re-arms
// itself for the new end.
func (w *Worker) handleSessionEnd(ctx context.Context, t *asynq.Task) error {
	tm, comp, err := w.timer(ctx, t)
	if err != nil || comp == nil {
		return err
	}
	cycle, _, _ := strings.Cut(tm.Key, ":")
	var freed string
	d, err := w.route(ctx, comp, tm.QueryID, func(s *routing.Settings, st *store.RoutingState, r routing.Roster) routing.Decision {
		q := st.Query
		if strconv.Itoa(q.Cycle) != cycle || (q.State != routing.StateAssigned && q.State != routing.StatePending) {
			return routing.Decision{Outcome: routing.OutcomeContinued, Query: q}
		}
		if end := routing.SessionEnd(s, q, st.LastInboundAt); w.clock.Now().Before(end) {
			if err := w.queue.ScheduleTimer(ctx, queue.TypeSessionEnd, queue.Timer{QueryID: q.ID, Key: cycle + ":" + strconv.FormatInt(end.Unix(), 10)}, end); err != nil {
				w.logger.ErrorContext(ctx, "session timer not re-armed", "query", q.ID, "err", err)
			}
			return routing.Decision{Outcome: routing.OutcomeContinued, Query: q}
		}
		freed = q.Assignee
		return routing.Decision{Outcome: outcomeExpired, Type: q.Type, Query: routing.OnSessionEnd(q)}
	})
	if err != nil {
		return err
	}
	if d.Outcome == outcomeExpired {
		w.metrics.WindowExpirations.Inc()
		if freed != "" {
			return w.dispatch(ctx, comp, freed)
		}
	}
	return nil
}

// handleNoReply returns an assigned query its operator has not answered to
// the pool and routes it to the next operator.
func (w *Worker) handleNoReply(ctx context.Context, t *asynq.Task) error {
	tm, comp, err := w.timer(ctx, t)
	if err != nil || comp == nil {
		return err
	}
	assignee, _, _ := strings.Cut(tm.Key, ":")
	_, err = w.route(ctx, comp, tm.QueryID, func(s *routing.Settings, st *store.RoutingState, r routing.Roster) routing.Decision {
		q := st.Query
		if q.State != routing.StateAssigned || q.Assignee != assignee || st.AnsweredSinceAssignment {
			return routing.Decision{Outcome: routing.OutcomeContinued, Query: q}
		}
		return routing.OnNoReply(s, q, routing.Contact{}, r, w.clock.Now())
	})
	return err
}

// handleRelease routes a query that waited for opening time.
func (w *Worker) handleRelease(ctx context.Context, t *asynq.Task) error {
	tm, comp, err := w.timer(ctx, t)
	if err != nil || comp == nil {
		return err
	}
	_, err = w.route(ctx, comp, tm.QueryID, func(s *routing.Settings, st *store.RoutingState, r routing.Roster) routing.Decision {
		if !st.Query.QueuedUntilOpen {
			return routing.Decision{Outcome: routing.OutcomeContinued, Query: st.Query}
		}
		return routing.OnRelease(s, st.Query, routing.Contact{}, r, w.clock.Now())
	})
	return err
}

// handleDispatch gives an operator who came online the queries waiting
// for them.
func (w *Worker) handleDispatch(ctx context.Context, t *asynq.Task) error {
	tm, comp, err := w.timer(ctx, t)
	if err != nil || comp == nil {
		return err
	}
	return w.dispatch(ctx, comp, tm.Key)
}

// dispatch gives an operator who has room the longest-waiting queries of
// the types they serve (claim pools excepted: those are claimed by reply).
func (w *Worker) dispatch(ctx context.Context, comp *settings.Compiled, operator string) error {
	s := comp.Routing
	op := s.Operators[operator]
	if op == nil {
		return nil
	}
	for _, t := range s.Types {
		if t.Strategy == routing.StrategyClaim || !slices.Contains(t.Operators, operator) {
			continue
		}
		ids, err := w.store.Pool(ctx, t.ID, 2*op.Capacity)
		if err != nil {
			return err
		}
		for _, id := range ids {
			load, err := w.store.OperatorLoad(ctx, operator)
			if err != nil {
				return err
			}
			if load >= op.Capacity {
				return nil
			}
			if _, err := w.route(ctx, comp, id, func(s *routing.Settings, st *store.RoutingState, r routing.Roster) routing.Decision {
				if st.Query.QueuedUntilOpen || st.Query.State != routing.StatePending {
					return routing.Decision{Outcome: routing.OutcomeContinued, Query: st.Query}
				}
				return routing.OnRelease(s, st.Query, routing.Contact{}, r, w.clock.Now())
			}); err != nil {
				return err
			}
		}
	}
	return nil
}
