package queue

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// MaxScriptExtension is the longest a cancelled script call is let run
// beyond the moment it is made (see ServerRedis): long enough for one
// round trip to a Redis that is back, short enough that asynq's syncer,
// which retries its writes one after another every 5 s, does not spend
// the lease's remaining 30 s on each while Redis is away.
const MaxScriptExtension = 2 * time.Second

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
// deadline or MaxScriptExtension from now, whichever comes first, so the
// syncer's retries succeed once Redis answers again, within the lease as
// asynq intends. A context that is cancelled without a deadline, or past
// it, still fails as before.
//
// Call Stop right before the asynq server's Shutdown: at shutdown the
// syncer makes a last try of every pending write, one after another, and
// extended tries would add up past the shutdown grace while Redis is away.
func ServerRedis(rdb redis.UniversalClient) *ServerClient {
	stopped, stop := context.WithCancel(context.Background())
	return &ServerClient{UniversalClient: rdb, stopped: stopped, stop: stop}
}

// ServerClient is a client whose script calls outlive their context's
// cancellation for a while, until Stop; see ServerRedis.
type ServerClient struct {
	redis.UniversalClient
	// stopped ends at Stop: no call is extended after it.
	stopped context.Context
	stop    context.CancelFunc
}

// Stop ends the extensions: from now on a cancelled script call fails at
// once, as on the wrapped client, and one on an extension that is still
// connecting gives up (one already sent still waits, at most until its
// capped deadline: go-redis does not interrupt a read). It does not close
// the wrapped client, and is safe to call more than once.
func (c *ServerClient) Stop() { c.stop() }

// untilDeadline returns ctx, or, when ctx was cancelled before its
// deadline and c is not stopped, a context that keeps ctx's values and
// ends at that deadline, MaxScriptExtension from now, or at Stop.
func (c *ServerClient) untilDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	deadline, ok := ctx.Deadline()
	now := time.Now()
	if !ok || !errors.Is(ctx.Err(), context.Canceled) || !now.Before(deadline) || c.stopped.Err() != nil {
		return ctx, func() {}
	}
	if capped := now.Add(MaxScriptExtension); capped.Before(deadline) {
		deadline = capped
	}
	ext, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	unhook := context.AfterFunc(c.stopped, cancel)
	return ext, func() {
		unhook()
		cancel()
	}
}

// Eval runs script; see ServerRedis.
func (c *ServerClient) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	ctx, cancel := c.untilDeadline(ctx)
	defer cancel()
	return c.UniversalClient.Eval(ctx, script, keys, args...)
}

// EvalSha runs a loaded script; see ServerRedis.
func (c *ServerClient) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	ctx, cancel := c.untilDeadline(ctx)
	defer cancel()
	return c.UniversalClient.EvalSha(ctx, sha1, keys, args...)
}
