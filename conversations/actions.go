package conversations

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"switchboard/routing"
)

// ErrWindowClosed refuses a free-form reply more than 24 hours after the
// customer's last message: only a template may be sent then.
var ErrWindowClosed = errors.New("more than 24 hours since the customer's last message: only a template may be sent")

// maxActionAttempts bounds retrying an operator action when routing
// changed the conversation between reading and writing.
const maxActionAttempts = 5

// operatorCapacity is the capacity an operator's own action is held to:
// none. A claim, transfer or derivation is a person's decision, not
// routing's, so it may go past the automatic capacity.
const operatorCapacity = 1 << 30

// change applies an operator action to a conversation atomically: it
// retries when routing changed the conversation meanwhile and fails with
// the action's error. It returns the conversation's routing state after.
func (s *Service) change(ctx context.Context, queryID string, action func(q routing.Query) (routing.Query, error)) (routing.Query, error) {
	for range maxActionAttempts {
		st, err := s.repo.RoutingState(ctx, queryID)
		if err != nil {
			return routing.Query{}, err
		}
		q, err := action(st.Query)
		if err != nil {
			return st.Query, err
		}
		if q == st.Query {
			return q, nil
		}
		ev, err := s.repo.ApplyDecision(ctx, Decision{Query: q, ExpectVersion: st.Version, Capacity: operatorCapacity,
			Effects: st.Effects, Now: s.clock.Now()})
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return q, err
		}
		s.publish(ctx, ev)
		return q, nil
	}
	return routing.Query{}, ErrConflict
}

// Claim assigns a pool conversation to operator.
func (s *Service) Claim(ctx context.Context, queryID, operator string) (routing.Query, error) {
	return s.change(ctx, queryID, func(q routing.Query) (routing.Query, error) { return routing.Claim(q, operator) })
}

// Return puts an assigned conversation back in its pool.
func (s *Service) Return(ctx context.Context, queryID string) (routing.Query, error) {
	return s.change(ctx, queryID, routing.Return)
}

// Transfer hands a conversation to operator; who may receive it is the
// caller's to check.
func (s *Service) Transfer(ctx context.Context, queryID, operator string) (routing.Query, error) {
	return s.change(ctx, queryID, func(q routing.Query) (routing.Query, error) { return routing.Transfer(q, operator) })
}

// Close closes a conversation with a resolution reason, and drops its
// session timer: it would only find the conversation closed, and the
// timers of closed conversations would otherwise sit in Redis until they
// fire, a day later, growing with the history instead of the load.
func (s *Service) Close(ctx context.Context, queryID, reason string) (routing.Query, error) {
	q, err := s.change(ctx, queryID, func(q routing.Query) (routing.Query, error) { return routing.Close(q, reason) })
	if err != nil {
		return q, err
	}
	s.cancelSessionTimers(ctx, q)
	s.cancelSLATimers(ctx, queryID)
	// Only an operator's close surveys: a session that expires or a
	// contact erased asks nothing.
	// The close has committed, so a survey that fails here is not the
	// close's failure: a retried close would only find it closed. A timer
	// task asks again, retried by the queue until it is queued.
	if err := s.askCSAT(ctx, q); err != nil {
		if serr := s.tasks.ScheduleTimer(ctx, TimerCSAT, q.ID, strconv.Itoa(q.Cycle), s.clock.Now()); serr != nil {
			return q, fmt.Errorf("closed, but the satisfaction survey was neither queued (%w) nor scheduled to be (%w)", err, serr)
		}
		s.logger.WarnContext(ctx, "satisfaction survey not queued on close; a timer asks again", "query", q.ID, "err", err)
	}
	return q, nil
}

// cancelSessionTimers drops the session timers a closed conversation's
// cycle may still have scheduled: the one its decision armed and the
// re-arm for the session's end as it stands. A failure only leaves a
// timer that does nothing when it fires.
func (s *Service) cancelSessionTimers(ctx context.Context, q routing.Query) {
	keys := []string{strconv.Itoa(q.Cycle)}
	if comp, err := s.Current(ctx); err == nil && comp != nil {
		if st, err := s.repo.RoutingState(ctx, q.ID); err == nil {
			end := routing.SessionEnd(comp.Routing, st.Query, st.LastInboundAt)
			keys = append(keys, strconv.Itoa(q.Cycle)+":"+strconv.FormatInt(end.Unix(), 10))
		}
	}
	for _, k := range keys {
		if err := s.tasks.CancelTimer(ctx, TimerSessionEnd, q.ID, k); err != nil {
			s.logger.WarnContext(ctx, "session timer of a closed conversation not cancelled; it fires and does nothing", "query", q.ID, "err", err)
		}
	}
}

// Reply sends a free-form text from operator, inside the customer-service
// window only; a reply to a pool conversation claims it. It returns the
// message's id; the send itself is queued.
func (s *Service) Reply(ctx context.Context, queryID, operator, text string) (string, error) {
	st, err := s.repo.RoutingState(ctx, queryID)
	if err != nil {
		return "", err
	}
	if !routing.WindowOpen(st.LastInboundAt, s.clock.Now()) {
		s.metrics.WindowRejections.Inc()
		return "", ErrWindowClosed
	}
	return s.send(ctx, queryID, operator, text, nil)
}

// SendTemplate sends an approved template from operator, inside or
// outside the window; text is its rendering, for the history.
func (s *Service) SendTemplate(ctx context.Context, queryID, operator, text string, t TemplateRef) (string, error) {
	return s.send(ctx, queryID, operator, text, &t)
}

// send claims the conversation for operator (sending to a pool
// conversation claims it), records the message and queues its send.
func (s *Service) send(ctx context.Context, queryID, operator, text string, t *TemplateRef) (string, error) {
	id, err := newMessageID()
	if err != nil {
		return "", err
	}
	if err := s.sendRecorded(ctx, queryID, operator, id, func() (*Event, error) {
		_, ev, err := s.repo.RecordOutbound(ctx, queryID, id, operator, text, t, s.clock.Now())
		return ev, err
	}); err != nil {
		return "", err
	}
	return id, nil
}

// sendRecorded claims the conversation for operator, records message id
// with record, and queues its send. Once recorded the message is the
// system of record's: a send that cannot be queued now (Redis failing) is
// queued by the outbox sweep (RequeueUnsent), so the caller is not told
// to try again, which would send it twice.
func (s *Service) sendRecorded(ctx context.Context, queryID, operator, id string, record func() (*Event, error)) error {
	if _, err := s.Claim(ctx, queryID, operator); err != nil {
		return err
	}
	ev, err := record()
	if err != nil {
		return err
	}
	s.publish(ctx, ev)
	q, err := s.repo.Query(ctx, queryID)
	if err == nil {
		err = s.tasks.EnqueueSend(ctx, q.Channel, queryID, id)
	}
	if err != nil {
		s.logger.WarnContext(ctx, "send not queued; the outbox sweep queues it", "query", queryID, "message", id, "err", err)
	}
	return nil
}

// newMessageID makes the id of an operator's outbound message.
func newMessageID() (string, error) {
	var rnd [12]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", fmt.Errorf("message id: %w", err)
	}
	return "sb-" + hex.EncodeToString(rnd[:]), nil
}

// Derive moves every conversation assigned to from onto targets, least
// loaded first (ties by id), and returns how many it moved. Safe to
// repeat: a second call finds nothing left to move.
func (s *Service) Derive(ctx context.Context, from string, targets []string) (int, error) {
	ids, err := s.repo.AssignedTo(ctx, from)
	if err != nil {
		return 0, err
	}
	loads, err := s.repo.Loads(ctx, targets)
	if err != nil {
		return 0, err
	}
	load := map[string]int{}
	for _, t := range targets {
		load[t] = loads[t].Assigned
	}
	moved := 0
	for _, id := range ids {
		to := slices.MinFunc(targets, func(x, y string) int {
			if load[x] != load[y] {
				return load[x] - load[y]
			}
			return strings.Compare(x, y)
		})
		q, err := s.change(ctx, id, func(q routing.Query) (routing.Query, error) {
			if q.State != routing.StateAssigned || q.Assignee != from {
				return q, nil // moved meanwhile, or no longer active
			}
			return routing.Transfer(q, to)
		})
		if err != nil {
			return moved, fmt.Errorf("derive %s: %w", id, err)
		}
		if q.Assignee == to {
			moved++
			load[to]++
		}
	}
	s.metrics.Derivations.Add(float64(moved))
	return moved, nil
}
