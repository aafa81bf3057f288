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

// handleOutbox queues the sends of outbound messages recorded while
// queuing them failed (conversations.Service.RequeueUnsent).
func (w *Worker) handleOutbox(ctx context.Context, _ *asynq.Task) error {
	if _, err := w.conv.RequeueUnsent(ctx); err != nil {
		return fmt.Errorf("outbox sweep: %w", err)
	}
	return nil
}

// RunRetention queues the retention run of each period until ctx ends.
// Every worker process runs it; the queue makes one run per period.
func RunRetention(ctx context.Context, q *queue.Client, logger *slog.Logger) {
	runEvery(ctx, queue.RetentionPeriod, q.EnqueueRetention, "retention run", logger)
}

// RunOutbox queues the outbox sweep of each period until ctx ends, as
// RunRetention does retention's.
func RunOutbox(ctx context.Context, q *queue.Client, logger *slog.Logger) {
	runEvery(ctx, queue.OutboxPeriod, q.EnqueueOutbox, "outbox sweep", logger)
}

// runEvery calls enqueue at once and then every period until ctx ends.
func runEvery(ctx context.Context, period time.Duration, enqueue func(context.Context, time.Time) error, what string, logger *slog.Logger) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		if err := enqueue(ctx, time.Now()); err != nil && ctx.Err() == nil {
			logger.WarnContext(ctx, what+" not queued; the next period's run catches up", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
