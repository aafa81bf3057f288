// Package telegram is the Telegram Bot API channel (kind "telegram"): the
// webhook's secret token, the Update it carries, and sending through the
// Bot API. It knows Telegram's wire format and nothing about queues or
// routing.
//
// Only private chats with the bot are customer conversations; updates from
// groups and channels, and update kinds Switchboard does not model, are
// accepted and dropped, because Telegram redelivers any update that is not
// answered with 200.
package telegram

import (
	"crypto/subtle"
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
const KindName = "telegram"

// DefaultAPIBaseURL is the Bot API root.
const DefaultAPIBaseURL = "https://api.telegram.org"

// SecretHeader carries the secret_token given to setWebhook on every
// webhook request; it is the only proof a request comes from Telegram.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// defaultSendRate is Telegram's documented global limit for a bot: about
// 30 messages a second.
var defaultSendRate = channels.Rate{Count: 30, Per: time.Second, Burst: 30}

// Config is a telegram channel's configuration entry.
type Config struct {
	// BotToken is the token @BotFather issued; it authorizes every Bot API
	// call and is part of each call's URL.
	BotToken string `yaml:"bot_token"`
	// SecretToken is what Telegram sends in SecretHeader, set with
	// setWebhook: 1-256 characters of A-Z, a-z, 0-9, _ and -.
	SecretToken string `yaml:"secret_token"`
	// APIBaseURL is the Bot API root, overridable so tests can use a fake
	// (or a self-hosted Bot API server).
	APIBaseURL string `yaml:"api_base_url"`
	// SendRate bounds outbound messages; unset means Telegram's documented
	// limit for a bot, 30 a second, and a zero rate means no limit, as for
	// every kind.
	SendRate *channels.Rate `yaml:"send_rate"`
}

func (c *Config) validate() error {
	var errs []error
	if strings.TrimSpace(c.BotToken) == "" {
		errs = append(errs, errors.New("bot_token: required"))
	}
	switch {
	case c.SecretToken == "":
		errs = append(errs, errors.New("secret_token: required"))
	case !validSecretToken(c.SecretToken):
		// The value is a secret: say what is wrong, never what it is.
		errs = append(errs, errors.New("secret_token: want 1-256 characters of A-Z, a-z, 0-9, _ and -"))
	}
	var err error
	if c.APIBaseURL, err = channels.APIBaseURL("api_base_url", c.APIBaseURL, DefaultAPIBaseURL); err != nil {
		errs = append(errs, err)
	}
	if c.SendRate, err = channels.SendRate("send_rate", c.SendRate, defaultSendRate); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// validSecretToken reports whether s is a secret token setWebhook accepts.
func validSecretToken(s string) bool {
	if len(s) < 1 || len(s) > 256 {
		return false
	}
	for _, b := range []byte(s) {
		ok := b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '_' || b == '-'
		if !ok {
			return false
		}
	}
	return true
}

// Kind registers telegram channels in a channels.Registry.
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

// Channel is one Telegram bot.
type Channel struct {
	id     string
	cfg    Config
	http   *http.Client
	secret []byte
	// methodBase is "{api_base_url}/bot{token}/": a method name completes
	// a call's URL. It holds the token, so it never goes into an error.
	methodBase string
}

var (
	_ channels.WebhookReceiver = (*Channel)(nil)
	_ channels.Acknowledger    = (*Channel)(nil)
	_ channels.TextSender      = (*Channel)(nil)
	_ channels.Limited         = (*Channel)(nil)
)

// New validates cfg and returns the channel. httpClient calls the Bot API;
// nil means a client with a 30s timeout.
func New(id string, cfg Config, httpClient *http.Client) (*Channel, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	return &Channel{
		id:         id,
		cfg:        cfg,
		http:       httpClient,
		secret:     []byte(cfg.SecretToken),
		methodBase: cfg.APIBaseURL + "/bot" + url.PathEscape(cfg.BotToken) + "/",
	}, nil
}

// ID returns the channel's configured id.
func (c *Channel) ID() string { return c.id }

// Kind returns "telegram".
func (c *Channel) Kind() string { return KindName }

// Limits returns the configured send rate, shared by every replica
// because Telegram counts per bot, not per connection.
func (c *Channel) Limits() channels.Limits { return channels.Limits{Send: *c.cfg.SendRate} }

// Verify checks that SecretHeader equals the configured secret_token,
// compared in constant time. Telegram signs nothing else: the body is
// trusted because only Telegram (and whoever set the webhook) knows the
// secret.
func (c *Channel) Verify(r *http.Request, _ []byte) error {
	got := r.Header.Get(SecretHeader)
	if got == "" {
		return fmt.Errorf("%s header missing: %w", SecretHeader, channels.ErrBadSignature)
	}
	if subtle.ConstantTimeCompare([]byte(got), c.secret) != 1 {
		return fmt.Errorf("%s does not match secret_token: %w", SecretHeader, channels.ErrBadSignature)
	}
	return nil
}

// Parse turns a verified webhook body, one Update, into at most one
// message. Updates that are not a customer writing in a private chat (a
// group message, the bot being blocked, an inline query, ...) give an
// empty batch, not an error: Telegram would redeliver an update refused.
//
// For the same reason an Update whose content cannot be read (a message
// without its chat, a field of another shape) is not refused either: it
// is returned in Batch.Unparsed, to be counted, and the request answered
// 200, since retrying it could never succeed. Only a body that is not an
// Update at all (no positive update_id) is an error.
func (c *Channel) Parse(body []byte, received time.Time) (channels.Batch, error) {
	var head struct {
		UpdateID int64 `json:"update_id"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return channels.Batch{}, fmt.Errorf("%w: %w", channels.ErrMalformed, err)
	}
	if head.UpdateID <= 0 {
		return channels.Batch{}, fmt.Errorf("%w: update_id missing or not positive", channels.ErrMalformed)
	}
	odd := func(err error) channels.Batch {
		return channels.Batch{Unparsed: []channels.Unparsed{{Item: channels.ItemMessage, Reason: err.Error(), Raw: body}}}
	}
	var u update
	if err := json.Unmarshal(body, &u); err != nil {
		return odd(fmt.Errorf("%w: %w", channels.ErrMalformed, err)), nil
	}
	var (
		in  channels.Inbound
		ok  bool
		err error
	)
	switch {
	case u.Message != nil:
		in, ok, err = c.fromMessage(u.Message, false, received)
	case u.EditedMessage != nil:
		in, ok, err = c.fromMessage(u.EditedMessage, true, received)
	case u.CallbackQuery != nil:
		in, ok, err = c.fromCallback(u.CallbackQuery, received)
	}
	if err != nil {
		return odd(err), nil
	}
	if !ok {
		return channels.Batch{}, nil
	}
	// Telegram redelivers an update under the same update_id, and an edit
	// arrives as a new update of the same message_id: the update_id is the
	// id that deduplicates exactly the redeliveries.
	in.Channel = c.id
	in.Kind = KindName
	in.ID = strconv.FormatInt(u.UpdateID, 10)
	in.Arrival = received.UnixNano()
	return channels.Batch{Messages: []channels.Inbound{in}}, nil
}

// fromMessage normalizes a message or an edited message. ok is false for
// a message outside a private chat.
func (c *Channel) fromMessage(rm *channels.Raw[message], edited bool, received time.Time) (in channels.Inbound, ok bool, err error) {
	m := &rm.Value
	if m.Chat == nil || m.Chat.ID == 0 {
		return channels.Inbound{}, false, fmt.Errorf("%w: a message lacks its chat", channels.ErrMalformed)
	}
	if m.Chat.Type != "private" {
		return channels.Inbound{}, false, nil
	}
	in = channels.Inbound{
		From:        chatID(m.Chat.ID),
		ProfileName: profileName(m.From, m.Chat),
		Timestamp:   unixOr(m.Date, received),
	}
	if edited && m.Location != nil && m.Venue == nil {
		// Only a live location can be edited: each edit is the pin
		// moving, every few seconds while it is shared. The first message
		// started the conversation; its moves would flood it.
		return channels.Inbound{}, false, nil
	}
	if edited {
		in.ProviderType = "edited_message"
		if m.EditDate > 0 {
			in.Timestamp = unixOr(m.EditDate, received)
		}
	}
	if r := m.ReplyToMessage; r != nil && r.MessageID != 0 {
		// A quoted message is always in the same chat.
		in.ReplyTo = providerID(m.Chat.ID, r.MessageID)
	}
	media := func(typ string, f *file, mimeType string) {
		in.Type = typ
		in.Media = &channels.Media{ID: f.FileID, MimeType: f.MimeType, Filename: f.FileName, Caption: m.Caption}
		if in.Media.MimeType == "" {
			in.Media.MimeType = mimeType
		}
		in.Text = m.Caption
	}
	switch {
	case m.Text != nil:
		in.Type = channels.TypeText
		in.Text = *m.Text
	case m.Animation != nil:
		// An animation (a GIF, sent as MP4) also sets document, for old
		// clients; it is a silent looping video, not a file to download.
		media(channels.TypeVideo, m.Animation, "video/mp4")
		in.Media.Animated = true
	case len(m.Photo) > 0:
		// Telegram lists one photo in several sizes, smallest first.
		largest := m.Photo[len(m.Photo)-1]
		media(channels.TypeImage, &file{FileID: largest.FileID}, "image/jpeg")
	case m.Document != nil:
		media(channels.TypeDocument, m.Document, "")
	case m.Video != nil:
		media(channels.TypeVideo, m.Video, "")
	case m.VideoNote != nil:
		// A round video message: always MPEG-4, and it has no caption.
		media(channels.TypeVideo, m.VideoNote, "video/mp4")
	case m.Voice != nil:
		media(channels.TypeAudio, m.Voice, "audio/ogg")
		in.Media.Voice = true
	case m.Audio != nil:
		media(channels.TypeAudio, m.Audio, "")
	case m.Sticker != nil:
		s := m.Sticker
		in.Type = channels.TypeSticker
		in.Media = &channels.Media{ID: s.FileID, MimeType: stickerMimeType(s), Animated: s.IsAnimated || s.IsVideo}
	case m.Venue != nil:
		// A venue also sets location, for old clients: check it first.
		in.Type = channels.TypeLocation
		l := m.Venue.Location
		if l == nil {
			l = m.Location
		}
		in.Location = &channels.Location{Name: m.Venue.Title, Address: m.Venue.Address}
		if l != nil {
			in.Location.Latitude, in.Location.Longitude = l.Latitude, l.Longitude
		}
	case m.Location != nil:
		in.Type = channels.TypeLocation
		in.Location = &channels.Location{Latitude: m.Location.Latitude, Longitude: m.Location.Longitude}
	case m.Contact != nil:
		in.Type = channels.TypeContacts
		sc := channels.SharedContact{Name: strings.TrimSpace(m.Contact.FirstName + " " + m.Contact.LastName)}
		if m.Contact.PhoneNumber != "" {
			sc.Phones = []string{m.Contact.PhoneNumber}
		}
		in.Contacts = []channels.SharedContact{sc}
	default:
		// poll, dice, game, invoice, a service message, and whatever
		// Telegram adds next: kept whole, never dropped. Its own type
		// name says more than "edited_message" would.
		in.Type = channels.TypeUnknown
		in.ProviderType = providerType(rm.Bytes)
		in.Raw = rm.Bytes
	}
	return in, true, nil
}

// fromCallback normalizes a tap on an inline keyboard button. ok is false
// for a button on a message outside a private chat.
func (c *Channel) fromCallback(rq *channels.Raw[callbackQuery], received time.Time) (in channels.Inbound, ok bool, err error) {
	q := &rq.Value
	var from int64
	if m := q.Message; m != nil && m.Chat != nil && m.Chat.ID != 0 {
		if m.Chat.Type != "private" {
			return channels.Inbound{}, false, nil
		}
		from = m.Chat.ID
		if m.MessageID != 0 {
			in.ReplyTo = providerID(m.Chat.ID, m.MessageID)
		}
	} else if q.From != nil {
		// A button on a message sent in inline mode: only the user is known,
		// and a user's id is their private chat's id.
		from = q.From.ID
	}
	if from == 0 {
		return channels.Inbound{}, false, fmt.Errorf("%w: a callback_query lacks both message.chat and from", channels.ErrMalformed)
	}
	in.From = chatID(from)
	in.ProfileName = profileName(q.From, nil)
	// A callback query carries no date: the tap happened just now.
	in.Timestamp = received.UTC()
	if q.Data == "" {
		// A game's Play button carries game_short_name, not data: nothing
		// for routing to match, so it is kept whole like any unknown type.
		in.Type = channels.TypeUnknown
		in.ProviderType = "callback_query"
		in.Raw = rq.Bytes
		return in, true, nil
	}
	in.Type = channels.TypeInteractive
	in.AckToken = q.ID
	in.Reply = &channels.Reply{Kind: "callback_query", ID: q.Data, Title: q.Data}
	in.Text = q.Data
	return in, true, nil
}

// providerID is a message's id as Switchboard stores it: Telegram's
// message ids are only unique within a chat.
func providerID(chat, message int64) string {
	return chatID(chat) + ":" + strconv.FormatInt(message, 10)
}

func chatID(id int64) string { return strconv.FormatInt(id, 10) }

// profileName is the sender's name as their Telegram profile shows it,
// falling back to the private chat's, which is the same person.
func profileName(from *user, ch *chat) string {
	switch {
	case from != nil && from.FirstName+from.LastName != "":
		return strings.TrimSpace(from.FirstName + " " + from.LastName)
	case ch != nil:
		return strings.TrimSpace(ch.FirstName + " " + ch.LastName)
	}
	return ""
}

// unixOr is Unix seconds as a UTC time, or the receive time when Telegram
// left the date out: a missing date is no reason to refuse a message.
func unixOr(secs int64, received time.Time) time.Time {
	if secs <= 0 {
		return received.UTC()
	}
	return time.Unix(secs, 0).UTC()
}

// stickerMimeType tells the three sticker formats apart: TGS (gzipped
// Lottie), WEBM video, and static WEBP.
func stickerMimeType(s *sticker) string {
	switch {
	case s.IsAnimated:
		return "application/x-tgsticker"
	case s.IsVideo:
		return "video/webm"
	}
	return "image/webp"
}

// callbackAnswer is answerCallbackQuery given as the webhook's answer,
// which Telegram runs: the button stops spinning without another call.
type callbackAnswer struct {
	Method          string `json:"method"`
	CallbackQueryID string `json:"callback_query_id"`
}

// Ack answers a queued button tap, so the customer's button stops showing
// a spinner; anything else gets an empty 200.
func (c *Channel) Ack(b channels.Batch) (string, []byte) {
	for _, m := range b.Messages {
		if m.AckToken == "" {
			continue
		}
		body, err := json.Marshal(callbackAnswer{Method: "answerCallbackQuery", CallbackQueryID: m.AckToken})
		if err != nil {
			return "", nil
		}
		return "application/json", body
	}
	return "", nil
}
