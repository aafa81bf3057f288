package whatsapp

import "encoding/json"

// The types below mirror the WhatsApp Cloud API webhook payload
// ("Webhooks Components" in Meta's documentation). Only fields Switchboard
// uses are declared; unknown fields are ignored by encoding/json, so Meta
// adding fields never breaks parsing.

// Each level of the batch (entries, changes, messages, statuses) is kept
// raw and decoded item by item: one item of an unexpected shape must not
// make the whole request unreadable, or Meta retries it, and every other
// message in it, for days.

// envelope is the whole webhook request body.
type envelope struct {
	Object string            `json:"object"` // always "whatsapp_business_account"
	Entry  []json.RawMessage `json:"entry"`
}

// entry is one WhatsApp Business Account's batch of changes.
type entry struct {
	ID      string            `json:"id"`
	Changes []json.RawMessage `json:"changes"`
}

// change is decoded in two steps: other fields (template status, account
// updates, ...) have other shapes, so only a "messages" value is decoded.
type change struct {
	Field string          `json:"field"` // "messages" for messages and statuses
	Value json.RawMessage `json:"value"`
}

type value struct {
	MessagingProduct string            `json:"messaging_product"`
	Metadata         metadata          `json:"metadata"`
	Contacts         []json.RawMessage `json:"contacts"`
	Messages         []json.RawMessage `json:"messages"`
	Statuses         []json.RawMessage `json:"statuses"`
}

type metadata struct {
	DisplayPhoneNumber string `json:"display_phone_number"`
	PhoneNumberID      string `json:"phone_number_id"`
}

// contact is the sender of the change's messages. WaID (the phone number)
// is omitted for a user who set a username and whose number Meta withholds;
// UserID, the business-scoped user id (BSUID), is always there since 2026.
type contact struct {
	Profile struct {
		Name     string `json:"name"`
		Username string `json:"username"`
	} `json:"profile"`
	WaID         string `json:"wa_id"`
	UserID       string `json:"user_id"`
	ParentUserID string `json:"parent_user_id"`
}

type message struct {
	// From is the sender's phone number, omitted when Meta withholds it.
	From string `json:"from"`
	// FromUserID is the sender's business-scoped user id (BSUID).
	FromUserID string `json:"from_user_id"`
	// GroupID is set on a message in a group made with the Groups API.
	GroupID     string        `json:"group_id"`
	ID          string        `json:"id"`
	Timestamp   string        `json:"timestamp"` // Unix seconds, as a string
	Type        string        `json:"type"`
	Text        *textBody     `json:"text"`
	Interactive *interactive  `json:"interactive"`
	Button      *button       `json:"button"`
	Image       *media        `json:"image"`
	Audio       *media        `json:"audio"`
	Video       *media        `json:"video"`
	Document    *media        `json:"document"`
	Sticker     *media        `json:"sticker"`
	Location    *location     `json:"location"`
	Contacts    []sharedCard  `json:"contacts"`
	Reaction    *reaction     `json:"reaction"`
	Context     *replyContext `json:"context"`
	Referral    *referral     `json:"referral"`
}

type textBody struct {
	Body string `json:"body"`
}

// interactive is a tapped reply button or list row of an interactive message.
type interactive struct {
	Type        string     `json:"type"` // button_reply or list_reply
	ButtonReply *replyItem `json:"button_reply"`
	ListReply   *replyItem `json:"list_reply"`
}

type replyItem struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
}

// button is a tapped quick-reply button of a template message.
type button struct {
	Payload string `json:"payload"`
	Text    string `json:"text"`
}

type media struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type"`
	SHA256   string `json:"sha256"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
	Voice    bool   `json:"voice"`
	Animated bool   `json:"animated"`
}

type location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name"`
	Address   string  `json:"address"`
	URL       string  `json:"url"`
}

type sharedCard struct {
	Name struct {
		FormattedName string `json:"formatted_name"`
		FirstName     string `json:"first_name"`
		LastName      string `json:"last_name"`
	} `json:"name"`
	Phones []struct {
		Phone string `json:"phone"`
		WaID  string `json:"wa_id"`
		Type  string `json:"type"`
	} `json:"phones"`
	Emails []struct {
		Email string `json:"email"`
		Type  string `json:"type"`
	} `json:"emails"`
}

type reaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"`
}

// replyContext names the message a customer quoted (or, for a button, the
// template message whose button was tapped).
type replyContext struct {
	From string `json:"from"`
	ID   string `json:"id"`
}

// referral is present on the first message of a conversation started from
// a click-to-WhatsApp ad or post.
type referral struct {
	SourceURL    string `json:"source_url"`
	SourceID     string `json:"source_id"`
	SourceType   string `json:"source_type"`
	Headline     string `json:"headline"`
	Body         string `json:"body"`
	MediaType    string `json:"media_type"`
	ImageURL     string `json:"image_url"`
	VideoURL     string `json:"video_url"`
	ThumbnailURL string `json:"thumbnail_url"`
	CTWAClickID  string `json:"ctwa_clid"`
}

type status struct {
	ID          string `json:"id"`
	Status      string `json:"status"` // sent, delivered, read, failed (and others)
	Timestamp   string `json:"timestamp"`
	RecipientID string `json:"recipient_id"`
	// RecipientUserID is the recipient's BSUID; RecipientID, the phone
	// number, is omitted when the message was sent to a BSUID.
	RecipientUserID string          `json:"recipient_user_id"`
	Errors          []providerError `json:"errors"`
}

// providerError is Meta's error object, in statuses and in API responses.
type providerError struct {
	Code      int    `json:"code"`
	Title     string `json:"title"`
	Message   string `json:"message"`
	ErrorData struct {
		Details string `json:"details"`
	} `json:"error_data"`
}
