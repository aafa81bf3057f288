// Package metrics holds Switchboard's Prometheus metrics. Their names and
// labels are a contract with SREs' dashboards and alerts, so they are
// defined in one place. Labels carry only low-cardinality values (channel
// id, kind, outcome, type): never a phone number, message id or text.
//
// Metrics are built on an injected prometheus.Registerer, so each test gets
// a fresh registry and nothing is global.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Webhook outcomes, the values of the outcome label of WebhookRequests.
const (
	OutcomeAccepted     = "accepted"
	OutcomeUnauthorized = "unauthorized"
	OutcomeBadRequest   = "bad_request"
	OutcomeTooLarge     = "too_large"
	OutcomeUnavailable  = "unavailable"
	OutcomeNotFound     = "not_found"
	OutcomeVerified     = "verified"
	OutcomeForbidden    = "forbidden"
)

// Outbound outcomes, the values of the outcome label of OutboundMessages.
const (
	OutboundSent   = "sent"
	OutboundRetry  = "retry"
	OutboundFailed = "failed"
)

// UnknownChannel labels requests for a channel id that is not configured, so
// a scanner cannot create new series.
const UnknownChannel = "unknown"

// Metrics are the gateway's and workers' metrics.
type Metrics struct {
	WebhookRequests     *prometheus.CounterVec   // channel, kind, outcome
	WebhookDuration     *prometheus.HistogramVec // channel, kind
	InboundMessages     *prometheus.CounterVec   // channel, kind, type
	DuplicateMessages   *prometheus.CounterVec   // channel, kind
	UnparsedMessages    *prometheus.CounterVec   // channel, kind, item
	IgnoredMessages     *prometheus.CounterVec   // channel, kind, reason
	OutboundMessages    *prometheus.CounterVec   // channel, kind, outcome
	OutboundRateLimited *prometheus.CounterVec   // channel, kind
	StatusUpdates       *prometheus.CounterVec   // channel, kind, status
	TasksProcessed      *prometheus.CounterVec   // task, outcome
	TaskDuration        *prometheus.HistogramVec // task

	OTPRequests      *prometheus.CounterVec // outcome
	OTPVerifications *prometheus.CounterVec // outcome
	OTPSends         *prometheus.CounterVec // outcome

	WindowRejections prometheus.Counter
	HSMSends         *prometheus.CounterVec // outcome
	Derivations      prometheus.Counter
	// RetentionPurged counts message bodies emptied by retention.
	RetentionPurged prometheus.Counter
	// Media counts media files fetched, stored and served (media.go).
	Media MediaMetrics
	// ContactErasures counts customers erased on request.
	ContactErasures prometheus.Counter
	APIRequests     *prometheus.CounterVec // route, code

	RoutingDecisions  *prometheus.CounterVec // query_type, strategy, outcome
	AutoReplies       *prometheus.CounterVec // reason
	WindowExpirations prometheus.Counter
	// SLABreaches counts missed service-level targets.
	SLABreaches *prometheus.CounterVec // query_type, kind
	// OutboundRequeued counts sends the outbox sweep queued: messages
	// recorded while queuing their send failed.
	OutboundRequeued *prometheus.CounterVec // channel
}

// New creates the metrics and registers them on reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		WebhookRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_webhook_requests_total",
			Help: "Webhook requests by channel and outcome (accepted, unauthorized, bad_request, too_large, unavailable, not_found, verified, forbidden).",
		}, []string{"channel", "kind", "outcome"}),
		WebhookDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "switchboard_webhook_request_duration_seconds",
			Help: "Time from receiving a webhook request to answering it, including durable queueing.",
			// Fine buckets at the low end: the target is p99 under 10ms.
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"channel", "kind"}),
		InboundMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_inbound_messages_total",
			Help: "Inbound customer messages processed by workers, by channel and message type.",
		}, []string{"channel", "kind", "type"}),
		DuplicateMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_duplicate_messages_total",
			Help: "Provider redeliveries of a message already queued or processed, dropped.",
		}, []string{"channel", "kind"}),
		UnparsedMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_webhook_unparsed_messages_total",
			Help: "Items of accepted webhook requests that could not be read (item: message, status, change, entry); the rest of each request was queued, and a message with an id and a sender was queued raw as type unknown.",
		}, []string{"channel", "kind", "item"}),
		IgnoredMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_webhook_ignored_messages_total",
			Help: "Messages read from webhooks but not for Switchboard, by reason (group: a group chat's message).",
		}, []string{"channel", "kind", "reason"}),
		OutboundMessages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_outbound_messages_total",
			Help: "Outbound send attempts by channel and outcome (sent, retry, failed).",
		}, []string{"channel", "kind", "outcome"}),
		OutboundRequeued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_outbound_requeued_total",
			Help: "Sends the outbox sweep queued for outbound messages recorded while queuing their send failed (Redis down at that moment).",
		}, []string{"channel"}),
		OutboundRateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_outbound_rate_limited_total",
			Help: "Outbound sends held back by the channel's rate limit and retried later.",
		}, []string{"channel", "kind"}),
		StatusUpdates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_status_updates_total",
			Help: "Delivery status reports processed, by channel and status; status unknown_message when no outbound message matches.",
		}, []string{"channel", "kind", "status"}),
		TasksProcessed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_tasks_processed_total",
			Help: "Queue tasks handled by workers, by task type and outcome (ok, retry, failed).",
		}, []string{"task", "outcome"}),
		TaskDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_task_duration_seconds",
			Help:    "Time a worker spent on one task, by task type.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"task"}),
		RoutingDecisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_routing_decisions_total",
			Help: "Routing decisions by query type, strategy and outcome (assigned, pooled, queued_until_open, not_referred, menu_prompted).",
		}, []string{"query_type", "strategy", "outcome"}),
		AutoReplies: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_auto_replies_total",
			Help: "Automatic replies sent to customers, by reason (out_of_hours, menu).",
		}, []string{"reason"}),
		OTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_otp_requests_total",
			Help: "Login code requests by outcome (sent, unknown_or_disabled, rate_limited).",
		}, []string{"outcome"}),
		OTPVerifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_otp_verifications_total",
			Help: "Login code verifications by outcome (ok, wrong, expired, locked).",
		}, []string{"outcome"}),
		OTPSends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_otp_sends_total",
			Help: "Login codes handed to the provider by workers, by outcome (sent, retry, failed).",
		}, []string{"outcome"}),
		WindowRejections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_window_rejections_total",
			Help: "Free-form replies refused because 24 hours had passed since the customer's last message.",
		}),
		HSMSends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_hsm_sends_total",
			Help: "Template (HSM) send attempts by outcome (sent, retry, failed).",
		}, []string{"outcome"}),
		Derivations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_derivations_total",
			Help: "Queries moved by bulk derivation (multiple derivation).",
		}),
		RetentionPurged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_retention_purged_messages_total",
			Help: "Message bodies emptied by retention (retention.messages) in closed conversations.",
		}),
		ContactErasures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_contact_erasures_total",
			Help: "Customers whose data was erased on request.",
		}),
		APIRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_api_requests_total",
			Help: "API requests by route template (never the raw path) and status code.",
		}, []string{"route", "code"}),
		WindowExpirations: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_window_expirations_total",
			Help: "Routing sessions that ended, turning their query inactive.",
		}),
		SLABreaches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_sla_breaches_total",
			Help: "Conversations that missed a target of their query type, by query type and kind (first_response, resolution); each conversation's miss counted once.",
		}, []string{"query_type", "kind"}),
	}
	reg.MustRegister(m.RoutingDecisions, m.AutoReplies, m.WindowExpirations, m.OTPRequests, m.OTPVerifications, m.OTPSends, m.WindowRejections, m.HSMSends, m.Derivations, m.RetentionPurged, m.ContactErasures, m.APIRequests, m.SLABreaches)
	reg.MustRegister(m.WebhookRequests, m.WebhookDuration, m.InboundMessages, m.DuplicateMessages, m.UnparsedMessages, m.IgnoredMessages,
		m.OutboundMessages, m.OutboundRateLimited, m.OutboundRequeued, m.StatusUpdates, m.TasksProcessed, m.TaskDuration)
	m.Media = newMediaMetrics(reg)
	return m
}
