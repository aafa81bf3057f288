// Package worker is the consuming side of the queue: the asynq handlers that
// turn tasks into calls on the conversations service (inbound messages,
// delivery statuses, routing timers) and send outbound messages through
// their channel. It holds no business rule of its own.
//
// A handler returns an error to have the task retried with backoff, and an
// error wrapping asynq.SkipRetry when retrying cannot help. Handlers never
// sleep or loop on a failure: the queue retries.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"switchboard/auth"
	"switchboard/blob"
	"switchboard/channels"
	"switchboard/clock"
	"switchboard/conversations"
	"switchboard/metrics"
	"switchboard/queue"
	"switchboard/ratelimit"
	"switchboard/routing"
)

// Worker holds the handlers' dependencies.
type Worker struct {
	conv     *conversations.Service
	channels channels.Set
	metrics  *metrics.Metrics
	logger   *slog.Logger
	clock    clock.Clock
	otp      OTPTemplate
	limiter  *ratelimit.Limiter
	retain   time.Duration
	audit    *auth.Audit
	blobs    blob.Store
	links    MediaLinks
	// mediaLimits caps an inbound file per kind.
	mediaLimits func(kind string) int64
}

// OTPTemplate names the provider template login codes are sent with.
type OTPTemplate struct {
	Name     string
	Language string
}

// Options configure a Worker.
type Options struct {
	// Audit records what routing does on its own to CS staff's queries
	// (taking a query from someone who no longer serves it); nil records
	// nothing.
	Audit *auth.Audit
	// Conversations applies what the tasks carry and routes.
	Conversations *conversations.Service
	Channels      channels.Set
	Metrics       *metrics.Metrics
	Logger        *slog.Logger
	Clock         clock.Clock
	// OTP is the authentication template for login codes.
	OTP OTPTemplate
	// Limiter enforces the channels' send rate limits; nil enforces none.
	Limiter *ratelimit.Limiter
	// RetainMessages is how long message bodies of closed conversations
	// are kept (retention.messages); 0 keeps them.
	RetainMessages time.Duration
	// Blobs keeps the files operators send; nil fails every file's send.
	Blobs blob.Store
	// MediaLinks makes the signed links providers fetch files from; nil
	// gives them none (Twilio then refuses files).
	MediaLinks MediaLinks
	// MediaLimits caps an inbound file per kind (media.max_bytes); nil
	// takes config's defaults.
	MediaLimits func(kind string) int64
}

// New returns a Worker.
func New(o Options) *Worker {
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	return &Worker{conv: o.Conversations, channels: o.Channels, metrics: o.Metrics, logger: o.Logger,
		clock: o.Clock, otp: o.OTP, limiter: o.Limiter, retain: o.RetainMessages, audit: o.Audit,
		blobs: o.Blobs, links: o.MediaLinks, mediaLimits: o.MediaLimits}
}

// Mux returns the task router with every handler and the observing middleware.
func (w *Worker) Mux() *asynq.ServeMux {
	mux := asynq.NewServeMux()
	mux.Use(w.observe)
	mux.HandleFunc(queue.TypeInbound, w.handleInbound)
	mux.HandleFunc(queue.TypeStatus, w.handleStatus)
	mux.HandleFunc(queue.TypeOutbound, w.handleOutbound)
	mux.HandleFunc(queue.TypeSessionEnd, w.handleSessionEnd)
	mux.HandleFunc(queue.TypeNoReply, w.handleNoReply)
	mux.HandleFunc(queue.TypeRelease, w.handleRelease)
	mux.HandleFunc(queue.TypeSLAFirstResponse, w.handleSLA(conversations.SLAFirstResponse))
	mux.HandleFunc(queue.TypeSLAResolution, w.handleSLA(conversations.SLAResolution))
	mux.HandleFunc(queue.TypeCSAT, w.handleCSAT)
	mux.HandleFunc(queue.TypeDispatch, w.handleDispatch)
	mux.HandleFunc(queue.TypeReturn, w.handleReturn)
	mux.HandleFunc(queue.TypeRecheck, w.handleRecheck)
	mux.HandleFunc(queue.TypePresenceCheck, w.handlePresenceCheck)
	mux.HandleFunc(queue.TypeOTP, w.handleOTP)
	mux.HandleFunc(queue.TypeRetention, w.handleRetention)
	mux.HandleFunc(queue.TypeOutbox, w.handleOutbox)
	mux.HandleFunc(queue.TypeMediaFetch, w.handleMediaFetch)
	return mux
}

// handleInbound applies one customer message and routes its conversation.
func (w *Worker) handleInbound(ctx context.Context, t *asynq.Task) error {
	m, err := queue.DecodeInbound(t.Payload())
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	_, err = w.conv.ApplyInbound(ctx, m, t.Payload())
	return err
}

// timer decodes a routing timer task.
func timer(t *asynq.Task) (*queue.Timer, error) {
	tm, err := queue.DecodeTimer(t.Payload())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	return tm, nil
}

func (w *Worker) handleSessionEnd(ctx context.Context, t *asynq.Task) error {
	tm, err := timer(t)
	if err != nil {
		return err
	}
	return w.conv.SessionEnd(ctx, tm.QueryID, tm.Key)
}

func (w *Worker) handleNoReply(ctx context.Context, t *asynq.Task) error {
	tm, err := timer(t)
	if err != nil {
		return err
	}
	return w.conv.NoReply(ctx, tm.QueryID, tm.Key)
}

func (w *Worker) handleRelease(ctx context.Context, t *asynq.Task) error {
	tm, err := timer(t)
	if err != nil {
		return err
	}
	return w.conv.Release(ctx, tm.QueryID)
}

// handleSLA returns the handler of a target's timer of kind.
func (w *Worker) handleSLA(kind string) func(context.Context, *asynq.Task) error {
	return func(ctx context.Context, t *asynq.Task) error {
		tm, err := timer(t)
		if err != nil {
			return err
		}
		return w.conv.SLADeadline(ctx, kind, tm.QueryID)
	}
}

func (w *Worker) handleCSAT(ctx context.Context, t *asynq.Task) error {
	tm, err := timer(t)
	if err != nil {
		return err
	}
	return w.conv.AskCSAT(ctx, tm.QueryID)
}

func (w *Worker) handleDispatch(ctx context.Context, t *asynq.Task) error {
	tm, err := timer(t)
	if err != nil {
		return err
	}
	return w.conv.Dispatch(ctx, tm.Key)
}

func (w *Worker) handleReturn(ctx context.Context, t *asynq.Task) error {
	tm, err := timer(t)
	if err != nil {
		return err
	}
	return w.conv.ReturnUnanswered(ctx, tm.Key)
}

// handleRecheck returns the queries whose assignee no longer serves them
// (see conversations.Service.ReleaseUnserved), each one audited.
func (w *Worker) handleRecheck(ctx context.Context, _ *asynq.Task) error {
	released, err := w.conv.ReleaseUnserved(ctx)
	for _, r := range released {
		if w.audit == nil {
			break
		}
		w.audit.Record(ctx, auth.Entry{Actor: "routing", Action: "conversation.return", Target: r.QueryID,
			Outcome: "taken from " + r.From + ": no longer serves it"})
	}
	return err
}

func (w *Worker) handlePresenceCheck(ctx context.Context, t *asynq.Task) error {
	tm, err := timer(t)
	if err != nil {
		return err
	}
	return w.conv.PresenceCheck(ctx, tm.Key)
}

// errStatusUnmatched is retried a few times: the status of a send can
// arrive before the send's result is recorded.
var errStatusUnmatched = errors.New("no outbound message has this provider id yet")

// handleStatus applies a delivery report to the outbound message it names.
func (w *Worker) handleStatus(ctx context.Context, t *asynq.Task) error {
	s, err := queue.DecodeStatus(t.Payload())
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	res, err := w.conv.ApplyStatus(ctx, s)
	if err != nil {
		return err
	}
	if !res.Found {
		if !lastAttempt(ctx) {
			return errStatusUnmatched
		}
		// Statuses of messages sent by other tools on the same number
		// land here; they are not Switchboard's to keep.
		w.metrics.StatusUpdates.WithLabelValues(s.Channel, s.Kind, metrics.StatusUnknownMessage).Inc()
		return nil
	}
	w.metrics.StatusUpdates.WithLabelValues(s.Channel, s.Kind, s.Status).Inc()
	if s.Status == channels.StatusFailed {
		code := 0
		if len(s.Errors) > 0 {
			code = s.Errors[0].Code
		}
		w.logger.WarnContext(ctx, "provider reports delivery failure", "channel", s.Channel,
			"query", res.QueryID, "message", res.MessageID, "error_code", code)
	}
	return nil
}

// errWindowClosed fails a text whose customer-service window closed before
// it could be sent.
var errWindowClosed = errors.New("outside the 24-hour customer-service window")

// handleOutbound sends one recorded outbound message. A free-form text goes
// only inside the customer-service window at the moment of sending.
func (w *Worker) handleOutbound(ctx context.Context, t *asynq.Task) error {
	o, err := queue.DecodeOutbound(t.Payload())
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	msg, err := w.conv.Message(ctx, o.QueryID, o.MessageID)
	if errors.Is(err, conversations.ErrNotFound) {
		return fmt.Errorf("outbound message %s: %w: %w", o.MessageID, err, asynq.SkipRetry)
	}
	if err != nil {
		return err
	}
	if msg.ProviderID != "" {
		// Sent by an earlier attempt that died before it completed.
		return nil
	}
	q, err := w.conv.Query(ctx, o.QueryID)
	if err != nil {
		return err
	}
	contact, err := w.conv.Contact(ctx, q.ContactID)
	if err != nil {
		return err
	}
	if msg.Template == nil && !routing.WindowOpen(contact.LastInboundAt, w.clock.Now()) {
		// Recorded inside the 24-hour window but waited past it (queued,
		// retried, rate limited): only a template may go now.
		w.metrics.WindowRejections.Inc()
		cause := channels.StatusError{Title: channels.WindowClosedTitle, Message: "more than 24 hours have passed since the customer's last message; only a template can be sent"}
		return w.failOutbound(ctx, o, cause, errWindowClosed)
	}
	if err := w.ready(o.Channel); err != nil {
		return err
	}
	if err := w.takeToken(ctx, o.Channel, func() (bool, error) { return !contact.LastInboundAt.IsZero(), nil }); err != nil {
		return err
	}
	ctx = channels.WithOutboundID(ctx, o.MessageID)
	var providerID string
	if msg.Media != nil {
		var cause *channels.StatusError
		providerID, cause, err = w.sendMedia(ctx, o.Channel, contact.ExternalID, msg)
		if cause != nil {
			return w.failOutbound(ctx, o, *cause, errors.New(cause.Message))
		}
	} else if tpl := msg.Template; tpl != nil {
		sender, ok := w.channels[o.Channel].(channels.TemplateSender)
		if !ok {
			cause := channels.StatusError{Title: "channel cannot send", Message: "channel " + o.Channel + " is not configured or has no templates"}
			return w.failOutbound(ctx, o, cause, errors.New(cause.Message))
		}
		providerID, err = sender.SendTemplate(ctx, contact.ExternalID, tpl.Name, tpl.Language, tpl.Params)
		w.countHSM(err)
	} else if q := msg.Question; q != nil {
		providerID, err = w.sendQuestion(ctx, o.Channel, contact.ExternalID, *q)
		if errors.Is(err, errCannotSend) {
			cause := channels.StatusError{Title: "channel cannot send", Message: "channel " + o.Channel + " is not configured or cannot send text"}
			return w.failOutbound(ctx, o, cause, errors.New(cause.Message))
		}
	} else {
		sender, ok := w.channels[o.Channel].(channels.TextSender)
		if !ok {
			cause := channels.StatusError{Title: "channel cannot send", Message: "channel " + o.Channel + " is not configured or cannot send text"}
			return w.failOutbound(ctx, o, cause, errors.New(cause.Message))
		}
		providerID, err = sender.SendText(ctx, contact.ExternalID, msg.Text)
	}
	if err != nil {
		var se *channels.SendError
		if !errors.As(err, &se) {
			se = &channels.SendError{Retryable: true, Message: err.Error(), Err: err}
		}
		if se.Retryable && !lastAttempt(ctx) {
			w.metrics.OutboundMessages.WithLabelValues(o.Channel, w.kind(o.Channel), metrics.OutboundRetry).Inc()
			w.logger.WarnContext(ctx, "outbound send failed, will retry", "channel", o.Channel,
				"query", o.QueryID, "message", o.MessageID, "http_status", se.HTTPStatus, "code", se.Code)
			return se
		}
		cause := channels.StatusError{Code: se.Code, Title: "send failed", Message: se.Message}
		if se.WindowClosed {
			// The provider's clock disagreed with ours about the 24-hour
			// window; the operator sees the same outcome as a refusal here.
			cause.Title = channels.WindowClosedTitle
			w.metrics.WindowRejections.Inc()
		}
		return w.failOutbound(ctx, o, cause, se)
	}
	if err := w.conv.MarkSent(ctx, o.QueryID, o.MessageID, providerID); err != nil {
		// The provider has the message; retrying would send it twice.
		// The status reports that follow will still find nothing to
		// update, which is the lesser harm.
		w.logger.ErrorContext(ctx, "message sent but not recorded", "channel", o.Channel, "query", o.QueryID, "message", o.MessageID, "err", err)
	}
	w.metrics.OutboundMessages.WithLabelValues(o.Channel, w.kind(o.Channel), metrics.OutboundSent).Inc()
	return nil
}

// handleOTP sends a login code. The task's deadline is the code's expiry,
// so a code is never delivered after it stops working.
func (w *Worker) handleOTP(ctx context.Context, t *asynq.Task) error {
	o, err := queue.DecodeOTP(t.Payload())
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	sender, ok := w.channels[o.Channel].(channels.AuthCodeSender)
	if !ok {
		w.metrics.OTPSends.WithLabelValues(metrics.OutboundFailed).Inc()
		return fmt.Errorf("channel %s cannot send login codes: %w", o.Channel, asynq.SkipRetry)
	}
	to := strings.TrimPrefix(o.Phone, "+")
	if err := w.ready(o.Channel); err != nil {
		return err
	}
	if err := w.takeToken(ctx, o.Channel, func() (bool, error) { return w.conv.HasWritten(ctx, o.Channel, to) }); err != nil {
		return err
	}
	_, err = sender.SendAuthCode(ctx, to, o.Code, w.otp.Name, w.otp.Language)
	if err != nil {
		var se *channels.SendError
		if errors.As(err, &se) && se.Retryable && !lastAttempt(ctx) {
			w.metrics.OTPSends.WithLabelValues(metrics.OutboundRetry).Inc()
			return se
		}
		w.metrics.OTPSends.WithLabelValues(metrics.OutboundFailed).Inc()
		return fmt.Errorf("send login code: %w: %w", err, asynq.SkipRetry)
	}
	w.metrics.OTPSends.WithLabelValues(metrics.OutboundSent).Inc()
	return nil
}

// ErrRateLimited is returned, wrapped in a *RateLimitedError, for a send
// held back by its channel's rate limit. It is not a failure: the task
// waits and runs again without spending one of its retries.
var ErrRateLimited = errors.New("channel send rate limit reached")

// RateLimitedError is a send held back by a rate limit until Wait has passed.
type RateLimitedError struct {
	Channel string
	Wait    time.Duration
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("channel %s: %v; next token in %v", e.Channel, ErrRateLimited, e.Wait)
}

func (e *RateLimitedError) Unwrap() error { return ErrRateLimited }

// takeToken takes a send token from the channel's buckets: the channel's
// own, and the stricter new-contact one when the customer has never
// written to us. It returns a *RateLimitedError when a bucket is empty.
// A Redis failure is returned too: sending past an unknown limit is how a
// linked number gets banned.
//
// known says whether the customer has written; it is only asked when the
// channel limits sends to new contacts.
func (w *Worker) takeToken(ctx context.Context, channel string, known func() (bool, error)) error {
	lim, ok := w.channels[channel].(channels.Limited)
	if !ok || w.limiter == nil {
		return nil
	}
	l := lim.Limits()
	buckets := []ratelimit.Bucket{{Key: ratelimit.Key(channel, "send"), Count: l.Send.Count, Per: l.Send.Per, Burst: l.Send.Burst}}
	stranger := false
	if !l.NewContact.Unlimited() {
		k, err := known()
		if err != nil {
			return err
		}
		stranger = !k
	}
	if stranger {
		buckets = append(buckets, ratelimit.Bucket{Key: ratelimit.Key(channel, "new_contact"), Count: l.NewContact.Count, Per: l.NewContact.Per, Burst: l.NewContact.Burst})
	}
	allowed, wait, err := w.limiter.Take(ctx, buckets...)
	if err != nil {
		return err
	}
	if allowed {
		return nil
	}
	w.metrics.OutboundRateLimited.WithLabelValues(channel, w.kind(channel)).Inc()
	return &RateLimitedError{Channel: channel, Wait: wait}
}

// ready checks that a channel holding a connection can send from this
// process before a token is spent on the send.
func (w *Worker) ready(channel string) error {
	if r, ok := w.channels[channel].(channels.Readier); ok && !r.Ready() {
		return fmt.Errorf("channel %s: %w", channel, channels.ErrNotConnected)
	}
	return nil
}

// IsFailure tells asynq which handler errors are failures: a send held
// back by a rate limit, or waiting for its channel to reconnect, is not,
// so it neither spends a retry nor counts against the queue's error rate.
func IsFailure(err error) bool {
	return !errors.Is(err, ErrRateLimited) && !errors.Is(err, channels.ErrNotConnected)
}

// countHSM counts a template send attempt by outcome.
func (w *Worker) countHSM(err error) {
	outcome := metrics.OutboundSent
	var se *channels.SendError
	switch {
	case err == nil:
	case errors.As(err, &se) && se.Retryable:
		outcome = metrics.OutboundRetry
	default:
		outcome = metrics.OutboundFailed
	}
	w.metrics.HSMSends.WithLabelValues(outcome).Inc()
}

// failOutbound records a send that will not be retried and archives the task
// so an operator can replay it.
func (w *Worker) failOutbound(ctx context.Context, o *queue.Outbound, cause channels.StatusError, err error) error {
	if merr := w.conv.MarkFailed(ctx, o.QueryID, o.MessageID, cause); merr != nil {
		return fmt.Errorf("record failed send: %w", merr)
	}
	w.metrics.OutboundMessages.WithLabelValues(o.Channel, w.kind(o.Channel), metrics.OutboundFailed).Inc()
	w.logger.WarnContext(ctx, "outbound send failed permanently", "channel", o.Channel,
		"query", o.QueryID, "message", o.MessageID, "code", cause.Code, "err", err)
	return fmt.Errorf("send %s: %w: %w", o.MessageID, err, asynq.SkipRetry)
}

// kind is a configured channel's kind, for metric labels; "unknown" for a
// channel no longer configured.
func (w *Worker) kind(channel string) string {
	if ch, ok := w.channels[channel]; ok {
		return ch.Kind()
	}
	return metrics.UnknownChannel
}

// lastAttempt reports whether this run of the task is its last.
func lastAttempt(ctx context.Context) bool {
	n, ok1 := asynq.GetRetryCount(ctx)
	maxRetry, ok2 := asynq.GetMaxRetry(ctx)
	return ok1 && ok2 && n >= maxRetry
}

// observe counts and times every task and logs failures.
func (w *Worker) observe(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		start := time.Now()
		err := next.ProcessTask(ctx, t)
		w.metrics.TaskDuration.WithLabelValues(t.Type()).Observe(time.Since(start).Seconds())
		outcome := "ok"
		switch {
		case err == nil:
		case errors.Is(err, ErrRateLimited):
			// Not a failure (see IsFailure); the metric of its own says it.
			outcome = "rate_limited"
			w.logger.DebugContext(ctx, "task held back by a rate limit", "task", t.Type(), "err", err)
		case errors.Is(err, channels.ErrNotConnected):
			outcome = "waiting"
			w.logger.DebugContext(ctx, "send waits for its channel to connect", "task", t.Type(), "err", err)
		case errors.Is(err, asynq.SkipRetry) || lastAttempt(ctx):
			outcome = "failed"
			w.logger.ErrorContext(ctx, "task failed; archived", "task", t.Type(), "err", err)
		default:
			outcome = "retry"
			n, _ := asynq.GetRetryCount(ctx)
			w.logger.WarnContext(ctx, "task failed; will retry", "task", t.Type(), "retry", n, "err", err)
		}
		w.metrics.TasksProcessed.WithLabelValues(t.Type(), outcome).Inc()
		return err
	})
}

// RetryDelay is the worker's backoff: the provider's Retry-After when it
// sent one, a few quick retries for a status racing its send, and otherwise
// exponential from one second, capped at ten minutes, with jitter so
// retries after an outage do not arrive together.
func RetryDelay(n int, err error, t *asynq.Task) time.Duration {
	var rl *RateLimitedError
	if errors.As(err, &rl) {
		// Spread the waiting sends over the refill so they do not all
		// come back for the same token.
		return rl.Wait + rand.N(rl.Wait+time.Second)
	}
	if errors.Is(err, channels.ErrNotConnected) {
		return 5*time.Second + rand.N(5*time.Second)
	}
	var se *channels.SendError
	if errors.As(err, &se) && se.RetryAfter > 0 {
		return min(se.RetryAfter, time.Hour)
	}
	if errors.Is(err, errStatusUnmatched) {
		return time.Duration(2<<n) * time.Second
	}
	d := time.Second << min(n, 10)
	d = min(d, 10*time.Minute)
	return d + rand.N(d/2+1)
}
