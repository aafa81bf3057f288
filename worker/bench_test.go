package worker_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"switchboard/channels"
	"switchboard/channels/whatsapp"
	"switchboard/internal/convtest"
	"switchboard/internal/dbtest"
	"switchboard/internal/redistest"
	"switchboard/queue"
	"switchboard/repository"
	"switchboard/settings"
	"switchboard/worker"
)

// benchWorkers is the worker pool's concurrency in both benchmarks.
const benchWorkers = 20

// newEnvOn is newEnv (no Graph API, the system clock) on the convtest
// options o: a chosen database, say.
func newEnvOn(b testing.TB, o convtest.Options) *env {
	b.Helper()
	ch, err := whatsapp.New("wa-main", whatsapp.Config{
		PhoneNumberID: "100000000000001", AppSecret: "s", VerifyToken: "v",
		AccessToken: "graph-token", APIBaseURL: "http://127.0.0.1:1/v21.0",
	}, &http.Client{Timeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	return &env{Env: convtest.New(b, o), chans: channels.Set{"wa-main": ch}}
}

// enqueueInbound queues n messages from 500 customers.
func enqueueInbound(b *testing.B, e *env, n int) {
	b.Helper()
	now := time.Now().Truncate(time.Second)
	for i := range n {
		from := fmt.Sprintf("551190%06d", i%500)
		if err := e.Queue.EnqueueInbound(context.Background(), text(fmt.Sprintf("wamid.bench.%d", i), from, now, int64(i))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInboundPipeline measures messages/s through the worker pool's
// whole inbound path: decode the task, apply the message to the database,
// route the query (settings, roster, decision, atomic apply) and schedule
// its session timer. It runs once per engine: sqlite, and postgres when
// SWITCHBOARD_TEST_POSTGRES is set (skipped, saying so, when not).
// Queueing is not timed. Compare with BenchmarkNoopTasks from the same
// run: `go test -run '^$' -bench 'Pipeline|Noop' -benchtime 5000x ./worker/`.
//
// Settings are re-read at most once a second, as `switchboard serve`
// does; convtest's watcher re-reads them on every message, which a test
// wants and a throughput figure does not.
func BenchmarkInboundPipeline(b *testing.B) {
	for _, engine := range []repository.Dialect{repository.Postgres, repository.SQLite} {
		b.Run(string(engine), func(b *testing.B) {
			e := newEnvOn(b, convtest.Options{DB: dbtest.OpenEngine(b, engine)})
			e.Settings = settings.NewWatcher(e.DB.Settings(), time.Second)
			e.ApplyRouting(b, 50)
			e.online(b, "ana", "bruno", "carla")
			enqueueInbound(b, e, b.N)
			b.ResetTimer()
			e.startWorker(b, benchWorkers)
			start := time.Now()
			eventually(b, "all messages", func() bool { return e.inboundProcessed() == float64(b.N) })
			b.StopTimer()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
		})
	}
}

// BenchmarkNoopTasks measures asynq's own rate on this machine: tasks of
// the same size and queue, handled by a handler that does nothing.
func BenchmarkNoopTasks(b *testing.B) {
	rdb := redistest.Client(b)
	client := asynq.NewClientFromRedisClient(rdb)
	defer client.Close()
	payload := []byte(strings.Repeat("x", 260)) // about an inbound text task's size
	for i := range b.N {
		if _, err := client.Enqueue(asynq.NewTask("bench:noop", payload), asynq.Queue(queue.QueueInbound), asynq.TaskID(fmt.Sprint("noop:", i))); err != nil {
			b.Fatal(err)
		}
	}
	var done atomic.Int64
	mux := asynq.NewServeMux()
	mux.HandleFunc("bench:noop", func(context.Context, *asynq.Task) error { done.Add(1); return nil })
	b.ResetTimer()
	srv := worker.NewServer(redis.NewClient(rdb.Options()), worker.ServerOptions{Concurrency: benchWorkers, ShutdownTimeout: 5 * time.Second, Logger: logger})
	if err := srv.Start(mux); err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	start := time.Now()
	eventually(b, "all tasks", func() bool { return done.Load() == int64(b.N) })
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
