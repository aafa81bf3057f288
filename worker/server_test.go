package worker_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"switchboard/internal/redistest"
	"switchboard/worker"
)

// Shutdown while Redis is unreachable is not lengthened by asynq's last
// tries at writing the outcomes of tasks that finished during the outage:
// with queue.ServerRedis each try used to wait, one after another, until
// it timed out, and a pod overshot its shutdown grace.
func TestShutdownWithRedisAwayIsNotLengthened(t *testing.T) {
	direct := redistest.Client(t)
	hole := redistest.NewProxy(t, direct.Options().Addr)
	opts := *direct.Options()
	opts.Addr = hole.Addr()
	opts.MaxRetries = -1
	opts.ReadTimeout, opts.WriteTimeout = time.Second, time.Second
	viaHole := redis.NewClient(&opts)
	t.Cleanup(func() { viaHole.Close() })

	const tasks = 4
	started, release := make(chan struct{}, tasks), make(chan struct{})
	mux := asynq.NewServeMux()
	mux.HandleFunc("t", func(context.Context, *asynq.Task) error {
		started <- struct{}{}
		<-release
		return nil
	})
	srv := worker.NewServer(viaHole, worker.ServerOptions{
		Concurrency: tasks, ShutdownTimeout: time.Second, Queues: map[string]int{"q": 1},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClientFromRedisClient(direct)
	t.Cleanup(func() { client.Close() })
	for range tasks {
		if _, err := client.Enqueue(asynq.NewTask("t", nil), asynq.Queue("q")); err != nil {
			t.Fatal(err)
		}
	}
	for range tasks {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatal("the tasks never started")
		}
	}

	hole.Silence()
	close(release) // the tasks finish while Redis is away
	// Their outcome writes time out (1 s) and go to asynq's syncer.
	time.Sleep(2500 * time.Millisecond)
	begin := time.Now()
	srv.Shutdown()
	took := time.Since(begin)
	// asynq's own steps each wait for one Redis timeout at most; the last
	// tries at the 4 outcomes used to add one timeout each on top.
	if limit := 3 * time.Second; took > limit {
		t.Fatalf("shutdown took %v with Redis away, want under %v", took.Round(100*time.Millisecond), limit)
	}
	t.Logf("shutdown took %v", took.Round(100*time.Millisecond))
}
