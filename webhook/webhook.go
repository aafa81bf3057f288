// Package webhook is the gateway's front door: the Echo handlers that
// providers POST to. Each request is verified, parsed, deduplicated and
// durably queued, in that order, and only then answered with 200, so a
// provider's retry covers every failure before that point.
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/channels"
	"switchboard/clock"
	"switchboard/httperror"
	"switchboard/metrics"
	"switchboard/queue"
)

// Enqueuer durably queues what a webhook carried. *queue.Client implements it.
type Enqueuer interface {
	EnqueueInbound(ctx context.Context, m *channels.Inbound) error
	EnqueueStatus(ctx context.Context, s *channels.Status) error
}

var _ Enqueuer = (*queue.Client)(nil)

// Handler serves /webhooks/{channel_id}.
type Handler struct {
	channels     channels.Set
	queue        Enqueuer
	metrics      *metrics.Metrics
	logger       *slog.Logger
	clock        clock.Clock
	maxBodyBytes int64
	// enqueueTimeout bounds the wait on Redis, so a stalled Redis answers
	// 503 quickly and the provider retries instead of timing out.
	enqueueTimeout time.Duration
}

// Options configure a Handler.
type Options struct {
	Channels       channels.Set
	Queue          Enqueuer
	Metrics        *metrics.Metrics
	Logger         *slog.Logger
	Clock          clock.Clock
	MaxBodyBytes   int64
	EnqueueTimeout time.Duration
}

// New returns a Handler.
func New(o Options) *Handler {
	if o.EnqueueTimeout == 0 {
		o.EnqueueTimeout = 5 * time.Second
	}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	// The counters of unread and ignored items start at zero for every
	// webhook channel, so rate() and alerts see them before the first one.
	for _, ch := range o.Channels {
		if _, ok := ch.(channels.WebhookReceiver); !ok {
			continue
		}
		for _, item := range channels.Items {
			o.Metrics.UnparsedMessages.WithLabelValues(ch.ID(), ch.Kind(), item)
		}
		for _, reason := range channels.IgnoredReasons {
			o.Metrics.IgnoredMessages.WithLabelValues(ch.ID(), ch.Kind(), reason)
		}
	}
	return &Handler{
		channels:       o.Channels,
		queue:          o.Queue,
		metrics:        o.Metrics,
		logger:         o.Logger,
		clock:          o.Clock,
		maxBodyBytes:   o.MaxBodyBytes,
		enqueueTimeout: o.EnqueueTimeout,
	}
}

// Register adds the webhook routes to e.
func (h *Handler) Register(e *echo.Echo) {
	e.POST("/webhooks/:channel", h.receive)
	e.GET("/webhooks/:channel", h.handshake)
}

// receive handles a provider's POST: verify, parse, dedupe, enqueue, 200.
func (h *Handler) receive(c echo.Context) error {
	start := time.Now()
	id := c.Param("channel")
	ch, ok := h.channels[id].(channels.WebhookReceiver)
	if !ok {
		return h.answer(c, nil, start, metrics.OutcomeNotFound, http.StatusNotFound, "unknown channel")
	}

	body, err := h.readBody(c.Request())
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return h.answer(c, ch, start, metrics.OutcomeTooLarge, http.StatusRequestEntityTooLarge, "body too large")
		}
		// The client went away mid-body; nothing was queued, it will retry.
		h.logger.Info("webhook body read failed", "channel", id, "err", err)
		return h.answer(c, ch, start, metrics.OutcomeBadRequest, http.StatusBadRequest, "body could not be read")
	}

	if err := ch.Verify(c.Request(), body); err != nil {
		h.logger.Warn("webhook signature rejected", "channel", id, "remote_ip", c.RealIP(), "err", err)
		return h.answer(c, ch, start, metrics.OutcomeUnauthorized, http.StatusUnauthorized, "invalid signature")
	}

	batch, err := ch.Parse(body, h.clock.Now())
	if err != nil {
		h.logger.Warn("webhook body rejected", "channel", id, "err", err)
		return h.answer(c, ch, start, metrics.OutcomeBadRequest, http.StatusBadRequest, "malformed body")
	}
	h.countSkipped(c.Request().Context(), ch, batch)

	if err := h.enqueue(c.Request().Context(), ch, batch); err != nil {
		h.logger.Error("webhook not queued; provider will retry", "channel", id, "err", err)
		return h.answer(c, ch, start, metrics.OutcomeUnavailable, http.StatusServiceUnavailable, "queue unavailable")
	}
	if a, ok := ch.(channels.Acknowledger); ok {
		h.observe(ch, start, metrics.OutcomeAccepted)
		if contentType, body := a.Ack(batch); len(body) > 0 {
			return c.Blob(http.StatusOK, contentType, body)
		}
		return c.NoContent(http.StatusOK)
	}
	return h.answer(c, ch, start, metrics.OutcomeAccepted, http.StatusOK, "")
}

// countSkipped counts and logs the items of a batch that are not queued
// as read: the unparsed ones and the ignored ones. The request is still
// answered 200 once the rest is queued; refusing it would make the
// provider retry every message in it for as long as the odd one stays.
// The raw bytes may hold a customer's number or words, so they are only
// logged at debug level.
func (h *Handler) countSkipped(ctx context.Context, ch channels.Channel, b channels.Batch) {
	for _, u := range b.Unparsed {
		h.metrics.UnparsedMessages.WithLabelValues(ch.ID(), ch.Kind(), u.Item).Inc()
		h.logger.WarnContext(ctx, "webhook item not understood; the rest of the request is queued",
			"channel", ch.ID(), "item", u.Item, "kept_as_unknown", u.Kept, "reason", u.Reason, "bytes", len(u.Raw))
		h.logger.DebugContext(ctx, "webhook item not understood, raw", "channel", ch.ID(), "item", u.Item, "raw", string(u.Raw))
	}
	for _, reason := range b.Ignored {
		h.metrics.IgnoredMessages.WithLabelValues(ch.ID(), ch.Kind(), reason).Inc()
	}
}

// enqueue queues every message and status of a batch. It stops at the first
// failure: the provider retries the whole request, and what was queued
// before the failure is then recognised as a duplicate.
func (h *Handler) enqueue(ctx context.Context, ch channels.Channel, b channels.Batch) error {
	ctx, cancel := context.WithTimeout(ctx, h.enqueueTimeout)
	defer cancel()
	for i := range b.Messages {
		if err := h.queue.EnqueueInbound(ctx, &b.Messages[i]); err != nil {
			if !errors.Is(err, queue.ErrDuplicate) {
				return err
			}
			h.metrics.DuplicateMessages.WithLabelValues(ch.ID(), ch.Kind()).Inc()
		}
	}
	for i := range b.Statuses {
		if err := h.queue.EnqueueStatus(ctx, &b.Statuses[i]); err != nil && !errors.Is(err, queue.ErrDuplicate) {
			return err
		}
	}
	return nil
}

// handshake answers a provider's GET verification of the webhook URL.
func (h *Handler) handshake(c echo.Context) error {
	start := time.Now()
	id := c.Param("channel")
	ch := h.channels[id]
	hs, ok := ch.(channels.Handshaker)
	if !ok {
		return h.answer(c, nil, start, metrics.OutcomeNotFound, http.StatusNotFound, "unknown channel")
	}
	challenge, ok := hs.Handshake(c.QueryParams())
	if !ok {
		h.logger.Warn("webhook verification refused", "channel", id, "remote_ip", c.RealIP())
		return h.answer(c, ch, start, metrics.OutcomeForbidden, http.StatusForbidden, "verification failed")
	}
	h.observe(ch, start, metrics.OutcomeVerified)
	return c.String(http.StatusOK, challenge)
}

// answer records the outcome and writes the response. Error bodies say
// only what the provider needs to know.
func (h *Handler) answer(c echo.Context, ch channels.Channel, start time.Time, outcome string, status int, msg string) error {
	h.observe(ch, start, outcome)
	if status == http.StatusOK {
		return c.NoContent(http.StatusOK)
	}
	return httperror.Write(c, status, outcome, msg)
}

// observe counts and times a request. ch is nil for an unknown channel id,
// which gets one shared label so a scanner cannot create new series.
func (h *Handler) observe(ch channels.Channel, start time.Time, outcome string) {
	id, kind := metrics.UnknownChannel, metrics.UnknownChannel
	if ch != nil {
		id, kind = ch.ID(), ch.Kind()
	}
	h.metrics.WebhookRequests.WithLabelValues(id, kind, outcome).Inc()
	h.metrics.WebhookDuration.WithLabelValues(id, kind).Observe(time.Since(start).Seconds())
}

// readBody reads the whole body, refusing more than maxBodyBytes with an
// *http.MaxBytesError before reading it when Content-Length says so.
func (h *Handler) readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > h.maxBodyBytes {
		return nil, &http.MaxBytesError{Limit: h.maxBodyBytes}
	}
	size := 512
	if r.ContentLength > 0 {
		size = int(r.ContentLength) + 1 // +1 so EOF is read without growing
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	if _, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, h.maxBodyBytes)); err != nil {
		return nil, fmt.Errorf("read body: %w", err)
	}
	return buf.Bytes(), nil
}
