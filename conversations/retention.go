package conversations

import (
	"context"
	"time"
)

// PurgeBatch is how many messages one retention statement empties: small
// enough that ingest never waits long on it.
const PurgeBatch = 500

// Purge applies message retention: it empties the bodies of messages of
// closed conversations whose newest message is older than keep, batch by
// batch, until none is left or ctx ends, and returns how many it emptied.
// The conversations, their routing history and delivery statuses stay,
// for reports; the customer's words go.
func (s *Service) Purge(ctx context.Context, keep time.Duration) (int, error) {
	before := s.clock.Now().Add(-keep)
	total := 0
	for ctx.Err() == nil {
		n, err := s.repo.PurgeMessages(ctx, before, PurgeBatch)
		total += n
		if err != nil {
			return total, err
		}
		if n < PurgeBatch {
			break
		}
	}
	s.metrics.RetentionPurged.Add(float64(total))
	if total > 0 {
		s.logger.InfoContext(ctx, "retention emptied old messages", "messages", total, "closed_before", before)
	}
	// The files of what was purged (and of erased contacts) go from
	// the store; a failure fails the run, which is retried.
	deleted, err := s.DeleteQueuedMedia(ctx)
	if deleted > 0 {
		s.logger.InfoContext(ctx, "retention deleted media files", "files", deleted)
	}
	if err != nil {
		return total, err
	}
	return total, ctx.Err()
}
