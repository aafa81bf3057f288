package main

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// op is one request against a target. seq is unique within a run, so
// targets can make every request distinct (a new wamid, a new task id).
type op func(ctx context.Context, seq uint64) error

// result is what one phase measured.
type result struct {
	Name      string         `json:"name"`
	Phase     string         `json:"phase"` // throughput or fixed_rate
	Duration  time.Duration  `json:"duration_ns"`
	OK        int            `json:"ok"`
	Errors    int            `json:"errors"`
	ErrorKind map[string]int `json:"error_kinds,omitempty"`
	PerSecond float64        `json:"ok_per_second"`
	P50       time.Duration  `json:"p50_ns"`
	P99       time.Duration  `json:"p99_ns"`
	P999      time.Duration  `json:"p999_ns"`
	Max       time.Duration  `json:"max_ns"`
	// For fixed_rate: the requested rate, and how many requests started
	// more than a millisecond after their scheduled time.
	TargetRate float64 `json:"target_rate,omitempty"`
	Late       int     `json:"late_starts,omitempty"`
}

// recorder collects latencies and errors from many goroutines.
type recorder struct {
	mu        sync.Mutex
	latencies []time.Duration
	errs      map[string]int
}

func newRecorder(capHint int) *recorder {
	return &recorder{latencies: make([]time.Duration, 0, capHint), errs: map[string]int{}}
}

func (r *recorder) add(d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		k := err.Error()
		if len(k) > 80 {
			k = k[:80]
		}
		r.errs[k]++
		return
	}
	r.latencies = append(r.latencies, d)
}

func (r *recorder) result(name, phase string, elapsed time.Duration) result {
	r.mu.Lock()
	defer r.mu.Unlock()
	errors := 0
	for _, n := range r.errs {
		errors += n
	}
	res := result{Name: name, Phase: phase, Duration: elapsed, OK: len(r.latencies), Errors: errors, ErrorKind: r.errs,
		PerSecond: float64(len(r.latencies)) / elapsed.Seconds()}
	slices.Sort(r.latencies)
	res.P50 = percentile(r.latencies, 0.50)
	res.P99 = percentile(r.latencies, 0.99)
	res.P999 = percentile(r.latencies, 0.999)
	if n := len(r.latencies); n > 0 {
		res.Max = r.latencies[n-1]
	}
	return res
}

// percentile returns the nearest-rank percentile p (0 < p <= 1) of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(p*float64(len(sorted))+0.999999999) - 1 // ceil(p*n) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}

// closedLoop runs concurrency workers back to back for d (after warmup,
// which is not recorded) and measures throughput.
func closedLoop(ctx context.Context, name string, do op, seq *atomic.Uint64, concurrency int, warmup, d time.Duration) result {
	rec := newRecorder(1 << 16)
	var measuring atomic.Bool
	stopAt := time.Now().Add(warmup + d)
	var wg sync.WaitGroup
	for range concurrency {
		wg.Go(func() {
			for time.Now().Before(stopAt) && ctx.Err() == nil {
				start := time.Now()
				err := do(ctx, seq.Add(1))
				if measuring.Load() {
					rec.add(time.Since(start), err)
				}
			}
		})
	}
	time.Sleep(warmup)
	measuring.Store(true)
	begin := time.Now()
	wg.Wait()
	return rec.result(name, "throughput", time.Since(begin))
}

// openLoop starts requests on a fixed schedule of rate per second for d and
// measures each latency from its scheduled start, so a stall shows in the
// percentiles instead of silently lowering the rate (coordinated omission).
// At most maxInFlight requests run at once.
func openLoop(ctx context.Context, name string, do op, seq *atomic.Uint64, rate float64, d time.Duration, maxInFlight int) result {
	rec := newRecorder(int(rate*d.Seconds()) + 1)
	interval := time.Duration(float64(time.Second) / rate)
	total := int(rate * d.Seconds())
	sem := make(chan struct{}, maxInFlight)
	var late atomic.Int64
	var wg sync.WaitGroup
	begin := time.Now()
	for i := 0; i < total && ctx.Err() == nil; i++ {
		scheduled := begin.Add(time.Duration(i) * interval)
		if wait := time.Until(scheduled); wait > 0 {
			time.Sleep(wait)
		}
		sem <- struct{}{}
		if time.Since(scheduled) > time.Millisecond {
			late.Add(1)
		}
		wg.Go(func() {
			defer func() { <-sem }()
			err := do(ctx, seq.Add(1))
			rec.add(time.Since(scheduled), err)
		})
	}
	wg.Wait()
	res := rec.result(name, "fixed_rate", time.Since(begin))
	res.TargetRate = rate
	res.Late = int(late.Load())
	return res
}
