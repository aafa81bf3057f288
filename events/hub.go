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
	"switchboard/store"
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
	store.Event
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
		subs: map[*Sub]struct{}{}, perUser: map[string]int{}}
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
// a stream misses nothing published after Subscribe returns.
func (h *Hub) Subscribe(ctx context.Context, userID string) (*Sub, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrClosed
	}
	if h.perUser[userID] >= h.max {
		return nil, ErrTooManyStreams
	}
	if h.ps == nil {
		// Under the lock: streams opening meanwhile wait for the one
		// subscription rather than each opening their own.
		// The subscription outlives the request that opened it.
		ps := h.redis.Subscribe(context.WithoutCancel(ctx), store.EventsChannel, auth.RevocationsChannel)
		for range 2 { // one confirmation per channel
			if _, err := ps.Receive(ctx); err != nil {
				_ = ps.Close()
				return nil, fmt.Errorf("subscribe to events: %w", err)
			}
		}
		h.ps = ps
		// go-redis reconnects and resubscribes this channel by itself; its
		// buffer absorbs a burst while the fan-out holds the lock.
		msgs := ps.Channel(redis.WithChannelSize(h.buffer))
		h.loop.Add(1)
		go h.run(msgs)
	}
	s := &Sub{hub: h, user: userID, events: make(chan *Event, h.buffer),
		recheck: make(chan struct{}, 1), done: make(chan struct{})}
	h.subs[s] = struct{}{}
	h.perUser[userID]++
	return s, nil
}

// run fans messages out until the subscription closes.
func (h *Hub) run(msgs <-chan *redis.Message) {
	defer h.loop.Done()
	for m := range msgs {
		switch m.Channel {
		case store.EventsChannel:
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
