package queue

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// ServerRedis wraps the Redis client given to the asynq server so that a
// task's outcome, written while Redis was away, is written as soon as
// Redis is back instead of minutes later.
//
// asynq v0.26.0 writes a finished task's outcome (done, completed, retry,
// archived) with a context bounded by the task's lease, cancels that
// context when the first attempt returns, and then hands the same, now
// cancelled, context to its syncer to retry the write every 5 s. Each
// retry fails at once with context.Canceled, even after Redis is back, so
// the task stays "active" until its lease expires, and asynq's recoverer
// (every minute, for leases expired over 30 s ago) retries it: about 1-2
// minutes late. These intervals are constants in asynq, not options.
//
// The wrapper runs a Lua script (every outcome write is one) whose
// context was cancelled but whose deadline is still ahead until that
// deadline, so the syncer's retries succeed once Redis answers again,
// within the lease as asynq intends. A context that is cancelled without
// a deadline, or past it, still fails as before.
func ServerRedis(rdb redis.UniversalClient) redis.UniversalClient {
	return leaseScripts{rdb}
}

// leaseScripts is a client whose script calls outlive their context's
// cancellation up to its deadline; see ServerRedis.
type leaseScripts struct {
	redis.UniversalClient
}

// untilDeadline returns ctx, or, when ctx was cancelled before its
// deadline, a context that keeps ctx's values and ends at that deadline.
func untilDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	if !ok || !errors.Is(ctx.Err(), context.Canceled) || !time.Now().Before(deadline) {
		return ctx, func() {}
	}
	return context.WithDeadline(context.WithoutCancel(ctx), deadline)
}

// Eval runs script; see ServerRedis.
func (c leaseScripts) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	ctx, cancel := untilDeadline(ctx)
	defer cancel()
	return c.UniversalClient.Eval(ctx, script, keys, args...)
}

// EvalSha runs a loaded script; see ServerRedis.
func (c leaseScripts) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	ctx, cancel := untilDeadline(ctx)
	defer cancel()
	return c.UniversalClient.EvalSha(ctx, sha1, keys, args...)
}
