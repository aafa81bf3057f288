// Package gateway assembles Switchboard's HTTP server: Echo with its
// middleware (recovery, request logs, client-IP policy, JSON errors), the
// operational endpoints (/healthz, /readyz, /metrics) and the provider
// webhooks. Handlers live in their own packages; this one only wires them.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"switchboard/httperror"
	"switchboard/webhook"
)

// Pinger reports whether a dependency answers; readiness depends on it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Routes is a set of handlers that registers its own routes.
type Routes interface {
	Register(e *echo.Echo)
}

// ChannelState is a held channel connection's state, as /readyz shows it.
type ChannelState struct {
	State string
	// Blocking makes the process not ready (the channel is configured as
	// required for readiness and is down).
	Blocking bool
}

// Options configure the gateway.
type Options struct {
	Webhooks *webhook.Handler
	// API is the /api/v1 JSON API, if this process serves it.
	API Routes
	// Console is the web console at /, served with the API.
	Console Routes
	// Redis is checked by /readyz.
	Redis Pinger
	// Database, the system of record, is checked by /readyz: a process
	// that cannot read conversations, accounts or settings serves errors.
	// serve always sets it; nil (tests of other handlers) is not checked.
	Database Pinger
	// Channels reports the connections this process holds (linked
	// devices), for /readyz; nil when it holds none.
	Channels func() map[string]ChannelState
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
	// TrustedProxies are the CIDRs whose X-Forwarded-For is believed.
	TrustedProxies []*net.IPNet
}

// New returns the configured Echo instance.
func New(o Options) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.IPExtractor = ipExtractor(o.TrustedProxies)
	e.HTTPErrorHandler = errorHandler(o.Logger)

	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			o.Logger.Error("handler panic", "path", c.Path(), "err", err, "stack", string(stack))
			return err
		},
	}))
	e.Use(requestLogger(o.Logger))
	e.Use(securityHeaders)

	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.GET("/readyz", func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), time.Second)
		defer cancel()
		body := map[string]any{"status": "ok", "redis": "ok"}
		status := http.StatusOK
		if err := o.Redis.Ping(ctx); err != nil {
			o.Logger.Warn("not ready: redis unreachable", "err", err)
			body["status"], body["redis"], status = "unavailable", "unreachable", http.StatusServiceUnavailable
		}
		if o.Database != nil {
			body["database"] = "ok"
			if err := o.Database.Ping(ctx); err != nil {
				o.Logger.Warn("not ready: database unreachable", "err", err)
				body["status"], body["database"], status = "unavailable", "unreachable", http.StatusServiceUnavailable
			}
		}
		if o.Channels != nil {
			states := map[string]string{}
			for id, st := range o.Channels() {
				states[id] = st.State
				if st.Blocking {
					body["status"], status = "unavailable", http.StatusServiceUnavailable
				}
			}
			body["channels"] = states
		}
		return c.JSON(status, body)
	})
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(o.Gatherer, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(o.Logger.Handler(), slog.LevelError),
		EnableOpenMetrics: true,
	})))
	if o.Webhooks != nil {
		o.Webhooks.Register(e)
	}
	if o.API != nil {
		o.API.Register(e)
	}
	if o.Console != nil {
		o.Console.Register(e)
	}
	return e
}

// securityHeaders sets, on every response, what a browser needs to treat
// Switchboard's answers safely: no MIME sniffing (a JSON body must never
// run as a page), no referrer leaking ids in URLs, no framing (the console
// cannot be clickjacked). API and auth answers carry tokens, phone numbers
// and conversations: no cache, browser's or proxy's, may keep them.
// The headers are set before the handler runs, so errors carry them too.
func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Content-Security-Policy", "frame-ancestors 'none'")
		if strings.HasPrefix(c.Request().URL.Path, "/api/") {
			h.Set("Cache-Control", "no-store")
		}
		return next(c)
	}
}

// ipExtractor takes the client address from the TCP peer unless the peer is
// a trusted proxy: X-Forwarded-For from anyone else could be forged.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{
		echo.TrustLoopback(false),
		echo.TrustLinkLocal(false),
		echo.TrustPrivateNet(false),
	}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// requestLogger logs one structured line per request. It logs the route
// pattern and path only: query strings can carry tokens (Meta's
// hub.verify_token), and bodies carry phone numbers and texts.
func requestLogger(logger *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus:    true,
		LogMethod:    true,
		LogURIPath:   true,
		LogRoutePath: true,
		LogRemoteIP:  true,
		LogLatency:   true,
		LogError:     true,
		HandleError:  true,
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
			}
			logger.LogAttrs(c.Request().Context(), level, "http request",
				slog.String("method", v.Method),
				slog.String("path", v.URIPath),
				slog.String("route", v.RoutePath),
				slog.Int("status", v.Status),
				slog.Float64("latency_ms", float64(v.Latency.Microseconds())/1000),
				slog.String("remote_ip", v.RemoteIP),
			)
			return nil
		},
	})
}

// errorHandler answers every error, including Echo's own 404 and 405, in
// Switchboard's JSON error shape.
func errorHandler(logger *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status, code, msg := http.StatusInternalServerError, "internal", "internal error"
		var he *echo.HTTPError
		if errors.As(err, &he) {
			status = he.Code
			code = codeFor(status)
			msg = fmt.Sprint(he.Message)
		} else {
			logger.Error("unhandled error", "path", c.Path(), "err", err)
		}
		if c.Request().Method == http.MethodHead {
			err = c.NoContent(status)
		} else {
			err = httperror.Write(c, status, code, msg)
		}
		if err != nil {
			logger.Debug("write error response", "err", err)
		}
	}
}

func codeFor(status int) string {
	switch status {
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	case http.StatusBadRequest:
		return "bad_request"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusServiceUnavailable:
		return "unavailable"
	default:
		return "internal"
	}
}
