// Command loadgen measures Switchboard's webhook ingest on this machine and
// puts the figure next to the two limits it cannot beat, measured in the
// same run with the same concurrency:
//
//   - an HTTP baseline: a bare Echo handler that reads the body and answers
//     200 (what HTTP alone costs here);
//   - a queue baseline: raw asynq enqueues with a task id, as the gateway
//     does (what durable queueing alone costs here);
//   - the gateway: signed WhatsApp Cloud API webhooks posted to a running
//     `switchboard serve`, each a new message (new wamid).
//
// Each is measured closed-loop (as fast as -concurrency callers can go) and
// open-loop (a fixed -rate, latency from each request's scheduled start).
// Then it waits until the workers have processed every message the gateway
// acknowledged, counted from the gateway's own metrics.
//
// It only sends to loopback addresses.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

type options struct {
	url, metricsURL, secret, phoneNumberID, redisURL, channel, jsonOut string
	concurrency, contacts, maxInFlight                                 int
	rate                                                               float64
	duration, warmup, drainTimeout                                     time.Duration
	skipGateway, skipBaselines                                         bool
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "http://127.0.0.1:8080/webhooks/wa-main", "the gateway's webhook URL")
	flag.StringVar(&o.metricsURL, "metrics-url", "", "the gateway's /metrics (default: same host)")
	flag.StringVar(&o.secret, "secret", os.Getenv("WA_APP_SECRET"), "the channel's app secret (default $WA_APP_SECRET)")
	flag.StringVar(&o.phoneNumberID, "phone-number-id", "100000000000001", "the channel's phone_number_id")
	flag.StringVar(&o.redisURL, "redis", "redis://127.0.0.1:6379/0", "Redis for the queue baseline")
	flag.IntVar(&o.concurrency, "concurrency", 32, "callers in the throughput phase")
	flag.Float64Var(&o.rate, "rate", 2000, "requests per second in the fixed-rate phase")
	flag.IntVar(&o.maxInFlight, "max-in-flight", 512, "requests in flight at most in the fixed-rate phase")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each measured phase")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured warm-up before the throughput phase")
	flag.IntVar(&o.contacts, "contacts", 1000, "distinct customers the messages come from")
	flag.DurationVar(&o.drainTimeout, "drain-timeout", 2*time.Minute, "how long to wait for the workers to process everything")
	flag.StringVar(&o.jsonOut, "json", "", "also write the figures to this JSON file")
	flag.BoolVar(&o.skipGateway, "skip-gateway", false, "measure only the baselines")
	flag.BoolVar(&o.skipBaselines, "skip-baselines", false, "measure only the gateway")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// report is everything one run measured.
type report struct {
	Machine  machine  `json:"machine"`
	Options  string   `json:"options"`
	Results  []result `json:"results"`
	Drain    *drain   `json:"drain,omitempty"`
	Ratios   ratios   `json:"ratios"`
	Targets  []string `json:"targets"`
	Finished string   `json:"finished"`
}

type drain struct {
	Accepted  int           `json:"accepted"`
	Processed int           `json:"processed"`
	Took      time.Duration `json:"took_ns"`
	Complete  bool          `json:"complete"`
}

type ratios struct {
	GatewayVsQueue float64 `json:"gateway_vs_queue_throughput"`
	GatewayVsHTTP  float64 `json:"gateway_vs_http_throughput"`
}

func run(ctx context.Context, o options) error {
	if err := requireLoopback(o.url); err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	if err := requireLoopback(o.redisURL); err != nil {
		return fmt.Errorf("-redis: %w", err)
	}
	if o.metricsURL == "" {
		u, _ := url.Parse(o.url)
		u.Path, u.RawQuery = "/metrics", ""
		o.metricsURL = u.String()
	}
	if err := requireLoopback(o.metricsURL); err != nil {
		return fmt.Errorf("-metrics-url: %w", err)
	}
	if u, _ := url.Parse(o.url); u != nil {
		o.channel = u.Path[strings.LastIndexByte(u.Path, '/')+1:]
	}
	rep := report{Machine: describeMachine(), Options: strings.Join(os.Args[1:], " ")}
	runID := fmt.Sprintf("%x", time.Now().UnixNano())
	var seq atomic.Uint64
	measure := func(name string, do op) (result, result) {
		fmt.Fprintf(os.Stderr, "measuring %s...\n", name)
		tp := closedLoop(ctx, name, do, &seq, o.concurrency, o.warmup, o.duration)
		fr := openLoop(ctx, name, do, &seq, o.rate, o.duration, o.maxInFlight)
		rep.Results = append(rep.Results, tp, fr)
		return tp, fr
	}

	var httpTP, queueTP, gwTP, gwFR result
	if !o.skipBaselines {
		bare, err := startBareEcho()
		if err != nil {
			return err
		}
		httpTP, _ = measure("http baseline (bare Echo)", newPoster(bare.url, o, runID+"h", o.concurrency, o.maxInFlight).post)
		bare.close()

		qb, err := newQueueBaseline(o.redisURL, runID)
		if err != nil {
			return err
		}
		queueTP, _ = measure("queue baseline (raw asynq enqueue)", qb.enqueue)
		if err := qb.close(); err != nil {
			return err
		}
	}
	if !o.skipGateway {
		if o.secret == "" {
			return errors.New("-secret (or WA_APP_SECRET) is required to sign webhooks")
		}
		before, err := processedCount(o.metricsURL, o.channel)
		if err != nil {
			return fmt.Errorf("read the gateway's metrics before the run: %w", err)
		}
		p := newPoster(o.url, o, runID+"g", o.concurrency, o.maxInFlight)
		start := time.Now()
		gwTP, gwFR = measure("gateway (signed webhook, durable enqueue)", p.post)
		accepted := int(p.accepted.Load())
		d := &drain{Accepted: accepted}
		for deadline := time.Now().Add(o.drainTimeout); ; {
			now, err := processedCount(o.metricsURL, o.channel)
			if err == nil {
				d.Processed = now - before
			}
			if d.Processed >= accepted || time.Now().After(deadline) || ctx.Err() != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		d.Took = time.Since(start)
		d.Complete = d.Processed == accepted
		rep.Drain = d
	}
	if queueTP.PerSecond > 0 {
		rep.Ratios.GatewayVsQueue = gwTP.PerSecond / queueTP.PerSecond
	}
	if httpTP.PerSecond > 0 {
		rep.Ratios.GatewayVsHTTP = gwTP.PerSecond / httpTP.PerSecond
	}
	if !o.skipGateway && !o.skipBaselines {
		rep.Targets = []string{
			verdict(rep.Ratios.GatewayVsQueue >= 0.7, fmt.Sprintf("ingest / raw asynq enqueue = %.2f (target >= 0.70)", rep.Ratios.GatewayVsQueue)),
			verdict(gwFR.P99 < 10*time.Millisecond && gwFR.PerSecond >= 0.95*o.rate,
				fmt.Sprintf("p99 at %.0f req/s = %s, achieved %.0f req/s (target < 10ms)", o.rate, gwFR.P99.Round(10*time.Microsecond), gwFR.PerSecond)),
			verdict(rep.Drain.Complete, fmt.Sprintf("processed %d of %d accepted", rep.Drain.Processed, rep.Drain.Accepted)),
		}
	}
	rep.Finished = time.Now().UTC().Format(time.RFC3339)
	printReport(rep)
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(o.jsonOut, b, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", o.jsonOut, err)
		}
	}
	if rep.Drain != nil && !rep.Drain.Complete {
		return fmt.Errorf("only %d of %d accepted messages were processed within %s", rep.Drain.Processed, rep.Drain.Accepted, o.drainTimeout)
	}
	return nil
}

func verdict(ok bool, s string) string {
	if ok {
		return "MET     " + s
	}
	return "NOT MET " + s
}

// requireLoopback refuses any target off this machine: load is only ever
// sent to loopback.
func requireLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("parse %q: %w", raw, err)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address; loadgen only targets this machine", host)
	}
	return nil
}

// processedCount sums switchboard_inbound_messages_total for channel.
func processedCount(metricsURL, channel string) (int, error) {
	resp, err := httpClient(4, 4).Get(metricsURL)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	total := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	prefix := "switchboard_inbound_messages_total{"
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) || !strings.Contains(line, `channel="`+channel+`"`) {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err == nil {
			total += v
		}
	}
	return int(total), sc.Err()
}

type machine struct {
	CPUs       int    `json:"cpus"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	Go         string `json:"go"`
	Kernel     string `json:"kernel"`
	CPU        string `json:"cpu"`
}

func describeMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Go: runtime.Version()}
	if out, err := exec.Command("uname", "-r").Output(); err == nil {
		m.Kernel = strings.TrimSpace(string(out))
	}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	return m
}

func printReport(r report) {
	fmt.Printf("machine: %d CPUs (GOMAXPROCS %d), %s, kernel %s, %s\n", r.Machine.CPUs, r.Machine.GOMAXPROCS, r.Machine.Go, r.Machine.Kernel, r.Machine.CPU)
	fmt.Printf("options: %s\n\n", r.Options)
	fmt.Printf("%-44s %-10s %10s %8s %9s %9s %9s %9s\n", "target", "phase", "ok/s", "errors", "p50", "p99", "p99.9", "max")
	for _, x := range r.Results {
		phase := x.Phase
		if x.Phase == "fixed_rate" {
			phase = fmt.Sprintf("@%.0f/s", x.TargetRate)
		}
		fmt.Printf("%-44s %-10s %10.0f %8d %9s %9s %9s %9s\n", x.Name, phase, x.PerSecond, x.Errors,
			ms(x.P50), ms(x.P99), ms(x.P999), ms(x.Max))
		for k, n := range x.ErrorKind {
			fmt.Printf("    %d x %s\n", n, k)
		}
		if x.Late > 0 {
			fmt.Printf("    %d requests started more than 1ms late (generator or in-flight limit)\n", x.Late)
		}
	}
	if r.Drain != nil {
		fmt.Printf("\nprocessed by workers: %d of %d accepted (%.1fs after the first request)\n", r.Drain.Processed, r.Drain.Accepted, r.Drain.Took.Seconds())
	}
	if r.Ratios.GatewayVsQueue > 0 || r.Ratios.GatewayVsHTTP > 0 {
		fmt.Printf("gateway throughput / raw asynq enqueue: %.2f\n", r.Ratios.GatewayVsQueue)
		fmt.Printf("gateway throughput / bare Echo:         %.2f\n", r.Ratios.GatewayVsHTTP)
	}
	for _, t := range r.Targets {
		fmt.Println(t)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// newQueueBaseline prepares raw asynq enqueues into a scratch queue.
func newQueueBaseline(redisURL, runID string) (*queueBaseline, error) {
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, fmt.Errorf("parse -redis: %w", err)
	}
	rdb := redis.NewClient(opts)
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		return nil, fmt.Errorf("redis for the queue baseline: %w", err)
	}
	payload := []byte(fmt.Sprintf(`{"channel":"wa-main","kind":"whatsapp_cloud","id":"wamid.%s","from":"5511900000001","profile_name":"Ana","timestamp":"2026-11-23T12:00:00Z","arrival":1,"type":"text","text":"hola"}`, strings.Repeat("A", 48)))
	return &queueBaseline{rdb: rdb, client: asynq.NewClientFromRedisClient(rdb), payload: payload, runID: runID}, nil
}

type queueBaseline struct {
	rdb     *redis.Client
	client  *asynq.Client
	payload []byte
	runID   string
}

const baselineQueue = "loadgen-baseline"

func (q *queueBaseline) enqueue(ctx context.Context, seq uint64) error {
	_, err := q.client.EnqueueContext(ctx, asynq.NewTask("loadgen:noop", q.payload),
		asynq.Queue(baselineQueue), asynq.TaskID(fmt.Sprintf("lg:%s:%d", q.runID, seq)), asynq.Retention(time.Hour))
	return err
}

// close deletes the scratch queue and everything in it, in batches of
// UNLINKs: asynq's DeleteQueue(force) does it in one script, which blocks a
// shared Redis for seconds after a run of hundreds of thousands of tasks.
func (q *queueBaseline) close() error {
	ctx := context.Background()
	defer q.client.Close()
	defer q.rdb.Close()
	iter := q.rdb.Scan(ctx, 0, "asynq:{"+baselineQueue+"}:*", 1000).Iterator()
	batch := make([]string, 0, 1000)
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == cap(batch) {
			if err := q.rdb.Unlink(ctx, batch...).Err(); err != nil {
				return fmt.Errorf("delete the baseline queue: %w", err)
			}
			batch = batch[:0]
		}
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("scan the baseline queue: %w", err)
	}
	if len(batch) > 0 {
		if err := q.rdb.Unlink(ctx, batch...).Err(); err != nil {
			return fmt.Errorf("delete the baseline queue: %w", err)
		}
	}
	if err := q.rdb.SRem(ctx, "asynq:queues", baselineQueue).Err(); err != nil {
		return fmt.Errorf("forget the baseline queue: %w", err)
	}
	return nil
}
