// Package redisconn opens the one Redis connection pool a process shares
// between its queue (asynq) and its state (the store), or starts an embedded
// in-memory Redis when none is configured.
package redisconn

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// Conn is an open Redis connection pool.
type Conn struct {
	// Client is shared by asynq and the store; asynq does not close it.
	Client redis.UniversalClient
	// Embedded is true when Client talks to an in-process miniredis, which
	// keeps nothing across restarts.
	Embedded bool

	closeOnce sync.Once
	stop      func()
}

// Open connects to url. An empty url starts an embedded in-memory Redis and
// logs a warning that nothing is durable: it is for trying Switchboard out,
// never for production.
func Open(ctx context.Context, url string, logger *slog.Logger) (*Conn, error) {
	if url == "" {
		return openEmbedded(logger)
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parse redis url: %w", err)
	}
	client := redis.NewClient(opts)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		// Not fatal: the process starts and /readyz reports the outage, so
		// a Redis restart does not crash-loop every pod.
		logger.Warn("redis not reachable at startup; readiness will fail until it is", "addr", opts.Addr, "err", err)
	}
	return &Conn{Client: client, stop: func() {}}, nil
}

func openEmbedded(logger *slog.Logger) (*Conn, error) {
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		return nil, fmt.Errorf("start embedded redis: %w", err)
	}
	// miniredis only expires keys when its clock is moved; move it with
	// the wall clock so TTLs (dedupe windows, retention) behave.
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				m.FastForward(now.Sub(last))
				last = now
			}
		}
	}()
	logger.Warn("NO REDIS CONFIGURED: using an embedded in-memory Redis. NOTHING IS DURABLE: every queued message and all state are lost when this process stops. Set SWITCHBOARD_REDIS_URL or redis.url for production.",
		"embedded_addr", m.Addr())
	client := redis.NewClient(&redis.Options{Addr: m.Addr()})
	return &Conn{
		Client:   client,
		Embedded: true,
		stop: func() {
			close(done)
			m.Close()
		},
	}, nil
}

// Ping reports whether Redis answers within ctx.
func (c *Conn) Ping(ctx context.Context) error {
	return c.Client.Ping(ctx).Err()
}

// Close closes the pool and stops an embedded server.
func (c *Conn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		err = c.Client.Close()
		c.stop()
	})
	return err
}
