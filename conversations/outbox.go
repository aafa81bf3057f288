package conversations

import (
	"context"
	"fmt"
	"time"
)

// The outbox sweep's bounds. A message younger than outboxGrace is
// still in the hands of the call that recorded it; one older than
// outboxHorizon is past the 24-hour window, where only a template could
// go and a day-old reminder would surprise more than help.
const (
	outboxGrace   = time.Minute
	outboxHorizon = 24 * time.Hour
	outboxBatch   = 500
)

// RequeueUnsent queues the sends of outbound messages recorded but still
// queued after outboxGrace: the database is the system of record, and a
// message recorded while Redis failed would otherwise never leave. A
// send already queued, running or retried keeps its task (the task id
// is the message's), and a message sent meanwhile is skipped by the send
// itself, so queuing again sends nothing twice. It returns how many
// sends it queued.
func (s *Service) RequeueUnsent(ctx context.Context) (int, error) {
	now := s.clock.Now()
	unsent, err := s.repo.UnsentOutbound(ctx, now.Add(-outboxHorizon), now.Add(-outboxGrace), outboxBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range unsent {
		queued, err := s.tasks.RequeueSend(ctx, u.Channel, u.QueryID, u.MessageID)
		if err != nil {
			return n, fmt.Errorf("requeue the send of %s: %w", u.MessageID, err)
		}
		if queued {
			n++
			s.metrics.OutboundRequeued.WithLabelValues(u.Channel).Inc()
			s.logger.WarnContext(ctx, "outbound message recorded but its send was never queued; queued now",
				"query", u.QueryID, "message", u.MessageID, "channel", u.Channel)
		}
	}
	return n, nil
}
