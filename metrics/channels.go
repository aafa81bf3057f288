package metrics

import "switchboard/channels"

// StatusUnknownMessage is the status label of a delivery report that
// matches no outbound message.
const StatusUnknownMessage = "unknown_message"

// Label values the per-channel series are created with before any event.
var (
	webhookOutcomes = []string{OutcomeAccepted, OutcomeUnauthorized, OutcomeBadRequest, OutcomeTooLarge,
		OutcomeUnavailable, OutcomeNotFound, OutcomeVerified, OutcomeForbidden}
	outboundOutcomes = []string{OutboundSent, OutboundRetry, OutboundFailed}
	messageTypes     = []string{channels.TypeText, channels.TypeInteractive, channels.TypeButton, channels.TypeImage,
		channels.TypeAudio, channels.TypeVideo, channels.TypeDocument, channels.TypeSticker, channels.TypeLocation,
		channels.TypeContacts, channels.TypeReaction, channels.TypeUnknown}
	statusValues = []string{channels.StatusSent, channels.StatusDelivered, channels.StatusRead, channels.StatusFailed, StatusUnknownMessage}
)

// InitChannels creates every per-channel series of m at zero for each
// configured channel (its id and kind) and every outcome, type or status
// label value. A counter that only appears with its first event hides the
// events before a scrape from rate() and increase(), and an alert on
// failures cannot tell "none yet" from "not exported": from startup, both
// see zeros.
func InitChannels[C interface{ Kind() string }](m *Metrics, chans map[string]C) {
	for id, ch := range chans {
		kind := ch.Kind()
		for _, o := range webhookOutcomes {
			m.WebhookRequests.WithLabelValues(id, kind, o)
		}
		m.WebhookDuration.WithLabelValues(id, kind)
		for _, typ := range messageTypes {
			m.InboundMessages.WithLabelValues(id, kind, typ)
		}
		m.DuplicateMessages.WithLabelValues(id, kind)
		for _, o := range outboundOutcomes {
			m.OutboundMessages.WithLabelValues(id, kind, o)
		}
		m.OutboundRateLimited.WithLabelValues(id, kind)
		for _, s := range statusValues {
			m.StatusUpdates.WithLabelValues(id, kind, s)
		}
	}
}
