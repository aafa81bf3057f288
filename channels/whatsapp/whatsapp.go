// Package whatsapp is the WhatsApp Cloud API channel (kind
// "whatsapp_cloud"): Meta's webhook signature and verification handshake,
// its webhook payload, and sending through the Graph API. It knows Meta's
// wire format and nothing about queues or routing.
package whatsapp

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"switchboard/channels"
)

// KindName is the configuration's `kind:` for this channel.
const KindName = "whatsapp_cloud"

// DefaultAPIBaseURL is the Graph API version Switchboard is written against.
const DefaultAPIBaseURL = "https://graph.facebook.com/v21.0"

// SignatureHeader carries Meta's HMAC-SHA256 of the raw body.
const SignatureHeader = "X-Hub-Signature-256"

// Config is a whatsapp_cloud channel's configuration entry.
type Config struct {
	// PhoneNumberID is the business number's id in WhatsApp Manager; sends
	// go from it, and webhook changes for other numbers are ignored.
	PhoneNumberID string `yaml:"phone_number_id"`
	// AppSecret keys the webhook signature.
	AppSecret string `yaml:"app_secret"`
	// VerifyToken answers Meta's verification handshake.
	VerifyToken string `yaml:"verify_token"`
	// AccessToken authorizes sends (a system user token).
	AccessToken string `yaml:"access_token"`
	// APIBaseURL is the Graph API root, overridable so tests can use a fake.
	APIBaseURL string `yaml:"api_base_url"`
	// SendRate bounds sends across replicas; the default is the Cloud
	// API's standard throughput of 80 messages a second.
	SendRate *channels.Rate `yaml:"send_rate"`
}

// defaultSendRate is the Cloud API's default throughput per number.
var defaultSendRate = channels.Rate{Count: 80, Per: time.Second, Burst: 80}

func (c *Config) validate() error {
	var errs []error
	for _, f := range []struct{ key, val string }{
		{"phone_number_id", c.PhoneNumberID},
		{"app_secret", c.AppSecret},
		{"verify_token", c.VerifyToken},
		{"access_token", c.AccessToken},
	} {
		if strings.TrimSpace(f.val) == "" {
			errs = append(errs, fmt.Errorf("%s: required", f.key))
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

// Kind registers whatsapp_cloud channels in a channels.Registry.
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

// Channel is one WhatsApp Cloud API number.
type Channel struct {
	id     string
	cfg    Config
	http   *http.Client
	secret []byte
	sendTo string // the messages endpoint
}

var (
	_ channels.WebhookReceiver = (*Channel)(nil)
	_ channels.Handshaker      = (*Channel)(nil)
	_ channels.TextSender      = (*Channel)(nil)
	_ channels.AuthCodeSender  = (*Channel)(nil)
	_ channels.TemplateSender  = (*Channel)(nil)
	_ channels.Limited         = (*Channel)(nil)
)

// New validates cfg and returns the channel. httpClient sends to the Graph
// API; nil means a client with a 30s timeout.
func New(id string, cfg Config, httpClient *http.Client) (*Channel, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &Channel{
		id:     id,
		cfg:    cfg,
		http:   httpClient,
		secret: []byte(cfg.AppSecret),
		sendTo: cfg.APIBaseURL + "/" + url.PathEscape(cfg.PhoneNumberID) + "/messages",
	}, nil
}

// ID returns the channel's configured id.
func (c *Channel) ID() string { return c.id }

// Kind returns "whatsapp_cloud".
func (c *Channel) Kind() string { return KindName }

// NeedsAuthTemplate is true: the Cloud API sends a login code to someone
// who may never have written only as an approved authentication template.
func (c *Channel) NeedsAuthTemplate() bool { return true }

// Limits returns the configured send rate.
func (c *Channel) Limits() channels.Limits { return channels.Limits{Send: *c.cfg.SendRate} }

// Verify checks X-Hub-Signature-256: "sha256=" and the hex HMAC-SHA256 of
// the raw body keyed by the app secret, compared in constant time.
func (c *Channel) Verify(r *http.Request, body []byte) error {
	sig := r.Header.Get(SignatureHeader)
	if sig == "" {
		return fmt.Errorf("%s header missing: %w", SignatureHeader, channels.ErrBadSignature)
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
	mac := hmac.New(sha256.New, c.secret)
	mac.Write(body)
	var want [sha256.Size]byte
	if !hmac.Equal(got[:], mac.Sum(want[:0])) {
		return fmt.Errorf("%s does not match the body: %w", SignatureHeader, channels.ErrBadSignature)
	}
	return nil
}

// Handshake answers Meta's GET verification: hub.mode=subscribe with the
// configured hub.verify_token gets hub.challenge back.
func (c *Channel) Handshake(q url.Values) (string, bool) {
	challenge := q.Get("hub.challenge")
	token := q.Get("hub.verify_token")
	tokenOK := subtle.ConstantTimeCompare([]byte(token), []byte(c.cfg.VerifyToken)) == 1
	if q.Get("hub.mode") != "subscribe" || !tokenOK || challenge == "" {
		return "", false
	}
	return challenge, true
}

// Parse turns a verified webhook body into messages and statuses. Changes
// for other phone numbers of the same Meta app, and fields other than
// "messages", are skipped: they are not this channel's.
//
// Only a body that is not Meta's envelope is an error. An entry, change,
// message or status inside it that cannot be read goes to Batch.Unparsed
// and the rest is returned: a message with an id and a sender is kept as
// an unknown-type message with its raw payload.
func (c *Channel) Parse(body []byte, received time.Time) (channels.Batch, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return channels.Batch{}, fmt.Errorf("%w: %w", channels.ErrMalformed, err)
	}
	if env.Object != "whatsapp_business_account" {
		return channels.Batch{}, fmt.Errorf("%w: object is %q, want whatsapp_business_account", channels.ErrMalformed, env.Object)
	}
	var b channels.Batch
	base := received.UnixNano()
	for _, rawEntry := range env.Entry {
		var e entry
		if err := json.Unmarshal(rawEntry, &e); err != nil {
			b.Unparsed = append(b.Unparsed, unparsed(channels.ItemEntry, rawEntry, err))
			continue
		}
		for _, rawChange := range e.Changes {
			var ch change
			if err := json.Unmarshal(rawChange, &ch); err != nil {
				b.Unparsed = append(b.Unparsed, unparsed(channels.ItemChange, rawChange, err))
				continue
			}
			if ch.Field != "messages" {
				continue
			}
			var v value
			if err := json.Unmarshal(ch.Value, &v); err != nil {
				b.Unparsed = append(b.Unparsed, unparsed(channels.ItemChange, rawChange, err))
				continue
			}
			if v.Metadata.PhoneNumberID != c.cfg.PhoneNumberID {
				continue
			}
			contacts := decodeContacts(v.Contacts)
			for _, raw := range v.Messages {
				m, ignored, err := c.inbound(raw, contacts)
				switch {
				case ignored != "":
					b.Ignored = append(b.Ignored, ignored)
					continue
				case err != nil:
					u := unparsed(channels.ItemMessage, raw, err)
					var ok bool
					if m, ok = c.keep(raw, contacts, received); !ok {
						b.Unparsed = append(b.Unparsed, u)
						continue
					}
					u.Kept = true
					b.Unparsed = append(b.Unparsed, u)
				}
				m.Arrival = base + int64(len(b.Messages))
				b.Messages = append(b.Messages, m)
			}
			for _, raw := range v.Statuses {
				s, err := c.status(raw)
				if err != nil {
					b.Unparsed = append(b.Unparsed, unparsed(channels.ItemStatus, raw, err))
					continue
				}
				b.Statuses = append(b.Statuses, s)
			}
		}
	}
	return b, nil
}

// unparsed records an item that could not be read. The reason is the
// decoder's or the parser's, neither of which quotes personal data.
func unparsed(item string, raw json.RawMessage, err error) channels.Unparsed {
	return channels.Unparsed{Item: item, Reason: err.Error(), Raw: raw}
}

// decodeContacts reads the change's contacts one by one: a contact of an
// odd shape only loses its profile name, never the messages.
func decodeContacts(raws []json.RawMessage) []contact {
	out := make([]contact, 0, len(raws))
	for _, raw := range raws {
		var ct contact
		if json.Unmarshal(raw, &ct) == nil {
			out = append(out, ct)
		}
	}
	return out
}

// sender is who sent a message, keyed by what Meta gives: the phone
// number when it is known (in the message or in the matching contact),
// else the business-scoped user id. The other id is kept beside it.
type sender struct {
	from, userID, username, profileName string
}

func senderOf(from, userID string, contacts []contact) sender {
	s := sender{from: from, userID: userID}
	ct, byID := findContact(contacts, from, userID)
	if byID {
		// Only a contact matched by an id completes the ids: the sole
		// contact of a change is taken for the sender's name, but a
		// message naming nobody is not pinned on it.
		if s.from == "" {
			s.from = ct.WaID
		}
		if s.userID == "" {
			s.userID = ct.UserID
		}
	}
	if ct != nil {
		s.username, s.profileName = ct.Profile.Username, ct.Profile.Name
	}
	if s.from == "" {
		s.from = s.userID
	}
	if s.userID == s.from {
		s.userID = ""
	}
	return s
}

// findContact finds the sender among the change's contacts by either id
// (byID), else takes the change's only contact.
func findContact(contacts []contact, from, userID string) (ct *contact, byID bool) {
	for i, ct := range contacts {
		if (from != "" && ct.WaID == from) || (userID != "" && ct.UserID == userID) {
			return &contacts[i], true
		}
	}
	if len(contacts) == 1 && (from != "" || userID != "") {
		return &contacts[0], false
	}
	return nil, false
}

// keep turns a message that could not be read into an unknown-type
// message with its raw payload, when its id and sender can still be
// found: the operator sees that something came, and nothing is lost.
// Its fields are read one by one, so that one odd field cannot hide them.
func (c *Channel) keep(raw json.RawMessage, contacts []contact, received time.Time) (channels.Inbound, bool) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return channels.Inbound{}, false
	}
	str := func(key string) string {
		var v string
		_ = json.Unmarshal(fields[key], &v)
		return v
	}
	id := str("id")
	who := senderOf(str("from"), str("from_user_id"), contacts)
	if id == "" || who.from == "" {
		return channels.Inbound{}, false
	}
	ts, err := unixSeconds(str("timestamp"))
	if err != nil {
		ts = received.UTC()
	}
	return channels.Inbound{
		Channel: c.id, Kind: KindName, ID: id,
		From: who.from, UserID: who.userID, Username: who.username, ProfileName: who.profileName,
		Timestamp: ts, Type: channels.TypeUnknown, ProviderType: str("type"),
		Raw: append(json.RawMessage(nil), raw...),
	}, true
}

// inbound reads one message. ignored names why a readable message is not
// for Switchboard (a group message); err says why it could not be read.
func (c *Channel) inbound(raw json.RawMessage, contacts []contact) (in channels.Inbound, ignored string, err error) {
	var rm channels.Raw[message]
	if err := json.Unmarshal(raw, &rm); err != nil {
		return channels.Inbound{}, "", fmt.Errorf("%w: message: %w", channels.ErrMalformed, err)
	}
	m := &rm.Value
	if m.GroupID != "" {
		// A Groups API message: a reply would go to the member, not to
		// the group, so it is no one-to-one conversation.
		return channels.Inbound{}, channels.IgnoredGroup, nil
	}
	who := senderOf(m.From, m.FromUserID, contacts)
	if m.ID == "" || who.from == "" || m.Type == "" {
		return channels.Inbound{}, "", fmt.Errorf("%w: a message lacks id, sender (from or from_user_id) or type", channels.ErrMalformed)
	}
	ts, err := unixSeconds(m.Timestamp)
	if err != nil {
		return channels.Inbound{}, "", fmt.Errorf("%w: message timestamp: %w", channels.ErrMalformed, err)
	}
	in = channels.Inbound{
		Channel:     c.id,
		Kind:        KindName,
		ID:          m.ID,
		From:        who.from,
		UserID:      who.userID,
		Username:    who.username,
		ProfileName: who.profileName,
		Timestamp:   ts,
		Type:        m.Type,
	}
	if m.Context != nil {
		in.ReplyTo = m.Context.ID
	}
	if r := m.Referral; r != nil {
		in.Referral = &channels.Referral{
			SourceURL: r.SourceURL, SourceID: r.SourceID, SourceType: r.SourceType,
			Headline: r.Headline, Body: r.Body, MediaType: r.MediaType, CTWAClickID: r.CTWAClickID,
			ImageURL: r.ImageURL, VideoURL: r.VideoURL, ThumbnailURL: r.ThumbnailURL,
		}
	}
	switch m.Type {
	case channels.TypeText:
		if m.Text != nil {
			in.Text = m.Text.Body
		}
	case channels.TypeInteractive:
		if m.Interactive != nil {
			item := m.Interactive.ButtonReply
			if m.Interactive.Type == "list_reply" || item == nil {
				item = m.Interactive.ListReply
			}
			if item != nil {
				in.Reply = &channels.Reply{Kind: m.Interactive.Type, ID: item.ID, Title: item.Title}
				in.Text = item.Title
			}
		}
	case channels.TypeButton:
		if m.Button != nil {
			in.Reply = &channels.Reply{Kind: "button", ID: m.Button.Payload, Title: m.Button.Text}
			in.Text = m.Button.Text
		}
	case channels.TypeImage, channels.TypeAudio, channels.TypeVideo, channels.TypeDocument, channels.TypeSticker:
		if md := m.media(); md != nil {
			in.Media = &channels.Media{ID: md.ID, MimeType: md.MimeType, SHA256: md.SHA256,
				Caption: md.Caption, Filename: md.Filename, Voice: md.Voice, Animated: md.Animated}
			in.Text = md.Caption
		}
	case channels.TypeLocation:
		if l := m.Location; l != nil {
			in.Location = &channels.Location{Latitude: l.Latitude, Longitude: l.Longitude, Name: l.Name, Address: l.Address, URL: l.URL}
		}
	case channels.TypeContacts:
		for _, card := range m.Contacts {
			sc := channels.SharedContact{Name: card.Name.FormattedName}
			if sc.Name == "" {
				sc.Name = strings.TrimSpace(card.Name.FirstName + " " + card.Name.LastName)
			}
			for _, p := range card.Phones {
				sc.Phones = append(sc.Phones, p.Phone)
			}
			for _, e := range card.Emails {
				sc.Emails = append(sc.Emails, e.Email)
			}
			in.Contacts = append(in.Contacts, sc)
		}
	case channels.TypeReaction:
		if r := m.Reaction; r != nil {
			in.Reaction = &channels.Reaction{MessageID: r.MessageID, Emoji: r.Emoji}
		}
	default:
		// order, system, unsupported, request_welcome, and whatever Meta
		// adds next: kept whole, never dropped.
		in.Type = channels.TypeUnknown
		in.ProviderType = m.Type
		in.Raw = rm.Bytes
	}
	return in, "", nil
}

func (m *message) media() *media {
	switch m.Type {
	case channels.TypeImage:
		return m.Image
	case channels.TypeAudio:
		return m.Audio
	case channels.TypeVideo:
		return m.Video
	case channels.TypeDocument:
		return m.Document
	default:
		return m.Sticker
	}
}

// status reads one delivery status. Meta's 131047 (the 24-hour window had
// closed) is titled channels.WindowClosedTitle, so the operator sees the
// same window_closed as when the send itself was refused.
func (c *Channel) status(raw json.RawMessage) (channels.Status, error) {
	var s status
	if err := json.Unmarshal(raw, &s); err != nil {
		return channels.Status{}, fmt.Errorf("%w: status: %w", channels.ErrMalformed, err)
	}
	if s.ID == "" || s.Status == "" {
		return channels.Status{}, fmt.Errorf("%w: a status lacks id or status", channels.ErrMalformed)
	}
	ts, err := unixSeconds(s.Timestamp)
	if err != nil {
		return channels.Status{}, fmt.Errorf("%w: status timestamp: %w", channels.ErrMalformed, err)
	}
	out := channels.Status{
		Channel:     c.id,
		Kind:        KindName,
		MessageID:   s.ID,
		Status:      s.Status,
		Timestamp:   ts,
		RecipientID: s.RecipientID,
	}
	if out.RecipientID == "" {
		out.RecipientID = s.RecipientUserID
	}
	for _, e := range s.Errors {
		se := channels.StatusError{Code: e.Code, Title: e.Title, Message: e.Message, Details: e.ErrorData.Details}
		if e.Code == reEngagementCode {
			se.Title = channels.WindowClosedTitle
		}
		out.Errors = append(out.Errors, se)
	}
	return out, nil
}

func unixSeconds(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		// The value is not quoted: the reason is logged, and an odd field
		// could hold anything.
		return time.Time{}, errors.New("not Unix seconds")
	}
	return time.Unix(n, 0).UTC(), nil
}
