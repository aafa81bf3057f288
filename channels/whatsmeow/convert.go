package whatsmeow

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"time"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"

	"switchboard/channels"
)

// EditedType is the ProviderType of an inbound message that edits an
// earlier one: the customer changed what they wrote.
const EditedType = "edited_message"

// customerID is how a WhatsApp user is named as a contact: the phone number
// without "+", as on the Cloud API, so one customer is one contact whichever
// WhatsApp channel they use. A user known only by a hidden id (LID) keeps
// the full JID ("<n>@lid"), which a send can still reach.
func customerID(jid types.JID) string {
	if jid.Server == types.DefaultUserServer {
		return jid.User
	}
	return jid.ToNonAD().String()
}

// recipient turns a contact id back into a JID to send to.
func recipient(to string) (types.JID, error) {
	if strings.Contains(to, "@") {
		return types.ParseJID(to)
	}
	return types.NewJID(strings.TrimPrefix(to, "+"), types.DefaultUserServer), nil
}

// senderJID picks the customer's phone-number JID when WhatsApp gave one:
// newer clients address by LID and put the phone number in SenderAlt.
func senderJID(src *types.MessageSource) types.JID {
	if src.Sender.Server != types.DefaultUserServer && src.SenderAlt.Server == types.DefaultUserServer {
		return src.SenderAlt
	}
	return src.Sender
}

// isCustomerChat reports whether a message or receipt belongs to a one-to-one
// chat with a customer: not a group, a broadcast or status update, a
// newsletter, or a chat with ourselves.
func isCustomerChat(src *types.MessageSource) bool {
	if src.IsGroup || src.Chat.IsBroadcastList() {
		return false
	}
	switch src.Chat.Server {
	case types.DefaultUserServer, types.HiddenUserServer:
		return true
	}
	return false
}

// Inbound turns a whatsmeow message event into the inbound message the
// webhooks produce. ok is false for what is not a customer's message: our
// own messages (sent from the phone or another device), groups, status
// updates, and protocol messages (deletions, key shares, history sync).
// received orders messages that share a timestamp, as in the webhooks.
func Inbound(channel string, evt *events.Message, received time.Time) (in channels.Inbound, ok bool) {
	if evt == nil || evt.Message == nil || evt.Info.IsFromMe || !isCustomerChat(&evt.Info.MessageSource) || evt.Info.ID == "" {
		return channels.Inbound{}, false
	}
	m := evt.Message
	in = channels.Inbound{
		Channel:     channel,
		Kind:        KindName,
		ID:          evt.Info.ID,
		From:        customerID(senderJID(&evt.Info.MessageSource)),
		ProfileName: evt.Info.PushName,
		Timestamp:   evt.Info.Timestamp.UTC(),
		Arrival:     received.UnixNano(),
	}
	if in.Timestamp.IsZero() {
		in.Timestamp = received.UTC()
	}
	if evt.IsEdit {
		in.ProviderType = EditedType
	}
	var ctx *waE2E.ContextInfo
	switch {
	case m.Conversation != nil:
		in.Type, in.Text = channels.TypeText, m.GetConversation()
	case m.ExtendedTextMessage != nil:
		x := m.GetExtendedTextMessage()
		in.Type, in.Text, ctx = channels.TypeText, x.GetText(), x.GetContextInfo()
	case m.ImageMessage != nil:
		x := m.GetImageMessage()
		in.Type, ctx = channels.TypeImage, x.GetContextInfo()
		in.Media = &channels.Media{MimeType: x.GetMimetype(), Caption: x.GetCaption()}
		setMediaHash(in.Media, x.GetFileSHA256())
	case m.VideoMessage != nil:
		x := m.GetVideoMessage()
		in.Type, ctx = channels.TypeVideo, x.GetContextInfo()
		in.Media = &channels.Media{MimeType: x.GetMimetype(), Caption: x.GetCaption(), Animated: x.GetGifPlayback()}
		setMediaHash(in.Media, x.GetFileSHA256())
	case m.AudioMessage != nil:
		x := m.GetAudioMessage()
		in.Type, ctx = channels.TypeAudio, x.GetContextInfo()
		in.Media = &channels.Media{MimeType: x.GetMimetype(), Voice: x.GetPTT()}
		setMediaHash(in.Media, x.GetFileSHA256())
	case m.DocumentMessage != nil:
		x := m.GetDocumentMessage()
		in.Type, ctx = channels.TypeDocument, x.GetContextInfo()
		in.Media = &channels.Media{MimeType: x.GetMimetype(), Caption: x.GetCaption(), Filename: x.GetFileName()}
		setMediaHash(in.Media, x.GetFileSHA256())
	case m.StickerMessage != nil:
		x := m.GetStickerMessage()
		in.Type, ctx = channels.TypeSticker, x.GetContextInfo()
		in.Media = &channels.Media{MimeType: x.GetMimetype(), Animated: x.GetIsAnimated()}
		setMediaHash(in.Media, x.GetFileSHA256())
	case m.LocationMessage != nil:
		x := m.GetLocationMessage()
		in.Type, ctx = channels.TypeLocation, x.GetContextInfo()
		in.Location = &channels.Location{Latitude: finite(x.GetDegreesLatitude()), Longitude: finite(x.GetDegreesLongitude()),
			Name: x.GetName(), Address: x.GetAddress(), URL: x.GetURL()}
	case m.LiveLocationMessage != nil:
		x := m.GetLiveLocationMessage()
		in.Type, ctx = channels.TypeLocation, x.GetContextInfo()
		in.Location = &channels.Location{Latitude: finite(x.GetDegreesLatitude()), Longitude: finite(x.GetDegreesLongitude()), Name: x.GetCaption()}
	case m.ContactMessage != nil:
		x := m.GetContactMessage()
		in.Type, ctx = channels.TypeContacts, x.GetContextInfo()
		in.Contacts = []channels.SharedContact{vcard(x.GetDisplayName(), x.GetVcard())}
	case m.ContactsArrayMessage != nil:
		x := m.GetContactsArrayMessage()
		in.Type, ctx = channels.TypeContacts, x.GetContextInfo()
		for _, c := range x.GetContacts() {
			in.Contacts = append(in.Contacts, vcard(c.GetDisplayName(), c.GetVcard()))
		}
	case m.ReactionMessage != nil:
		x := m.GetReactionMessage()
		in.Type = channels.TypeReaction
		in.Reaction = &channels.Reaction{MessageID: x.GetKey().GetID(), Emoji: x.GetText()}
	case m.ButtonsResponseMessage != nil:
		x := m.GetButtonsResponseMessage()
		in.Type, ctx = channels.TypeInteractive, x.GetContextInfo()
		in.Reply = &channels.Reply{Kind: "button_reply", ID: x.GetSelectedButtonID(), Title: x.GetSelectedDisplayText()}
		in.Text = in.Reply.Title
	case m.ListResponseMessage != nil:
		x := m.GetListResponseMessage()
		in.Type, ctx = channels.TypeInteractive, x.GetContextInfo()
		in.Reply = &channels.Reply{Kind: "list_reply", ID: x.GetSingleSelectReply().GetSelectedRowID(), Title: x.GetTitle()}
		in.Text = in.Reply.Title
	case m.TemplateButtonReplyMessage != nil:
		x := m.GetTemplateButtonReplyMessage()
		in.Type, ctx = channels.TypeButton, x.GetContextInfo()
		in.Reply = &channels.Reply{Kind: "button", ID: x.GetSelectedID(), Title: x.GetSelectedDisplayText()}
		in.Text = in.Reply.Title
	case m.ProtocolMessage != nil, m.SenderKeyDistributionMessage != nil && onlyKeyDistribution(m):
		// Deletions, ephemeral settings, history-sync notices, key
		// shares: bookkeeping between devices, not a customer's words.
		return channels.Inbound{}, false
	default:
		// Polls, events, payments and whatever WhatsApp adds next: kept
		// whole, never dropped.
		in.Type = channels.TypeUnknown
		in.ProviderType = providerType(m)
	}
	if in.Media != nil {
		in.Text = in.Media.Caption
		// The bytes stay on WhatsApp's servers, encrypted: the reference
		// carries where they are and the keys to read them (FetchMedia).
		in.Media.ID = mediaRef(m)
	}
	if in.Type == channels.TypeUnknown {
		if raw, err := protojson.Marshal(m); err == nil {
			in.Raw = json.RawMessage(raw)
		}
	}
	if id := ctx.GetStanzaID(); id != "" {
		in.ReplyTo = id
	}
	return in, true
}

// bookkeeping are fields that ride along with a message's content.
var bookkeeping = map[protoreflect.Name]bool{"messageContextInfo": true, "senderKeyDistributionMessage": true}

// contentFields names the fields set in m other than bookkeeping, sorted.
func contentFields(m *waE2E.Message) []string {
	var names []string
	m.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		if !bookkeeping[fd.Name()] {
			names = append(names, string(fd.Name()))
		}
		return true
	})
	slices.Sort(names)
	return names
}

// onlyKeyDistribution reports whether m carries nothing but a group key share.
func onlyKeyDistribution(m *waE2E.Message) bool { return len(contentFields(m)) == 0 }

// providerType is WhatsApp's own name for the message's type: the field
// that holds its content.
func providerType(m *waE2E.Message) string {
	if names := contentFields(m); len(names) > 0 {
		return names[0]
	}
	return "unknown"
}

// finite replaces NaN and infinities, which a tampered client can send and
// JSON cannot carry, with 0: a message that cannot be queued would be
// redelivered forever.
func finite(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

func setMediaHash(m *channels.Media, sum []byte) {
	if len(sum) > 0 {
		m.SHA256 = hex.EncodeToString(sum)
	}
}

// vcard reads the phones and emails of a shared contact card. Cards are
// small and WhatsApp writes them one property a line.
func vcard(name, card string) channels.SharedContact {
	sc := channels.SharedContact{Name: name}
	sc2 := bufio.NewScanner(strings.NewReader(card))
	for sc2.Scan() {
		line := strings.TrimSpace(sc2.Text())
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		prop, _, _ := strings.Cut(strings.ToUpper(key), ";")
		if i := strings.LastIndexByte(prop, '.'); i >= 0 { // item1.TEL
			prop = prop[i+1:]
		}
		switch prop {
		case "TEL":
			sc.Phones = append(sc.Phones, value)
		case "EMAIL":
			sc.Emails = append(sc.Emails, value)
		case "FN":
			if sc.Name == "" {
				sc.Name = value
			}
		}
	}
	return sc
}

// Statuses turns a receipt into delivery statuses, one per message it
// covers. Receipts about others' messages or from our own devices, retry
// requests and the like yield none.
func Statuses(channel string, r *events.Receipt) []channels.Status {
	if r == nil || r.IsFromMe || !isCustomerChat(&r.MessageSource) {
		return nil
	}
	var status string
	switch r.Type {
	case types.ReceiptTypeDelivered:
		status = channels.StatusDelivered
	case types.ReceiptTypeRead, types.ReceiptTypePlayed:
		status = channels.StatusRead
	case types.ReceiptTypeServerError:
		status = channels.StatusFailed
	default:
		return nil
	}
	out := make([]channels.Status, 0, len(r.MessageIDs))
	for _, id := range r.MessageIDs {
		s := channels.Status{
			Channel:     channel,
			Kind:        KindName,
			MessageID:   id,
			Status:      status,
			Timestamp:   r.Timestamp.UTC(),
			RecipientID: customerID(r.Chat),
		}
		if status == channels.StatusFailed {
			s.Errors = []channels.StatusError{{Title: "server-error", Message: "WhatsApp could not deliver the message to the recipient's device"}}
		}
		out = append(out, s)
	}
	return out
}
