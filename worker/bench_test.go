package worker_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"switchboard/internal/redistest"
	"switchboard/queue"
	"switchboard/worker"
)

// benchWorkers is the worker pool's concurrency in both benchmarks.
const benchWorkers = 20

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
// its session timer. The database is SQLite, or PostgreSQL when
// SWITCHBOARD_TEST_POSTGRES is set. Queueing is not timed. Compare with BenchmarkNoopTasks
// from the same run: `go test -run '^$' -bench 'Pipeline|Noop' -benchtime 5000x ./worker/`.
func BenchmarkInboundPipeline(b *testing.B) {
	e := newEnv(b, "", nil)
	e.ApplySettings(b, strings.ReplaceAll(routingDoc, "CAP", "50"))
	e.online(b, "ana", "bruno", "carla")
	enqueueInbound(b, e, b.N)
	b.ResetTimer()
	e.startWorker(b, benchWorkers)
	start := time.Now()
	eventually(b, "all messages", func() bool { return e.inboundProcessed() == float64(b.N) })
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
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
