package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"switchboard/channels"
	"switchboard/clock"
	"switchboard/config"
	"switchboard/internal/dbtest"
	"switchboard/internal/logbuf"
	"switchboard/internal/redistest"
	"switchboard/queue"
	"switchboard/store"
)

// start runs a server from yaml until the test ends, and returns its base URL.
func start(t *testing.T, yaml string, env map[string]string, role string) (url string, stop func() error, logs *logbuf.Buffer) {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	logs = &logbuf.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := newServer(ctx, cfg, dbtest.Open(t), role, logger, prometheus.NewRegistry())
	if err != nil {
		cancel()
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
	return "http://" + addr, stop, logs
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
// worker-only process processes it and takes no webhooks.
func TestRolesRunApart(t *testing.T) {
	rdb := redistest.Client(t)
	yaml := channelYAML(redistest.URL(rdb), "http://127.0.0.1:1/v21.0")
	gw, _, _ := start(t, yaml, secretEnv, roleGateway)
	body, sig := signedText("wamid.roles")
	if code := post(t, gw+"/webhooks/wa-main", body, sig); code != 200 {
		t.Fatalf("gateway: %d, want 200", code)
	}
	st := store.New(rdb, clock.System{})
	cid := store.ContactID("wa-main", "5511900000001")
	time.Sleep(500 * time.Millisecond)
	if _, err := st.Contact(context.Background(), cid); err == nil {
		t.Fatal("a gateway-only process processed the message")
	}

	wk, _, _ := start(t, yaml, secretEnv, roleWorker)
	if code := post(t, wk+"/webhooks/wa-main", body, sig); code != 404 {
		t.Fatalf("worker-only process answered a webhook with %d, want 404", code)
	}
	if code, _ := get(t, wk+"/readyz"); code != 200 {
		t.Fatalf("worker /readyz = %d", code)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := st.Contact(context.Background(), cid)
		if err == nil && c.OpenQuery != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the worker-only process did not process the queued message")
		}
		time.Sleep(50 * time.Millisecond)
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
	url, stop, _ := start(t, channelYAML(redistest.URL(rdb), graph.URL+"/v21.0"), secretEnv, roleAll)

	// An outbound send in flight.
	ctx := context.Background()
	st := store.New(rdb, clock.System{})
	first, sig1 := signedText("wamid.first")
	if code := post(t, url+"/webhooks/wa-main", first, sig1); code != 200 {
		t.Fatalf("first webhook: %d", code)
	}
	cid := store.ContactID("wa-main", "5511900000001")
	var qid string
	for deadline := time.Now().Add(20 * time.Second); qid == ""; {
		if c, err := st.Contact(ctx, cid); err == nil {
			qid = c.OpenQuery
		}
		if time.Now().After(deadline) {
			t.Fatal("first message not processed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	msgID, err := st.RecordOutbound(ctx, qid, "reply")
	if err != nil {
		t.Fatal(err)
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
	m, err := st.Message(ctx, qid, msgID)
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
