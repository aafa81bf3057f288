package whatsmeow

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"switchboard/channels"
)

// fakeSession stands in for a whatsmeow client: connecting emits Connected,
// as WhatsApp's server does after login; sends are recorded.
type fakeSession struct {
	l          *listener
	connected  atomic.Bool
	connects   atomic.Int32
	failFirst  int32 // this many connects fail before one succeeds
	mu         sync.Mutex
	sent       []*waE2E.Message
	sentTo     []types.JID
	sentIDs    []types.MessageID
	sendErr    error
	onConnect  func()
	disconnect atomic.Int32
}

func (f *fakeSession) ConnectContext(ctx context.Context) error {
	n := f.connects.Add(1)
	if n <= f.failFirst {
		return errors.New("dial tcp: connection refused")
	}
	f.connected.Store(true)
	go f.l.handle(ctx, &events.Connected{})
	if f.onConnect != nil {
		f.onConnect()
	}
	return nil
}

func (f *fakeSession) Disconnect() {
	f.disconnect.Add(1)
	f.connected.Store(false)
}

func (f *fakeSession) IsConnected() bool { return f.connected.Load() }

func (f *fakeSession) SendMessage(_ context.Context, to types.JID, m *waE2E.Message, extra ...wm.SendRequestExtra) (wm.SendResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.sendErr != nil {
		return wm.SendResponse{}, f.sendErr
	}
	f.sent = append(f.sent, m)
	f.sentTo = append(f.sentTo, to)
	id := types.MessageID("3EB0SENT")
	if len(extra) > 0 && extra[0].ID != "" {
		id = extra[0].ID
	}
	f.sentIDs = append(f.sentIDs, id)
	return wm.SendResponse{ID: id, Timestamp: time.Now()}, nil
}

// fakeSink records what Listen queues; it fails while failing is set.
type fakeSink struct {
	mu       sync.Mutex
	inbound  []channels.Inbound
	statuses []channels.Status
	failing  atomic.Bool
}

func (s *fakeSink) Inbound(_ context.Context, m *channels.Inbound) error {
	if s.failing.Load() {
		return errors.New("redis: connection refused")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inbound = append(s.inbound, *m)
	return nil
}

func (s *fakeSink) Status(_ context.Context, st *channels.Status) error {
	if s.failing.Load() {
		return errors.New("redis: connection refused")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.statuses = append(s.statuses, *st)
	return nil
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newTestChannel(t *testing.T) *Channel {
	t.Helper()
	c, err := New("wa-linked", Config{Store: "file:" + t.TempDir() + "/wa.db"}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// start runs a listener on a fake session until the test ends.
func start(t *testing.T, c *Channel, f *fakeSession, sink channels.Sink) (*listener, <-chan error) {
	t.Helper()
	l := c.newListener(f, sink)
	f.l = l
	l.checkEvery = 5 * time.Millisecond
	l.sleep = func(ctx context.Context, _ int) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
			return nil
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	stopped := make(chan struct{})
	go func() {
		done <- l.run(ctx)
		close(stopped)
	}()
	t.Cleanup(func() {
		cancel()
		<-stopped
	})
	return l, done
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestListenReconnectsWithBackoffAndCountsIt(t *testing.T) {
	c := newTestChannel(t)
	f := &fakeSession{failFirst: 2}
	l, _ := start(t, c, f, &fakeSink{})
	eventually(t, "connected after two failed attempts", func() bool { return c.Health().State == StateConnected })
	if n := f.connects.Load(); n != 3 {
		t.Fatalf("connect attempts = %d, want 3", n)
	}
	// The server drops the connection: whatsmeow reports it, Listen
	// reconnects and counts it.
	f.connected.Store(false)
	l.handle(context.Background(), &events.Disconnected{})
	eventually(t, "the reconnect", func() bool { return f.connects.Load() == 4 && c.Health().State == StateConnected })
	if h := c.Health(); h.Reconnects != 1 {
		t.Fatalf("reconnects = %d, want 1", h.Reconnects)
	}
}

func TestListenStopsWhenLoggedOut(t *testing.T) {
	c := newTestChannel(t)
	f := &fakeSession{}
	l, done := start(t, c, f, &fakeSink{})
	eventually(t, "connected", func() bool { return c.Health().State == StateConnected })
	l.handle(context.Background(), &events.LoggedOut{Reason: events.ConnectFailureLoggedOut})
	select {
	case err := <-done:
		if !errors.Is(err, ErrLoggedOut) {
			t.Fatalf("Listen returned %v, want ErrLoggedOut", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Listen kept running after a logout")
	}
	if st := c.Health().State; st != StateLoggedOut {
		t.Fatalf("state = %q, want logged_out", st)
	}
	if f.IsConnected() {
		t.Fatal("still connected after Listen returned")
	}
}

func TestListenReconnectsASilentConnection(t *testing.T) {
	c := newTestChannel(t)
	f := &fakeSession{}
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	l := c.newListener(f, &fakeSink{})
	l.now = func() time.Time { return time.Unix(0, clock.Load()) }
	l.silence = time.Minute
	f.l = l
	l.checkEvery = 5 * time.Millisecond
	l.sleep = func(context.Context, int) error { return nil }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.run(ctx) }()
	defer func() { cancel(); <-done }()

	eventually(t, "connected", func() bool { return c.Health().State == StateConnected })
	// Events keep it alive.
	clock.Add(int64(50 * time.Second))
	l.handle(ctx, &events.Receipt{})
	clock.Add(int64(50 * time.Second))
	time.Sleep(30 * time.Millisecond)
	if f.connects.Load() != 1 {
		t.Fatal("reconnected although events kept arriving")
	}
	// Then nothing for longer than the silence timeout.
	clock.Add(int64(2 * time.Minute))
	eventually(t, "a reconnect of the silent connection", func() bool { return f.connects.Load() == 2 })
	if c.Health().Reconnects != 1 {
		t.Fatalf("reconnects = %d, want 1", c.Health().Reconnects)
	}
}

func TestListenForcesAReconnectWhenKeepalivesFail(t *testing.T) {
	c := newTestChannel(t)
	f := &fakeSession{}
	l, _ := start(t, c, f, &fakeSink{})
	eventually(t, "connected", func() bool { return c.Health().State == StateConnected })
	l.handle(context.Background(), &events.KeepAliveTimeout{ErrorCount: 1})
	time.Sleep(20 * time.Millisecond)
	if f.disconnect.Load() != 0 {
		t.Fatal("one failed ping forced a reconnect")
	}
	l.handle(context.Background(), &events.KeepAliveTimeout{ErrorCount: keepAliveLimit})
	eventually(t, "the forced reconnect", func() bool { return f.connects.Load() == 2 && c.Health().State == StateConnected })
}

func TestListenQueuesMessagesAndReceiptsAndRefusesToAckWhatItCouldNotQueue(t *testing.T) {
	c := newTestChannel(t)
	f := &fakeSession{}
	sink := &fakeSink{}
	l, _ := start(t, c, f, sink)
	eventually(t, "connected", func() bool { return c.Health().State == StateConnected })
	ctx := context.Background()
	msg := message("3EB0IN1", &waE2E.Message{Conversation: proto.String("hola")})
	if !l.handle(ctx, msg) {
		t.Fatal("a queued message was not acknowledged")
	}
	own := message("3EB0OWN", &waE2E.Message{Conversation: proto.String("sent from the phone")})
	own.Info.IsFromMe = true
	l.handle(ctx, own)
	l.handle(ctx, &events.Receipt{MessageSource: types.MessageSource{Chat: customer, Sender: customer},
		MessageIDs: []string{"3EB0SENT"}, Type: types.ReceiptTypeRead, Timestamp: sentAt})

	sink.failing.Store(true)
	if l.handle(ctx, message("3EB0IN2", &waE2E.Message{Conversation: proto.String("otra")})) {
		t.Fatal("a message that could not be queued was acknowledged: WhatsApp would not deliver it again")
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.inbound) != 1 || sink.inbound[0].ID != "3EB0IN1" || sink.inbound[0].Text != "hola" {
		t.Fatalf("queued inbound = %+v, want only the customer's message", sink.inbound)
	}
	if len(sink.statuses) != 1 || sink.statuses[0].Status != channels.StatusRead || sink.statuses[0].MessageID != "3EB0SENT" {
		t.Fatalf("queued statuses = %+v", sink.statuses)
	}
}

func TestListenWithoutALinkedNumber(t *testing.T) {
	c := newTestChannel(t)
	defer c.Close()
	err := c.Listen(context.Background(), &fakeSink{})
	if !errors.Is(err, ErrNotLinked) {
		t.Fatalf("Listen = %v, want ErrNotLinked", err)
	}
	if st := c.Health().State; st != StateNotLinked {
		t.Fatalf("state = %q", st)
	}
}
