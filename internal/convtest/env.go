// Package convtest builds a conversations.Service for tests on the real
// things: a migrated database (internal/dbtest), a Redis (internal/
// redistest), the real event publisher, presence and queue; the
// repository is wrapped in a Faulty, so a test can fail any call on cue.
package convtest

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"switchboard/clock"
	"switchboard/conversations"
	"switchboard/events"
	"switchboard/internal/dbtest"
	"switchboard/internal/redistest"
	"switchboard/metrics"
	"switchboard/presence"
	"switchboard/queue"
	"switchboard/repository"
	"switchboard/settings"
)

// Env is a service and what it runs on.
type Env struct {
	DB    *repository.DB
	Repo  *Faulty
	Redis *redis.Client
	Queue *queue.Client
	// Inspector reads (and the service cancels) queued tasks.
	Inspector *asynq.Inspector
	Presence  *presence.Store
	Metrics   *metrics.Metrics
	Settings  *settings.Watcher
	Clock     clock.Clock
	Service   *conversations.Service
}

// Options tune an Env; zero values take the defaults.
type Options struct {
	// DB is the database; default dbtest.Open(t).
	DB *repository.DB
	// Redis is the Redis; default redistest.Client(t).
	Redis *redis.Client
	// Clock defaults to the system clock.
	Clock clock.Clock
	// Metrics defaults to metrics on a private registry.
	Metrics *metrics.Metrics
	// DedupeWindow is the queue's; default one hour.
	DedupeWindow time.Duration
}

// New builds an Env.
func New(t testing.TB, o Options) *Env {
	t.Helper()
	if o.DB == nil {
		o.DB = dbtest.Open(t)
	}
	if o.Redis == nil {
		o.Redis = redistest.Client(t)
	}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New(prometheus.NewRegistry())
	}
	if o.DedupeWindow == 0 {
		o.DedupeWindow = time.Hour
	}
	client := asynq.NewClientFromRedisClient(o.Redis)
	insp := asynq.NewInspectorFromRedisClient(o.Redis)
	t.Cleanup(func() { client.Close(); insp.Close() })
	e := &Env{
		DB:        o.DB,
		Repo:      NewFaulty(o.DB.Conversations()),
		Redis:     o.Redis,
		Queue:     queue.NewClient(client, o.DedupeWindow),
		Inspector: insp,
		Presence:  presence.New(o.Redis),
		Metrics:   o.Metrics,
		Settings:  settings.NewWatcher(o.DB.Settings(), 0),
		Clock:     o.Clock,
	}
	e.Service = e.NewService(e.Redis)
	return e
}

// NewService returns another service on the Env's database and
// repository faults, talking to Redis through rdb: a second worker
// process, say, with its own connection pool.
func (e *Env) NewService(rdb redis.UniversalClient) *conversations.Service {
	return conversations.New(conversations.Options{
		Repository: e.Repo,
		Events:     events.NewPublisher(rdb),
		Tasks:      queue.Tasks{Client: e.Queue, Inspector: e.Inspector},
		Presence:   presence.New(rdb),
		Settings:   e.Settings,
		Clock:      e.Clock,
		Metrics:    e.Metrics,
	})
}

// ApplySettings applies a settings document, failing the test if it is
// refused.
func (e *Env) ApplySettings(t testing.TB, yaml string) {
	t.Helper()
	if _, err := settings.Apply(context.Background(), e.DB.Settings(), []byte(yaml), time.Now(), -1, "test"); err != nil {
		t.Fatalf("apply settings: %v", err)
	}
}
