package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"switchboard/gateway"
	"switchboard/internal/logbuf"
)

type pingFunc func(context.Context) error

func (f pingFunc) Ping(ctx context.Context) error { return f(ctx) }

func newGateway(t *testing.T, trusted []*net.IPNet, redisErr error) (*echo.Echo, *logbuf.Buffer) {
	logs := &logbuf.Buffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	e := gateway.New(gateway.Options{
		Redis:          pingFunc(func(context.Context) error { return redisErr }),
		Gatherer:       prometheus.NewRegistry(),
		Logger:         logger,
		TrustedProxies: trusted,
	})
	e.GET("/ip", func(c echo.Context) error { return c.String(200, c.RealIP()) })
	return e, logs
}

func serve(e *echo.Echo, method, target, remote string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, target, nil)
	req.RemoteAddr = remote
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

// Without trusted proxies, a client cannot choose its logged IP with
// X-Forwarded-For; behind a trusted proxy, the forwarded address is used.
func TestClientIPPolicy(t *testing.T) {
	xff := http.Header{"X-Forwarded-For": {"203.0.113.9"}}
	e, _ := newGateway(t, nil, nil)
	if got := serve(e, "GET", "/ip", "198.51.100.7:5000", xff).Body.String(); got != "198.51.100.7" {
		t.Fatalf("untrusted peer: client IP %q, want the TCP peer 198.51.100.7", got)
	}
	_, proxies, _ := net.ParseCIDR("10.0.0.0/8")
	e, _ = newGateway(t, []*net.IPNet{proxies}, nil)
	if got := serve(e, "GET", "/ip", "10.1.2.3:5000", xff).Body.String(); got != "203.0.113.9" {
		t.Fatalf("trusted proxy: client IP %q, want the forwarded 203.0.113.9", got)
	}
	if got := serve(e, "GET", "/ip", "198.51.100.7:5000", xff).Body.String(); got != "198.51.100.7" {
		t.Fatalf("untrusted peer with proxies configured: client IP %q, want 198.51.100.7", got)
	}
}

// Request logs carry the path, never the query string, where Meta's
// handshake puts the verify token.
func TestRequestLogsOmitQueryString(t *testing.T) {
	e, logs := newGateway(t, nil, nil)
	serve(e, "GET", "/healthz?hub.verify_token=SECRET-TOKEN&hub.challenge=1", "198.51.100.7:5000", nil)
	out := logs.String()
	if strings.Contains(out, "SECRET-TOKEN") {
		t.Fatalf("the log contains the query string's token:\n%s", out)
	}
	var line struct {
		Msg    string `json:"msg"`
		Path   string `json:"path"`
		Status int    `json:"status"`
		IP     string `json:"remote_ip"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &line); err != nil {
		t.Fatalf("log line is not one JSON object: %v\n%s", err, out)
	}
	if line.Msg != "http request" || line.Path != "/healthz" || line.Status != 200 || line.IP != "198.51.100.7" {
		t.Fatalf("log line = %+v", line)
	}
}

func TestReadiness(t *testing.T) {
	e, _ := newGateway(t, nil, errors.New("connection refused"))
	if rec := serve(e, "GET", "/readyz", "127.0.0.1:1", nil); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with Redis down = %d, want 503", rec.Code)
	}
	if rec := serve(e, "GET", "/healthz", "127.0.0.1:1", nil); rec.Code != http.StatusOK {
		t.Fatalf("/healthz with Redis down = %d, want 200", rec.Code)
	}
	e, _ = newGateway(t, nil, nil)
	if rec := serve(e, "GET", "/readyz", "127.0.0.1:1", nil); rec.Code != http.StatusOK {
		t.Fatalf("/readyz with Redis up = %d, want 200", rec.Code)
	}
}

// /readyz checks the database beside Redis, and says which one fails.
func TestReadinessChecksTheDatabase(t *testing.T) {
	var dbErr error
	logs := &logbuf.Buffer{}
	e := gateway.New(gateway.Options{
		Redis:    pingFunc(func(context.Context) error { return nil }),
		Database: pingFunc(func(context.Context) error { return dbErr }),
		Gatherer: prometheus.NewRegistry(),
		Logger:   slog.New(slog.NewJSONHandler(logs, nil)),
	})
	readyz := func() (int, map[string]any) {
		rec := serve(e, "GET", "/readyz", "127.0.0.1:1", nil)
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("/readyz body %q: %v", rec.Body, err)
		}
		return rec.Code, body
	}
	if code, body := readyz(); code != http.StatusOK || body["database"] != "ok" || body["redis"] != "ok" || body["status"] != "ok" {
		t.Fatalf("/readyz with both up = %d %v", code, body)
	}
	dbErr = errors.New("ping database db:5432/switchboard: connection refused")
	if code, body := readyz(); code != http.StatusServiceUnavailable || body["database"] != "unreachable" || body["redis"] != "ok" || body["status"] != "unavailable" {
		t.Fatalf("/readyz with the database down = %d %v, want 503 naming the database", code, body)
	}
	if !strings.Contains(logs.String(), "not ready: database unreachable") || !strings.Contains(logs.String(), "connection refused") {
		t.Fatalf("the log does not say why the process is not ready:\n%s", logs)
	}
	if rec := serve(e, "GET", "/healthz", "127.0.0.1:1", nil); rec.Code != http.StatusOK {
		t.Fatalf("/healthz with the database down = %d, want 200: the process is alive, restarting it would not help", rec.Code)
	}
}

func TestReadinessReportsHeldChannels(t *testing.T) {
	states := map[string]gateway.ChannelState{}
	e := gateway.New(gateway.Options{
		Redis:    pingFunc(func(context.Context) error { return nil }),
		Gatherer: prometheus.NewRegistry(),
		Logger:   slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Channels: func() map[string]gateway.ChannelState { return states },
	})
	states["wa-linked"] = gateway.ChannelState{State: "disconnected"}
	rec := serve(e, "GET", "/readyz", "127.0.0.1:1", nil)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"wa-linked":"disconnected"`) {
		t.Fatalf("a down channel not required for readiness: %d %s; want 200 naming its state", rec.Code, rec.Body)
	}
	states["wa-linked"] = gateway.ChannelState{State: "disconnected", Blocking: true}
	if rec := serve(e, "GET", "/readyz", "127.0.0.1:1", nil); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("a down channel required for readiness: %d, want 503", rec.Code)
	}
}

// Echo's own errors (unknown route, wrong method) use the JSON error shape.
func TestErrorsUseTheJSONShape(t *testing.T) {
	e, _ := newGateway(t, nil, nil)
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/nope", 404, "not_found"},
		{"DELETE", "/healthz", 405, "method_not_allowed"},
	} {
		rec := serve(e, tc.method, tc.path, "127.0.0.1:1", nil)
		var body struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		b, _ := io.ReadAll(rec.Body)
		if err := json.Unmarshal(b, &body); err != nil || rec.Code != tc.status || body.Error.Code != tc.code {
			t.Errorf("%s %s = %d %s, want %d with code %s", tc.method, tc.path, rec.Code, b, tc.status, tc.code)
		}
	}
}
