package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"switchboard/internal/redistest"
)

func TestPercentile(t *testing.T) {
	var xs []time.Duration
	for i := 1; i <= 1000; i++ {
		xs = append(xs, time.Duration(i))
	}
	for p, want := range map[float64]time.Duration{0.5: 500, 0.99: 990, 0.999: 999, 1: 1000} {
		if got := percentile(xs, p); got != want {
			t.Errorf("p%v = %d, want %d", p*100, got, want)
		}
	}
	if got := percentile([]time.Duration{7}, 0.99); got != 7 {
		t.Errorf("one sample: %d", got)
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("no samples: %d", got)
	}
}

func TestOnlyLoopbackTargets(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:8080/webhooks/x", "http://localhost:1", "redis://127.0.0.1:6379/0", "http://[::1]:80/", "http://127.8.9.10/"} {
		if err := requireLoopback(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"http://10.0.0.1:8080/", "http://192.168.1.2/", "https://graph.facebook.com/", "redis://redis:6379/0", "http://0.0.0.0:8080/"} {
		if err := requireLoopback(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// The queue baseline leaves nothing behind in Redis.
func TestQueueBaselineCleansUp(t *testing.T) {
	rdb := redistest.Client(t)
	qb, err := newQueueBaseline(redistest.URL(rdb), "t1")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2500 {
		if err := qb.enqueue(context.Background(), uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := qb.close(); err != nil {
		t.Fatal(err)
	}
	keys, err := rdb.Keys(context.Background(), "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if strings.Contains(k, baselineQueue) {
			t.Fatalf("key %s left behind", k)
		}
	}
	if ok, err := rdb.SIsMember(context.Background(), "asynq:queues", baselineQueue).Result(); err != nil || ok {
		t.Fatal("queue still registered")
	}
}
