package webhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"switchboard/channels"
	"switchboard/channels/whatsapp"
	"switchboard/gateway"
	"switchboard/internal/redistest"
	"switchboard/metrics"
	"switchboard/queue"
	"switchboard/webhook"
)

const (
	appSecret     = "test-app-secret"
	verifyToken   = "test-verify-token"
	phoneNumberID = "100000000000001"
)

type harness struct {
	srv       *httptest.Server
	metrics   *metrics.Metrics
	inspector *asynq.Inspector
}

// newHarness runs the real gateway (Echo, webhook handler, WhatsApp channel)
// over rdb.
func newHarness(t *testing.T, rdb redis.UniversalClient, maxBody int64) *harness {
	t.Helper()
	ch, err := whatsapp.New("wa-main", whatsapp.Config{
		PhoneNumberID: phoneNumberID,
		AppSecret:     appSecret,
		VerifyToken:   verifyToken,
		AccessToken:   "token",
		APIBaseURL:    "http://127.0.0.1:1",
	}, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	client := asynq.NewClientFromRedisClient(rdb)
	wh := webhook.New(webhook.Options{
		Channels:       channels.Set{"wa-main": ch},
		Queue:          queue.NewClient(client, time.Hour),
		Metrics:        m,
		Logger:         logger,
		MaxBodyBytes:   maxBody,
		EnqueueTimeout: 2 * time.Second,
	})
	e := gateway.New(gateway.Options{Webhooks: wh, Redis: pinger{rdb}, Gatherer: reg, Logger: logger})
	srv := httptest.NewServer(e)
	h := &harness{srv: srv, metrics: m, inspector: asynq.NewInspectorFromRedisClient(rdb)}
	t.Cleanup(func() {
		srv.Close()
		_ = client.Close()
		_ = h.inspector.Close()
	})
	return h
}

type pinger struct{ rdb redis.UniversalClient }

func (p pinger) Ping(ctx context.Context) error { return p.rdb.Ping(ctx).Err() }

func sign(body []byte) string {
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func (h *harness) post(t *testing.T, channel string, body []byte, signature string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+"/webhooks/"+channel, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set("X-Hub-Signature-256", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// queued is how many tasks wait in queue q.
func (h *harness) queued(t *testing.T, q string) int {
	t.Helper()
	info, err := h.inspector.GetQueueInfo(q)
	if err != nil {
		return 0 // a queue that never had a task does not exist
	}
	return info.Size
}

func (h *harness) outcome(channel, outcome string) float64 {
	kind := whatsapp.KindName
	if channel == metrics.UnknownChannel {
		kind = metrics.UnknownChannel
	}
	return testutil.ToFloat64(h.metrics.WebhookRequests.WithLabelValues(channel, kind, outcome))
}

// textBody is a Meta webhook carrying one text message per id.
func textBody(ids ...string) []byte {
	var msgs []string
	for i, id := range ids {
		msgs = append(msgs, fmt.Sprintf(`{"from":"5511900000001","id":%q,"timestamp":"%d","text":{"body":"hola %d"},"type":"text"}`, id, 1763900000+i, i))
	}
	return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"` + phoneNumberID + `"},"contacts":[{"profile":{"name":"Ana"},"wa_id":"5511900000001"}],"messages":[` + strings.Join(msgs, ",") + `]},"field":"messages"}]}]}`)
}

func TestHandshake(t *testing.T) {
	h := newHarness(t, redistest.Client(t), 1<<20)
	get := func(path string) (int, string) {
		resp, err := http.Get(h.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/webhooks/wa-main?hub.mode=subscribe&hub.verify_token=" + verifyToken + "&hub.challenge=1158201444"); code != 200 || body != "1158201444" {
		t.Fatalf("good handshake: %d %q, want 200 with the challenge", code, body)
	}
	if code, body := get("/webhooks/wa-main?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1158201444"); code != 403 || strings.Contains(body, "1158201444") {
		t.Fatalf("wrong token: %d %q, want 403 without the challenge", code, body)
	}
	if code, _ := get("/webhooks/nope?hub.mode=subscribe&hub.verify_token=" + verifyToken + "&hub.challenge=1"); code != 404 {
		t.Fatalf("unknown channel: %d, want 404", code)
	}
	if h.outcome("wa-main", metrics.OutcomeVerified) != 1 || h.outcome("wa-main", metrics.OutcomeForbidden) != 1 || h.outcome(metrics.UnknownChannel, metrics.OutcomeNotFound) != 1 {
		t.Fatal("handshake outcomes not counted as verified/forbidden/not_found")
	}
}

func TestSignatures(t *testing.T) {
	h := newHarness(t, redistest.Client(t), 1<<20)
	body := textBody("wamid.sig1")
	tampered := bytes.Replace(body, []byte("hola"), []byte("HOLA"), 1)
	for _, tc := range []struct {
		name string
		body []byte
		sig  string
	}{
		{"missing", body, ""},
		{"wrong secret", body, "sha256=" + strings.Repeat("ab", 32)},
		{"tampered body", tampered, sign(body)},
		{"no prefix", body, strings.TrimPrefix(sign(body), "sha256=")},
	} {
		if code, _ := h.post(t, "wa-main", tc.body, tc.sig); code != http.StatusUnauthorized {
			t.Errorf("%s signature: status %d, want 401", tc.name, code)
		}
	}
	if n := h.queued(t, queue.QueueInbound); n != 0 {
		t.Fatalf("%d tasks queued from unauthenticated requests, want 0", n)
	}
	if got := h.outcome("wa-main", metrics.OutcomeUnauthorized); got != 4 {
		t.Fatalf("unauthorized count = %v, want 4", got)
	}
	if code, _ := h.post(t, "wa-main", body, sign(body)); code != http.StatusOK {
		t.Fatalf("good signature: status %d, want 200", code)
	}
	if n := h.queued(t, queue.QueueInbound); n != 1 {
		t.Fatalf("%d tasks queued after one good request, want 1", n)
	}
}

func TestBatchedEnvelopeQueuesEveryMessageAndStatus(t *testing.T) {
	h := newHarness(t, redistest.Client(t), 1<<20)
	body := []byte(`{"object":"whatsapp_business_account","entry":[
	 {"id":"1","changes":[
	  {"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"` + phoneNumberID + `"},
	   "contacts":[{"profile":{"name":"Ana"},"wa_id":"5511900000001"},{"profile":{"name":"Bruno"},"wa_id":"5511900000002"}],
	   "messages":[
	    {"from":"5511900000001","id":"wamid.b1","timestamp":"1763900000","type":"text","text":{"body":"hola"}},
	    {"from":"5511900000002","id":"wamid.b2","timestamp":"1763900001","type":"image","image":{"id":"media-1","mime_type":"image/jpeg","sha256":"abc","caption":"recibo"}}]}},
	  {"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"` + phoneNumberID + `"},
	   "statuses":[{"id":"wamid.out1","status":"delivered","timestamp":"1763900002","recipient_id":"5511900000001"}]}}]},
	 {"id":"2","changes":[
	  {"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"` + phoneNumberID + `"},
	   "contacts":[{"profile":{"name":"Ana"},"wa_id":"5511900000001"}],
	   "messages":[{"from":"5511900000001","id":"wamid.b3","timestamp":"1763900003","type":"location","location":{"latitude":-23.5,"longitude":-46.6}}]}}]}]}`)
	if code, resp := h.post(t, "wa-main", body, sign(body)); code != http.StatusOK {
		t.Fatalf("status %d %s, want 200", code, resp)
	}
	if n := h.queued(t, queue.QueueInbound); n != 3 {
		t.Fatalf("%d inbound tasks, want 3 (two entries, two changes)", n)
	}
	if n := h.queued(t, queue.QueueStatus); n != 1 {
		t.Fatalf("%d status tasks, want 1", n)
	}
	tasks, err := h.inspector.ListPendingTasks(queue.QueueInbound)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, ti := range tasks {
		m, err := queue.DecodeInbound(ti.Payload)
		if err != nil {
			t.Fatal(err)
		}
		types[m.ID] = m.Type
	}
	if types["wamid.b1"] != "text" || types["wamid.b2"] != "image" || types["wamid.b3"] != "location" {
		t.Fatalf("queued message types = %v", types)
	}
}

func TestDuplicateDeliveryQueuesOnce(t *testing.T) {
	h := newHarness(t, redistest.Client(t), 1<<20)
	body := textBody("wamid.dup1")
	for i := range 3 {
		if code, _ := h.post(t, "wa-main", body, sign(body)); code != http.StatusOK {
			t.Fatalf("delivery %d: status %d, want 200 (a redelivery is acknowledged)", i, code)
		}
	}
	if n := h.queued(t, queue.QueueInbound); n != 1 {
		t.Fatalf("%d tasks after 3 deliveries of one wamid, want 1", n)
	}
	if got := testutil.ToFloat64(h.metrics.DuplicateMessages.WithLabelValues("wa-main", whatsapp.KindName)); got != 2 {
		t.Fatalf("duplicates counted = %v, want 2", got)
	}
}

func TestBadRequests(t *testing.T) {
	h := newHarness(t, redistest.Client(t), 4096)
	notJSON := []byte(`{"object":"whatsapp_business_account","entry":[`)
	if code, _ := h.post(t, "wa-main", notJSON, sign(notJSON)); code != http.StatusBadRequest {
		t.Errorf("truncated JSON: %d, want 400", code)
	}
	big := textBody("wamid.big-" + strings.Repeat("x", 5000))
	if code, _ := h.post(t, "wa-main", big, sign(big)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("body over the limit: %d, want 413", code)
	}
	ok := textBody("wamid.ok")
	if code, body := h.post(t, "nope", ok, sign(ok)); code != http.StatusNotFound || !strings.Contains(body, `"code":"not_found"`) {
		t.Errorf("unknown channel: %d %s, want 404 with the JSON error shape", code, body)
	}
	if n := h.queued(t, queue.QueueInbound); n != 0 {
		t.Fatalf("%d tasks queued from bad requests, want 0", n)
	}
	if h.outcome("wa-main", metrics.OutcomeBadRequest) != 1 || h.outcome("wa-main", metrics.OutcomeTooLarge) != 1 || h.outcome(metrics.UnknownChannel, metrics.OutcomeNotFound) != 1 {
		t.Fatal("bad requests not counted by outcome")
	}
}

// A body sent without Content-Length (chunked) is still held to the limit.
func TestChunkedBodyOverLimit(t *testing.T) {
	h := newHarness(t, redistest.Client(t), 4096)
	big := textBody("wamid.chunked-" + strings.Repeat("y", 5000))
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/webhooks/wa-main", io.MultiReader(bytes.NewReader(big)))
	req.ContentLength = -1
	req.Header.Set("X-Hub-Signature-256", sign(big))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked body over the limit: %d, want 413", resp.StatusCode)
	}
}

// With Redis unreachable the provider gets 503 (and retries), and nothing
// is counted as accepted.
func TestRedisDownAnswers503(t *testing.T) {
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { down.Close() })
	h := newHarness(t, down, 1<<20)
	body := textBody("wamid.down")
	if code, resp := h.post(t, "wa-main", body, sign(body)); code != http.StatusServiceUnavailable {
		t.Fatalf("status %d %s, want 503", code, resp)
	}
	if h.outcome("wa-main", metrics.OutcomeAccepted) != 0 || h.outcome("wa-main", metrics.OutcomeUnavailable) != 1 {
		t.Fatal("a request that could not be queued was counted as accepted")
	}
	resp, err := http.Get(h.srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with Redis down: %d, want 503", resp.StatusCode)
	}
	resp, err = http.Get(h.srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz with Redis down: %d, want 200 (the process is alive)", resp.StatusCode)
	}
}

func TestReadyAndMetrics(t *testing.T) {
	h := newHarness(t, redistest.Client(t), 1<<20)
	resp, err := http.Get(h.srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/readyz: %d, want 200", resp.StatusCode)
	}
	body := textBody("wamid.m1")
	h.post(t, "wa-main", body, sign(body))
	resp, err = http.Get(h.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`switchboard_webhook_requests_total{channel="wa-main",kind="whatsapp_cloud",outcome="accepted"} 1`,
		`switchboard_webhook_request_duration_seconds_bucket{channel="wa-main",kind="whatsapp_cloud"`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(string(b), "5511900000001") {
		t.Error("/metrics exposes a phone number")
	}
}

// The queued payload is the normalized message, with what the customer sent.
func TestQueuedPayload(t *testing.T) {
	h := newHarness(t, redistest.Client(t), 1<<20)
	body := textBody("wamid.p1")
	if code, _ := h.post(t, "wa-main", body, sign(body)); code != 200 {
		t.Fatalf("status %d", code)
	}
	tasks, err := h.inspector.ListPendingTasks(queue.QueueInbound)
	if err != nil || len(tasks) != 1 {
		t.Fatalf("pending tasks: %v, %v", tasks, err)
	}
	var m channels.Inbound
	if err := json.Unmarshal(tasks[0].Payload, &m); err != nil {
		t.Fatal(err)
	}
	if m.Channel != "wa-main" || m.From != "5511900000001" || m.Text != "hola 0" || m.ProfileName != "Ana" || m.Timestamp.Unix() != 1763900000 {
		t.Fatalf("queued message = %+v", m)
	}
	if tasks[0].ID != "in:wa-main:wamid.p1" {
		t.Fatalf("task id %q, want one derived from channel and wamid", tasks[0].ID)
	}
}

// envelope wraps messages and statuses (JSON arrays' contents) in one
// change of Meta's envelope for the harness's number.
func envelope(contacts, messages, statuses string) []byte {
	return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"` + phoneNumberID + `"},"contacts":[` + contacts + `],"messages":[` + messages + `],"statuses":[` + statuses + `]}}]}]}`)
}

// pendingInbound is the queued inbound messages by id.
func (h *harness) pendingInbound(t *testing.T) map[string]channels.Inbound {
	t.Helper()
	tasks, err := h.inspector.ListPendingTasks(queue.QueueInbound)
	if err != nil {
		return nil
	}
	out := map[string]channels.Inbound{}
	for _, ti := range tasks {
		m, err := queue.DecodeInbound(ti.Payload)
		if err != nil {
			t.Fatal(err)
		}
		out[m.ID] = *m
	}
	return out
}

func (h *harness) unparsed(item string) float64 {
	return testutil.ToFloat64(h.metrics.UnparsedMessages.WithLabelValues("wa-main", whatsapp.KindName, item))
}

// A message from a user known only by a business-scoped user id (no
// "from") is queued, keyed by that id, instead of failing the request.
func TestMessageFromBSUIDIsQueued(t *testing.T) {
	h := newHarness(t, redistest.Client(t), 1<<20)
	body := envelope(`{"profile":{"name":"Ana","username":"@ana"},"user_id":"BR.1502576394655843"}`,
		`{"from_user_id":"BR.1502576394655843","id":"wamid.bsuid1","timestamp":"1763900000","type":"text","text":{"body":"hola"}}`, "")
	if code, resp := h.post(t, "wa-main", body, sign(body)); code != http.StatusOK {
		t.Fatalf("status %d %s, want 200", code, resp)
	}
	m, ok := h.pendingInbound(t)["wamid.bsuid1"]
	if !ok || m.From != "BR.1502576394655843" || m.Username != "@ana" || m.ProfileName != "Ana" || m.Text != "hola" {
		t.Fatalf("queued = %+v (found %t), want the message keyed by the BSUID", m, ok)
	}
}

// One message Switchboard cannot read costs nothing to the others of its
// request: they are queued, the odd one is queued raw when it has an id
// and a sender, every odd item is counted, and Meta gets 200 so it does
// not retry the batch.
func TestOddMessageCostsNoOthers(t *testing.T) {
	h := newHarness(t, redistest.Client(t), 1<<20)
	// Counted first: reading a series by its labels would create it.
	if n := testutil.CollectAndCount(h.metrics.UnparsedMessages); n != len(channels.Items) {
		t.Fatalf("%d unparsed series before any request, want %d (initialised at zero)", n, len(channels.Items))
	}
	if n := testutil.CollectAndCount(h.metrics.IgnoredMessages); n != len(channels.IgnoredReasons) {
		t.Fatalf("%d ignored series before any request, want %d (initialised at zero)", n, len(channels.IgnoredReasons))
	}
	body := envelope(`{"profile":{"name":"Ana"},"wa_id":"5511900000001"}`,
		`{"from":"5511900000001","id":"wamid.o1","timestamp":"1763900000","type":"text","text":{"body":"uno"}},
		 {"from":"5511900000001","id":"wamid.o2","timestamp":"1763900001","type":"text","text":["not","an","object"]},
		 {"from":"5511900000001","timestamp":"1763900002","type":"text","text":{"body":"no id"}},
		 {"from":"5511900000001","id":"wamid.o3","timestamp":"1763900003","type":"text","text":{"body":"tres"}}`,
		`{"id":"wamid.out1","status":"delivered","timestamp":"1763900004","recipient_id":"5511900000001"},
		 {"status":"delivered","timestamp":"1763900004"}`)
	if code, resp := h.post(t, "wa-main", body, sign(body)); code != http.StatusOK {
		t.Fatalf("status %d %s, want 200", code, resp)
	}
	got := h.pendingInbound(t)
	if len(got) != 3 || got["wamid.o1"].Text != "uno" || got["wamid.o3"].Text != "tres" {
		t.Fatalf("queued = %+v, want o1, o2 and o3", got)
	}
	if odd := got["wamid.o2"]; odd.Type != channels.TypeUnknown || odd.ProviderType != "text" || !strings.Contains(string(odd.Raw), `"not","an","object"`) {
		t.Fatalf("odd message queued as %+v, want type unknown with its raw payload", odd)
	}
	if n := h.queued(t, queue.QueueStatus); n != 1 {
		t.Fatalf("%d status tasks, want the good one", n)
	}
	if h.unparsed(channels.ItemMessage) != 2 || h.unparsed(channels.ItemStatus) != 1 {
		t.Fatalf("unparsed messages %v, statuses %v; want 2 and 1", h.unparsed(channels.ItemMessage), h.unparsed(channels.ItemStatus))
	}
	if h.outcome("wa-main", metrics.OutcomeAccepted) != 1 {
		t.Fatal("the request was not counted as accepted")
	}
	// A body that is not Meta's envelope is still refused.
	for _, bad := range [][]byte{[]byte("not json"), []byte(`{"object":"page","entry":[]}`)} {
		if code, _ := h.post(t, "wa-main", bad, sign(bad)); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", bad, code)
		}
	}
}

// A Groups API message is not applied as a one-to-one text: nothing is
// queued, it is counted as ignored, and the request is acknowledged.
func TestGroupMessageIsIgnored(t *testing.T) {
	h := newHarness(t, redistest.Client(t), 1<<20)
	body := envelope(`{"profile":{"name":"Ana"},"wa_id":"5511900000001"}`,
		`{"from":"5511900000001","group_id":"Y2FwaV9ncm91cDoxNzA1NTU1MDEzOToxMjAzNjM0MDQ2OTQyMzM4MjAZD","id":"wamid.g1","timestamp":"1763900000","type":"text","text":{"body":"hola grupo"}}`, "")
	if code, resp := h.post(t, "wa-main", body, sign(body)); code != http.StatusOK {
		t.Fatalf("status %d %s, want 200", code, resp)
	}
	if n := h.queued(t, queue.QueueInbound); n != 0 {
		t.Fatalf("%d inbound tasks from a group message, want 0", n)
	}
	if got := testutil.ToFloat64(h.metrics.IgnoredMessages.WithLabelValues("wa-main", whatsapp.KindName, channels.IgnoredGroup)); got != 1 {
		t.Fatalf("ignored{reason=group} = %v, want 1", got)
	}
}
