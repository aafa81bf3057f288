package redisconn

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotReplicated means a write reached the primary but not enough
// replicas in time. The write may still be lost in a failover, so it must
// not be acknowledged; retrying it is safe where writes are idempotent, as
// asynq enqueues with task ids are.
var ErrNotReplicated = errors.New("write not replicated in time")

// replicatedClient runs each Lua script (asynq's enqueue is one) on a
// connection of its own and then WAITs on that connection for replicas to
// have it. Redis replicates asynchronously: a primary that fails over right
// after answering would otherwise lose writes it had acknowledged, and the
// gateway's 200 to a provider is such an acknowledgment.
type replicatedClient struct {
	*redis.Client
	replicas int
	timeout  time.Duration
}

// EvalSha runs a script and waits for its replication.
func (c *replicatedClient) EvalSha(ctx context.Context, sha1 string, keys []string, args ...any) *redis.Cmd {
	return c.replicated(ctx, func(conn *redis.Conn) *redis.Cmd { return conn.EvalSha(ctx, sha1, keys, args...) })
}

// Eval runs a script and waits for its replication.
func (c *replicatedClient) Eval(ctx context.Context, script string, keys []string, args ...any) *redis.Cmd {
	return c.replicated(ctx, func(conn *redis.Conn) *redis.Cmd { return conn.Eval(ctx, script, keys, args...) })
}

func (c *replicatedClient) replicated(ctx context.Context, run func(*redis.Conn) *redis.Cmd) *redis.Cmd {
	// WAIT counts the writes of its own connection, so the script and the
	// WAIT must share one.
	conn := c.Client.Conn()
	defer conn.Close()
	cmd := run(conn)
	if cmd.Err() != nil {
		return cmd
	}
	n, err := conn.Wait(ctx, c.replicas, c.timeout).Result()
	switch {
	case err != nil:
		cmd.SetErr(fmt.Errorf("wait for %d replicas: %w", c.replicas, err))
	case n < int64(c.replicas):
		cmd.SetErr(fmt.Errorf("%w: %d of %d replicas within %s", ErrNotReplicated, n, c.replicas, c.timeout))
	}
	return cmd
}
