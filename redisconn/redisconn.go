// Package redisconn opens the one Redis connection pool a process shares
// between its queue (asynq) and its state (the store): to a single primary,
// to a primary found through Redis Sentinel (followed across failovers), or
// to a Redis Cluster; or it starts an embedded in-memory Redis when none is
// configured.
package redisconn

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"switchboard/config"
)

// Conn is an open Redis connection pool.
type Conn struct {
	// Client is shared by asynq and the store; asynq does not close it.
	Client redis.UniversalClient
	// Acked is Client for writes whose acknowledgment promises durability
	// (the gateway's enqueues): with redis.wait_replicas set, each script it
	// runs returns only once that many replicas have it. Otherwise it is
	// Client.
	Acked redis.UniversalClient
	// Embedded is true when Client talks to an in-process miniredis, which
	// keeps nothing across restarts.
	Embedded bool
	// EmbeddedURL is the embedded server's redis:// URL, so commands run
	// beside the process (switchboard users create) can reach it; empty
	// unless Embedded.
	EmbeddedURL string

	closeOnce sync.Once
	stop      func()
}

// Open connects to the configured Redis. With none configured it starts an
// embedded in-memory Redis and logs a warning that nothing is durable: that
// is for trying Switchboard out, never for production.
func Open(ctx context.Context, cfg config.Redis, logger *slog.Logger) (*Conn, error) {
	routeLogs.Do(func() { redis.SetLogger(slogPrintf{logger.With("component", "go-redis")}) })
	var client redis.UniversalClient
	var where string
	switch {
	case cfg.URL != "":
		opts, err := redis.ParseURL(cfg.URL)
		if err != nil {
			return nil, fmt.Errorf("parse redis url: %w", err)
		}
		client, where = redis.NewClient(opts), opts.Addr
	case cfg.Sentinel.MasterName != "":
		client = redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName:       cfg.Sentinel.MasterName,
			SentinelAddrs:    cfg.Sentinel.Addrs,
			SentinelPassword: cfg.Sentinel.SentinelPassword,
			Username:         cfg.Sentinel.Username,
			Password:         cfg.Sentinel.Password,
			DB:               cfg.Sentinel.DB,
		})
		where = "sentinel master " + cfg.Sentinel.MasterName
	case len(cfg.Cluster.Addrs) > 0:
		client = redis.NewClusterClient(&redis.ClusterOptions{
			Addrs:    cfg.Cluster.Addrs,
			Username: cfg.Cluster.Username,
			Password: cfg.Cluster.Password,
		})
		where = "cluster " + strings.Join(cfg.Cluster.Addrs, ",")
	default:
		return openEmbedded(logger)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		// Not fatal: the process starts and /readyz reports the outage, so
		// a Redis restart does not crash-loop every pod.
		logger.Warn("redis not reachable at startup; readiness will fail until it is", "redis", where, "err", err)
	}
	c := &Conn{Client: client, Acked: client, stop: func() {}}
	if cfg.WaitReplicas > 0 {
		if single, ok := client.(*redis.Client); ok {
			c.Acked = &replicatedClient{Client: single, replicas: cfg.WaitReplicas, timeout: cfg.WaitTimeout}
		}
	}
	return c, nil
}

// EmbeddedTick is how often the embedded server's TTLs are aged in
// production: keys expire within a second of their time, as they do
// within Redis's own expiry cycle.
const EmbeddedTick = time.Second

// Embedded is an in-memory Redis (miniredis) whose keys expire with the
// wall clock, as on a real Redis: left alone, miniredis expires keys only
// when its clock is moved by hand, so dedupe windows, leases, login codes
// and rate-limit state would live forever.
type Embedded struct {
	*miniredis.Miniredis
	done chan struct{}
	once sync.Once
}

// StartEmbedded starts an embedded Redis on a free port of 127.0.0.1
// whose TTLs a goroutine ages by the wall clock every tick. (miniredis can
// age them on every command instead, but it then sorts every key on every
// command: a server that fills up slows to a crawl, and so did the tests.)
// The embedded server and internal/redistest both start theirs here, so
// tests see the expiry production has. The caller closes it.
func StartEmbedded(tick time.Duration) (*Embedded, error) {
	if tick <= 0 {
		return nil, fmt.Errorf("start embedded redis: tick must be positive, got %v", tick)
	}
	m := miniredis.NewMiniRedis()
	if err := m.Start(); err != nil {
		return nil, fmt.Errorf("start embedded redis: %w", err)
	}
	e := &Embedded{Miniredis: m, done: make(chan struct{})}
	go e.age(tick)
	return e, nil
}

// age moves the server's TTLs forward with the wall clock until Close.
func (e *Embedded) age(tick time.Duration) {
	t := time.NewTicker(tick)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-e.done:
			return
		case now := <-t.C:
			e.FastForward(now.Sub(last))
			last = now
		}
	}
}

// Close stops the ageing and the server.
func (e *Embedded) Close() {
	e.once.Do(func() {
		close(e.done)
		e.Miniredis.Close()
	})
}

func openEmbedded(logger *slog.Logger) (*Conn, error) {
	m, err := StartEmbedded(EmbeddedTick)
	if err != nil {
		return nil, err
	}
	logger.Warn("NO REDIS CONFIGURED: using an embedded in-memory Redis. NOTHING IS DURABLE: every queued message and all state are lost when this process stops. Set SWITCHBOARD_REDIS_URL or redis.url for production.",
		"embedded_addr", m.Addr())
	client := redis.NewClient(&redis.Options{Addr: m.Addr()})
	return &Conn{
		Client:      client,
		Acked:       client,
		Embedded:    true,
		EmbeddedURL: "redis://" + m.Addr() + "/0",
		stop:        m.Close,
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

// routeLogs installs go-redis's logger once: it is process-wide.
var routeLogs sync.Once

// slogPrintf sends go-redis's own log lines (a sentinel announcing a new
// primary, a pool reconnecting) to slog instead of its default stderr
// logger. They name addresses, never keys or values.
type slogPrintf struct{ l *slog.Logger }

func (s slogPrintf) Printf(ctx context.Context, format string, v ...any) {
	s.l.InfoContext(ctx, fmt.Sprintf(format, v...))
}
