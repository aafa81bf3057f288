// Package channels defines what every messaging provider looks like to the
// rest of Switchboard: the normalized inbound message and delivery status a
// provider's webhook turns into, the interfaces a provider package
// implements, and the registry of provider kinds keyed by kind name.
//
// Provider packages (channels/whatsapp, ...) know their wire formats; this
// package and everything downstream of it know none. Nothing here knows
// about routing.
package channels

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Message types, common across providers. A provider type with no
// equivalent here is queued as TypeUnknown with its raw payload kept.
const (
	TypeText        = "text"
	TypeInteractive = "interactive" // a tapped list item or reply button
	TypeButton      = "button"      // a tapped template quick-reply button
	TypeImage       = "image"
	TypeAudio       = "audio"
	TypeVideo       = "video"
	TypeDocument    = "document"
	TypeSticker     = "sticker"
	TypeLocation    = "location"
	TypeContacts    = "contacts"
	TypeReaction    = "reaction"
	TypeUnknown     = "unknown"
)

// Delivery statuses of an outbound message, in the order they progress.
const (
	StatusQueued    = "queued" // accepted by Switchboard, not yet by the provider
	StatusSent      = "sent"
	StatusDelivered = "delivered"
	StatusRead      = "read"
	StatusFailed    = "failed"
)

// Inbound is one message a customer sent, normalized across providers. It is
// the payload of the inbound-message task, so its JSON shape is stable.
type Inbound struct {
	Channel string `json:"channel"`
	Kind    string `json:"kind"`
	// ID is the provider's message id (a wamid on WhatsApp); unique per channel.
	ID string `json:"id"`
	// From is the customer's id on the channel: on WhatsApp the phone
	// number without "+" when Meta gives it, else the business-scoped user
	// id (a BSUID, "BR.1502576394655843") of a user who hides the number
	// behind a username. Replies go to it.
	From string `json:"from"`
	// UserID is the provider's other id for the same person when it gave
	// both (the BSUID beside a phone number), kept so a contact can be
	// matched later by either.
	UserID string `json:"user_id,omitempty"`
	// Username is the customer's WhatsApp username, when they set one.
	Username    string `json:"username,omitempty"`
	ProfileName string `json:"profile_name,omitempty"`
	// Timestamp is when the provider says the customer sent it (whole seconds on WhatsApp).
	Timestamp time.Time `json:"timestamp"`
	// Arrival orders messages that share a Timestamp: the gateway's receive
	// time in nanoseconds plus the message's index in the request.
	Arrival int64  `json:"arrival"`
	Type    string `json:"type"`
	// Text is the text body, or a media caption, or a tapped reply's title.
	Text     string          `json:"text,omitempty"`
	Media    *Media          `json:"media,omitempty"`
	Location *Location       `json:"location,omitempty"`
	Contacts []SharedContact `json:"contacts,omitempty"`
	Reaction *Reaction       `json:"reaction,omitempty"`
	Reply    *Reply          `json:"reply,omitempty"`
	Referral *Referral       `json:"referral,omitempty"`
	// ReplyTo is the provider id of the message this one quotes, if any.
	ReplyTo string `json:"reply_to,omitempty"`
	// ProviderType is the provider's own type name, kept when Type is TypeUnknown.
	ProviderType string `json:"provider_type,omitempty"`
	// Raw is the provider's message object, kept for types Switchboard does
	// not model so nothing the customer sent is lost.
	Raw json.RawMessage `json:"raw,omitempty"`
	// AckToken is what the webhook's answer needs to acknowledge this
	// message to the provider (a Telegram callback query id). It is only
	// for that answer and is not queued.
	AckToken string `json:"-"`
}

// Media is an attachment. The bytes stay at the provider until fetched by ID.
type Media struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
	Voice    bool   `json:"voice,omitempty"`
	Animated bool   `json:"animated,omitempty"`
}

// Location is a shared pin.
type Location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
	URL       string  `json:"url,omitempty"`
}

// SharedContact is a contact card the customer shared.
type SharedContact struct {
	Name   string   `json:"name"`
	Phones []string `json:"phones,omitempty"`
	Emails []string `json:"emails,omitempty"`
}

// Reaction is an emoji reaction to an earlier message; an empty Emoji removes it.
type Reaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"`
}

// Reply is a tapped interactive element: a list row, a reply button or a
// template quick-reply button. ID is what routing matches (a menu key).
type Reply struct {
	Kind  string `json:"kind"` // button_reply, list_reply, or button
	ID    string `json:"id"`
	Title string `json:"title"`
}

// Referral describes the ad or post a customer came from (click-to-WhatsApp
// ads), which makes the conversation a free entry point.
type Referral struct {
	SourceURL    string `json:"source_url,omitempty"`
	SourceID     string `json:"source_id,omitempty"`
	SourceType   string `json:"source_type,omitempty"` // ad or post
	Headline     string `json:"headline,omitempty"`
	Body         string `json:"body,omitempty"`
	MediaType    string `json:"media_type,omitempty"`
	CTWAClickID  string `json:"ctwa_clid,omitempty"`
	ImageURL     string `json:"image_url,omitempty"`
	VideoURL     string `json:"video_url,omitempty"`
	ThumbnailURL string `json:"thumbnail_url,omitempty"`
}

// Status is a provider's report on an outbound message.
type Status struct {
	Channel string `json:"channel"`
	Kind    string `json:"kind"`
	// MessageID is the provider's id of the outbound message.
	MessageID   string        `json:"message_id"`
	Status      string        `json:"status"` // one of the Status* constants
	Timestamp   time.Time     `json:"timestamp"`
	RecipientID string        `json:"recipient_id,omitempty"`
	Errors      []StatusError `json:"errors,omitempty"`
}

// WindowClosedTitle is the Title of a failed message's StatusError when
// the provider refused it because the customer's 24-hour window had
// closed; the API's refusal of such a reply carries the same code.
const WindowClosedTitle = "window_closed"

// StatusError is a provider's reason for a failed delivery.
type StatusError struct {
	Code    int    `json:"code"`
	Title   string `json:"title,omitempty"`
	Message string `json:"message,omitempty"`
	Details string `json:"details,omitempty"`
}

// Batch is everything one webhook request carried.
type Batch struct {
	Messages []Inbound
	Statuses []Status
	// Unparsed are the items Switchboard could not read. One odd item must
	// not cost the others of its request: a provider retries a refused
	// request whole, so refusing it would block every message in it.
	Unparsed []Unparsed
	// Ignored holds one reason (an Ignored* constant) per message that was
	// read but is not for Switchboard, such as a group message.
	Ignored []string
}

// Items of a webhook request, the values of Unparsed.Item.
const (
	ItemMessage = "message"
	ItemStatus  = "status"
	// ItemChange is a whole change of a batch (Meta's entry[].changes[]),
	// unreadable before its messages could be told apart.
	ItemChange = "change"
	// ItemEntry is a whole entry of a batch (Meta's entry[]).
	ItemEntry = "entry"
)

// Items lists every Unparsed.Item value, so counters start at zero.
var Items = []string{ItemMessage, ItemStatus, ItemChange, ItemEntry}

// Reasons a message is ignored, the values of Batch.Ignored.
const (
	// IgnoredGroup is a message in a group chat: a reply would go to the
	// person, not the group, so it is not a one-to-one conversation.
	IgnoredGroup = "group"
)

// IgnoredReasons lists every Batch.Ignored value, so counters start at zero.
var IgnoredReasons = []string{IgnoredGroup}

// Unparsed is one item of a webhook request that could not be read.
type Unparsed struct {
	// Item is what it was: an Item* constant.
	Item string
	// Reason says why it could not be read. It quotes no content, so it
	// may be logged.
	Reason string
	// Kept is true when the item is in Messages all the same, as a
	// TypeUnknown message with its raw payload: it had an id and a sender,
	// so an operator sees it and nothing the customer sent is lost.
	Kept bool
	// Raw is the item as received. It may hold personal data: it is for
	// debug logs only.
	Raw json.RawMessage
}

// ErrBadSignature means a webhook request's signature is missing or wrong.
var ErrBadSignature = errors.New("missing or invalid signature")

// ErrMalformed wraps every reason a webhook body cannot be parsed.
var ErrMalformed = errors.New("malformed webhook body")

// ErrNotConnected means a channel that holds a connection (a linked
// device) cannot send from this process right now: it is reconnecting or
// being handed over. A send waits for it without counting as a failure.
var ErrNotConnected = errors.New("channel not connected in this process")

// Readier is a channel that can tell, before a send, whether it can send now.
type Readier interface {
	Ready() bool
}

type outboundIDKey struct{}

// WithOutboundID tells a sender which stored message it is sending. A
// provider that lets the sender name the message (a linked device, the web
// chat) gets the same name on every retry, so a retry after a lost answer
// is recognised as the same message instead of shown twice.
func WithOutboundID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, outboundIDKey{}, id)
}

// OutboundID is the id set by WithOutboundID, or "".
func OutboundID(ctx context.Context) string {
	id, _ := ctx.Value(outboundIDKey{}).(string)
	return id
}

// Channel is one configured provider endpoint.
type Channel interface {
	ID() string
	Kind() string
}

// WebhookReceiver is a channel whose provider POSTs webhooks.
type WebhookReceiver interface {
	Channel
	// Verify checks that body was sent by the provider. It must run before
	// the body is parsed and compare secrets in constant time. r is the
	// request as received (its body already read into body): some providers
	// sign headers or the URL too. It returns an error wrapping
	// ErrBadSignature when the request is not authentic.
	Verify(r *http.Request, body []byte) error
	// Parse turns a verified body into normalized messages and statuses.
	// received is the gateway's receive time, used to order messages that
	// share a provider timestamp. Errors wrap ErrMalformed.
	Parse(body []byte, received time.Time) (Batch, error)
}

// Handshaker is a channel whose provider verifies the webhook URL with a GET
// (Meta's hub.challenge).
type Handshaker interface {
	// Handshake returns the body to answer with 200, or ok=false for 403.
	Handshake(query url.Values) (challenge string, ok bool)
}

// Acknowledger is a webhook channel whose provider reads the 200 answer:
// Twilio logs a warning for anything but TwiML, and Telegram runs a Bot
// API method given there (answering a button tap without another call).
type Acknowledger interface {
	// Ack is the answer to a request whose batch b was queued. An empty
	// body means none.
	Ack(b Batch) (contentType string, body []byte)
}

// Sink takes what an event-driven channel receives, as the webhook handler
// does for webhook channels: durably, or with an error.
type Sink interface {
	// Inbound queues a customer message. A duplicate is not an error.
	Inbound(ctx context.Context, m *Inbound) error
	// Status queues a delivery status. A duplicate is not an error.
	Status(ctx context.Context, s *Status) error
}

// Listener is a channel that holds a connection to its provider instead of
// receiving webhooks (a linked WhatsApp device). Only one process may listen
// on a channel at a time; the caller holds the lease.
type Listener interface {
	Channel
	// Listen connects and feeds sink until ctx ends. It returns an error
	// when the channel cannot be used at all (not linked, logged out).
	Listen(ctx context.Context, sink Sink) error
}

// TextSender is a channel that can send a free-form text message.
type TextSender interface {
	Channel
	// SendText sends text to the customer `to` and returns the provider's
	// message id. A failure is a *SendError that says whether retrying
	// could help.
	SendText(ctx context.Context, to, text string) (providerID string, err error)
}

// TemplateSender is a channel with provider-approved templates (HSM), the
// only messages WhatsApp allows 24 hours after the customer's last one.
type TemplateSender interface {
	Channel
	// SendTemplate sends template (the provider's name) in language with
	// its body parameters, in order.
	SendTemplate(ctx context.Context, to, template, language string, params []string) (providerID string, err error)
}

// AuthCodeSender is a channel that can deliver a login code. On the Cloud
// API that is an approved authentication template; on a linked number it
// is plain text.
type AuthCodeSender interface {
	Channel
	// SendAuthCode sends code to `to` (a phone number without "+"), using
	// the template and language where the provider needs one.
	SendAuthCode(ctx context.Context, to, code, template, language string) (providerID string, err error)
}

// AuthTemplateNeeder is an AuthCodeSender that can only send a login code
// as an approved template (the Cloud API): auth.otp.template must name one.
type AuthTemplateNeeder interface {
	NeedsAuthTemplate() bool
}

// SendError is a failed send, classified so the queue knows whether to retry.
type SendError struct {
	// Retryable is true for failures that may pass later: network errors,
	// timeouts, throttling (429) and provider errors (5xx).
	Retryable bool
	// HTTPStatus is the provider's HTTP status, 0 for a network error.
	HTTPStatus int
	// Code is the provider's error code, if it gave one.
	Code int
	// Message is the provider's error message, or the network error.
	Message string
	// RetryAfter is the provider's requested wait, when it gave one.
	RetryAfter time.Duration
	// WindowClosed means the provider refused a free-form message because
	// the customer's 24-hour window had closed (Cloud API 131047, Twilio
	// 63016): only a template can reach the customer now.
	WindowClosed bool
	Err          error
}

func (e *SendError) Error() string {
	kind := "permanent"
	if e.Retryable {
		kind = "retryable"
	}
	if e.HTTPStatus == 0 {
		return fmt.Sprintf("send failed (%s): %s", kind, e.Message)
	}
	return fmt.Sprintf("send failed (%s): HTTP %d, code %d: %s", kind, e.HTTPStatus, e.Code, e.Message)
}

func (e *SendError) Unwrap() error { return e.Err }

// Kind is a provider kind: how to build a channel of that kind from its
// configuration entry.
type Kind struct {
	// Name is the value of `kind:` in the configuration.
	Name string
	// New builds a channel. decode fills a kind-specific config struct from
	// the channel's configuration entry, rejecting unknown keys.
	New func(id string, decode func(any) error, deps Deps) (Channel, error)
}

// Deps are what a channel may need from the process.
type Deps struct {
	HTTPClient *http.Client
	// Now is the clock, for checking request timestamps; nil means time.Now.
	Now func() time.Time
	// Logger is the process logger; nil means slog.Default().
	Logger *slog.Logger
}

// Rate is a token bucket: Count sends every Per on average, up to Burst
// at once (0 means 1). The zero Rate means no limit.
type Rate struct {
	Count int           `yaml:"count"`
	Per   time.Duration `yaml:"per"`
	Burst int           `yaml:"burst"`
}

// Unlimited reports whether r sets no limit.
func (r Rate) Unlimited() bool { return r.Count <= 0 || r.Per <= 0 }

// Validate checks a configured rate; key names it in the error.
func (r Rate) Validate(key string) error {
	if r.Count < 0 || r.Per < 0 || r.Burst < 0 {
		return fmt.Errorf("%s: count, per and burst must not be negative", key)
	}
	if (r.Count == 0) != (r.Per == 0) {
		return fmt.Errorf("%s: set both count and per, or neither", key)
	}
	return nil
}

// Limits are a channel's outbound rate limits, shared by every replica.
type Limits struct {
	// Send bounds every message the channel sends.
	Send Rate
	// NewContact bounds, in addition, messages to contacts who have never
	// written to the channel: sending to strangers is what gets a linked
	// number banned.
	NewContact Rate
}

// Limited is a channel with outbound rate limits.
type Limited interface {
	Limits() Limits
}

// Registry maps kind names to kinds. Adding a provider means adding a
// package and one entry here, never a branch in the callers.
type Registry map[string]Kind

// Register adds kind k; it panics on a duplicate, a programming error.
func (r Registry) Register(k Kind) {
	if _, dup := r[k.Name]; dup {
		panic("channels: kind registered twice: " + k.Name)
	}
	r[k.Name] = k
}

// Build builds the channel named by an entry of the configuration.
func (r Registry) Build(id, kind string, decode func(any) error, deps Deps) (Channel, error) {
	k, ok := r[kind]
	if !ok {
		return nil, fmt.Errorf("channel %q: unknown kind %q (known: %v)", id, kind, r.names())
	}
	ch, err := k.New(id, decode, deps)
	if err != nil {
		return nil, fmt.Errorf("channel %q: %w", id, err)
	}
	return ch, nil
}

func (r Registry) names() []string {
	return slices.Sorted(maps.Keys(r))
}

// Set is the configured channels by id.
type Set map[string]Channel

// MaskDigits masks every run of six or more digits: the phone numbers
// (and WhatsApp ids built from them) that providers repeat in their error
// messages, which end up in logs.
func MaskDigits(s string) string {
	var b strings.Builder
	run := 0
	flush := func(i int) {
		if run >= 6 {
			b.WriteString("…")
		} else {
			b.WriteString(s[i-run : i])
		}
		run = 0
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			run++
			continue
		}
		flush(i)
		b.WriteByte(s[i])
	}
	flush(len(s))
	return b.String()
}

// Raw decodes a provider's JSON object as T and keeps its exact bytes, so
// a message of a type Switchboard does not model is queued verbatim.
type Raw[T any] struct {
	Value T
	Bytes json.RawMessage
}

// UnmarshalJSON decodes the object and keeps a copy of its bytes.
func (r *Raw[T]) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &r.Value); err != nil {
		return err
	}
	r.Bytes = append(json.RawMessage(nil), b...)
	return nil
}
