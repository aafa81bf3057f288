package worker

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"switchboard/channels"
	"switchboard/lease"
	"switchboard/metrics"
	"switchboard/queue"
)

// Hold keeps a listener channel (a linked WhatsApp device) connected in
// exactly one process: the one holding the channel's lease in Redis. Every
// other process stands by and takes over when the holder stops renewing,
// so replicas never fight over the device's session.
//
// The holder also consumes the channel's own queue (queue.ChannelQueue), as
// only the process with the connection can send on it.
type Hold struct {
	Channel channels.Listener
	Lease   *lease.Lease
	Sink    channels.Sink
	Logger  *slog.Logger
	// Serve starts consuming the channel's queue and returns how to stop.
	Serve func() (stop func(), err error)
	// RetryAfter is how long to wait after Listen gave up (not linked,
	// logged out) before trying again, which also picks up a new pairing.
	RetryAfter time.Duration
}

// heldMarker is a channel that shows whether this process holds it.
type heldMarker interface{ SetHeld(bool) }

// Run holds the channel whenever it can until ctx ends.
func (h *Hold) Run(ctx context.Context) {
	poll := h.Lease.TTL() / 3
	logger := h.Logger.With("channel", h.Channel.ID())
	standby := false
	for ctx.Err() == nil {
		ok, err := h.Lease.Acquire(ctx)
		switch {
		case err != nil:
			logger.Warn("channel lease unavailable; retrying", "err", err)
		case !ok:
			if !standby {
				logger.Info("another process holds the channel; standing by")
				standby = true
			}
		default:
			standby = false
			logger.Info("holding the channel")
			if err := h.hold(ctx, logger); err != nil && ctx.Err() == nil {
				logger.Error("channel stopped; retrying later", "retry_in", h.RetryAfter.String(), "err", err)
				if !sleep(ctx, h.RetryAfter) {
					return
				}
				continue
			}
		}
		if !sleep(ctx, poll) {
			return
		}
	}
}

// hold runs the channel while the lease is renewed (lease.Keep), and gives
// the lease up when it stops, so a standby takes over at once.
func (h *Hold) hold(ctx context.Context, logger *slog.Logger) error {
	if m, ok := h.Channel.(heldMarker); ok {
		m.SetHeld(true)
		defer m.SetHeld(false)
	}
	lctx, stopKeeping := lease.Keep(ctx, h.Lease, logger)
	defer func() {
		stopKeeping()
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer rcancel()
		if err := h.Lease.Release(rctx); err != nil {
			logger.Warn("channel lease not released; a standby takes over when it expires", "err", err)
		}
	}()

	stop, err := h.Serve()
	if err != nil {
		return err
	}
	defer stop()
	err = h.Channel.Listen(lctx, h.Sink)
	if cause := context.Cause(lctx); errors.Is(cause, lease.ErrLost) {
		logger.Warn("channel lease lost; disconnected so another process can hold it")
		return nil
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// QueueSink queues what a listener channel receives, as the webhook
// handler does for webhook channels.
type QueueSink struct {
	Queue   *queue.Client
	Metrics *metrics.Metrics
}

var _ channels.Sink = QueueSink{}

// Inbound queues a customer message; a redelivery is counted and dropped.
func (s QueueSink) Inbound(ctx context.Context, m *channels.Inbound) error {
	err := s.Queue.EnqueueInbound(ctx, m)
	if errors.Is(err, queue.ErrDuplicate) {
		s.Metrics.DuplicateMessages.WithLabelValues(m.Channel, m.Kind).Inc()
		return nil
	}
	return err
}

// Status queues a delivery status; a repeated one is dropped.
func (s QueueSink) Status(ctx context.Context, st *channels.Status) error {
	err := s.Queue.EnqueueStatus(ctx, st)
	if errors.Is(err, queue.ErrDuplicate) {
		return nil
	}
	return err
}
