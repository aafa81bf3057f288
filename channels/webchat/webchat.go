// Package webchat is the website chat widget channel (kind "webchat"): a
// site's widget backend POSTs its visitors' messages and delivery reports
// to Switchboard, and Switchboard POSTs replies back to the site. Both
// directions are signed the same way with a shared secret (see Sign), so
// one small piece of code on the site both checks and produces signatures.
// A visitor's file stays on the site, at a URL in the message, until a
// worker fetches it with a signed GET (see FetchMedia).
// It knows that wire format and nothing about queues or routing.
package webchat

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"switchboard/channels"
)

// KindName is the configuration's `kind:` for this channel.
const KindName = "webchat"

// TimestampHeader carries the Unix seconds at which a request was signed.
// It is part of the signed string, so a captured request cannot be
// replayed with a fresh timestamp.
const TimestampHeader = "X-Switchboard-Timestamp"

// SignatureHeader carries Sign's result for the request's timestamp and
// raw body.
const SignatureHeader = "X-Switchboard-Signature"

// MaxSkew is how far a request's timestamp may be from Switchboard's clock,
// either way. Older requests are rejected as replays; newer ones mean the
// site's clock is wrong, and accepting them would let a captured request be
// replayed until its timestamp came round.
const MaxSkew = 5 * time.Minute

// Size limits of what a site sends. They bound what a single request can
// make Switchboard store and route; no real visitor id or chat message
// comes near them.
const (
	maxIDBytes   = 256
	maxTextBytes = 64 << 10
)

// minSecretBytes is the shortest secret accepted: shorter ones can be
// guessed from a captured signature.
const minSecretBytes = 16

// maxUnixSeconds is the end of year 9999 UTC. Later timestamps cannot be
// encoded as JSON times, so a message carrying one could not be queued.
const maxUnixSeconds = 253402300799

// Config is a webchat channel's configuration entry.
type Config struct {
	// Secret keys the signatures in both directions; the site holds the
	// same value.
	Secret string `yaml:"secret"`
	// CallbackURL is where replies are POSTed on the site.
	CallbackURL string `yaml:"callback_url"`
	// SendRate bounds replies so a routing loop cannot flood the site; the
	// zero Rate means no limit.
	SendRate channels.Rate `yaml:"send_rate"`
	// MediaOrigins are the origins (scheme://host[:port]) a visitor's
	// file may be fetched from: the site names a URL, so without this
	// list a message could make Switchboard fetch from anywhere its
	// network reaches. Empty means the site sends no files.
	MediaOrigins []string `yaml:"media_origins"`
}

func (c *Config) validate() error {
	var errs []error
	switch {
	case strings.TrimSpace(c.Secret) == "":
		errs = append(errs, errors.New("secret: required"))
	case len(c.Secret) < minSecretBytes:
		errs = append(errs, fmt.Errorf("secret: want at least %d bytes, got %d", minSecretBytes, len(c.Secret)))
	}
	if strings.TrimSpace(c.CallbackURL) == "" {
		errs = append(errs, errors.New("callback_url: required"))
	} else if !channels.HTTPURL(c.CallbackURL) {
		// The URL is not quoted back: sites often put a token in it.
		errs = append(errs, errors.New("callback_url: want an absolute http(s) URL"))
	}
	if err := c.SendRate.Validate("send_rate"); err != nil {
		errs = append(errs, err)
	}
	for i, o := range c.MediaOrigins {
		if _, err := parseOrigin(o); err != nil {
			errs = append(errs, fmt.Errorf("media_origins[%d]: %w", i, err))
		}
	}
	return errors.Join(errs...)
}

// Kind registers webchat channels in a channels.Registry.
var Kind = channels.Kind{
	Name: KindName,
	New: func(id string, decode func(any) error, deps channels.Deps) (channels.Channel, error) {
		var cfg Config
		if err := decode(&cfg); err != nil {
			return nil, err
		}
		return New(id, cfg, deps.HTTPClient, deps.Now)
	},
}

// Channel is one site's chat widget.
type Channel struct {
	id     string
	cfg    Config
	http   *http.Client
	now    func() time.Time
	secret []byte
	// origins is MediaOrigins normalized by originOf.
	origins map[string]bool
}

var (
	_ channels.WebhookReceiver = (*Channel)(nil)
	_ channels.TextSender      = (*Channel)(nil)
	_ channels.Limited         = (*Channel)(nil)
)

// New validates cfg and returns the channel. httpClient posts replies to
// the site; nil means a client with a 30s timeout. now is the clock that
// request timestamps are checked against and replies are stamped with; nil
// means time.Now.
func New(id string, cfg Config, httpClient *http.Client, now func() time.Time) (*Channel, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	{
		// Never follow a redirect: on a 301 or 302 Go would turn the POST
		// into a bodiless GET, and the page's 200 would look like a
		// delivered reply. The 3xx itself is the answer (a permanent
		// failure: fix callback_url).
		cp := *httpClient
		cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		httpClient = &cp
	}
	if now == nil {
		now = time.Now
	}
	origins := make(map[string]bool, len(cfg.MediaOrigins))
	for _, o := range cfg.MediaOrigins {
		norm, _ := parseOrigin(o) // validated above
		origins[norm] = true
	}
	return &Channel{id: id, cfg: cfg, http: httpClient, now: now, secret: []byte(cfg.Secret), origins: origins}, nil
}

// ID returns the channel's configured id.
func (c *Channel) ID() string { return c.id }

// Kind returns "webchat".
func (c *Channel) Kind() string { return KindName }

// Limits returns the configured send rate. A widget visitor is not a phone
// number that can be banned, so there is no separate new-contact limit.
func (c *Channel) Limits() channels.Limits {
	return channels.Limits{Send: c.cfg.SendRate}
}

// Sign returns the signature header value for a request stamped timestamp
// with body: "sha256=" and the hex HMAC-SHA256, keyed by secret, of the
// decimal timestamp, a dot, and the raw body.
func Sign(secret []byte, timestamp int64, body []byte) string {
	return "sha256=" + hex.EncodeToString(mac(secret, strconv.FormatInt(timestamp, 10), body))
}

// mac signs the timestamp as it appears in the header, so a request is
// checked over exactly the bytes the site signed.
func mac(secret []byte, timestamp string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(timestamp))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks the request's timestamp and signature headers: the
// signature must be Sign's for that timestamp and the raw body (compared
// in constant time), and the timestamp must be less than MaxSkew from now
// either way. The signature is checked before the timestamp so a stale but
// authentic request is reported as such, telling a clock problem apart from
// a wrong secret.
func (c *Channel) Verify(r *http.Request, body []byte) error {
	tsHeader := r.Header.Get(TimestampHeader)
	if tsHeader == "" {
		return fmt.Errorf("%s header missing: %w", TimestampHeader, channels.ErrBadSignature)
	}
	sig := r.Header.Get(SignatureHeader)
	if sig == "" {
		return fmt.Errorf("%s header missing: %w", SignatureHeader, channels.ErrBadSignature)
	}
	ts, ok := parseUnix(tsHeader)
	if !ok {
		return fmt.Errorf("%s is not Unix seconds: %w", TimestampHeader, channels.ErrBadSignature)
	}
	hexSig, ok := strings.CutPrefix(sig, "sha256=")
	if !ok {
		return fmt.Errorf("%s lacks the sha256= prefix: %w", SignatureHeader, channels.ErrBadSignature)
	}
	var got [sha256.Size]byte
	if len(hexSig) != 2*sha256.Size {
		return fmt.Errorf("%s has the wrong length: %w", SignatureHeader, channels.ErrBadSignature)
	}
	if _, err := hex.Decode(got[:], []byte(hexSig)); err != nil {
		return fmt.Errorf("%s is not hex: %w", SignatureHeader, channels.ErrBadSignature)
	}
	if !hmac.Equal(got[:], mac(c.secret, tsHeader, body)) {
		return fmt.Errorf("%s does not match the timestamp and body: %w", SignatureHeader, channels.ErrBadSignature)
	}
	now := c.now()
	sent := time.Unix(ts, 0)
	if !sent.After(now.Add(-MaxSkew)) {
		return fmt.Errorf("%s is %s old, outside %s: a replay: %w",
			TimestampHeader, now.Sub(sent).Truncate(time.Second), MaxSkew, channels.ErrBadSignature)
	}
	if !sent.Before(now.Add(MaxSkew)) {
		return fmt.Errorf("%s is %s in the future, outside %s: the site's clock is wrong: %w",
			TimestampHeader, sent.Sub(now).Truncate(time.Second), MaxSkew, channels.ErrBadSignature)
	}
	return nil
}

// parseUnix accepts only decimal digits: a sign or spaces would make two
// headers with different text mean the same time. Eighteen digits keep
// time.Unix far from overflow and are still far beyond any real clock.
func parseUnix(s string) (int64, bool) {
	if len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// Request types a site may send. A message may omit its type.
const (
	typeMessage = "message"
	typeStatus  = "status"
)

// payload is a request body from the site: a visitor's message or a
// delivery report on one of Switchboard's replies. Fields the site adds
// later are ignored, so it can extend its side first.
type payload struct {
	Type string `json:"type"`
	// A message.
	ID        string `json:"id"`
	SessionID string `json:"session_id"`
	Name      string `json:"name"`
	Text      string `json:"text"`
	// Media is the visitor's file, Text its caption.
	Media *payloadMedia `json:"media"`
	// A status.
	MessageID string `json:"message_id"`
	Status    string `json:"status"`

	Timestamp int64 `json:"timestamp"`
}

// Parse turns a verified body, one message or one status, into a batch.
// json.Unmarshal refuses anything but whitespace after the top-level
// value, so a body with trailing data is rejected rather than half-read.
func (c *Channel) Parse(body []byte, received time.Time) (channels.Batch, error) {
	var p payload
	if err := json.Unmarshal(body, &p); err != nil {
		return channels.Batch{}, fmt.Errorf("%w: %w", channels.ErrMalformed, err)
	}
	ts, err := timestamp(p.Timestamp, received)
	if err != nil {
		return channels.Batch{}, err
	}
	switch p.Type {
	case "", typeMessage:
		m, err := c.inbound(&p, ts, received)
		if err != nil {
			return channels.Batch{}, err
		}
		return channels.Batch{Messages: []channels.Inbound{m}}, nil
	case typeStatus:
		s, err := c.status(&p, ts)
		if err != nil {
			return channels.Batch{}, err
		}
		return channels.Batch{Statuses: []channels.Status{s}}, nil
	default:
		return channels.Batch{}, fmt.Errorf("%w: unknown type %q", channels.ErrMalformed, truncate(p.Type))
	}
}

func (c *Channel) inbound(p *payload, ts, received time.Time) (channels.Inbound, error) {
	switch {
	case p.ID == "" || p.SessionID == "" || (p.Text == "" && p.Media == nil):
		return channels.Inbound{}, fmt.Errorf("%w: a message lacks id, session_id or text (or media)", channels.ErrMalformed)
	case len(p.ID) > maxIDBytes || len(p.SessionID) > maxIDBytes:
		return channels.Inbound{}, fmt.Errorf("%w: id or session_id longer than %d bytes", channels.ErrMalformed, maxIDBytes)
	case len(p.Text) > maxTextBytes:
		return channels.Inbound{}, fmt.Errorf("%w: text longer than %d bytes", channels.ErrMalformed, maxTextBytes)
	}
	m := channels.Inbound{
		Channel:     c.id,
		Kind:        KindName,
		ID:          p.ID,
		From:        p.SessionID,
		ProfileName: p.Name,
		Timestamp:   ts,
		Arrival:     received.UnixNano(),
		Type:        channels.TypeText,
		Text:        p.Text,
	}
	if p.Media != nil {
		media, err := c.media(p.Media)
		if err != nil {
			return channels.Inbound{}, fmt.Errorf("%w: %w", channels.ErrMalformed, err)
		}
		media.Caption = p.Text
		m.Type, m.Media = p.Media.Kind, media
	}
	return m, nil
}

func (c *Channel) status(p *payload, ts time.Time) (channels.Status, error) {
	if p.MessageID == "" {
		return channels.Status{}, fmt.Errorf("%w: a status lacks message_id", channels.ErrMalformed)
	}
	if len(p.MessageID) > maxIDBytes {
		return channels.Status{}, fmt.Errorf("%w: message_id longer than %d bytes", channels.ErrMalformed, maxIDBytes)
	}
	switch p.Status {
	case channels.StatusDelivered, channels.StatusRead, channels.StatusFailed:
	default:
		return channels.Status{}, fmt.Errorf("%w: status %q, want delivered, read or failed", channels.ErrMalformed, truncate(p.Status))
	}
	return channels.Status{
		Channel:   c.id,
		Kind:      KindName,
		MessageID: p.MessageID,
		Status:    p.Status,
		Timestamp: ts,
	}, nil
}

// timestamp is when the site says the message was sent. A site that does
// not say gets the receive time, so every message has one.
func timestamp(secs int64, received time.Time) (time.Time, error) {
	if secs == 0 {
		return received, nil
	}
	if secs < 0 || secs > maxUnixSeconds {
		return time.Time{}, fmt.Errorf("%w: timestamp %d is not Unix seconds", channels.ErrMalformed, secs)
	}
	return time.Unix(secs, 0).UTC(), nil
}

// truncate keeps a site's value short enough to quote in a log line.
func truncate(s string) string {
	const limit = 64
	if len(s) <= limit {
		return s
	}
	return s[:limit] + "..."
}
