package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"switchboard/channels"
	"switchboard/config"
	"switchboard/conversations"
	"switchboard/internal/dbtest"
	"switchboard/internal/logbuf"
	"switchboard/internal/redistest"
	"switchboard/queue"
	"switchboard/repository"
)

// start runs a server from yaml until the test ends, and returns its base
// URL. It keeps its records in the database yaml names, migrated at start
// as serve does; a yaml naming none gets a fresh one of its own
// (testDatabase), never switchboard.db in the source tree.
func start(t *testing.T, yaml string, env map[string]string, role string) (url string, stop func() error, logs *logbuf.Buffer) {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Database.URL == "" && cfg.Database.Path == config.DefaultDatabasePath {
		cfg.Database = testDatabase(t)
	}
	logs = &logbuf.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	db, err := openDatabase(context.Background(), cfg.Database, true, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	url, stop = serveOn(t, cfg, db, role, logger)
	return url, stop, logs
}

// serveOn runs a server of role on cfg and db until the test ends, and
// returns its base URL; the server closes db when it stops.
func serveOn(t *testing.T, cfg *config.Config, db *repository.DB, role string, logger *slog.Logger) (url string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := newServer(ctx, cfg, db, role, logger, prometheus.NewRegistry())
	if err != nil {
		cancel()
		db.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.run(ctx) }()
	var addr string
	select {
	case addr = <-srv.addr:
	case err := <-done:
		cancel()
		t.Fatalf("server stopped at start: %v", err)
	}
	var stopped atomic.Bool
	stop = func() error {
		if stopped.Swap(true) {
			return nil
		}
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(30 * time.Second):
			t.Fatal("server did not stop within 30s")
			return nil
		}
	}
	t.Cleanup(func() { _ = stop() })
	return "http://" + addr, stop
}

// testDatabase names a fresh, empty database for servers under test: a
// PostgreSQL schema of its own when SWITCHBOARD_TEST_POSTGRES is set (as
// in CI), else a SQLite file in the test's temporary directory. Servers
// given its databaseYAML share it, as replicas share production's.
func testDatabase(t *testing.T) config.Database {
	t.Helper()
	if os.Getenv(dbtest.EnvPostgres) != "" {
		return config.Database{URL: dbtest.Schema(t)}
	}
	return config.Database{Path: filepath.Join(t.TempDir(), "switchboard.db")}
}

// databaseYAML is the configuration's database section naming d.
func databaseYAML(d config.Database) string {
	if d.URL != "" {
		return fmt.Sprintf("database:\n  url: %q\n", d.URL)
	}
	return fmt.Sprintf("database:\n  path: %q\n", d.Path)
}

// records opens d beside the servers that use it, for the test to read
// the conversations they recorded there: call it once a server has
// started, and so migrated d.
func records(t *testing.T, d config.Database) *repository.Conversations {
	t.Helper()
	return recordsDB(t, d).Conversations()
}

// recordsDB opens d for the test, until it ends.
func recordsDB(t *testing.T, d config.Database) *repository.DB {
	t.Helper()
	db, err := repository.Open(context.Background(), repository.Options{URL: d.URL, Path: d.Path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// waitDrained waits until no task of queue is waiting, running or due for
// a retry: every message taken has been applied, the redeliveries too.
func waitDrained(t *testing.T, insp *asynq.Inspector, queue string, d time.Duration) {
	t.Helper()
	var last string
	deadline := time.Now().Add(d)
	for {
		q, err := insp.GetQueueInfo(queue)
		if err == nil && q.Pending == 0 && q.Active == 0 && q.Retry == 0 && q.Scheduled == 0 {
			return
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("%d pending, %d active, %d to retry, %d scheduled", q.Pending, q.Active, q.Retry, q.Scheduled)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the %s queue did not drain within %s: %s", queue, d, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// history is every message of a conversation, oldest first.
func history(ctx context.Context, recs *repository.Conversations, queryID string) ([]conversations.Message, error) {
	page, err := recs.History(ctx, queryID, conversations.HistoryRange{Limit: 500})
	if err != nil {
		return nil, err
	}
	if page.More {
		return nil, fmt.Errorf("conversation %s has more than 500 messages", queryID)
	}
	return page.Messages, nil
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// With no configuration at all, serve starts on an embedded Redis, says so
// loudly, and answers probes.
func TestServeWithoutConfigUsesEmbeddedRedis(t *testing.T) {
	url, stop, logs := start(t, "http:\n  addr: 127.0.0.1:0\n", nil, roleAll)
	if code, _ := get(t, url+"/healthz"); code != 200 {
		t.Fatalf("/healthz = %d", code)
	}
	if code, _ := get(t, url+"/readyz"); code != 200 {
		t.Fatalf("/readyz = %d, want 200 on the embedded Redis", code)
	}
	if code, body := get(t, url+"/metrics"); code != 200 || !strings.Contains(body, "go_goroutines") || !strings.Contains(body, "switchboard_queue_tasks") || !strings.Contains(body, "switchboard_sessions_active 0") {
		t.Fatalf("/metrics = %d, lacks Go or queue metrics", code)
	}
	if err := stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if !strings.Contains(logs.String(), "NOTHING IS DURABLE") {
		t.Fatalf("no loud warning about the embedded Redis in the logs:\n%s", logs)
	}
}

const appSecret = "serve-test-secret"

// nowTS is the current Unix time as providers write it in a message: the
// customers in these tests write now, so a reply is inside the 24-hour
// window on whatever day the tests run.
func nowTS() string { return strconv.FormatInt(time.Now().Unix(), 10) }

func signedText(id string) ([]byte, string) {
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"100000000000001"},"contacts":[{"profile":{"name":"Ana"},"wa_id":"5511900000001"}],"messages":[{"from":"5511900000001","id":"` + id + `","timestamp":"` + nowTS() + `","type":"text","text":{"body":"hola"}}]}}]}]}`)
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return body, "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func channelYAML(redisURL, graphURL string) string {
	return fmt.Sprintf(`http:
  addr: 127.0.0.1:0
redis:
  url: %q
shutdown_grace: 9s
auth:
  secret: serve-test-auth-secret
worker:
  concurrency: 4
channels:
  - id: wa-main
    kind: whatsapp_cloud
    phone_number_id: "100000000000001"
    app_secret: ${WA_APP_SECRET}
    verify_token: verify
    access_token: graph-token
    api_base_url: %q
`, redisURL, graphURL)
}

var secretEnv = map[string]string{"WA_APP_SECRET": appSecret}

func post(t *testing.T, url string, body []byte, sig string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("X-Hub-Signature-256", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A webhook posted to a gateway-only process is queued, not processed; a
// worker-only process, on the same Redis and database, processes it and
// takes no webhooks.
func TestRolesRunApart(t *testing.T) {
	rdb := redistest.Client(t)
	d := testDatabase(t)
	yaml := channelYAML(redistest.URL(rdb), "http://127.0.0.1:1/v21.0") + databaseYAML(d)
	gw, _, _ := start(t, yaml, secretEnv, roleGateway)
	body, sig := signedText("wamid.roles")
	if code := post(t, gw+"/webhooks/wa-main", body, sig); code != 200 {
		t.Fatalf("gateway: %d, want 200", code)
	}
	recs := records(t, d)
	ctx := context.Background()
	cid := conversations.ContactID("wa-main", "5511900000001")
	time.Sleep(500 * time.Millisecond)
	if _, err := recs.Contact(ctx, cid); !errors.Is(err, conversations.ErrNotFound) {
		t.Fatalf("after a gateway-only process took the webhook, the contact reads %v; want not found (nothing processed it)", err)
	}

	wk, _, _ := start(t, yaml, secretEnv, roleWorker)
	if code := post(t, wk+"/webhooks/wa-main", body, sig); code != 404 {
		t.Fatalf("worker-only process answered a webhook with %d, want 404", code)
	}
	if code, _ := get(t, wk+"/readyz"); code != 200 {
		t.Fatalf("worker /readyz = %d", code)
	}
	var c *conversations.Contact
	eventually(t, "the worker-only process to process the queued message", func() bool {
		var err error
		c, err = recs.Contact(ctx, cid)
		return err == nil && c.OpenQuery != ""
	})
	if msgs, err := history(ctx, recs, c.OpenQuery); err != nil || len(msgs) != 1 || msgs[0].Inbound == nil || msgs[0].Inbound.Text != "hola" {
		t.Fatalf("history = %+v (%v), want the customer's one message", msgs, err)
	}
}

// On shutdown, a webhook request already being received is finished and
// queued, and a send already under way completes and is recorded, before
// the process exits.
func TestGracefulShutdownDrainsInFlightWork(t *testing.T) {
	rdb := redistest.Client(t)
	sendStarted := make(chan struct{})
	var calls atomic.Int32
	graph := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			close(sendStarted)
		}
		time.Sleep(1500 * time.Millisecond) // a slow provider
		fmt.Fprint(w, `{"messaging_product":"whatsapp","messages":[{"id":"wamid.slow"}]}`)
	}))
	defer graph.Close()
	d := testDatabase(t)
	url, stop, _ := start(t, channelYAML(redistest.URL(rdb), graph.URL+"/v21.0")+databaseYAML(d), secretEnv, roleAll)

	// An outbound send in flight.
	ctx := context.Background()
	recs := records(t, d)
	first, sig1 := signedText("wamid.first")
	if code := post(t, url+"/webhooks/wa-main", first, sig1); code != 200 {
		t.Fatalf("first webhook: %d", code)
	}
	cid := conversations.ContactID("wa-main", "5511900000001")
	var qid string
	eventually(t, "the first message to be processed", func() bool {
		if c, err := recs.Contact(ctx, cid); err == nil {
			qid = c.OpenQuery
		}
		return qid != ""
	})
	const msgID = "sb-drain-reply"
	if created, _, err := recs.RecordOutbound(ctx, qid, msgID, "", "reply", nil, time.Now()); err != nil || !created {
		t.Fatalf("record the reply: created %v, %v", created, err)
	}
	client := asynq.NewClientFromRedisClient(rdb)
	defer client.Close()
	if err := queue.NewClient(client, time.Hour).EnqueueOutbound(ctx, queue.Outbound{Channel: "wa-main", QueryID: qid, MessageID: msgID}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-sendStarted:
	case <-time.After(20 * time.Second):
		t.Fatal("the send never started")
	}

	// A webhook request in flight: headers and half the body are sent
	// before shutdown starts, the rest after.
	body, sig := signedText("wamid.inflight")
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, url+"/webhooks/wa-main", pr)
	req.ContentLength = int64(len(body))
	req.Header.Set("X-Hub-Signature-256", sig)
	status := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			status <- 0
			return
		}
		resp.Body.Close()
		status <- resp.StatusCode
	}()
	if _, err := pw.Write(body[:len(body)/2]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the server start reading

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	time.Sleep(200 * time.Millisecond) // shutdown has begun
	if _, err := pw.Write(body[len(body)/2:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if code := <-status; code != 200 {
		t.Fatalf("in-flight webhook during shutdown: %d, want 200", code)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("stop: %v", err)
	}

	// After exit: the in-flight send completed and was recorded once, and
	// the in-flight webhook's message is durably queued.
	m, err := recs.Message(ctx, qid, msgID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != channels.StatusSent || m.ProviderID != "wamid.slow" || calls.Load() != 1 {
		t.Fatalf("in-flight send: status %q provider id %q after %d calls; want sent once", m.Status, m.ProviderID, calls.Load())
	}
	insp := asynq.NewInspectorFromRedisClient(rdb)
	defer insp.Close()
	if _, err := insp.GetTaskInfo(queue.QueueInbound, "in:wa-main:wamid.inflight"); err != nil {
		t.Fatalf("the webhook answered 200 during shutdown is not queued: %v", err)
	}
}

func TestVersionAndUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"version"}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "switchboard ") {
		t.Fatalf("version: exit %d, %q", code, out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"frobnicate"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "unknown command") {
		t.Fatalf("unknown command: exit %d, %q", code, errOut.String())
	}
	errOut.Reset()
	if code := run(context.Background(), []string{"serve", "--role", "both"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "--role") {
		t.Fatalf("bad role: exit %d, %q", code, errOut.String())
	}
	errOut.Reset()
	if code := run(context.Background(), []string{"serve", "--config", "/nonexistent.yaml"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "nonexistent.yaml") {
		t.Fatalf("missing config: exit %d, %q", code, errOut.String())
	}
}
