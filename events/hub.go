// Package events fans the events Switchboard publishes on Redis out to the
// event streams open in this process, over one pub/sub subscription per
// process: a stream costs a goroutine and a buffer, never a Redis
// connection. It also relays token revocations to the streams of the user
// concerned, so they re-check their token at once.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/redis/go-redis/v9"

	"switchboard/auth"
	"switchboard/conversations"
)

// Defaults of Options.
const (
	DefaultMaxPerUser = 5
	// DefaultBuffer holds about five seconds of events at 200 a second: a
	// stream that falls further behind is dropped, and its client
	// reconnects and refetches, rather than slowing everyone.
	DefaultBuffer = 1024
)

// ErrTooManyStreams means the user already has the most streams allowed.
var ErrTooManyStreams = errors.New("too many open event streams for this user")

// ErrClosed means the hub was closed (the server is shutting down).
var ErrClosed = errors.New("event hub closed")

// Subscriber opens Redis pub/sub subscriptions; redis.UniversalClient is one.
type Subscriber interface {
	Subscribe(ctx context.Context, channels ...string) *redis.PubSub
}

// Options configure a Hub.
type Options struct {
	// MaxPerUser bounds the open streams of one user in this process
	// (DefaultMaxPerUser if 0).
	MaxPerUser int
	// Buffer is how many events a stream may lag behind before it is
	// dropped (DefaultBuffer if 0).
	Buffer int
	Logger *slog.Logger
}

// Event is one published event, decoded once for every stream.
type Event struct {
	conversations.Event
	// Data is the event as published, sent to clients as is.
	Data []byte
}

// Hub is the process's one subscription to the events and revocations
// channels, and the set of streams it feeds. It is safe for concurrent use.
type Hub struct {
	redis  Subscriber
	max    int
	buffer int
	logger *slog.Logger

	// connecting is held while the Redis subscription is being opened.
	connecting chan struct{}

	mu      sync.Mutex
	ps      *redis.PubSub // nil until the first stream subscribes
	subs    map[*Sub]struct{}
	perUser map[string]int
	closed  bool
	loop    sync.WaitGroup
}

// NewHub returns a hub on rdb. It subscribes when the first stream does.
func NewHub(rdb Subscriber, o Options) *Hub {
	if o.MaxPerUser <= 0 {
		o.MaxPerUser = DefaultMaxPerUser
	}
	if o.Buffer <= 0 {
		o.Buffer = DefaultBuffer
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Hub{redis: rdb, max: o.MaxPerUser, buffer: o.Buffer, logger: o.Logger,
		connecting: make(chan struct{}, 1), subs: map[*Sub]struct{}{}, perUser: map[string]int{}}
}

// Sub is one stream's subscription.
type Sub struct {
	hub     *Hub
	user    string
	events  chan *Event
	recheck chan struct{}
	done    chan struct{}
	// dropped is set, before done closes, when the stream fell behind.
	dropped bool
}

// Events delivers every event published, in order. Deciding which the
// stream's user may see is the stream's job.
func (s *Sub) Events() <-chan *Event { return s.events }

// Recheck receives when one of the user's tokens was revoked: the stream
// should check that its own still holds. Signals coalesce.
func (s *Sub) Recheck() <-chan struct{} { return s.recheck }

// Done is closed when the hub stops feeding the subscription: it fell
// behind (Dropped) or the hub closed.
func (s *Sub) Done() <-chan struct{} { return s.done }

// Dropped reports, once Done is closed, whether the stream was dropped for
// falling behind.
func (s *Sub) Dropped() bool {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	return s.dropped
}

// Close ends the subscription and frees its place in the user's count.
func (s *Sub) Close() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	s.hub.removeLocked(s)
}

// Subscribe adds a stream of userID. It refuses with ErrTooManyStreams
// when the user has MaxPerUser open already. The first subscription of the
// process subscribes to Redis and returns only once Redis confirmed it, so
// a stream misses nothing published after Subscribe returns. Waiting for
// Redis respects ctx and holds no lock the other streams need.
func (h *Hub) Subscribe(ctx context.Context, userID string) (*Sub, error) {
	if err := h.connect(ctx); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	if h.perUser[userID] >= h.max {
		return nil, ErrTooManyStreams
	}
	s := &Sub{hub: h, user: userID, events: make(chan *Event, h.buffer),
		recheck: make(chan struct{}, 1), done: make(chan struct{})}
	h.subs[s] = struct{}{}
	h.perUser[userID]++
	return s, nil
}

// connect opens the process's one Redis subscription if it is not open.
// Streams opening meanwhile wait for that one (or for their own ctx)
// rather than each opening their own.
func (h *Hub) connect(ctx context.Context) error {
	select {
	case h.connecting <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("subscribe to events: %w", ctx.Err())
	}
	defer func() { <-h.connecting }()
	h.mu.Lock()
	open, closed := h.ps != nil, h.closed
	h.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if open {
		return nil
	}
	// ctx bounds only the dial and the confirmations: go-redis keeps no
	// context in a PubSub, so the subscription outlives the request that
	// opened it.
	ps := h.redis.Subscribe(ctx, Channel, auth.RevocationsChannel)
	for range 2 { // one confirmation per channel
		if _, err := ps.Receive(ctx); err != nil {
			_ = ps.Close()
			return fmt.Errorf("subscribe to events: %w", err)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		_ = ps.Close()
		return ErrClosed
	}
	h.ps = ps
	// go-redis reconnects and resubscribes by itself; its buffer absorbs
	// a burst while the fan-out holds the lock.
	msgs := ps.ChannelWithSubscriptions(redis.WithChannelSize(h.buffer))
	h.loop.Add(1)
	go h.run(msgs)
	return nil
}

// run fans messages out until the subscription closes.
func (h *Hub) run(msgs <-chan any) {
	defer h.loop.Done()
	for m := range msgs {
		switch m := m.(type) {
		case *redis.Subscription:
			// The confirmations of the first subscribe were read in
			// connect: this is go-redis subscribing again after losing
			// its connection, and whatever was published meanwhile is
			// lost. Every stream is ended as dropped, so its client
			// reconnects and refetches rather than show a stale view.
			// A resubscription confirms each channel in turn (Count 1,
			// then 2): one resync per reconnect, whatever the order.
			if m.Kind == "subscribe" && m.Count == 1 {
				h.resync()
			}
		case *redis.Message:
			switch m.Channel {
			case Channel:
				ev := &Event{Data: []byte(m.Payload)}
				if err := json.Unmarshal(ev.Data, &ev.Event); err != nil || ev.QueryID == "" {
					h.logger.Warn("undecodable event ignored", "err", err)
					continue
				}
				h.publish(ev)
			case auth.RevocationsChannel:
				h.revoked(m.Payload)
			}
		}
	}
}

// resync ends every stream as dropped: events may have been missed.
func (h *Hub) resync() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.subs) > 0 {
		h.logger.Warn("event subscription reconnected; open streams end so their clients refetch", "streams", len(h.subs))
	}
	for s := range h.subs {
		s.dropped = true
		h.removeLocked(s)
	}
}

// publish hands ev to every stream without ever waiting on one: a stream
// whose buffer is full is dropped, so one slow client cannot delay the
// others.
func (h *Hub) publish(ev *Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.events <- ev:
		default:
			s.dropped = true // the stream logs it, with its request's context
			h.removeLocked(s)
		}
	}
}

// revoked tells the streams of userID to re-check their token.
func (h *Hub) revoked(userID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.user != userID {
			continue
		}
		select {
		case s.recheck <- struct{}{}:
		default: // a re-check is already pending
		}
	}
}

func (h *Hub) removeLocked(s *Sub) {
	if _, ok := h.subs[s]; !ok {
		return
	}
	delete(h.subs, s)
	if h.perUser[s.user]--; h.perUser[s.user] <= 0 {
		delete(h.perUser, s.user)
	}
	close(s.done)
}

// Close ends every subscription and the Redis subscription.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	for s := range h.subs {
		h.removeLocked(s)
	}
	ps := h.ps
	h.mu.Unlock()
	if ps != nil {
		_ = ps.Close()
		h.loop.Wait()
	}
}
