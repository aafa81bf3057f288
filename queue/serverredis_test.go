package queue_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"switchboard/internal/redistest"
	"switchboard/queue"
)

// A task that finishes while Redis is away leaves "active" within seconds
// of Redis coming back, and is not run again: asynq's syncer retries the
// outcome write, which queue.ServerRedis lets through. Without it the
// retries fail with a cancelled context and the task waits for asynq's
// recoverer, 1-2 minutes later, which then runs it a second time.
func TestOutcomeWrittenSoonAfterRedisReturns(t *testing.T) {
	direct := redistest.Client(t)
	proxy := redistest.NewProxy(t, direct.Options().Addr)
	opts := *direct.Options()
	opts.Addr = proxy.Addr()
	opts.MaxRetries = -1
	viaProxy := redis.NewClient(&opts)
	t.Cleanup(func() { viaProxy.Close() })

	started, release := make(chan struct{}, 4), make(chan struct{})
	runs := 0
	var mu sync.Mutex
	mux := asynq.NewServeMux()
	mux.HandleFunc("t", func(ctx context.Context, _ *asynq.Task) error {
		mu.Lock()
		runs++
		mu.Unlock()
		started <- struct{}{}
		<-release
		return nil
	})
	srv := asynq.NewServerFromRedisClient(queue.ServerRedis(viaProxy), asynq.Config{
		Concurrency: 1, Queues: map[string]int{"q": 1}, TaskCheckInterval: 100 * time.Millisecond,
		Logger: quiet{}, LogLevel: asynq.FatalLevel,
	})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	client := asynq.NewClientFromRedisClient(direct)
	t.Cleanup(func() { client.Close() })
	if _, err := client.Enqueue(asynq.NewTask("t", nil), asynq.Queue("q"), asynq.TaskID("t1")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the task never started")
	}

	proxy.Cut()
	close(release) // the task finishes while Redis is away
	time.Sleep(1500 * time.Millisecond)
	proxy.Restore()
	back := time.Now()

	insp := asynq.NewInspectorFromRedisClient(direct)
	t.Cleanup(func() { insp.Close() })
	for {
		info, err := insp.GetTaskInfo("q", "t1")
		if errors.Is(err, asynq.ErrTaskNotFound) || (err == nil && info.State != asynq.TaskStateActive) {
			break
		}
		if time.Since(back) > 15*time.Second {
			t.Fatalf("task still active %v after Redis came back (%+v, %v), want its outcome written within seconds", time.Since(back).Round(time.Second), info, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if runs != 1 {
		t.Fatalf("task ran %d times, want once", runs)
	}
}

// A call whose context was cancelled without a deadline, or after it,
// fails as it always did: only a lease-bounded write outlives its cancel.
func TestServerRedisKeepsOtherCancellations(t *testing.T) {
	rdb := queue.ServerRedis(redistest.Client(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := rdb.Eval(ctx, "return 1", nil).Err(); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled, no deadline: %v, want context.Canceled", err)
	}
	past, cancelPast := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancelPast()
	if err := rdb.Eval(past, "return 1", nil).Err(); err == nil {
		t.Fatal("past its deadline: the script ran")
	}
	lease, cancelLease := context.WithDeadline(context.Background(), time.Now().Add(10*time.Second))
	cancelLease()
	if n, err := rdb.Eval(lease, "return 7", nil).Int(); err != nil || n != 7 {
		t.Fatalf("cancelled before its deadline: %d, %v; want the script run", n, err)
	}
}

// quiet discards asynq's own log: the cut makes it complain, as intended.
type quiet struct{}

func (quiet) Debug(...any) {}
func (quiet) Info(...any)  {}
func (quiet) Warn(...any)  {}
func (quiet) Error(...any) {}
func (quiet) Fatal(...any) {}

// A cancelled lease-bounded call on an unreachable Redis runs at most
// queue.MaxScriptExtension, not until the lease's end; after Stop it fails
// at once.
func TestServerRedisExtensionIsBoundedAndStops(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: redistest.Silent(t), MaxRetries: -1,
		ReadTimeout: 20 * time.Second, WriteTimeout: 20 * time.Second, ContextTimeoutEnabled: true})
	t.Cleanup(func() { rdb.Close() })
	sr := queue.ServerRedis(rdb)
	lease := func() context.Context {
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(30*time.Second))
		cancel()
		return ctx
	}

	begin := time.Now()
	_ = sr.Eval(lease(), "return 1", nil).Err()
	if took := time.Since(begin); took < queue.MaxScriptExtension/2 || took > queue.MaxScriptExtension+time.Second {
		t.Fatalf("extended call took %v, want about %v", took.Round(100*time.Millisecond), queue.MaxScriptExtension)
	}

	sr.Stop()
	begin = time.Now()
	if err := sr.Eval(lease(), "return 1", nil).Err(); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call after Stop: %v, want context.Canceled", err)
	}
	if took := time.Since(begin); took > 200*time.Millisecond {
		t.Fatalf("cancelled call after Stop took %v, want it to fail at once", took)
	}
}
