package worker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"switchboard/auth"
	"switchboard/channels"
	"switchboard/channels/whatsapp"
	"switchboard/clock"
	"switchboard/conversations"
	"switchboard/internal/convtest"
	"switchboard/metrics"
	"switchboard/queue"
	"switchboard/ratelimit"
	"switchboard/worker"
)

var logger = slog.New(slog.NewTextHandler(io.Discard, nil))

// graphFake is an httptest fake of the Graph API's send endpoint. respond
// decides each answer; calls counts requests.
type graphFake struct {
	srv     *httptest.Server
	calls   atomic.Int32
	mu      sync.Mutex
	respond func(n int) (status int, body string)
	bodies  []string
}

func newGraphFake(t *testing.T, respond func(n int) (int, string)) *graphFake {
	f := &graphFake{respond: respond}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(f.calls.Add(1))
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.bodies = append(f.bodies, string(b))
		f.mu.Unlock()
		if r.URL.Path != "/v21.0/100000000000001/messages" || r.Header.Get("Authorization") != "Bearer graph-token" {
			http.Error(w, `{"error":{"message":"bad request path or token","code":190}}`, http.StatusUnauthorized)
			return
		}
		status, body := f.respond(n)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// sent returns the request bodies the fake got, oldest first.
func (f *graphFake) sent() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.bodies)
}

func sentOK(id string) string {
	return `{"messaging_product":"whatsapp","contacts":[{"input":"5511900000001","wa_id":"5511900000001"}],"messages":[{"id":"` + id + `"}]}`
}

// env is a conversations service on a real database and Redis
// (convtest), the channels its workers send on, and the worker replicas
// a test starts.
type env struct {
	*convtest.Env
	chans channels.Set
}

// newEnv builds an env whose wa-main channel sends to graphURL ("" for
// nowhere). clk is the service's and the workers' clock; nil is the
// system clock.
func newEnv(t testing.TB, graphURL string, clk clock.Clock) *env {
	t.Helper()
	if graphURL == "" {
		graphURL = "http://127.0.0.1:1"
	}
	ch, err := whatsapp.New("wa-main", whatsapp.Config{
		PhoneNumberID: "100000000000001", AppSecret: "s", VerifyToken: "v",
		AccessToken: "graph-token", APIBaseURL: graphURL + "/v21.0",
	}, &http.Client{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return &env{Env: convtest.New(t, convtest.Options{Clock: clk}), chans: channels.Set{"wa-main": ch}}
}

// startWorker runs one worker process's pool on its own connection pool,
// as a separate replica would. hooks, if any, wrap the Redis client its
// handlers use (the service's queue, presence and events, and the rate
// limits), not the one asynq dequeues with, so a fault hits the
// handler's own work. Database faults go through e.Repo.
func (e *env) startWorker(t testing.TB, concurrency int, hooks ...redis.Hook) {
	t.Helper()
	rdb := redis.NewClient(e.Redis.Options())
	wrdb := rdb
	if len(hooks) > 0 {
		wrdb = redis.NewClient(e.Redis.Options())
		for _, h := range hooks {
			wrdb.AddHook(h)
		}
	}
	srv := worker.NewServer(rdb, worker.ServerOptions{Concurrency: concurrency, ShutdownTimeout: 5 * time.Second, Logger: logger})
	w := worker.New(worker.Options{Conversations: e.NewService(wrdb), Channels: e.chans, Metrics: e.Metrics, Logger: logger,
		Clock: e.Clock, Limiter: ratelimit.New(wrdb), Audit: auth.NewAudit(e.DB.Audit(), e.Clock, logger)})
	if err := srv.Start(w.Mux()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Shutdown()
		rdb.Close()
		if wrdb != rdb {
			wrdb.Close()
		}
	})
}

// eventually polls cond until it holds or 30s pass.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func text(id, from string, ts time.Time, arrival int64) *channels.Inbound {
	return &channels.Inbound{Channel: "wa-main", Kind: "whatsapp_cloud", ID: id, From: from, ProfileName: "Ana",
		Timestamp: ts, Arrival: arrival, Type: channels.TypeText, Text: "hola " + id}
}

func (e *env) inboundProcessed() float64 {
	return testutil.ToFloat64(e.Metrics.InboundMessages.WithLabelValues("wa-main", whatsapp.KindName, channels.TypeText))
}

// contact reads the customer from on channel.
func (e *env) contact(t testing.TB, channel, from string) *conversations.Contact {
	t.Helper()
	c, err := e.Service.Contact(context.Background(), conversations.ContactID(channel, from))
	if err != nil {
		t.Fatalf("contact %s: %v", from, err)
	}
	return c
}

// openQuery returns the open query of the customer from on wa-main.
func (e *env) openQuery(t testing.TB, from string) string {
	t.Helper()
	return e.contact(t, "wa-main", from).OpenQuery
}

// history returns a query's whole history, oldest first, as the console shows it.
func (e *env) history(t testing.TB, queryID string) []conversations.Message {
	t.Helper()
	page, err := e.Service.History(context.Background(), queryID, conversations.HistoryRange{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return page.Messages
}

// outboundTexts returns the texts of a query's outbound messages, oldest first.
func (e *env) outboundTexts(t testing.TB, queryID string) []string {
	t.Helper()
	var out []string
	for _, m := range e.history(t, queryID) {
		if m.Direction == conversations.DirectionOutbound {
			out = append(out, m.Text)
		}
	}
	return out
}

// message reads one message, failing the test if it cannot.
func (e *env) message(t testing.TB, queryID, msgID string) *conversations.Message {
	t.Helper()
	m, err := e.Service.Message(context.Background(), queryID, msgID)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestInboundIsAppliedOnce(t *testing.T) {
	e := newEnv(t, "", nil)
	ctx := context.Background()
	m := text("wamid.once", "5511900000001", time.Unix(1763900000, 0), 1)
	if err := e.Queue.EnqueueInbound(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := e.Queue.EnqueueInbound(ctx, m); !errors.Is(err, queue.ErrDuplicate) {
		t.Fatalf("second enqueue of one wamid = %v, want ErrDuplicate", err)
	}
	e.startWorker(t, 4)
	eventually(t, "the message to be processed", func() bool { return e.inboundProcessed() == 1 })

	// After the dedupe window the queue no longer remembers the id; the
	// database still does, so a very late redelivery is dropped by the
	// worker. The message is counted before its task completes: wait for that.
	eventually(t, "the task to complete", func() bool {
		ti, err := e.Inspector.GetTaskInfo(queue.QueueInbound, "in:wa-main:wamid.once")
		return err == nil && ti.State == asynq.TaskStateCompleted
	})
	if err := e.Inspector.DeleteTask(queue.QueueInbound, "in:wa-main:wamid.once"); err != nil {
		t.Fatal(err)
	}
	if err := e.Queue.EnqueueInbound(ctx, m); err != nil {
		t.Fatalf("enqueue after the window: %v", err)
	}
	eventually(t, "the late duplicate to be dropped", func() bool {
		return testutil.ToFloat64(e.Metrics.DuplicateMessages.WithLabelValues("wa-main", whatsapp.KindName)) == 1
	})
	if got := e.inboundProcessed(); got != 1 {
		t.Fatalf("inbound processed = %v, want 1", got)
	}
	c := e.contact(t, "wa-main", "5511900000001")
	hist := e.history(t, c.OpenQuery)
	if len(hist) != 1 || hist[0].Inbound == nil || hist[0].Inbound.Text != "hola wamid.once" {
		t.Fatalf("history = %+v, want the one message", hist)
	}
	if !c.LastInboundAt.Equal(m.Timestamp) {
		t.Fatalf("customer's last message time = %v, want %v", c.LastInboundAt, m.Timestamp)
	}
}

// Two worker processes racing on one contact's messages create one query,
// and the history is in the order the provider sent the messages.
func TestTwoWorkersRacingOnOneContact(t *testing.T) {
	e := newEnv(t, "", nil)
	ctx := context.Background()
	const n = 200
	base := time.Unix(1763900000, 0)
	msgs := make([]*channels.Inbound, n)
	for i := range n {
		// Several messages share each second; arrival breaks ties.
		msgs[i] = text(fmt.Sprintf("wamid.race.%03d", i), "5511900000001", base.Add(time.Duration(i/4)*time.Second), int64(1_000_000+i))
	}
	// Enqueue in a shuffled order, as separate gateway replicas might.
	order := rand.New(rand.NewPCG(7, 7)).Perm(n)
	for _, i := range order {
		if err := e.Queue.EnqueueInbound(ctx, msgs[i]); err != nil {
			t.Fatal(err)
		}
	}
	e.startWorker(t, 10)
	e.startWorker(t, 10)
	eventually(t, "all messages to be processed", func() bool { return e.inboundProcessed() == n })

	c := e.contact(t, "wa-main", "5511900000001")
	// The customer's conversations as the console's search lists them.
	page, err := e.Service.List(ctx, conversations.Filter{Search: "5511900000001", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 1 || page.Items[0].ID != c.OpenQuery {
		t.Fatalf("contact has queries %+v (open %s), want exactly one", page.Items, c.OpenQuery)
	}
	hist := e.history(t, c.OpenQuery)
	if len(hist) != n {
		t.Fatalf("history has %d messages, want %d", len(hist), n)
	}
	for i, h := range hist {
		if h.ID != msgs[i].ID {
			t.Fatalf("history[%d] = %s, want %s: not in provider order", i, h.ID, msgs[i].ID)
		}
	}
	q, err := e.Service.Query(ctx, c.OpenQuery)
	if err != nil {
		t.Fatal(err)
	}
	if q.InboundCount != n || !q.LastInboundAt.Equal(msgs[n-1].Timestamp) {
		t.Fatalf("query = %+v", q)
	}
}

// newQueryWithReply prepares a query with one inbound message (sent now
// by the env's clock) and an operator's reply, which the service records
// as queued and whose send it enqueues.
func (e *env) newQueryWithReply(t *testing.T, replyText string) (queryID, msgID string) {
	t.Helper()
	ctx := context.Background()
	m := text("wamid.in."+replyText, "5511900000001", e.Clock.Now().Truncate(time.Second), 1)
	body, _ := json.Marshal(m)
	res, err := e.Service.ApplyInbound(ctx, m, body)
	if err != nil {
		t.Fatal(err)
	}
	msgID, err = e.Service.Reply(ctx, res.QueryID, "ana", replyText)
	if err != nil {
		t.Fatal(err)
	}
	return res.QueryID, msgID
}

func (e *env) outbound(outcome string) float64 {
	return testutil.ToFloat64(e.Metrics.OutboundMessages.WithLabelValues("wa-main", whatsapp.KindName, outcome))
}

func TestOutboundSendAndDeliveryStatus(t *testing.T) {
	fake := newGraphFake(t, func(int) (int, string) { return 200, sentOK("wamid.sent1") })
	e := newEnv(t, fake.srv.URL, nil)
	ctx := context.Background()
	qid, msgID := e.newQueryWithReply(t, "Su pago fue recibido")
	if m := e.message(t, qid, msgID); m.Status != channels.StatusQueued {
		t.Fatalf("before the send: status %q, want queued", m.Status)
	}
	e.startWorker(t, 4)
	eventually(t, "the send", func() bool { return e.outbound(metrics.OutboundSent) == 1 })

	// The send is counted once it is recorded.
	m := e.message(t, qid, msgID)
	if m.Status != channels.StatusSent || m.ProviderID != "wamid.sent1" {
		t.Fatalf("after send: status %q provider id %q", m.Status, m.ProviderID)
	}
	sent := fake.sent()[0]
	if !strings.Contains(sent, `"to":"5511900000001"`) || !strings.Contains(sent, "Su pago fue recibido") {
		t.Fatalf("Graph API got %s", sent)
	}

	// The provider's report moves the stored status forward.
	for _, st := range []string{channels.StatusDelivered, channels.StatusRead} {
		if err := e.Queue.EnqueueStatus(ctx, &channels.Status{Channel: "wa-main", Kind: "whatsapp_cloud", MessageID: "wamid.sent1", Status: st, Timestamp: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the read status", func() bool {
		m, err := e.Service.Message(ctx, qid, msgID)
		return err == nil && m.Status == channels.StatusRead
	})
	if fake.calls.Load() != 1 {
		t.Fatalf("Graph API called %d times, want 1", fake.calls.Load())
	}
}

func TestOutboundRateLimitHoldsSendsWithoutSpendingRetries(t *testing.T) {
	fake := newGraphFake(t, func(n int) (int, string) { return 200, sentOK(fmt.Sprintf("wamid.rl%d", n)) })
	e := newEnv(t, fake.srv.URL, nil)
	ch, err := whatsapp.New("wa-main", whatsapp.Config{
		PhoneNumberID: "100000000000001", AppSecret: "s", VerifyToken: "v", AccessToken: "graph-token",
		APIBaseURL: fake.srv.URL + "/v21.0", SendRate: &channels.Rate{Count: 1, Per: time.Hour, Burst: 1},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.chans["wa-main"] = ch
	e.newQueryWithReply(t, "first")
	e.newQueryWithReply(t, "second")
	e.startWorker(t, 2)
	limited := func() float64 {
		return testutil.ToFloat64(e.Metrics.OutboundRateLimited.WithLabelValues("wa-main", whatsapp.KindName))
	}
	eventually(t, "one send and one held back", func() bool { return e.outbound(metrics.OutboundSent) == 1 && limited() >= 1 })
	if got := fake.calls.Load(); got != 1 {
		t.Fatalf("Graph API called %d times, want 1: the limit is one an hour", got)
	}
	retries, err := e.Inspector.ListRetryTasks(queue.QueueOutbound)
	if err != nil || len(retries) != 1 {
		t.Fatalf("retry tasks = %v (%v), want the held send", len(retries), err)
	}
	if r := retries[0]; r.Retried != 0 || r.NextProcessAt.Before(time.Now().Add(50*time.Minute)) {
		t.Fatalf("held send: retried %d, next at %v; want no retry spent and a wait of about an hour", r.Retried, r.NextProcessAt)
	}
	if e.outbound(metrics.OutboundFailed) != 0 || e.outbound(metrics.OutboundRetry) != 0 {
		t.Fatal("a rate-limited send was counted as a failure or a retry")
	}
}

func TestOutboundRetriesProviderErrors(t *testing.T) {
	fake := newGraphFake(t, func(n int) (int, string) {
		switch n {
		case 1:
			return 503, `{"error":{"message":"Service temporarily unavailable","code":2}}`
		case 2:
			return 429, `{"error":{"message":"Too many messages","code":130429}}`
		default:
			return 200, sentOK("wamid.retried")
		}
	})
	e := newEnv(t, fake.srv.URL, nil)
	qid, msgID := e.newQueryWithReply(t, "retry me")
	e.startWorker(t, 2)
	eventually(t, "the send after two retries", func() bool { return e.outbound(metrics.OutboundSent) == 1 })
	if got := fake.calls.Load(); got != 3 {
		t.Fatalf("Graph API called %d times, want 3 (503, 429, then 200)", got)
	}
	if got := e.outbound(metrics.OutboundRetry); got != 2 {
		t.Fatalf("retries counted = %v, want 2", got)
	}
	if m := e.message(t, qid, msgID); m.Status != channels.StatusSent || m.ProviderID != "wamid.retried" {
		t.Fatalf("message = %+v", m)
	}
}

// A send the provider accepted whose record then fails is not sent
// again: the customer would get it twice. The message stays queued in
// the history (the lesser harm), and the task completes.
func TestSentButNotRecordedIsNotSentAgain(t *testing.T) {
	fake := newGraphFake(t, func(int) (int, string) { return 200, sentOK("wamid.once-only") })
	e := newEnv(t, fake.srv.URL, nil)
	qid, msgID := e.newQueryWithReply(t, "una sola vez")
	fault := e.Repo.FailBefore("MarkSent", 1)
	e.startWorker(t, 2)
	eventually(t, "the send task to complete", func() bool {
		return testutil.ToFloat64(e.Metrics.TasksProcessed.WithLabelValues(queue.TypeOutbound, "ok")) == 1
	})
	time.Sleep(1500 * time.Millisecond) // room for a wrong retry
	if got := fake.calls.Load(); got != 1 {
		t.Fatalf("Graph API called %d times, want 1", got)
	}
	if fault.Fired() != 1 {
		t.Fatalf("fault fired %d times, want 1", fault.Fired())
	}
	if m := e.message(t, qid, msgID); m.Status != channels.StatusQueued || m.ProviderID != "" {
		t.Fatalf("message = %+v, want still queued, unrecorded", m)
	}
}

func TestOutboundPermanentErrorIsNotRetried(t *testing.T) {
	fake := newGraphFake(t, func(int) (int, string) {
		return 400, `{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,"error_data":{"messaging_product":"whatsapp","details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."},"fbtrace_id":"Az8or2yhqkZfEZ-_4Qn_Bam"}}`
	})
	e := newEnv(t, fake.srv.URL, nil)
	qid, msgID := e.newQueryWithReply(t, "too late")
	e.startWorker(t, 2)
	eventually(t, "the failure to be recorded", func() bool { return e.outbound(metrics.OutboundFailed) == 1 })
	m := e.message(t, qid, msgID)
	if m.Status != channels.StatusFailed || m.Error == nil || m.Error.Code != 131047 || m.Error.Title != channels.WindowClosedTitle {
		t.Fatalf("message = %+v, error %+v; want failed with code 131047 as window_closed", m, m.Error)
	}
	if got := testutil.ToFloat64(e.Metrics.WindowRejections); got != 1 {
		t.Fatalf("window rejections = %v, want 1", got)
	}
	eventually(t, "the task to be archived", func() bool {
		info, err := e.Inspector.GetQueueInfo(queue.QueueOutbound)
		return err == nil && info.Archived == 1
	})
	// Give a wrongly scheduled retry time to happen before counting calls.
	time.Sleep(1500 * time.Millisecond)
	if got := fake.calls.Load(); got != 1 {
		t.Fatalf("Graph API called %d times, want 1: a 4xx must not be retried", got)
	}
}

// A text recorded inside the window but still waiting when it closed is
// failed as window_closed at send time, never sent.
func TestQueuedTextWhoseWindowClosedIsNotSent(t *testing.T) {
	fake := newGraphFake(t, func(int) (int, string) { return 200, sentOK("wamid.never") })
	clk := clock.NewFake(time.Now().Truncate(time.Second))
	e := newEnv(t, fake.srv.URL, clk)
	qid, msgID := e.newQueryWithReply(t, "late reply")
	st, err := e.Service.State(context.Background(), qid)
	if err != nil {
		t.Fatal(err)
	}
	// The send waited until the exact end of the window.
	clk.Set(st.LastInboundAt.Add(24 * time.Hour))
	e.startWorker(t, 2)
	eventually(t, "the send to fail", func() bool {
		m, err := e.Service.Message(context.Background(), qid, msgID)
		return err == nil && m.Status == channels.StatusFailed
	})
	if m := e.message(t, qid, msgID); m.Error == nil || m.Error.Title != channels.WindowClosedTitle {
		t.Fatalf("error = %+v, want window_closed", m.Error)
	}
	if fake.calls.Load() != 0 {
		t.Fatalf("provider got %d sends, want none", fake.calls.Load())
	}
	if got := testutil.ToFloat64(e.Metrics.WindowRejections); got != 1 {
		t.Fatalf("window rejections = %v, want 1", got)
	}
}

func TestRetryDelayHonoursRetryAfter(t *testing.T) {
	err := &channels.SendError{Retryable: true, HTTPStatus: 429, RetryAfter: 42 * time.Second}
	if d := worker.RetryDelay(0, err, nil); d != 42*time.Second {
		t.Fatalf("delay with Retry-After 42s = %v", d)
	}
	for n, want := range map[int]time.Duration{0: time.Second, 3: 8 * time.Second, 20: 10 * time.Minute} {
		d := worker.RetryDelay(n, errors.New("x"), nil)
		if d < want || d > want+want/2 {
			t.Errorf("delay for retry %d = %v, want between %v and %v", n, d, want, want+want/2)
		}
	}
}

func TestTemplateSendReachesTheGraphAPI(t *testing.T) {
	fake := newGraphFake(t, func(int) (int, string) { return 200, sentOK("wamid.tpl") })
	e := newEnv(t, fake.srv.URL, nil)
	ctx := context.Background()
	// The customer wrote two days ago: only a template may go.
	m := text("wamid.in.tpl", "5511900000001", time.Now().Add(-48*time.Hour).Truncate(time.Second), 1)
	body, _ := json.Marshal(m)
	res, err := e.Service.ApplyInbound(ctx, m, body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Service.Reply(ctx, res.QueryID, "ana", "¿Sigues ahí?"); !errors.Is(err, conversations.ErrWindowClosed) {
		t.Fatalf("free-form reply two days later: %v, want ErrWindowClosed", err)
	}
	msgID, err := e.Service.SendTemplate(ctx, res.QueryID, "ana", "Hola Ana, tu pago de $120 vence mañana.",
		conversations.TemplateRef{Name: "payment_reminder_v2", Language: "es", Params: []string{"Ana", "$120"}})
	if err != nil {
		t.Fatal(err)
	}
	e.startWorker(t, 2)
	eventually(t, "the template send", func() bool {
		return testutil.ToFloat64(e.Metrics.HSMSends.WithLabelValues(metrics.OutboundSent)) == 1
	})
	sent := fake.sent()[0]
	for _, want := range []string{`"type":"template"`, `"name":"payment_reminder_v2"`, `"code":"es"`, `{"type":"text","text":"Ana"},{"type":"text","text":"$120"}`, `"to":"5511900000001"`} {
		if !strings.Contains(sent, want) {
			t.Fatalf("Graph API got %s, lacking %s", sent, want)
		}
	}
	// The send is counted before it is recorded: wait for the record.
	var got *conversations.Message
	eventually(t, "the template send recorded", func() bool {
		got, _ = e.Service.Message(ctx, res.QueryID, msgID)
		return got != nil && got.ProviderID != ""
	})
	if got.Status != channels.StatusSent || got.ProviderID != "wamid.tpl" || got.Template == nil || got.Template.Name != "payment_reminder_v2" {
		t.Fatalf("message = %+v", got)
	}
	if fake.calls.Load() != 1 {
		t.Fatalf("Graph API called %d times, want 1: the refused reply must not be sent", fake.calls.Load())
	}
}

// codeChannel is a channel with a strict limit on new contacts, as a
// linked number has; it records the login codes it sends.
type codeChannel struct {
	mu   sync.Mutex
	sent []string
}

func (c *codeChannel) ID() string   { return "wa-linked" }
func (c *codeChannel) Kind() string { return "whatsmeow" }
func (c *codeChannel) Limits() channels.Limits {
	return channels.Limits{
		Send:       channels.Rate{Count: 100, Per: time.Second, Burst: 100},
		NewContact: channels.Rate{Count: 1, Per: time.Hour, Burst: 1},
	}
}
func (c *codeChannel) SendAuthCode(_ context.Context, to, _, _, _ string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, to)
	return "3EB0" + to, nil
}
func (c *codeChannel) recipients() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sent)
}

func TestNewContactLimitSparesCustomersWhoWrote(t *testing.T) {
	e := newEnv(t, "", nil)
	ch := &codeChannel{}
	e.chans["wa-linked"] = ch
	ctx := context.Background()
	// One customer has written to the linked number before.
	m := &channels.Inbound{Channel: "wa-linked", Kind: "whatsmeow", ID: "3EB0IN", From: "5511900000003",
		Timestamp: time.Now().Truncate(time.Second), Arrival: 1, Type: channels.TypeText, Text: "hola"}
	body, _ := json.Marshal(m)
	if _, err := e.Service.ApplyInbound(ctx, m, body); err != nil {
		t.Fatal(err)
	}
	expires := time.Now().Add(5 * time.Minute)
	for _, phone := range []string{"+5511900000001", "+5511900000002", "+5511900000003"} {
		if err := e.Queue.EnqueueOTP(ctx, queue.OTP{Channel: "wa-linked", Phone: phone, Code: "123456"}, expires); err != nil {
			t.Fatal(err)
		}
	}
	e.startWorker(t, 1)
	limited := func() float64 {
		return testutil.ToFloat64(e.Metrics.OutboundRateLimited.WithLabelValues("wa-linked", "whatsmeow"))
	}
	eventually(t, "two codes sent and one held", func() bool { return len(ch.recipients()) == 2 && limited() >= 1 })
	got := ch.recipients()
	if !slices.Contains(got, "5511900000003") {
		t.Fatalf("sent to %v: the customer who wrote before was held by the new-contact limit", got)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(ch.recipients()); n != 2 {
		t.Fatalf("%d codes sent; the second stranger should wait an hour", n)
	}
}

// downChannel is a linked device that is not connected in this process.
type downChannel struct{ sends atomic.Int32 }

func (d *downChannel) ID() string   { return "wa-main" }
func (d *downChannel) Kind() string { return "whatsmeow" }
func (d *downChannel) Ready() bool  { return false }
func (d *downChannel) SendText(context.Context, string, string) (string, error) {
	d.sends.Add(1)
	return "", errors.New("must not be called")
}

func TestSendWaitsForItsChannelWithoutSpendingRetries(t *testing.T) {
	e := newEnv(t, "", nil)
	down := &downChannel{}
	e.chans["wa-main"] = down
	e.newQueryWithReply(t, "espera")
	e.startWorker(t, 1)
	eventually(t, "the send to wait", func() bool {
		retries, err := e.Inspector.ListRetryTasks(queue.QueueOutbound)
		return err == nil && len(retries) == 1
	})
	retries, _ := e.Inspector.ListRetryTasks(queue.QueueOutbound)
	if r := retries[0]; r.Retried != 0 {
		t.Fatalf("a send waiting for its channel spent %d retries", r.Retried)
	}
	if down.sends.Load() != 0 {
		t.Fatal("the sender was called while its channel was down")
	}
}
