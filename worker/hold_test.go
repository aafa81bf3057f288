package worker_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"switchboard/channels"
	"switchboard/internal/redistest"
	"switchboard/lease"
	"switchboard/metrics"
	"switchboard/queue"
	"switchboard/worker"
)

// fakeDevice is a listener channel that records who is connected: Listen
// "connects" until its context ends.
type fakeDevice struct {
	id        string
	connected *atomic.Int32 // shared by every instance: the real device is one
	listens   atomic.Int32
	serving   atomic.Int32
	fail      error
	overlap   atomic.Bool
}

func (d *fakeDevice) ID() string   { return d.id }
func (d *fakeDevice) Kind() string { return "whatsmeow" }

func (d *fakeDevice) Listen(ctx context.Context, _ channels.Sink) error {
	d.listens.Add(1)
	if d.fail != nil {
		return d.fail
	}
	if d.connected.Add(1) > 1 {
		d.overlap.Store(true)
	}
	defer d.connected.Add(-1)
	<-ctx.Done()
	return nil
}

func newHold(t *testing.T, dev *fakeDevice, name string, ttl time.Duration) *worker.Hold {
	t.Helper()
	l, err := lease.New(redistest.Client(t), "channel:"+dev.id, name, ttl)
	if err != nil {
		t.Fatal(err)
	}
	return &worker.Hold{
		Channel: dev, Lease: l, Logger: logger, RetryAfter: 50 * time.Millisecond,
		Serve: func() (func(), error) {
			dev.serving.Add(1)
			return func() { dev.serving.Add(-1) }, nil
		},
	}
}

func TestHoldOnlyOneInstanceConnects(t *testing.T) {
	rdbShared := redistest.Client(t)
	var connected atomic.Int32
	a := &fakeDevice{id: "wa-linked", connected: &connected}
	b := &fakeDevice{id: "wa-linked", connected: &connected}
	mk := func(dev *fakeDevice, host string) *worker.Hold {
		l, err := lease.New(rdbShared, "channel:wa-linked", host, 600*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		return &worker.Hold{Channel: dev, Lease: l, Logger: logger, RetryAfter: 50 * time.Millisecond,
			Serve: func() (func(), error) { dev.serving.Add(1); return func() { dev.serving.Add(-1) }, nil }}
	}
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { mk(a, "pod-a").Run(ctxA) })
	wg.Go(func() { mk(b, "pod-b").Run(ctxB) })
	defer func() { stopA(); stopB(); wg.Wait() }()

	eventually(t, "one instance connected", func() bool { return connected.Load() == 1 })
	// Over several lease renewals, exactly one stays connected.
	time.Sleep(2 * time.Second)
	if connected.Load() != 1 || a.overlap.Load() || b.overlap.Load() {
		t.Fatalf("connected = %d (overlap a=%v b=%v), want exactly one", connected.Load(), a.overlap.Load(), b.overlap.Load())
	}
	holder, standby, stopHolder := a, b, stopA
	if b.listens.Load() > 0 {
		holder, standby, stopHolder = b, a, stopB
	}
	if holder.listens.Load() != 1 || standby.listens.Load() != 0 {
		t.Fatalf("listens: holder %d, standby %d; want 1 and 0", holder.listens.Load(), standby.listens.Load())
	}
	if holder.serving.Load() != 1 || standby.serving.Load() != 0 {
		t.Fatal("the channel's send queue is served by the wrong process")
	}

	// The holder stops (a rolling update): it releases the lease and the
	// standby takes over well before the lease would have expired.
	stopHolder()
	eventually(t, "the standby to take over", func() bool { return standby.listens.Load() == 1 && connected.Load() == 1 })
	if holder.serving.Load() != 0 {
		t.Fatal("the stopped holder still serves the channel's queue")
	}
	if a.overlap.Load() || b.overlap.Load() {
		t.Fatal("both instances were connected at once during the handover")
	}
}

func TestHoldGivesUpTheDeviceWhenTheLeaseIsLost(t *testing.T) {
	rdb := redistest.Client(t)
	var connected atomic.Int32
	dev := &fakeDevice{id: "wa-linked", connected: &connected}
	l, err := lease.New(rdb, "channel:wa-linked", "pod-a", 600*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	h := &worker.Hold{Channel: dev, Lease: l, Logger: logger, RetryAfter: time.Hour,
		Serve: func() (func(), error) { return func() {}, nil }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	eventually(t, "connected", func() bool { return connected.Load() == 1 })

	// Someone else's claim replaces ours (as after a network partition
	// longer than the TTL): the next renewal notices and disconnects.
	if err := rdb.Set(context.Background(), lease.Prefix+"channel:wa-linked", "pod-b/other", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the disconnect", func() bool { return connected.Load() == 0 })
	if holder, _ := lease.Holder(context.Background(), rdb, "channel:wa-linked"); holder != "pod-b/other" {
		t.Fatalf("holder = %q: the old holder released a lease it no longer held", holder)
	}
}

func TestHoldRetriesAChannelThatIsNotLinkedYet(t *testing.T) {
	var connected atomic.Int32
	dev := &fakeDevice{id: "wa-linked", connected: &connected, fail: errors.New("no WhatsApp number is linked")}
	h := newHold(t, dev, "pod-a", 600*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	eventually(t, "a few attempts", func() bool { return dev.listens.Load() >= 3 })
}

// What a linked device receives becomes the same inbound task a webhook
// makes, and WhatsApp's redelivery of a message is dropped and counted.
func TestQueueSinkQueuesLinkedDeviceMessagesOnce(t *testing.T) {
	rdb := redistest.Client(t)
	client := asynq.NewClientFromRedisClient(rdb)
	defer client.Close()
	insp := asynq.NewInspectorFromRedisClient(rdb)
	defer insp.Close()
	m := metrics.New(prometheus.NewRegistry())
	sink := worker.QueueSink{Queue: queue.NewClient(client, time.Hour), Metrics: m}
	in := &channels.Inbound{Channel: "wa-linked", Kind: "whatsmeow", ID: "3EB0ABC", From: "5511900000001",
		Timestamp: time.Unix(1763900000, 0).UTC(), Arrival: 1, Type: channels.TypeText, Text: "hola"}
	for range 2 {
		if err := sink.Inbound(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	tasks, err := insp.ListPendingTasks(queue.QueueInbound)
	if err != nil || len(tasks) != 1 {
		t.Fatalf("pending inbound tasks = %d (%v), want 1", len(tasks), err)
	}
	got, err := queue.DecodeInbound(tasks[0].Payload)
	if err != nil || got.ID != "3EB0ABC" || got.From != "5511900000001" || got.Text != "hola" || got.Kind != "whatsmeow" {
		t.Fatalf("task payload = %+v (%v)", got, err)
	}
	if n := testutil.ToFloat64(m.DuplicateMessages.WithLabelValues("wa-linked", "whatsmeow")); n != 1 {
		t.Fatalf("duplicates counted = %v, want 1", n)
	}
}
