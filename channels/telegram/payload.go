package telegram

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"switchboard/channels"
)

// The types below mirror the Bot API's Update and the objects it carries
// (https://core.telegram.org/bots/api#available-types). Only fields
// Switchboard uses are declared; unknown fields are ignored by
// encoding/json, so Telegram adding fields never breaks parsing.

// update is the whole webhook request body: exactly one Update. At most
// one of its optional fields is set.
type update struct {
	UpdateID      int64                        `json:"update_id"`
	Message       *channels.Raw[message]       `json:"message"`
	EditedMessage *channels.Raw[message]       `json:"edited_message"`
	CallbackQuery *channels.Raw[callbackQuery] `json:"callback_query"`
}

// message is a Message. Its content is whichever of the optional fields
// is present; pointers tell absent from empty.
type message struct {
	MessageID      int64       `json:"message_id"`
	From           *user       `json:"from"`
	Chat           *chat       `json:"chat"`
	Date           int64       `json:"date"`      // Unix seconds
	EditDate       int64       `json:"edit_date"` // Unix seconds, on edited messages
	ReplyToMessage *messageRef `json:"reply_to_message"`

	Text      *string     `json:"text"`
	Caption   string      `json:"caption"` // of a photo, video, document, audio, voice or animation
	Photo     []photoSize `json:"photo"`   // one file in several sizes, smallest first
	Animation *file       `json:"animation"`
	Document  *file       `json:"document"`
	Video     *file       `json:"video"`
	VideoNote *file       `json:"video_note"`
	Voice     *file       `json:"voice"`
	Audio     *file       `json:"audio"`
	Sticker   *sticker    `json:"sticker"`
	Location  *location   `json:"location"`
	Venue     *venue      `json:"venue"`
	Contact   *contact    `json:"contact"`
}

// messageRef is the little Switchboard needs of a message another object
// points at: a quoted message, or the message under a tapped button.
type messageRef struct {
	MessageID int64 `json:"message_id"`
	Chat      *chat `json:"chat"`
}

type user struct {
	ID        int64  `json:"id"`
	IsBot     bool   `json:"is_bot"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Username  string `json:"username"`
}

type chat struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"` // private, group, supergroup or channel
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

type photoSize struct {
	FileID string `json:"file_id"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
}

// file is the common part of Animation, Document, Video, VideoNote, Voice
// and Audio.
type file struct {
	FileID   string `json:"file_id"`
	FileName string `json:"file_name"`
	MimeType string `json:"mime_type"`
}

type sticker struct {
	FileID     string `json:"file_id"`
	Emoji      string `json:"emoji"`
	IsAnimated bool   `json:"is_animated"` // a TGS (Lottie) sticker
	IsVideo    bool   `json:"is_video"`    // a WEBM sticker
}

type location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

type venue struct {
	Location *location `json:"location"`
	Title    string    `json:"title"`
	Address  string    `json:"address"`
}

type contact struct {
	PhoneNumber string `json:"phone_number"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	UserID      int64  `json:"user_id"`
}

// callbackQuery is a tap on an inline keyboard button. Message is absent
// when the button was on a message sent in inline mode, and then only
// From says who tapped.
type callbackQuery struct {
	ID            string      `json:"id"`
	From          *user       `json:"from"`
	Message       *messageRef `json:"message"`
	Data          string      `json:"data"`
	GameShortName string      `json:"game_short_name"`
}

// contentFields are the Message fields that say what a message is, in the
// Bot API documentation's order, after the ones Switchboard models. The
// first one present names an unmodelled message's ProviderType.
var contentFields = []string{
	"text", "animation", "audio", "document", "paid_media", "photo", "sticker", "story",
	"video", "video_note", "voice", "checklist", "contact", "dice", "game", "poll",
	"venue", "location", "invoice", "successful_payment", "refunded_payment",
	"users_shared", "chat_shared", "gift", "unique_gift", "paid_message_price_changed",
	"connected_website", "write_access_allowed", "passport_data", "web_app_data",
	"giveaway", "giveaway_winners", "giveaway_completed", "giveaway_created",
	"new_chat_members", "left_chat_member", "new_chat_title", "new_chat_photo",
	"delete_chat_photo", "group_chat_created", "supergroup_chat_created",
	"channel_chat_created", "message_auto_delete_timer_changed", "migrate_to_chat_id",
	"migrate_from_chat_id", "pinned_message", "proximity_alert_triggered",
	"boost_added", "chat_background_set", "forum_topic_created", "forum_topic_edited",
	"forum_topic_closed", "forum_topic_reopened", "video_chat_scheduled",
	"video_chat_started", "video_chat_ended", "video_chat_participants_invited",
}

// envelopeFields are the Message fields that describe any message rather
// than say what it is: never a ProviderType.
var envelopeFields = map[string]bool{
	"message_id": true, "message_thread_id": true, "direct_messages_topic": true,
	"from": true, "sender_chat": true, "sender_boost_count": true,
	"sender_business_bot": true, "date": true, "business_connection_id": true,
	"chat": true, "forward_origin": true, "is_topic_message": true,
	"is_automatic_forward": true, "reply_to_message": true, "external_reply": true,
	"quote": true, "reply_to_story": true, "reply_to_checklist_task_id": true,
	"via_bot": true, "edit_date": true, "has_protected_content": true,
	"is_from_offline": true, "is_paid_post": true, "media_group_id": true,
	"author_signature": true, "paid_star_count": true, "entities": true,
	"link_preview_options": true, "suggested_post_info": true, "effect_id": true,
	"caption": true, "caption_entities": true, "show_caption_above_media": true,
	"has_media_spoiler": true, "reply_markup": true,
}

// providerType names what an unmodelled message is: the first documented
// content field it has, or else (a field newer than this list) the first
// field, alphabetically, that is not part of every message's envelope.
// Keys are compared in lower case, as encoding/json matched them.
func providerType(raw json.RawMessage) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return "message"
	}
	keys := make(map[string]bool, len(fields))
	for k := range fields {
		keys[strings.ToLower(k)] = true
	}
	for _, f := range contentFields {
		if keys[f] {
			return f
		}
	}
	for _, f := range slices.Sorted(maps.Keys(keys)) {
		if f != "" && !envelopeFields[f] {
			return f
		}
	}
	return "message"
}
