package worker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"switchboard/queue"
)

// handleRetention applies message retention (see conversations.Service.Purge).
// A run cut short (shutdown, a database failure) is retried, and the next
// period's run carries on where it stopped.
func (w *Worker) handleRetention(ctx context.Context, _ *asynq.Task) error {
	if w.retain <= 0 {
		// Nothing to purge, but erased contacts' files still go.
		if _, err := w.conv.DeleteQueuedMedia(ctx); err != nil {
			return fmt.Errorf("delete erased media files: %w", err)
		}
		return nil
	}
	if _, err := w.conv.Purge(ctx, w.retain); err != nil {
		return fmt.Errorf("apply message retention: %w", err)
	}
	return nil
}

// RunRetention queues the retention run of each period until ctx ends.
// Every worker process runs it; the queue makes one run per period.
func RunRetention(ctx context.Context, q *queue.Client, logger *slog.Logger) {
	t := time.NewTicker(queue.RetentionPeriod)
	defer t.Stop()
	for {
		if err := q.EnqueueRetention(ctx, time.Now()); err != nil && ctx.Err() == nil {
			logger.WarnContext(ctx, "retention run not queued; the next period's run catches up", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
