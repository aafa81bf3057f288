package lease

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Keep renews a held lease every third of its TTL until stop is called,
// retrying a failed renewal every second or so while the lease is still
// safely held, and returns a context that ends, with cause ErrLost, as soon as the lease
// is lost, or cannot be renewed before it would expire (Redis
// unreachable): another process may hold it by then, so whatever runs
// under the lease must stop. stop waits for the renewals to end; it does
// not release the lease.
func Keep(ctx context.Context, l *Lease, logger *slog.Logger) (held context.Context, stop func()) {
	hctx, cancel := context.WithCancelCause(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		keep(hctx, l, cancel, logger)
	}()
	return hctx, func() {
		cancel(nil)
		<-done
	}
}

// retryEvery is how soon a failed renewal is tried again: a Redis blip
// then costs a second, not the third of the TTL until the next renewal,
// by which time the lease could no longer be safely held. Short leases
// (tests) retry proportionally sooner.
func retryEvery(ttl time.Duration) time.Duration { return min(time.Second, ttl/10) }

func keep(ctx context.Context, l *Lease, cancel context.CancelCauseFunc, logger *slog.Logger) {
	ttl := l.TTL()
	every := ttl / 3
	t := time.NewTimer(every)
	defer t.Stop()
	// The lease is safe until a third of its TTL before it would expire,
	// counted from the start of the last renewal that succeeded; no
	// renewal may run past that, however slow Redis is.
	safeUntil := time.Now().Add(ttl - ttl/3)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		start := time.Now()
		rctx, rcancel := context.WithDeadline(ctx, safeUntil)
		err := l.Renew(rctx)
		rcancel()
		switch {
		case err == nil:
			safeUntil = start.Add(ttl - ttl/3)
			t.Reset(time.Until(start.Add(every)))
		case errors.Is(err, ErrLost):
			cancel(err)
			return
		case ctx.Err() != nil:
			return // stopped while renewing
		case !time.Now().Before(safeUntil):
			logger.Error("lease could not be renewed in time", "lease", l.key, "err", err)
			cancel(ErrLost)
			return
		default:
			// Retry soon; a retry due past the safe time finds its deadline
			// gone and gives the lease up.
			wait := min(retryEvery(ttl), time.Until(safeUntil))
			logger.Warn("lease renewal failed; retrying", "lease", l.key, "err", err, "retry_in", wait.Round(time.Millisecond).String())
			t.Reset(wait)
		}
	}
}
