// Package convtest builds a conversations.Service for tests on the real
// things: a migrated database (internal/dbtest), a Redis (internal/
// redistest), the real event publisher, presence and queue; the
// repository is wrapped in a Faulty, so a test can fail any call on cue.
package convtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/blob"
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
	// Inspector reads the queue's tasks: the sends and timers the
	// service scheduled.
	Inspector *asynq.Inspector
	Presence  *presence.Store
	Metrics   *metrics.Metrics
	Settings  *settings.Watcher
	Clock     clock.Clock
	// Blobs keeps media files: a directory of the test's, BlobDir.
	Blobs   *blob.Dir
	BlobDir string
	Service *conversations.Service

	dedupeWindow time.Duration
	// phones numbers the accounts Operators creates.
	phones int
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
	blobDir := t.TempDir()
	blobs, err := blob.NewDir(blobDir)
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspectorFromRedisClient(o.Redis)
	t.Cleanup(func() { insp.Close() })
	e := &Env{
		DB:           o.DB,
		Repo:         NewFaulty(o.DB.Conversations()),
		Redis:        o.Redis,
		Queue:        newQueue(o.Redis, o.DedupeWindow),
		Inspector:    insp,
		Presence:     presence.New(o.Redis),
		Metrics:      o.Metrics,
		Settings:     settings.NewWatcher(o.DB.Settings(), 0),
		Clock:        o.Clock,
		Blobs:        blobs,
		BlobDir:      blobDir,
		dedupeWindow: o.DedupeWindow,
	}
	e.Service = e.NewService(e.Redis)
	return e
}

// newQueue returns a queue client on rdb. The asynq client shares rdb's
// pool, which its owner closes; it has nothing of its own to close.
func newQueue(rdb redis.UniversalClient, dedupeWindow time.Duration) *queue.Client {
	return queue.NewClient(asynq.NewClientFromRedisClient(rdb), dedupeWindow)
}

// NewService returns another service on the Env's database and
// repository faults, talking to Redis through rdb (its queue, presence
// and events): a second worker process, say, with its own connection
// pool, or one whose Redis commands a redistest.Interceptor fails.
func (e *Env) NewService(rdb redis.UniversalClient) *conversations.Service {
	q := e.Queue
	if rdb != e.Redis {
		q = newQueue(rdb, e.dedupeWindow)
	}
	return conversations.New(conversations.Options{
		Repository: e.Repo,
		Events:     events.NewPublisher(rdb),
		Tasks:      queue.Tasks{Client: q, Inspector: e.Inspector},
		Presence:   presence.New(rdb),
		Settings:   e.Settings,
		Staff:      auth.NewRoster(e.DB.Accounts(), auth.NewRoles(e.DB.Roles())),
		Blobs:      e.Blobs,
		Clock:      e.Clock,
		Metrics:    e.Metrics,
	})
}

// Operators creates an active operator account for each id (the id as
// given, so tests can name them), serving queryTypes with capacity.
func (e *Env) Operators(t testing.TB, capacity int, queryTypes []string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		now := time.Now().UTC().Truncate(time.Millisecond)
		e.phones++
		u := &accounts.User{ID: id, Name: id, Phone: fmt.Sprintf("+5511977%06d", e.phones), Role: auth.RoleOperator,
			Status: accounts.StatusActive, QueryTypes: queryTypes, Capacity: capacity, CreatedAt: now, UpdatedAt: now}
		if err := e.DB.Accounts().Insert(context.Background(), u); err != nil {
			t.Fatalf("create operator %s: %v", id, err)
		}
	}
}

// ApplyRouting applies RoutingDoc and creates its operators, ana, bruno
// and carla, serving sales with capacity each.
func (e *Env) ApplyRouting(t testing.TB, capacity int) {
	t.Helper()
	e.ApplySettings(t, RoutingDoc)
	e.Operators(t, capacity, []string{"sales"}, "ana", "bruno", "carla")
}

// ApplySettings applies a settings document, failing the test if it is
// refused.
func (e *Env) ApplySettings(t testing.TB, yaml string) {
	t.Helper()
	if _, err := settings.Apply(context.Background(), e.DB.Settings(), []byte(yaml), time.Now(), -1, "test"); err != nil {
		t.Fatalf("apply settings: %v", err)
	}
}

// SetCapacity changes the capacity of the accounts ids, as a coordinator
// editing them would.
func (e *Env) SetCapacity(t testing.TB, capacity int, ids ...string) {
	t.Helper()
	ctx := context.Background()
	for _, id := range ids {
		u, err := e.DB.Accounts().Get(ctx, id)
		if err != nil {
			t.Fatalf("read account %s: %v", id, err)
		}
		u.Capacity = capacity
		if err := e.DB.Accounts().Update(ctx, u); err != nil {
			t.Fatalf("update account %s: %v", id, err)
		}
	}
}
