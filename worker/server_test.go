package worker_test

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"switchboard/internal/redistest"
	"switchboard/worker"
)

// blackHole is a TCP proxy to the real Redis that can stop answering
// without closing anything, as a partition does: while on, bytes either
// way are read and dropped, and new connections are accepted and ignored.
type blackHole struct {
	ln     net.Listener
	target string
	on     atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
}

func newBlackHole(t *testing.T, target string) *blackHole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &blackHole{ln: ln, target: target}
	t.Cleanup(func() {
		ln.Close()
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, c := range b.conns {
			c.Close()
		}
	})
	go b.serve()
	return b
}

func (b *blackHole) serve() {
	for {
		in, err := b.ln.Accept()
		if err != nil {
			return
		}
		b.track(in)
		if b.on.Load() {
			go b.pipe(in, nil)
			continue
		}
		out, err := net.Dial("tcp", b.target)
		if err != nil {
			in.Close()
			continue
		}
		b.track(out)
		go b.pipe(in, out)
		go b.pipe(out, in)
	}
}

func (b *blackHole) track(c net.Conn) { b.mu.Lock(); b.conns = append(b.conns, c); b.mu.Unlock() }

// pipe copies from to to, dropping what it reads while the hole is on.
func (b *blackHole) pipe(from, to net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		if err != nil {
			return
		}
		if to != nil && !b.on.Load() {
			if _, err := to.Write(buf[:n]); err != nil {
				return
			}
		}
	}
}

// Shutdown while Redis is unreachable is not lengthened by asynq's last
// tries at writing the outcomes of tasks that finished during the outage:
// with queue.ServerRedis each try used to wait, one after another, until
// it timed out, and a pod overshot its shutdown grace.
func TestShutdownWithRedisAwayIsNotLengthened(t *testing.T) {
	direct := redistest.Client(t)
	hole := newBlackHole(t, direct.Options().Addr)
	opts := *direct.Options()
	opts.Addr = hole.ln.Addr().String()
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

	hole.on.Store(true)
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
