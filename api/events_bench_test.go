package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"switchboard/accounts"
	"switchboard/api"
	"switchboard/auth"
	"switchboard/channels"
	"switchboard/clock"
	"switchboard/conversations"
	"switchboard/events"
	"switchboard/gateway"
	"switchboard/internal/dbtest"
	"switchboard/internal/redistest"
	"switchboard/metrics"
	"switchboard/presence"
	"switchboard/queue"
	"switchboard/settings"
)

// Figures of BenchmarkEventDelivery.
const (
	benchStreams  = 100 // operators, one stream each
	benchRate     = 200 // inbound messages a second
	benchContacts = 500 // customers the messages come from
)

// BenchmarkEventDelivery opens one event stream for each of 100 operators
// who all serve the "sales" pool, then applies b.N inbound messages to
// pending sales conversations at 200 a second, through the conversations
// service as the worker calls it (it records each in the database, then
// publishes its event). Every stream may
// see every message, so each message is 100 deliveries. It reports the
// delay from the script call to each stream's client reading the event:
// p50, p99 and max in milliseconds, and deliveries missing after a drain.
//
// Run with a fixed count, e.g. -benchtime 2000x (10 s of load):
//
//	REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench EventDelivery -benchtime 2000x ./api/
func BenchmarkEventDelivery(b *testing.B) {
	rdb := redistest.Client(b)
	ctx := context.Background()
	clk := clock.System{}
	logger := slog.New(slog.DiscardHandler)
	db := dbtest.Open(b)
	roles := auth.NewRoles(db.Roles())
	users := accounts.NewStore(db.Accounts(), clk, roles.Exists)
	audit := auth.NewAudit(db.Audit(), clk, logger)
	codes := &captured{codes: map[string][]string{}}
	login, err := auth.NewLogin(rdb, auth.LoginOptions{Users: users, Clock: clk, Secret: []byte("bench-secret-0123456789"),
		Sender: codes, Audit: audit, Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	codes.wait = login.Wait // codes are sent in the background
	client := asynq.NewClientFromRedisClient(rdb)
	defer client.Close()
	m := metrics.New(prometheus.NewRegistry())
	// The service as `switchboard serve` wires it, with its settings cache.
	conv := conversations.New(conversations.Options{Repository: db.Conversations(), Events: events.NewPublisher(rdb),
		Tasks: queue.Tasks{Client: queue.NewClient(client, time.Hour)}, Presence: presence.New(rdb),
		Settings: settings.NewWatcher(db.Settings(), time.Second), Clock: clk, Metrics: m, Logger: logger})
	a := api.New(api.Options{Users: users, Roles: roles, Login: login, Audit: audit, Logger: logger,
		Conversations: conv, Redis: rdb, SettingsVersions: db.Settings(), Clock: clk, Metrics: m})
	srv := httptest.NewServer(gateway.New(gateway.Options{API: a, Redis: pinger{rdb}, Gatherer: prometheus.NewRegistry(), Logger: logger}))
	defer srv.Close()
	defer a.Close()

	// Operators, their settings and their tokens.
	var ids, tokens []string
	for i := range benchStreams {
		phone := fmt.Sprintf("+55119%08d", i)
		u, err := users.Create(ctx, accounts.User{Name: fmt.Sprintf("Op %d", i), Phone: phone, Role: auth.RoleOperator})
		if err != nil {
			b.Fatal(err)
		}
		ip := fmt.Sprintf("10.0.%d.%d", i/250, i%250+1) // the per-IP login limit is for people
		if _, err := login.RequestCode(ctx, phone, ip); err != nil {
			b.Fatal(err)
		}
		s, _, err := login.Verify(ctx, phone, codes.last(phone), ip)
		if err != nil {
			b.Fatal(err)
		}
		ids, tokens = append(ids, u.ID), append(tokens, s.Token)
	}
	doc := "default_query_type: sales\nquery_types:\n  - {id: sales, strategy: claim, accounts: [" + strings.Join(ids, ", ") + "]}\n"
	if _, err := settings.Apply(ctx, db.Settings(), []byte(doc), time.Now(), -1, "bench"); err != nil {
		b.Fatal(err)
	}

	// Pending sales conversations the messages go to: the settings route
	// every first message to the sales pool.
	from := func(c int) string { return fmt.Sprintf("55219%08d", c) }
	inbound := func(id string, c int) *channels.Inbound {
		return &channels.Inbound{Channel: "wa-main", Kind: "whatsapp_cloud", ID: id, From: from(c),
			Timestamp: time.Now(), Arrival: time.Now().UnixNano(), Type: channels.TypeText, Text: "oi"}
	}
	for c := range benchContacts {
		m := inbound(fmt.Sprintf("wamid.setup.%d", c), c)
		body, _ := json.Marshal(m)
		res, err := conv.ApplyInbound(ctx, m, body)
		if err != nil {
			b.Fatal(err)
		}
		if st, err := conv.State(ctx, res.QueryID); err != nil || st.Query.State != "pending" || st.Query.Type != "sales" {
			b.Fatalf("setup conversation %s routed to %+v (%v), want the sales pool", res.QueryID, st, err)
		}
	}

	// The streams, each read by a client that records every delay.
	sent := make([]atomic.Int64, b.N) // unix ns when message i was applied
	var (
		mu      sync.Mutex
		delays  []time.Duration
		got     atomic.Int64
		streams sync.WaitGroup
	)
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	const marker = `"message_id":"wamid.bench.`
	for _, tok := range tokens {
		req, _ := http.NewRequestWithContext(sctx, "GET", srv.URL+"/api/v1/events", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("events: %d", resp.StatusCode)
		}
		streams.Add(1)
		go func() {
			defer streams.Done()
			defer resp.Body.Close()
			var mine []time.Duration
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				l := sc.Text()
				i := strings.Index(l, marker)
				if i < 0 {
					continue
				}
				rest := l[i+len(marker):]
				n, err := strconv.Atoi(rest[:strings.IndexByte(rest, '"')])
				if err != nil || n >= len(sent) {
					continue
				}
				mine = append(mine, time.Since(time.Unix(0, sent[n].Load())))
				got.Add(1)
			}
			mu.Lock()
			delays = append(delays, mine...)
			mu.Unlock()
		}()
	}

	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if d := time.Until(start.Add(time.Duration(i) * time.Second / benchRate)); d > 0 {
			time.Sleep(d)
		}
		m := inbound(fmt.Sprintf("wamid.bench.%d", i), i%benchContacts)
		body, _ := json.Marshal(m)
		sent[i].Store(time.Now().UnixNano())
		if _, err := conv.ApplyInbound(ctx, m, body); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	want := int64(b.N) * benchStreams
	for drain := time.Now().Add(2 * time.Minute); got.Load() < want && time.Now().Before(drain); {
		time.Sleep(10 * time.Millisecond)
	}
	b.StopTimer()
	stop()
	streams.Wait()

	slices.Sort(delays)
	pct := func(p float64) float64 {
		if len(delays) == 0 {
			return 0
		}
		return float64(delays[min(len(delays)-1, int(p*float64(len(delays))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(1), "max-ms")
	b.ReportMetric(float64(want-int64(len(delays))), "missing")
	if missing := want - int64(len(delays)); missing > 0 {
		// A lost event is a defect, not a figure: fail the run.
		b.Fatalf("%d of %d events never reached their stream", missing, want)
	}
}
