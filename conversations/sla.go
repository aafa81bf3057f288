package conversations

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"switchboard/routing"
	"switchboard/settings"
)

// Timer kinds of the service-level targets: each fires at a
// conversation's due time and records the target missed if it still is.
const (
	// TimerFirstResponse fires at a conversation's first-response due time.
	TimerFirstResponse = "sla_first_response"
	// TimerResolution fires at a conversation's resolution due time.
	TimerResolution = "sla_resolution"
)

// Target kinds: the kind label of switchboard_sla_breaches_total and the
// kind of an sla event.
const (
	SLAFirstResponse = "first_response"
	SLAResolution    = "resolution"
)

// EventSLA is a missed target, told to whoever may see the conversation
// (its assignee, and the type's pool while it is in one); Kind says which.
const EventSLA = "sla"

// SLA is a conversation's service-level clock. Its targets start once, when
// routing first puts it in service with a type that has targets: from when
// it opened, or, for one queued until its type's hours opened, from its
// release. The zero SLA has no targets.
type SLA struct {
	StartedAt time.Time
	// FirstResponseDue and ResolutionDue are the deadlines (zero: no
	// such target): a person's first message and the close.
	FirstResponseDue time.Time
	ResolutionDue    time.Time
	// FirstResponseBreachedAt and ResolutionBreachedAt are when each was
	// recorded missed (zero: not missed, or not yet known to be).
	FirstResponseBreachedAt time.Time
	ResolutionBreachedAt    time.Time
	// FirstResponseAt is when a person first answered (zero: nobody yet).
	FirstResponseAt time.Time
}

// Active reports whether the conversation has any target.
func (s SLA) Active() bool { return !s.StartedAt.IsZero() }

// SLAState is what a target's timer reads of its conversation.
type SLAState struct {
	SLA
	ID        string
	OpenedAt  time.Time
	State     string
	QueryType string
	Assignee  string
	// AssignedAt is when the current assignment was made.
	AssignedAt time.Time
	// ClosedAt is when it closed (zero while open).
	ClosedAt time.Time
}

// Missed reports whether the target of kind, due at due, is missed as
// the conversation stands: first response, unless a person answered by
// due, or it was closed unanswered by then (closing ends the wait for an
// answer); resolution, unless it was closed by due. RecordSLABreach holds
// the same rule in its UPDATE.
func (s *SLAState) Missed(kind string, due time.Time) bool {
	by := func(t time.Time) bool { return !t.IsZero() && !t.After(due) }
	if kind == SLAResolution {
		return !by(s.ClosedAt)
	}
	return !by(s.FirstResponseAt) && (!s.FirstResponseAt.IsZero() || !by(s.ClosedAt))
}

// SLAStore is the part of the system of record the targets keep.
type SLAStore interface {
	// SLAState reads a conversation's clock and routing fields.
	SLAState(ctx context.Context, queryID string) (*SLAState, error)
	// SetSLADue moves a target's due time (zero: the target was
	// removed), unless it was recorded missed already.
	SetSLADue(ctx context.Context, queryID, kind string, due time.Time) error
	// RecordSLABreach records in one transaction that a target due at
	// due was missed, at now, if SLAState.Missed still says so and it is
	// not recorded yet; the due time is kept as the one missed. The
	// event, of type sla with the conversation's routing fields, is nil
	// when nothing was recorded, so a retried timer counts nothing.
	RecordSLABreach(ctx context.Context, queryID, kind string, due, now time.Time) (*Event, error)
}

// planSLA starts a conversation's targets if decision d puts it in
// service for the first time with a type that has any: the start and due
// times are stored with the decision (see Decision.SLA) and the timers
// are among its effects, carried out once each like the others. Only a
// decision that could be the first in service reads the clock.
func (s *Service) planSLA(ctx context.Context, comp *settings.Compiled, st *RoutingState, d *routing.Decision, e *effects) error {
	q := d.Query
	if q.Type == "" || q.QueuedUntilOpen || (q.State != routing.StatePending && q.State != routing.StateAssigned) {
		return nil
	}
	if st.Query.State != "" && st.Query.Type != "" && !st.Query.QueuedUntilOpen {
		return nil // in service before this decision
	}
	t := comp.Targets(q.Type)
	if !t.Any() {
		return nil
	}
	cur, err := s.repo.SLAState(ctx, q.ID)
	if err != nil {
		return fmt.Errorf("read the targets of %s: %w", q.ID, err)
	}
	if cur.Active() {
		return nil
	}
	start := cur.OpenedAt
	if st.Query.QueuedUntilOpen {
		start = s.clock.Now() // it opened for service now
	}
	c := &SLA{StartedAt: start}
	if t.FirstResponse > 0 {
		c.FirstResponseDue = start.Add(t.FirstResponse)
		e.Timers = append(e.Timers, slaTimer(SLAFirstResponse, c.FirstResponseDue))
	}
	if t.Resolution > 0 {
		c.ResolutionDue = start.Add(t.Resolution)
		e.Timers = append(e.Timers, slaTimer(SLAResolution, c.ResolutionDue))
	}
	e.sla = c
	return nil
}

// slaTimer is a target's timer for due. Its key is the due time, so a
// timer moved later is a new task, not the one that just ran. (The queue
// runs it no earlier than due: see queue.Client.ScheduleTimer.)
func slaTimer(kind string, due time.Time) timer {
	return timer{Type: slaTimerKind(kind), Key: strconv.FormatInt(due.Unix(), 10), At: due}
}

// slaTimerKind is the timer kind of a target kind.
func slaTimerKind(kind string) string {
	if kind == SLAResolution {
		return TimerResolution
	}
	return TimerFirstResponse
}

// SLADeadline, a TimerFirstResponse or TimerResolution firing (kind
// SLAFirstResponse or SLAResolution), records the conversation's target
// missed if it still is: announced, counted in
// switchboard_sla_breaches_total once however often the timer runs, and,
// for a first response its type says to reassign, the conversation moved
// to another eligible operator. A target the settings made longer since
// is moved, not missed; one they removed does nothing.
func (s *Service) SLADeadline(ctx context.Context, kind, queryID string) error {
	if kind != SLAFirstResponse && kind != SLAResolution {
		return fmt.Errorf("sla deadline: unknown kind %q", kind)
	}
	comp, err := s.Current(ctx)
	if err != nil || comp == nil {
		return err
	}
	cur, err := s.repo.SLAState(ctx, queryID)
	if errors.Is(err, ErrNotFound) {
		return nil // erased meanwhile
	}
	if err != nil {
		return err
	}
	if !cur.Active() {
		return nil
	}
	t := comp.Targets(cur.QueryType)
	target, due, breachedAt := t.FirstResponse, cur.FirstResponseDue, cur.FirstResponseBreachedAt
	if kind == SLAResolution {
		target, due, breachedAt = t.Resolution, cur.ResolutionDue, cur.ResolutionBreachedAt
	}
	if !breachedAt.IsZero() {
		// Recorded by an earlier run of this timer, whose reassignment
		// may have failed after it: only that is left to do.
		return s.afterBreach(ctx, comp, kind, cur)
	}
	if !due.IsZero() && !cur.Missed(kind, due) {
		return nil // met in time
	}
	if target <= 0 {
		if !due.IsZero() {
			// Removed from the settings: nothing is due any more.
			return s.repo.SetSLADue(ctx, queryID, kind, time.Time{})
		}
		return nil
	}
	now := s.clock.Now()
	newDue := cur.StartedAt.Add(target)
	if now.Before(newDue) {
		// Made longer since: wait for the new due time.
		if !newDue.Equal(due) {
			if err := s.repo.SetSLADue(ctx, queryID, kind, newDue); err != nil {
				return err
			}
		}
		tm := slaTimer(kind, newDue)
		if err := s.tasks.ScheduleTimer(ctx, tm.Type, queryID, tm.Key, tm.At); err != nil {
			return fmt.Errorf("move the %s target of %s: %w", kind, queryID, err)
		}
		return nil
	}
	ev, err := s.repo.RecordSLABreach(ctx, queryID, kind, newDue, now)
	if err != nil {
		return err
	}
	if ev == nil {
		return nil // met in time, or recorded, meanwhile
	}
	s.publish(ctx, ev)
	s.metrics.SLABreaches.WithLabelValues(cur.QueryType, kind).Inc()
	s.logger.InfoContext(ctx, "service-level target missed", "query", queryID, "type", cur.QueryType, "kind", kind)
	if kind == SLAFirstResponse {
		cur.FirstResponseBreachedAt = now
	}
	return s.afterBreach(ctx, comp, kind, cur)
}

// afterBreach acts on a missed target as its type's on_breach says:
// reassign moves a conversation still assigned, unanswered, to the
// operator it had when the first response was missed, as a no-reply
// timeout does (back to the pool and on to the next eligible operator, or
// left in the pool for claim types). An assignment made after the breach
// was this one's doing, or a person's, and is left alone, so a retried
// timer moves the conversation once. A missed resolution is only told:
// see settings.SLA.Reassign.
func (s *Service) afterBreach(ctx context.Context, comp *settings.Compiled, kind string, cur *SLAState) error {
	if kind != SLAFirstResponse || !comp.Targets(cur.QueryType).Reassign {
		return nil
	}
	if cur.State != routing.StateAssigned || !cur.AssignedAt.Before(cur.FirstResponseBreachedAt) {
		return nil
	}
	if _, err := s.route(ctx, comp, cur.ID, "", s.unanswered(cur.Assignee)); err != nil {
		return fmt.Errorf("reassign after a missed first response: %w", err)
	}
	return nil
}

// cancelSLATimers drops the targets' timers of a closed conversation:
// they would find the targets met or missed already, and would otherwise
// wait in Redis until due. A failure only leaves a timer that does
// nothing when it fires.
func (s *Service) cancelSLATimers(ctx context.Context, queryID string) {
	cur, err := s.repo.SLAState(ctx, queryID)
	if err != nil || !cur.Active() {
		return
	}
	for _, k := range []struct {
		kind string
		due  time.Time
	}{{SLAFirstResponse, cur.FirstResponseDue}, {SLAResolution, cur.ResolutionDue}} {
		if k.due.IsZero() {
			continue
		}
		tm := slaTimer(k.kind, k.due)
		if err := s.tasks.CancelTimer(ctx, tm.Type, queryID, tm.Key); err != nil {
			s.logger.WarnContext(ctx, "target timer of a closed conversation not cancelled; it fires and does nothing", "query", queryID, "err", err)
		}
	}
}
