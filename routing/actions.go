package routing

import (
	"errors"
	"time"
)

// Errors of operator actions on a query.
var (
	ErrNotInPool       = errors.New("the query is not waiting in a pool")
	ErrAssignedToOther = errors.New("the query is assigned to another operator")
	ErrClosed          = errors.New("the query is closed")
	ErrNotAssigned     = errors.New("the query is not assigned")
)

// ServiceWindow is Meta's customer service window: free-form messages may
// be sent until 24 hours after the customer's last message; from that
// instant on, only templates. Only an inbound message re-opens it.
const ServiceWindow = 24 * time.Hour

// WindowOpen reports whether a free-form reply may be sent at now.
func WindowOpen(lastInbound, now time.Time) bool {
	return !lastInbound.IsZero() && now.Before(lastInbound.Add(ServiceWindow))
}

// Claim gives a pooled (or inactive) query to op: the first reply claims
// it. Claiming one's own query is a no-op.
func Claim(q Query, op string) (Query, error) {
	switch {
	case q.State == StateClosed:
		return q, ErrClosed
	case q.State == StateAssigned && q.Assignee == op:
		return q, nil
	case q.State == StateAssigned:
		return q, ErrAssignedToOther
	}
	q.State, q.Assignee, q.QueuedUntilOpen, q.Referred = StateAssigned, op, false, false
	return q, nil
}

// Return puts an assigned query back in its pool.
func Return(q Query) (Query, error) {
	if q.State != StateAssigned {
		return q, ErrNotAssigned
	}
	q.PreviousAssignee, q.State, q.Assignee, q.Referred = q.Assignee, StatePending, "", false
	return q, nil
}

// Transfer hands a query to another operator, whom a person chose
// (Referred).
func Transfer(q Query, to string) (Query, error) {
	if q.State == StateClosed {
		return q, ErrClosed
	}
	q.PreviousAssignee, q.State, q.Assignee, q.QueuedUntilOpen, q.Referred = q.Assignee, StateAssigned, to, false, true
	return q, nil
}

// Close ends a query with a resolution reason.
func Close(q Query, reason string) (Query, error) {
	if q.State == StateClosed {
		return q, ErrClosed
	}
	q.State, q.Assignee, q.Resolution, q.QueuedUntilOpen, q.Referred = StateClosed, "", reason, false, false
	return q, nil
}
