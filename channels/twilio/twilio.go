// Package twilio is the Twilio Programmable Messaging channel (kind
// "twilio"): WhatsApp and SMS numbers, or a Messaging Service, reached
// through Twilio's REST API. It checks Twilio's request signature, turns
// its form-encoded webhooks into normalized messages and statuses, and
// sends through the Messages API. It knows Twilio's wire format and
// nothing about queues or routing.
package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"switchboard/channels"
)

// KindName is the configuration's `kind:` for this channel.
const KindName = "twilio"

// DefaultAPIBaseURL is Twilio's REST API root; the API version is part of
// each endpoint's path.
const DefaultAPIBaseURL = "https://api.twilio.com"

// SignatureHeader carries Twilio's base64 HMAC-SHA1 of the requested URL
// and the POST parameters, keyed by the account's auth token.
const SignatureHeader = "X-Twilio-Signature"

// whatsAppPrefix marks WhatsApp addresses in Twilio's From and To fields;
// without it an address is a phone number reached by SMS.
const whatsAppPrefix = "whatsapp:"

// ackContentType and ackBody are an empty TwiML response: Twilio sends no
// reply of its own and logs no warning, as it does for any non-TwiML 200.
const (
	ackContentType = "text/xml"
	ackBody        = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`
)

// Config is a twilio channel's configuration entry.
type Config struct {
	// AccountSID names the Twilio account ("AC..."); it is the API user.
	AccountSID string `yaml:"account_sid"`
	// AuthToken keys the webhook signatures and is the API password.
	AuthToken string `yaml:"auth_token"`
	// From is who sends: "whatsapp:+14155238886" for a WhatsApp sender,
	// "+14155238886" for an SMS number, or a Messaging Service SID
	// ("MG...") to let the service pick the number.
	From string `yaml:"from"`
	// PublicURL is the scheme, host and any path prefix Twilio posts to,
	// e.g. "https://cs.example.com". The gateway sits behind a proxy, so
	// the Host it sees is not the one Twilio signed; PublicURL plus the
	// request URI as received must be exactly the webhook URL configured
	// in Twilio.
	PublicURL string `yaml:"public_url"`
	// APIBaseURL is the REST API root, overridable so tests can use a fake.
	APIBaseURL string `yaml:"api_base_url"`
	// SendRate bounds sends across replicas; the default is 80 messages a
	// second, the WhatsApp throughput Twilio grants a sender by default.
	// An SMS long code gets far less (one a second in the US): set it.
	SendRate *channels.Rate `yaml:"send_rate"`
}

// defaultSendRate is Twilio's default WhatsApp throughput per sender.
var defaultSendRate = channels.Rate{Count: 80, Per: time.Second, Burst: 80}

func (c *Config) validate() error {
	var errs []error
	for _, f := range []struct{ key, val string }{
		{"account_sid", c.AccountSID},
		{"auth_token", c.AuthToken},
		{"from", c.From},
		{"public_url", c.PublicURL},
	} {
		if strings.TrimSpace(f.val) == "" {
			errs = append(errs, fmt.Errorf("%s: required", f.key))
		}
	}
	if c.AccountSID != "" && !strings.HasPrefix(c.AccountSID, "AC") {
		errs = append(errs, fmt.Errorf("account_sid: want an Account SID starting with AC, got %q", c.AccountSID))
	}
	if c.From != "" && !validFrom(c.From) {
		errs = append(errs, fmt.Errorf(`from: want "whatsapp:+<number>", "+<number>" or a Messaging Service SID (MG...), got %q`, c.From))
	}
	if c.PublicURL != "" {
		c.PublicURL = strings.TrimRight(c.PublicURL, "/")
		// A query or fragment here could not be followed by the request
		// URI, so no request would ever verify.
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
			errs = append(errs, fmt.Errorf("public_url: want an absolute http(s) URL without query, got %q", c.PublicURL))
		}
	}
	var err error
	if c.SendRate, err = channels.SendRate("send_rate", c.SendRate, defaultSendRate); err != nil {
		errs = append(errs, err)
	}
	if c.APIBaseURL, err = channels.APIBaseURL("api_base_url", c.APIBaseURL, DefaultAPIBaseURL); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// validFrom accepts a Messaging Service SID or an E.164 number, with the
// WhatsApp prefix or without.
func validFrom(from string) bool {
	if strings.HasPrefix(from, "MG") {
		return len(from) > 2
	}
	number, _ := strings.CutPrefix(from, whatsAppPrefix)
	digits, ok := strings.CutPrefix(number, "+")
	return ok && len(digits) >= 2 && len(digits) <= 15 && strings.Trim(digits, "0123456789") == ""
}

// Kind registers twilio channels in a channels.Registry.
var Kind = channels.Kind{
	Name: KindName,
	New: func(id string, decode func(any) error, deps channels.Deps) (channels.Channel, error) {
		var cfg Config
		if err := decode(&cfg); err != nil {
			return nil, err
		}
		return New(id, cfg, deps.HTTPClient)
	},
}

// Channel is one Twilio sender: a WhatsApp sender, an SMS number or a
// Messaging Service.
type Channel struct {
	id     string
	cfg    Config
	http   *http.Client
	token  []byte
	sendTo string // the Messages endpoint
	// fromKey is the form field naming the sender: From, or
	// MessagingServiceSid for a service.
	fromKey string
	// toPrefix goes before a recipient's digits: "whatsapp:+" when sending
	// from a WhatsApp sender, "+" otherwise.
	toPrefix string
}

var (
	_ channels.WebhookReceiver = (*Channel)(nil)
	_ channels.Acknowledger    = (*Channel)(nil)
	_ channels.TextSender      = (*Channel)(nil)
	_ channels.TemplateSender  = (*Channel)(nil)
	_ channels.AuthCodeSender  = (*Channel)(nil)
	_ channels.Limited         = (*Channel)(nil)
)

// New validates cfg and returns the channel. httpClient sends to the REST
// API; nil means a client with a 30s timeout.
func New(id string, cfg Config, httpClient *http.Client) (*Channel, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	ch := &Channel{
		id:       id,
		cfg:      cfg,
		http:     httpClient,
		token:    []byte(cfg.AuthToken),
		sendTo:   cfg.APIBaseURL + "/2010-04-01/Accounts/" + url.PathEscape(cfg.AccountSID) + "/Messages.json",
		fromKey:  "From",
		toPrefix: "+",
	}
	switch {
	case strings.HasPrefix(cfg.From, "MG"):
		// A service SID does not say whether the service's senders are
		// WhatsApp or SMS; it is taken to be SMS. Configure the WhatsApp
		// sender's own number to send WhatsApp.
		ch.fromKey = "MessagingServiceSid"
	case strings.HasPrefix(cfg.From, whatsAppPrefix):
		ch.toPrefix = whatsAppPrefix + "+"
	}
	return ch, nil
}

// ID returns the channel's configured id.
func (c *Channel) ID() string { return c.id }

// Kind returns "twilio".
func (c *Channel) Kind() string { return KindName }

// Limits returns the configured send rate.
func (c *Channel) Limits() channels.Limits { return channels.Limits{Send: *c.cfg.SendRate} }

// Ack returns an empty TwiML response, so Twilio answers the customer with
// nothing and logs no warning about the webhook's answer.
func (c *Channel) Ack(channels.Batch) (string, []byte) { return ackContentType, []byte(ackBody) }

// Verify checks X-Twilio-Signature as Twilio documents it: the base64
// HMAC-SHA1, keyed by the auth token, of the URL Twilio requested
// (public_url and the request URI as received, query included) followed
// by every POST parameter's name and value, sorted by name (and a
// repeated name's values sorted too), with no delimiters. It is compared
// in constant time.
//
// A body that is not form-encoded fails with ErrBadSignature: its
// parameters, and so the string Twilio would have signed, cannot be
// known, so the request cannot be shown to be Twilio's. JSON bodies signed
// through a bodySHA256 query parameter are not supported; Programmable
// Messaging webhooks are always form-encoded.
func (c *Channel) Verify(r *http.Request, body []byte) error {
	sig := r.Header.Get(SignatureHeader)
	if sig == "" {
		return fmt.Errorf("%s header missing: %w", SignatureHeader, channels.ErrBadSignature)
	}
	// The exact length, the strict alphabet and padding leave one encoding
	// per digest, so the header is accepted exactly when it is the
	// signature Twilio's libraries would produce.
	if len(sig) != base64.StdEncoding.EncodedLen(sha1.Size) {
		return fmt.Errorf("%s has the wrong length: %w", SignatureHeader, channels.ErrBadSignature)
	}
	var got [sha1.Size + 1]byte // DecodedLen of 28 characters is 21
	n, err := base64.StdEncoding.Strict().Decode(got[:], []byte(sig))
	if err != nil || n != sha1.Size {
		return fmt.Errorf("%s is not base64 of a SHA-1 digest: %w", SignatureHeader, channels.ErrBadSignature)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return fmt.Errorf("body is not form-encoded, so its signature cannot be checked: %w", channels.ErrBadSignature)
	}
	mac := hmac.New(sha1.New, c.token)
	io.WriteString(mac, c.cfg.PublicURL)
	io.WriteString(mac, requestURI(r))
	for _, name := range slices.Sorted(maps.Keys(form)) {
		values := form[name]
		slices.Sort(values)
		for _, v := range values {
			io.WriteString(mac, name)
			io.WriteString(mac, v)
		}
	}
	var want [sha1.Size]byte
	if !hmac.Equal(got[:n], mac.Sum(want[:0])) {
		return fmt.Errorf("%s does not match the URL and parameters: %w", SignatureHeader, channels.ErrBadSignature)
	}
	return nil
}

// requestURI is the path and query Twilio requested. The raw request
// target is preferred: it is byte for byte what Twilio signed, while r.URL
// may have been re-encoded or rewritten by routing middleware. A target in
// absolute form (sent to a proxy) is not a path, so r.URL's is used then.
func requestURI(r *http.Request) string {
	if strings.HasPrefix(r.RequestURI, "/") {
		return r.RequestURI
	}
	if r.URL != nil {
		return r.URL.RequestURI()
	}
	return ""
}

// statuses maps Twilio's MessageStatus values to channels' statuses. Every
// state before Twilio hands the message to the carrier or WhatsApp counts
// as queued; a canceled scheduled message never went out, so it failed.
// received and receiving describe inbound messages and are absent: they
// are no delivery news.
var statuses = map[string]string{
	"accepted":    channels.StatusQueued,
	"scheduled":   channels.StatusQueued,
	"queued":      channels.StatusQueued,
	"sending":     channels.StatusQueued,
	"sent":        channels.StatusSent,
	"delivered":   channels.StatusDelivered,
	"read":        channels.StatusRead,
	"undelivered": channels.StatusFailed,
	"failed":      channels.StatusFailed,
	"canceled":    channels.StatusFailed,
}

// Parse turns a verified webhook body into messages or a status. Twilio
// posts one message or one status callback per request, told apart by
// MessageStatus, which only status callbacks carry.
//
// A status Twilio may add later (nothing downstream could act on it) and
// a received or receiving status without message content yield an empty
// batch rather than an error: refusing them would only fill Twilio's
// debugger with failed callbacks.
func (c *Channel) Parse(body []byte, received time.Time) (channels.Batch, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return channels.Batch{}, fmt.Errorf("%w: not form-encoded: %w", channels.ErrMalformed, err)
	}
	if form.Has("MessageStatus") {
		switch st := form.Get("MessageStatus"); st {
		case "received", "receiving":
			// The inbound side. Should such a callback ever carry the
			// message itself, it is kept: the MessageSid dedupes it
			// against the inbound webhook.
			if !form.Has("Body") && !form.Has("NumMedia") {
				return channels.Batch{}, nil
			}
		default:
			s, ok, err := c.status(form, received)
			if err != nil || !ok {
				return channels.Batch{}, err
			}
			return channels.Batch{Statuses: []channels.Status{s}}, nil
		}
	}
	msgs, err := c.inbound(form, received)
	if err != nil {
		// Twilio does not retry a refused webhook: a message with an id
		// and a sender but odd content (a NumMedia or a location that does
		// not add up) is kept whole rather than lost.
		m, ok := c.keep(form, received)
		if !ok {
			return channels.Batch{}, err
		}
		return channels.Batch{
			Messages: []channels.Inbound{m},
			Unparsed: []channels.Unparsed{{Item: channels.ItemMessage, Reason: err.Error(), Kept: true, Raw: m.Raw}},
		}, nil
	}
	return channels.Batch{Messages: msgs}, nil
}

// keep turns a message whose content could not be read into an
// unknown-type message with every field Twilio sent, when its id and
// sender are known.
func (c *Channel) keep(form url.Values, received time.Time) (channels.Inbound, bool) {
	id, from := messageSID(form), form.Get("WaId")
	if from == "" {
		from = address(form.Get("From"))
	}
	if id == "" || from == "" {
		return channels.Inbound{}, false
	}
	raw, _ := json.Marshal(form) // url.Values always marshals
	return channels.Inbound{
		Channel: c.id, Kind: KindName, ID: id, From: from, ProfileName: form.Get("ProfileName"),
		Timestamp: received, Arrival: received.UnixNano(),
		Type: channels.TypeUnknown, ProviderType: form.Get("MessageType"), Text: form.Get("Body"), Raw: raw,
	}, true
}

// status reads a status callback; ok is false for a status Switchboard
// does not know.
func (c *Channel) status(form url.Values, received time.Time) (channels.Status, bool, error) {
	id, st := messageSID(form), form.Get("MessageStatus")
	if id == "" || st == "" {
		return channels.Status{}, false, fmt.Errorf("%w: a status callback lacks MessageSid or MessageStatus", channels.ErrMalformed)
	}
	mapped, ok := statuses[st]
	if !ok {
		return channels.Status{}, false, nil
	}
	s := channels.Status{
		Channel:     c.id,
		Kind:        KindName,
		MessageID:   id,
		Status:      mapped,
		Timestamp:   received,
		RecipientID: address(form.Get("To")),
	}
	if mapped == channels.StatusFailed {
		code := 0
		if raw := form.Get("ErrorCode"); raw != "" {
			n, err := strconv.Atoi(raw)
			if err != nil {
				return channels.Status{}, false, fmt.Errorf("%w: ErrorCode %q is not a number", channels.ErrMalformed, raw)
			}
			code = n
		}
		// Title keeps Twilio's own status, which tells a carrier's refusal
		// (undelivered) from Twilio's (failed) and from a cancellation.
		se := channels.StatusError{Code: code, Title: st, Message: form.Get("ErrorMessage")}
		if code == outsideWindowCode {
			// The customer's 24-hour window had closed: titled as the
			// Cloud API's 131047 is, so the operator's history says
			// window_closed (only a template reaches them now). Twilio's
			// status moves to Details.
			se.Title, se.Details = channels.WindowClosedTitle, st
		}
		s.Errors = []channels.StatusError{se}
	}
	return s, true, nil
}

// inbound reads an incoming message. A message with several attachments
// (MMS allows ten) becomes one Inbound per attachment, so each is routed
// and stored like a WhatsApp media message: the first keeps the
// MessageSid as its id and carries the text as caption, the reply context
// and the referral; the others get MessageSid/1, MessageSid/2, ... which
// are as stable across Twilio's retries as the MessageSid itself.
func (c *Channel) inbound(form url.Values, received time.Time) ([]channels.Inbound, error) {
	id := messageSID(form)
	rawFrom := form.Get("From")
	if id == "" || rawFrom == "" {
		return nil, fmt.Errorf("%w: a message lacks MessageSid or From", channels.ErrMalformed)
	}
	from := form.Get("WaId")
	if from == "" {
		from = address(rawFrom)
	}
	if from == "" {
		return nil, fmt.Errorf("%w: From %q names no sender", channels.ErrMalformed, rawFrom)
	}
	numMedia, err := mediaCount(form)
	if err != nil {
		return nil, err
	}
	base := received.UnixNano()
	first := channels.Inbound{
		Channel:     c.id,
		Kind:        KindName,
		ID:          id,
		From:        from,
		ProfileName: form.Get("ProfileName"),
		Timestamp:   received,
		Arrival:     base,
		ReplyTo:     form.Get("OriginalRepliedMessageSid"),
		Referral:    referral(form),
	}
	text := form.Get("Body")

	if numMedia > 0 {
		msgs := make([]channels.Inbound, 0, numMedia)
		for i := range numMedia {
			n := strconv.Itoa(i)
			mediaURL, contentType := form.Get("MediaUrl"+n), form.Get("MediaContentType"+n)
			if mediaURL == "" {
				return nil, fmt.Errorf("%w: NumMedia is %d but MediaUrl%d is missing", channels.ErrMalformed, numMedia, i)
			}
			m := channels.Inbound{
				Channel: c.id, Kind: KindName, ID: id + "/" + n, From: from,
				ProfileName: first.ProfileName, Timestamp: received, Arrival: base + int64(i),
			}
			caption := ""
			if i == 0 {
				m, caption = first, text
				m.Text = text
			}
			m.Type = mediaType(contentType)
			// The bytes stay at Twilio: MediaUrl is fetched with the
			// account's credentials, so it serves as the media id.
			m.Media = &channels.Media{ID: mediaURL, MimeType: contentType, Caption: caption}
			msgs = append(msgs, m)
		}
		return msgs, nil
	}

	m := first
	messageType := form.Get("MessageType")
	lat, lon := form.Get("Latitude"), form.Get("Longitude")
	buttonPayload, buttonText := form.Get("ButtonPayload"), form.Get("ButtonText")
	switch {
	case lat != "" || lon != "":
		loc, err := location(lat, lon)
		if err != nil {
			return nil, err
		}
		loc.Name, loc.Address = form.Get("Label"), form.Get("Address")
		m.Type, m.Location, m.Text = channels.TypeLocation, loc, text
	case buttonPayload != "" || buttonText != "":
		m.Type = channels.TypeButton
		m.Reply = &channels.Reply{Kind: "button", ID: buttonPayload, Title: buttonText}
		m.Text = buttonText
	case !handledTypes[messageType]:
		// interactive, reaction, contacts, unsupported and whatever Twilio
		// adds next: kept whole, never dropped. url.Values always marshals.
		raw, _ := json.Marshal(form)
		m.Type, m.ProviderType, m.Raw, m.Text = channels.TypeUnknown, messageType, raw, text
	default:
		m.Type, m.Text = channels.TypeText, text
	}
	return []channels.Inbound{m}, nil
}

// handledTypes are the MessageType values (sent for WhatsApp only) whose
// content Parse reads from the other fields; "" is SMS.
var handledTypes = map[string]bool{
	"": true, "text": true, "image": true, "video": true, "audio": true,
	"document": true, "sticker": true, "location": true, "button": true,
}

// messageSID is the message's id; SmsMessageSid is its older name, still
// sent alongside.
func messageSID(form url.Values) string {
	if id := form.Get("MessageSid"); id != "" {
		return id
	}
	return form.Get("SmsMessageSid")
}

// address turns a Twilio address ("whatsapp:+5511900000001" or
// "+5511900000001") into a channel id: the digits without "+".
func address(s string) string {
	s, _ = strings.CutPrefix(s, whatsAppPrefix)
	s, _ = strings.CutPrefix(s, "+")
	return s
}

// mediaCount reads NumMedia, absent on some callbacks and meaning none.
func mediaCount(form url.Values) (int, error) {
	raw := form.Get("NumMedia")
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: NumMedia %q is not a count", channels.ErrMalformed, raw)
	}
	// Every attachment needs its own MediaUrl field, so a larger count is
	// a lie; checking it here bounds the loop over the attachments.
	if n > len(form) {
		return 0, fmt.Errorf("%w: NumMedia %d exceeds the %d fields sent", channels.ErrMalformed, n, len(form))
	}
	return n, nil
}

// mediaType classifies an attachment by its content type.
func mediaType(contentType string) string {
	ct := strings.ToLower(contentType)
	switch {
	case strings.HasPrefix(ct, "image/"):
		return channels.TypeImage
	case strings.HasPrefix(ct, "video/"):
		return channels.TypeVideo
	case strings.HasPrefix(ct, "audio/"):
		return channels.TypeAudio
	default:
		return channels.TypeDocument
	}
}

// location reads a shared pin's coordinates, which must both be present
// and on the globe.
func location(lat, lon string) (*channels.Location, error) {
	la, errLat := strconv.ParseFloat(lat, 64)
	lo, errLon := strconv.ParseFloat(lon, 64)
	if errLat != nil || errLon != nil || math.IsNaN(la) || math.IsNaN(lo) || math.Abs(la) > 90 || math.Abs(lo) > 180 {
		// The values are the customer's whereabouts: not for the log.
		return nil, fmt.Errorf("%w: Latitude and Longitude are not a location", channels.ErrMalformed)
	}
	return &channels.Location{Latitude: la, Longitude: lo}, nil
}

// referral reads the click-to-WhatsApp ad fields, present only on the
// first message after a customer tapped an ad.
func referral(form url.Values) *channels.Referral {
	r := channels.Referral{
		SourceURL:   form.Get("ReferralSourceUrl"),
		SourceID:    form.Get("ReferralSourceId"),
		SourceType:  form.Get("ReferralSourceType"),
		Headline:    form.Get("ReferralHeadline"),
		Body:        form.Get("ReferralBody"),
		CTWAClickID: form.Get("ReferralCtwaClid"),
	}
	if r == (channels.Referral{}) {
		return nil
	}
	return &r
}
