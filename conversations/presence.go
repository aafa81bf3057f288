package conversations

import (
	"context"
	"fmt"
	"hash/fnv"
	"time"

	"switchboard/routing"
)

// DefaultAwayAfter is presence.away_after's default: how long an online
// operator may have no event stream alive (their console closed, lost its
// network, or its server died) before they turn away.
const DefaultAwayAfter = 2 * time.Minute

// How presence is told from event streams: every open stream holds a
// lease in Redis that it renews while it lives (StreamAlive) and ends when
// it closes (StreamClosed). A stream on a process that dies never says
// goodbye: its lease just lapses. Presence checks, delayed tasks on the
// queue, find out: an account whose latest lease ended away_after ago
// while they are online turns away, and their unanswered queries go back
// to the pool or the next operator.
//
// While streams live, one check per account falls due every away_after
// at a slot of its own (its offset in the period is the account's hash,
// so accounts' checks spread out); every renewal schedules the next slot,
// which the queue keeps once by its task id, and a check that finds a
// stream alive schedules the next one itself, so the stream of a process
// that died is still checked after its last renewal. A closing stream
// schedules the check that decides away_after after it.

// keep is how long a lease is remembered after it ended: long enough
// for the check that decides on it.
func (s *Service) keep() time.Duration { return s.awayAfter + time.Minute }

// nextSlot is account's first check slot after now.
func (s *Service) nextSlot(account string, now time.Time) time.Time {
	period := max(int64(s.awayAfter/time.Second), 1)
	h := fnv.New32a()
	h.Write([]byte(account))
	off := int64(h.Sum32()) % period
	n := now.Unix()
	k := (n - off) / period
	return time.Unix((k+1)*period+off, 0)
}

// StreamAlive records that stream, one of account's event streams, is
// open and will renew its lease within lease, and makes sure a check is
// scheduled that notices if it stops. Streams call it when they open and
// then periodically.
func (s *Service) StreamAlive(ctx context.Context, account, stream string, lease time.Duration) error {
	now := s.clock.Now()
	if err := s.presence.Lease(ctx, account, stream, now.Add(lease), s.keep()); err != nil {
		return err
	}
	if err := s.tasks.SchedulePresenceCheck(ctx, account, s.nextSlot(account, now)); err != nil {
		return fmt.Errorf("schedule presence check: %w", err)
	}
	return nil
}

// StreamClosed records that stream, one of account's event streams,
// closed, and schedules the check that turns account away if no stream is
// alive away_after from now.
func (s *Service) StreamClosed(ctx context.Context, account, stream string) error {
	now := s.clock.Now()
	if err := s.presence.Lease(ctx, account, stream, now, s.keep()); err != nil {
		return err
	}
	if err := s.tasks.SchedulePresenceCheck(ctx, account, now.Add(s.awayAfter)); err != nil {
		return fmt.Errorf("schedule presence check: %w", err)
	}
	return nil
}

// PresenceCheck, a presence check task firing, turns account away when
// none of their event streams has been alive for away_after and they are
// online, and returns the unanswered queries of an account not online. A
// check that finds a stream alive, or one that ended less than away_after
// ago, schedules the check that decides later. Any failure fails the task,
// whose retry does what is left: a retry finds the account away already
// and still returns their queries.
func (s *Service) PresenceCheck(ctx context.Context, account string) error {
	now := s.clock.Now()
	last, seen, err := s.presence.LastLease(ctx, account)
	if err != nil {
		return err
	}
	if seen && last.After(now) {
		return s.tasks.SchedulePresenceCheck(ctx, account, s.nextSlot(account, now))
	}
	if due := last.Add(s.awayAfter); seen && now.Before(due) {
		return s.tasks.SchedulePresenceCheck(ctx, account, due)
	}
	pres, err := s.presence.Presence(ctx, []string{account})
	if err != nil {
		return fmt.Errorf("read presence: %w", err)
	}
	if pres[account] == routing.PresenceOnline {
		if err := s.presence.SetPresence(ctx, account, routing.PresenceAway); err != nil {
			return fmt.Errorf("set presence: %w", err)
		}
		s.logger.InfoContext(ctx, "operator turned away: no event stream alive", "operator", account, "away_after", s.awayAfter)
	}
	return s.ReturnUnanswered(ctx, account)
}

// queueReturn queues the return of an operator's unanswered queries.
func (s *Service) queueReturn(ctx context.Context, operator string) error {
	if err := s.tasks.EnqueueReturn(ctx, operator); err != nil {
		return fmt.Errorf("return the queries of %s: %w", operator, err)
	}
	return nil
}

// ReturnUnanswered returns the queries assigned to operator that they have
// not answered since the assignment, when they are not online (away or
// offline): each goes back to its pool and is routed as its type's
// strategy says, to the next eligible online operator or, for claim, left
// in the pool. Answered ones stay with them. It is what NoReply does to
// one query, so a retry, or a second call, changes nothing more.
func (s *Service) ReturnUnanswered(ctx context.Context, operator string) error {
	comp, err := s.Current(ctx)
	if err != nil || comp == nil {
		return err
	}
	pres, err := s.presence.Presence(ctx, []string{operator})
	if err != nil {
		return fmt.Errorf("read presence: %w", err)
	}
	if pres[operator] == routing.PresenceOnline {
		return nil // back before the task ran
	}
	ids, err := s.repo.AssignedTo(ctx, operator)
	if err != nil {
		return err
	}
	returned := 0
	for _, id := range ids {
		d, err := s.route(ctx, comp, id, "", s.unanswered(operator))
		if err != nil {
			return fmt.Errorf("return %s: %w", id, err)
		}
		if d.Outcome != routing.OutcomeContinued {
			returned++
		}
	}
	if returned > 0 {
		s.logger.InfoContext(ctx, "unanswered queries of an operator not online returned", "operator", operator, "queries", returned)
	}
	return nil
}
