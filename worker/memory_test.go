package worker_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/internal/convtest"
	"switchboard/internal/dbtest"
	"switchboard/repository"
	"switchboard/settings"
)

// EnvBench runs the heavy measurements (this one and api's list
// benchmark); `make test` leaves them out.
const EnvBench = "SWITCHBOARD_BENCH"

// memoryDoc routes every conversation to one of three operators
// (the test creates their accounts), with room for a batch of conversations
// (memoryBatch), so each is assigned and
// arms a session timer, and offers the resolution reason the
// conversations are closed with.
const memoryDoc = `
default_query_type: sales
query_types:
  - {id: sales, name: Sales, strategy: round_robin}
resolution_reasons:
  - {id: solved, name: Solved}
`

// memoryBatch is how many conversations are open at once in the memory
// test: the live load, while the history grows batch by batch.
const memoryBatch = 1000

// memoryDedupeWindow is the queue's dedupe window in the memory test:
// short, so the completed inbound tasks it retains (load, not history)
// are gone when memory is read.
const memoryDedupeWindow = 5 * time.Second

// Redis memory follows the load, not the history: after 50,000
// conversations were opened by customer messages through the worker,
// routed and closed, Redis's used_memory is within 1.2 times what it is
// after 1,000. Each size runs on a redis-server of its own that the test
// starts (nothing else in it) and on a fresh PostgreSQL schema; memory is
// read once the dedupe window and asynq's janitor have passed.
//
// Run with SWITCHBOARD_BENCH=1 and SWITCHBOARD_TEST_POSTGRES set; sizes
// default to 1000 and 50000 (SWITCHBOARD_BENCH_MEMORY_SIZES=1000,50000).
func TestRedisMemoryAfterClosedConversations(t *testing.T) {
	if os.Getenv(EnvBench) == "" {
		t.Skip(EnvBench + " is not set: the heavy measurements do not run in make test")
	}
	if os.Getenv(dbtest.EnvPostgres) == "" {
		t.Skip(dbtest.EnvPostgres + " is not set: the memory test runs on PostgreSQL")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("no redis-server to start a private Redis with")
	}
	sizes := []int{1000, 50000}
	if s := os.Getenv("SWITCHBOARD_BENCH_MEMORY_SIZES"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, n)
		}
	}
	used := map[int]int64{}
	for _, n := range sizes {
		t.Run(strconv.Itoa(n), func(t *testing.T) { used[n] = closedConversationsMemory(t, n) })
	}
	small, large := used[sizes[0]], used[sizes[len(sizes)-1]]
	if small == 0 || large == 0 {
		return
	}
	ratio := float64(large) / float64(small)
	t.Logf("used_memory: %d bytes after %d conversations, %d after %d: ratio %.3f", small, sizes[0], large, sizes[len(sizes)-1], ratio)
	if ratio > 1.2 {
		t.Errorf("used_memory after %d closed conversations is %.2f times that after %d; want at most 1.2", sizes[len(sizes)-1], ratio, sizes[0])
	}
}

// closedConversationsMemory runs n conversations through a private Redis
// and returns its used_memory once they are closed and the dedupe window
// has passed.
func closedConversationsMemory(t *testing.T, n int) int64 {
	ctx := context.Background()
	rdb := privateRedis(t)
	empty := redisMemory(t, rdb)
	e := newEnvOn(t, convtest.Options{DB: dbtest.OpenEngine(t, repository.Postgres), Redis: rdb, DedupeWindow: memoryDedupeWindow})
	// As `switchboard serve` does; convtest re-reads settings on every call.
	e.Settings = settings.NewWatcher(e.DB.Settings(), time.Second)
	svc := e.NewService(e.Redis)
	e.ApplySettings(t, memoryDoc)
	e.Operators(t, 1000, []string{"sales"}, "ana", "bruno", "carla")
	for _, op := range []string{"ana", "bruno", "carla"} {
		if err := svc.SetPresence(ctx, op, "online"); err != nil {
			t.Fatal(err)
		}
	}

	// Batch after batch: customers write (one message for half of them,
	// two for the others), the worker applies and routes the messages,
	// and the conversations are closed.
	e.startWorker(t, benchWorkers)
	now := time.Now().Truncate(time.Second)
	var msgs atomic.Int64
	var applied, closed time.Duration
	var routed int64
	for lo := 0; lo < n; lo += memoryBatch {
		hi := min(lo+memoryBatch, n)
		start := time.Now()
		parallel(t, 4, hi-lo, func(i int) error {
			i += lo
			from := fmt.Sprintf("5511%09d", i)
			for j := range 1 + i%2 {
				msgs.Add(1)
				if err := e.Queue.EnqueueInbound(ctx, text(fmt.Sprintf("wamid.mem.%d.%d", i, j), from, now, int64(2*i+j))); err != nil {
					return err
				}
			}
			return nil
		})
		deadline := time.Now().Add(2 * time.Minute)
		for e.inboundProcessed() < float64(msgs.Load()) {
			if time.Now().After(deadline) {
				t.Fatalf("%v of %d messages processed", e.inboundProcessed(), msgs.Load())
			}
			time.Sleep(20 * time.Millisecond)
		}
		applied += time.Since(start)
		routed = max(routed, redisMemory(t, rdb))
		if lo == 0 {
			// What the load holds: the completed inbound tasks the dedupe
			// window retains, and the session timers of open conversations.
			t.Logf("memory by key prefix with the first batch routed, before closing:\n%s", memoryByPrefix(t, rdb))
		}

		ids := openConversations(t, e.DB)
		if len(ids) != hi-lo {
			t.Fatalf("%d open conversations, want %d", len(ids), hi-lo)
		}
		start = time.Now()
		parallel(t, 8, len(ids), func(i int) error {
			q, err := svc.Close(ctx, ids[i], "solved")
			if err == nil && q.Resolution != "solved" {
				err = fmt.Errorf("closed %s with resolution %q", ids[i], q.Resolution)
			}
			return err
		})
		closed += time.Since(start)
	}
	if left := openConversations(t, e.DB); len(left) != 0 {
		t.Fatalf("%d conversations still open after closing", len(left))
	}
	var total int
	if err := e.DB.SQL().QueryRow(`SELECT count(*) FROM conversations WHERE state = 'closed' AND routed AND query_type = 'sales'`).Scan(&total); err != nil || total != n {
		t.Fatalf("%d conversations closed after routing, %v; want %d", total, err, n)
	}

	// Wait out the dedupe window and the janitor (every 8 s or so), which
	// deletes the completed inbound tasks the window retained.
	waitStart := time.Now()
	for {
		c, err := rdb.ZCard(ctx, "asynq:{inbound}:completed").Result()
		if err != nil {
			t.Fatal(err)
		}
		if c == 0 && time.Since(waitStart) > memoryDedupeWindow {
			break
		}
		if time.Since(waitStart) > 2*time.Minute {
			t.Fatalf("%d completed inbound tasks still retained 2 minutes after the last close", c)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // serverCron shrinks the emptied hash tables
	after := redisMemory(t, rdb)
	keys, err := rdb.DBSize(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d conversations, %d messages: applied in %v, closed in %v", n, msgs.Load(), applied.Round(time.Millisecond), closed.Round(time.Millisecond))
	t.Logf("used_memory: empty %d, at most %d after a batch was routed, after closing and the dedupe window %d (%+d over empty); %d keys",
		empty, routed, after, after-empty, keys)
	processed, _ := rdb.Get(ctx, "asynq:{inbound}:processed").Int64()
	failed, _ := rdb.Get(ctx, "asynq:{inbound}:failed").Int64()
	t.Logf("inbound tasks processed %d, failed (retried) %d", processed, failed)
	t.Logf("memory by key prefix after closing:\n%s", memoryByPrefix(t, rdb))
	return after
}

// privateRedis starts a redis-server of the test's own on a free port,
// without persistence, and stops it when the test ends.
func privateRedis(t *testing.T) *redis.Client {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port)})
	t.Cleanup(func() {
		rdb.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	for i := 0; rdb.Ping(context.Background()).Err() != nil; i++ {
		if i > 100 {
			t.Fatal("private redis-server did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return rdb
}

// redisMemory reads INFO memory's used_memory.
func redisMemory(t *testing.T, rdb *redis.Client) int64 {
	t.Helper()
	info, err := rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no used_memory in INFO memory: %q", info)
	return 0
}

// memoryByPrefix sums MEMORY USAGE over every key, by the key's prefix
// (up to its third colon), largest first.
func memoryByPrefix(t *testing.T, rdb *redis.Client) string {
	t.Helper()
	ctx := context.Background()
	type agg struct{ keys, bytes int64 }
	by := map[string]*agg{}
	iter := rdb.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		parts := strings.SplitN(k, ":", 4)
		if len(parts) > 3 {
			parts = parts[:3]
		}
		p := strings.Join(parts, ":")
		if by[p] == nil {
			by[p] = &agg{}
		}
		by[p].keys++
		if n, err := rdb.MemoryUsage(ctx, k).Result(); err == nil {
			by[p].bytes += n
		}
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	prefixes := make([]string, 0, len(by))
	for p := range by {
		prefixes = append(prefixes, p)
	}
	sort.Slice(prefixes, func(i, j int) bool { return by[prefixes[i]].bytes > by[prefixes[j]].bytes })
	var b strings.Builder
	for _, p := range prefixes {
		fmt.Fprintf(&b, "  %-40s %6d keys %9d bytes\n", p, by[p].keys, by[p].bytes)
	}
	return b.String()
}

// openConversations returns the ids of the conversations not closed.
func openConversations(t *testing.T, db *repository.DB) []string {
	t.Helper()
	rows, err := db.SQL().Query(`SELECT id FROM conversations WHERE state <> 'closed' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return ids
}

// parallel runs fn(0..n-1) on workers goroutines, failing the test on the
// first error.
func parallel(t *testing.T, workers, n int, fn func(i int) error) {
	t.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
}
