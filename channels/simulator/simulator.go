// Package simulator is the demo's local channel (kind "simulator"): a
// pretend customer's messages come in through the ordinary webhook path
// in this package's wire format, and replies go out to an Outbox the demo
// shows on its customer simulator page instead of to a provider. It knows
// that wire format and nothing about queues, routing or the page.
//
// The kind is not in the ordinary registry: only `switchboard serve
// --demo` registers it (with NewKind), so no configuration can create a
// simulator channel outside the demo.
package simulator

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"switchboard/channels"
)

// KindName is the configuration's `kind:` for this channel.
const KindName = "simulator"

// TokenHeader carries the channel's token on every webhook request. The
// token is made per process and never leaves it (the simulator page's
// endpoint adds it), so nothing outside the process can post as a
// simulated customer.
const TokenHeader = "X-Switchboard-Simulator-Token"

// Size limits of a simulated message: they bound what one request can make
// the demo store and route.
const (
	MaxIDBytes   = 128
	MaxNameBytes = 64
	MaxTextBytes = 4 << 10
)

// maxUnixMillis is the end of year 9999 UTC: later times cannot be
// encoded as JSON, so a message carrying one could not be queued.
const maxUnixMillis = 253402300799999

// Message is the wire format of a simulated customer's message, the body
// POSTed to the channel's webhook.
type Message struct {
	// ID is the message's id, unique on the channel.
	ID string `json:"id"`
	// From is the simulated customer's id; replies go to it.
	From string `json:"from"`
	// Name is the customer's display name.
	Name string `json:"name"`
	Text string `json:"text"`
	// Timestamp is when it was sent, in Unix milliseconds; 0 is the
	// receive time.
	Timestamp int64 `json:"timestamp"`
}

// Outbound is one message the team (or the bot's auto-replies) sent to a
// simulated customer.
type Outbound struct {
	// ID is the channel's id for it, the same on every retry of one
	// stored message, so an outbox can drop a retried delivery.
	ID string
	// To is the customer's id (Message.From).
	To   string
	Text string
	At   time.Time
}

// Outbox receives what the channel sends: the demo keeps it for the
// simulator page.
type Outbox interface {
	Deliver(ctx context.Context, m Outbound) error
}

// Config is a simulator channel's configuration entry: it has no keys,
// so a mistyped one is refused.
type Config struct{}

// NewKind returns the kind that builds simulator channels delivering to
// box. Only the demo calls it.
func NewKind(box Outbox) channels.Kind {
	return channels.Kind{
		Name: KindName,
		New: func(id string, decode func(any) error, deps channels.Deps) (channels.Channel, error) {
			var cfg Config
			if err := decode(&cfg); err != nil {
				return nil, err
			}
			return New(id, box, deps.Now)
		},
	}
}

// Channel is the demo's local channel.
type Channel struct {
	id    string
	token string
	box   Outbox
	now   func() time.Time
	seq   atomic.Int64
}

var (
	_ channels.WebhookReceiver = (*Channel)(nil)
	_ channels.TextSender      = (*Channel)(nil)
	_ channels.TemplateSender  = (*Channel)(nil)
)

// New returns a channel that delivers to box, with a fresh random token.
// now stamps outbound messages; nil means time.Now.
func New(id string, box Outbox, now func() time.Time) (*Channel, error) {
	if box == nil {
		return nil, errors.New("simulator: no outbox")
	}
	if now == nil {
		now = time.Now
	}
	var rnd [24]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("simulator token: %w", err)
	}
	return &Channel{id: id, token: hex.EncodeToString(rnd[:]), box: box, now: now}, nil
}

// ID returns the channel's configured id.
func (c *Channel) ID() string { return c.id }

// Kind returns "simulator".
func (c *Channel) Kind() string { return KindName }

// Token is the value TokenHeader must carry, for the simulator page's
// endpoint in the same process.
func (c *Channel) Token() string { return c.token }

// Verify checks TokenHeader against the channel's token in constant time.
func (c *Channel) Verify(r *http.Request, _ []byte) error {
	got := r.Header.Get(TokenHeader)
	if got == "" {
		return fmt.Errorf("%s header missing: %w", TokenHeader, channels.ErrBadSignature)
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(c.token)) != 1 {
		return fmt.Errorf("%s does not match: %w", TokenHeader, channels.ErrBadSignature)
	}
	return nil
}

// Parse reads one Message.
func (c *Channel) Parse(body []byte, received time.Time) (channels.Batch, error) {
	var m Message
	if err := json.Unmarshal(body, &m); err != nil {
		return channels.Batch{}, fmt.Errorf("%w: %w", channels.ErrMalformed, err)
	}
	switch {
	case m.ID == "" || m.From == "" || strings.TrimSpace(m.Text) == "":
		return channels.Batch{}, fmt.Errorf("%w: a message lacks id, from or text", channels.ErrMalformed)
	case len(m.ID) > MaxIDBytes || len(m.From) > MaxIDBytes:
		return channels.Batch{}, fmt.Errorf("%w: id or from longer than %d bytes", channels.ErrMalformed, MaxIDBytes)
	case len(m.Name) > MaxNameBytes:
		return channels.Batch{}, fmt.Errorf("%w: name longer than %d bytes", channels.ErrMalformed, MaxNameBytes)
	case len(m.Text) > MaxTextBytes:
		return channels.Batch{}, fmt.Errorf("%w: text longer than %d bytes", channels.ErrMalformed, MaxTextBytes)
	case m.Timestamp < 0 || m.Timestamp > maxUnixMillis:
		return channels.Batch{}, fmt.Errorf("%w: timestamp %d is not Unix milliseconds", channels.ErrMalformed, m.Timestamp)
	}
	ts := received
	if m.Timestamp > 0 {
		ts = time.UnixMilli(m.Timestamp).UTC()
	}
	return channels.Batch{Messages: []channels.Inbound{{
		Channel:     c.id,
		Kind:        KindName,
		ID:          m.ID,
		From:        m.From,
		ProfileName: m.Name,
		Timestamp:   ts,
		Arrival:     received.UnixNano(),
		Type:        channels.TypeText,
		Text:        m.Text,
	}}}, nil
}

// SendText hands text for customer `to` to the outbox.
func (c *Channel) SendText(ctx context.Context, to, text string) (string, error) {
	return c.deliver(ctx, to, text)
}

// SendTemplate hands an approved template to the outbox. The channel
// knows the template by name only (the body lives in the settings), so
// the customer sees its name and parameters, as a provider's log would.
func (c *Channel) SendTemplate(ctx context.Context, to, template, language string, params []string) (string, error) {
	text := fmt.Sprintf("[template %s (%s)]", template, language)
	if len(params) > 0 {
		text += " " + strings.Join(params, " · ")
	}
	return c.deliver(ctx, to, text)
}

func (c *Channel) deliver(ctx context.Context, to, text string) (string, error) {
	// The stored message's id when the worker gives it, so a retried send
	// is the same message to the outbox.
	id := channels.OutboundID(ctx)
	if id == "" {
		id = fmt.Sprintf("local-%d", c.seq.Add(1))
	}
	id = "sim." + id
	if err := c.box.Deliver(ctx, Outbound{ID: id, To: to, Text: text, At: c.now().UTC()}); err != nil {
		return "", &channels.SendError{Retryable: true, Message: "simulator outbox: " + err.Error(), Err: err}
	}
	return id, nil
}
