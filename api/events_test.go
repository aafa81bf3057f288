package api_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/api"
	"switchboard/auth"
	"switchboard/events"
	"switchboard/routing"
)

// within is how long a test waits for a stream to do what it should: a
// generous "within a few seconds", never a speed target.
const within = 5 * time.Second

// stream is an open GET /api/v1/events as a client sees it.
type stream struct {
	lines  chan string
	ended  chan struct{}
	cancel context.CancelFunc
}

// openStream opens an event stream and waits for its first line. It fails
// the test unless the server answers 200.
func openStream(t *testing.T, h *harness, token string) *stream {
	t.Helper()
	s, status, body := tryStream(t, h, token)
	if status != http.StatusOK {
		t.Fatalf("events: %d %s", status, body)
	}
	return s
}

// tryStream opens an event stream; when the answer is not 200 it returns
// the status and body instead.
func tryStream(t *testing.T, h *harness, token string) (*stream, int, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", h.srv.URL+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		return nil, resp.StatusCode, string(b)
	}
	s := &stream{lines: make(chan string, 1000), ended: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(s.ended)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			select {
			case s.lines <- sc.Text():
			default: // a test that stopped reading loses lines, not the stream
			}
		}
	}()
	select {
	case l := <-s.lines:
		if l != ": connected" {
			t.Fatalf("first line %q", l)
		}
	case <-time.After(within):
		t.Fatal("the stream sent nothing")
	}
	return s, http.StatusOK, ""
}

// waitEnded fails the test unless the server ends the stream within a few
// seconds.
func (s *stream) waitEnded(t *testing.T, what string) {
	t.Helper()
	select {
	case <-s.ended:
	case <-time.After(within):
		t.Fatalf("the event stream was still open %v after %s", within, what)
	}
}

// waitData returns the first data line containing all of want.
func (s *stream) waitData(t *testing.T, want ...string) string {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case l := <-s.lines:
			if !strings.HasPrefix(l, "data: ") {
				continue
			}
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(l, w)
			}
			if ok {
				return l
			}
		case <-s.ended:
			t.Fatalf("the stream ended before an event with %q", want)
		case <-deadline:
			t.Fatalf("no event with %q within %v", want, within)
		}
	}
}

// noRecheck leaves revocation signals as the only way a stream learns its
// token was revoked (the periodic check would otherwise also end it).
func noRecheck(o *api.Options) { o.StreamRecheck = time.Hour }

// A stream ends within seconds of its token being revoked by logout, by
// disabling the user or by deleting them; other users' streams go on.
func TestEventStreamEndsWhenItsTokenIsRevoked(t *testing.T) {
	for _, tc := range []struct {
		name   string
		revoke func(t *testing.T, w *convWorld, adminT string)
	}{
		{"logout", func(t *testing.T, w *convWorld, _ string) {
			if r := w.do(t, "POST", "/api/v1/auth/logout", w.anaT, nil); r.status != http.StatusNoContent {
				t.Fatalf("logout: %d %s", r.status, r.body)
			}
		}},
		{"disable", func(t *testing.T, w *convWorld, adminT string) {
			if r := w.do(t, "POST", "/api/v1/users/"+w.ana.ID+"/disable", adminT, nil); r.status != http.StatusNoContent {
				t.Fatalf("disable: %d %s", r.status, r.body)
			}
		}},
		{"delete", func(t *testing.T, w *convWorld, adminT string) {
			if r := w.do(t, "DELETE", "/api/v1/users/"+w.ana.ID, adminT, nil); r.status != http.StatusNoContent {
				t.Fatalf("delete: %d %s", r.status, r.body)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newConvWorldWith(t, noRecheck)
			w.createUser(t, "Adm", "+5511900000099", auth.RoleAdmin)
			adminT := w.loginAs(t, "+5511900000099")
			anas := openStream(t, w.harness, w.anaT)
			brunos := openStream(t, w.harness, w.brunoT)
			tc.revoke(t, w, adminT)
			anas.waitEnded(t, tc.name)
			pool := w.query(t, "5511911110002", w.clock.Now(), "sales", routing.StatePending, "")
			brunos.waitData(t, pool, `"type":"state"`)
		})
	}
}

// A token that expires without any revocation is caught by the periodic
// re-check.
func TestEventStreamEndsWhenItsTokenExpires(t *testing.T) {
	w := newConvWorldWith(t, func(o *api.Options) { o.StreamRecheck = 100 * time.Millisecond })
	s := openStream(t, w.harness, w.anaT)
	w.clock.Advance(12*time.Hour + time.Second)
	s.waitEnded(t, "the token expired")
}

// eventSubscribers counts the Redis connections subscribed to the events
// channel from this test's database: by CLIENT LIST on a real Redis
// (shared with other test processes), by PUBSUB NUMSUB on miniredis (which
// has no CLIENT LIST, and is this test's alone).
func eventSubscribers(t *testing.T, rdb *redis.Client) int {
	t.Helper()
	ctx := context.Background()
	if list, err := rdb.ClientList(ctx).Result(); err == nil {
		db := strconv.Itoa(rdb.Options().DB)
		n := 0
		for _, line := range strings.Split(list, "\n") {
			f := map[string]string{}
			for _, kv := range strings.Fields(line) {
				k, v, _ := strings.Cut(kv, "=")
				f[k] = v
			}
			if f["db"] == db && f["sub"] != "" && f["sub"] != "0" {
				n++
			}
		}
		return n
	}
	m, err := rdb.PubSubNumSub(ctx, events.Channel).Result()
	if err != nil {
		t.Fatal(err)
	}
	return int(m[events.Channel])
}

// Every stream of the process shares one Redis subscription, and each
// still gets what it may see.
func TestEventStreamsShareOneRedisSubscription(t *testing.T) {
	w := newConvWorld(t)
	var streams []*stream
	for _, tok := range []string{w.anaT, w.anaT, w.brunoT, w.supT, w.supT, w.carlaT} {
		streams = append(streams, openStream(t, w.harness, tok))
	}
	if n := eventSubscribers(t, w.rdb); n != 1 {
		t.Fatalf("%d streams hold %d Redis subscriptions, want 1", len(streams), n)
	}
	pool := w.query(t, "5511911110002", w.clock.Now(), "sales", routing.StatePending, "")
	for _, s := range streams[:5] { // carla does not serve sales
		s.waitData(t, pool, `"type":"state"`, `"query_type":"sales"`)
	}
}

// One user may hold a few streams (5 by default); one more is refused with
// 429 and a JSON error, other users are not affected, and closing a
// stream frees its place.
func TestEventStreamsPerUserAreCapped(t *testing.T) {
	w := newConvWorld(t)
	var anas []*stream
	for range 5 {
		anas = append(anas, openStream(t, w.harness, w.anaT))
	}
	_, status, body := tryStream(t, w.harness, w.anaT)
	if status != http.StatusTooManyRequests || !strings.Contains(body, `"code":"too_many_streams"`) ||
		!strings.Contains(body, "at most 5 event streams") {
		t.Fatalf("sixth stream: %d %s, want 429 too_many_streams", status, body)
	}
	openStream(t, w.harness, w.brunoT)
	anas[0].cancel()
	deadline := time.Now().Add(within)
	for {
		s, status, body := tryStream(t, w.harness, w.anaT)
		if s != nil {
			break
		}
		if status != http.StatusTooManyRequests || time.Now().After(deadline) {
			t.Fatalf("after closing a stream: %d %s", status, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The cap is configurable.
func TestEventStreamCapIsConfigurable(t *testing.T) {
	w := newConvWorldWith(t, func(o *api.Options) { o.MaxStreamsPerUser = 1 })
	openStream(t, w.harness, w.anaT)
	if _, status, body := tryStream(t, w.harness, w.anaT); status != http.StatusTooManyRequests {
		t.Fatalf("second stream with a cap of 1: %d %s", status, body)
	}
}

// An event without the query's state (published by an older Switchboard
// during a rolling upgrade) is still decided, by reading the query.
func TestEventStreamDecidesEventsWithoutStateByReadingTheQuery(t *testing.T) {
	w := newConvWorld(t)
	ctx := context.Background()
	mine := w.query(t, "5511911110001", w.clock.Now(), "sales", routing.StateAssigned, w.ana.ID)
	pool := w.query(t, "5511911110002", w.clock.Now(), "sales", routing.StatePending, "")
	anas := openStream(t, w.harness, w.anaT)
	brunos := openStream(t, w.harness, w.brunoT)
	for _, ev := range []string{
		`{"type":"message","query_id":"` + mine + `","message_id":"wamid.legacy1","direction":"inbound"}`,
		`{"type":"message","query_id":"` + pool + `","message_id":"wamid.legacy2","direction":"inbound"}`,
	} {
		if err := w.rdb.Publish(ctx, events.Channel, ev).Err(); err != nil {
			t.Fatal(err)
		}
	}
	anas.waitData(t, "wamid.legacy1")
	anas.waitData(t, "wamid.legacy2")
	deadline := time.After(within)
	for {
		select {
		case l := <-brunos.lines:
			if strings.Contains(l, "wamid.legacy1") {
				t.Fatalf("bruno was told about ana's conversation: %s", l)
			}
			if strings.Contains(l, "wamid.legacy2") {
				return
			}
		case <-deadline:
			t.Fatal("bruno was not told about the pool's message")
		}
	}
}
