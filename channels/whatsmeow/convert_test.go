package whatsmeow

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"switchboard/channels"
)

var (
	customer = types.NewJID("5511900000001", types.DefaultUserServer)
	sentAt   = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	received = sentAt.Add(300 * time.Millisecond)
)

// message builds the event whatsmeow emits for a customer's direct message.
func message(id string, m *waE2E.Message) *events.Message {
	return &events.Message{
		Info: types.MessageInfo{
			MessageSource: types.MessageSource{Chat: customer, Sender: customer},
			ID:            id, PushName: "Ana", Timestamp: sentAt,
		},
		Message: m,
	}
}

func quoting(id string) *waE2E.ContextInfo {
	return &waE2E.ContextInfo{StanzaID: proto.String(id), Participant: proto.String(customer.String())}
}

func TestInboundMessageTypes(t *testing.T) {
	sha := []byte{0xde, 0xad, 0xbe, 0xef}
	tests := []struct {
		name  string
		msg   *waE2E.Message
		check func(t *testing.T, in channels.Inbound)
	}{
		{"text", &waE2E.Message{Conversation: proto.String("hola, quiero pagar")}, func(t *testing.T, in channels.Inbound) {
			want(t, in.Type == channels.TypeText && in.Text == "hola, quiero pagar" && in.Raw == nil, "text", in)
		}},
		{"extended text with a reply", &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{
			Text: proto.String("sí, ese pedido"), ContextInfo: quoting("3EB0C0FFEE"),
		}}, func(t *testing.T, in channels.Inbound) {
			want(t, in.Type == channels.TypeText && in.Text == "sí, ese pedido" && in.ReplyTo == "3EB0C0FFEE", "reply", in)
		}},
		{"image with caption", &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
			Caption: proto.String("el comprobante"), Mimetype: proto.String("image/jpeg"), FileSHA256: sha,
			DirectPath: proto.String("/v/t62.7118-24/abc"), MediaKey: []byte{1, 2, 3},
		}}, func(t *testing.T, in channels.Inbound) {
			want(t, in.Type == channels.TypeImage && in.Text == "el comprobante" && in.Media != nil &&
				in.Media.Caption == "el comprobante" && in.Media.MimeType == "image/jpeg" && in.Media.SHA256 == "deadbeef" &&
				in.Raw == nil, "image", in)
			// Where the file is and its keys travel in the reference.
			d, err := parseRef(in.Media.ID)
			want(t, err == nil && d.GetDirectPath() == "/v/t62.7118-24/abc" && bytes.Equal(d.GetMediaKey(), []byte{1, 2, 3}) &&
				bytes.Equal(d.GetFileSHA256(), sha), "image reference", in)
		}},
		{"voice note", &waE2E.Message{AudioMessage: &waE2E.AudioMessage{Mimetype: proto.String("audio/ogg; codecs=opus"), PTT: proto.Bool(true)}},
			func(t *testing.T, in channels.Inbound) {
				want(t, in.Type == channels.TypeAudio && in.Media != nil && in.Media.Voice, "voice", in)
			}},
		{"video", &waE2E.Message{VideoMessage: &waE2E.VideoMessage{Caption: proto.String("mira"), Mimetype: proto.String("video/mp4")}},
			func(t *testing.T, in channels.Inbound) {
				want(t, in.Type == channels.TypeVideo && in.Text == "mira", "video", in)
			}},
		{"document with caption", &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{
			Caption: proto.String("factura"), FileName: proto.String("factura-123.pdf"), Mimetype: proto.String("application/pdf"),
		}}, func(t *testing.T, in channels.Inbound) {
			want(t, in.Type == channels.TypeDocument && in.Text == "factura" && in.Media.Filename == "factura-123.pdf", "document", in)
		}},
		{"sticker", &waE2E.Message{StickerMessage: &waE2E.StickerMessage{Mimetype: proto.String("image/webp"), IsAnimated: proto.Bool(true)}},
			func(t *testing.T, in channels.Inbound) {
				want(t, in.Type == channels.TypeSticker && in.Media.Animated, "sticker", in)
			}},
		{"location", &waE2E.Message{LocationMessage: &waE2E.LocationMessage{
			DegreesLatitude: proto.Float64(-23.5505), DegreesLongitude: proto.Float64(-46.6333),
			Name: proto.String("Sucursal Centro"), Address: proto.String("Av. Paulista 1000"),
		}}, func(t *testing.T, in channels.Inbound) {
			l := in.Location
			want(t, in.Type == channels.TypeLocation && l != nil && l.Latitude == -23.5505 && l.Longitude == -46.6333 &&
				l.Name == "Sucursal Centro" && l.Address == "Av. Paulista 1000", "location", in)
		}},
		{"contact card", &waE2E.Message{ContactMessage: &waE2E.ContactMessage{
			DisplayName: proto.String("Pedro Gómez"),
			Vcard:       proto.String("BEGIN:VCARD\nVERSION:3.0\nFN:Pedro Gómez\nitem1.TEL;waid=5511988887777:+55 11 98888-7777\nEMAIL;type=INTERNET:pedro@example.com\nEND:VCARD"),
		}}, func(t *testing.T, in channels.Inbound) {
			want(t, in.Type == channels.TypeContacts && len(in.Contacts) == 1 && in.Contacts[0].Name == "Pedro Gómez" &&
				len(in.Contacts[0].Phones) == 1 && in.Contacts[0].Phones[0] == "+55 11 98888-7777" &&
				len(in.Contacts[0].Emails) == 1, "contact", in)
		}},
		{"several contacts", &waE2E.Message{ContactsArrayMessage: &waE2E.ContactsArrayMessage{Contacts: []*waE2E.ContactMessage{
			{DisplayName: proto.String("A"), Vcard: proto.String("BEGIN:VCARD\nTEL:+1 555 0100\nEND:VCARD")},
			{DisplayName: proto.String("B"), Vcard: proto.String("BEGIN:VCARD\nTEL:+1 555 0101\nEND:VCARD")},
		}}}, func(t *testing.T, in channels.Inbound) {
			want(t, in.Type == channels.TypeContacts && len(in.Contacts) == 2 && in.Contacts[1].Phones[0] == "+1 555 0101", "contacts", in)
		}},
		{"reaction", &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{
			Key: &waCommon.MessageKey{ID: proto.String("3EB0OURS")}, Text: proto.String("👍"),
		}}, func(t *testing.T, in channels.Inbound) {
			want(t, in.Type == channels.TypeReaction && in.Reaction != nil && in.Reaction.MessageID == "3EB0OURS" && in.Reaction.Emoji == "👍", "reaction", in)
		}},
		{"list reply", &waE2E.Message{ListResponseMessage: &waE2E.ListResponseMessage{
			Title: proto.String("Pagos"), SingleSelectReply: &waE2E.ListResponseMessage_SingleSelectReply{SelectedRowID: proto.String("payments")},
		}}, func(t *testing.T, in channels.Inbound) {
			want(t, in.Type == channels.TypeInteractive && in.Reply.ID == "payments" && in.Text == "Pagos", "list reply", in)
		}},
		{"poll is kept whole", &waE2E.Message{PollCreationMessage: &waE2E.PollCreationMessage{Name: proto.String("¿Cuándo?")}},
			func(t *testing.T, in channels.Inbound) {
				want(t, in.Type == channels.TypeUnknown && in.ProviderType == "pollCreationMessage" && contains(string(in.Raw), "¿Cuándo?"), "poll", in)
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, ok := Inbound("wa-linked", message("3EB0ABC", tc.msg), received)
			if !ok {
				t.Fatal("message dropped")
			}
			if in.Channel != "wa-linked" || in.Kind != KindName || in.ID != "3EB0ABC" || in.From != "5511900000001" ||
				in.ProfileName != "Ana" || !in.Timestamp.Equal(sentAt) || in.Arrival != received.UnixNano() {
				t.Fatalf("envelope = %+v", in)
			}
			tc.check(t, in)
		})
	}
}

func TestInboundPrefersThePhoneNumberOverALID(t *testing.T) {
	evt := message("3EB0LID", &waE2E.Message{Conversation: proto.String("hola")})
	lid := types.NewJID("123456789012345", types.HiddenUserServer)
	evt.Info.Chat, evt.Info.Sender, evt.Info.SenderAlt = lid, lid, customer
	in, ok := Inbound("wa-linked", evt, received)
	if !ok || in.From != "5511900000001" {
		t.Fatalf("From = %q (ok %v), want the phone number from SenderAlt", in.From, ok)
	}
	// With no phone number known, the LID itself names the contact and
	// still reaches them.
	evt.Info.SenderAlt = types.EmptyJID
	in, _ = Inbound("wa-linked", evt, received)
	if in.From != "123456789012345@lid" {
		t.Fatalf("From = %q, want the LID JID", in.From)
	}
	if to, err := recipient(in.From); err != nil || to != lid {
		t.Fatalf("recipient(%q) = %v, %v", in.From, to, err)
	}
}

func TestInboundIgnoresWhatIsNotACustomerMessage(t *testing.T) {
	text := &waE2E.Message{Conversation: proto.String("x")}
	own := message("1", text)
	own.Info.IsFromMe = true
	group := message("2", text)
	group.Info.Chat, group.Info.IsGroup = types.NewJID("120363000000000000", types.GroupServer), true
	status := message("3", text)
	status.Info.Chat = types.StatusBroadcastJID
	revoke := message("4", &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{Type: waE2E.ProtocolMessage_REVOKE.Enum()}})
	keyShare := message("5", &waE2E.Message{SenderKeyDistributionMessage: &waE2E.SenderKeyDistributionMessage{GroupID: proto.String("g")}})
	for name, evt := range map[string]*events.Message{"own": own, "group": group, "status": status, "revoke": revoke, "key share": keyShare, "nil": nil} {
		if in, ok := Inbound("wa-linked", evt, received); ok {
			t.Errorf("%s: queued %+v, want ignored", name, in)
		}
	}
}

func TestInboundMarksEdits(t *testing.T) {
	evt := message("3EB0EDIT", &waE2E.Message{Conversation: proto.String("corregido")})
	evt.IsEdit = true
	in, ok := Inbound("wa-linked", evt, received)
	if !ok || in.Type != channels.TypeText || in.ProviderType != EditedType || in.Text != "corregido" {
		t.Fatalf("edit = %+v", in)
	}
}

func TestStatusesFromReceipts(t *testing.T) {
	receipt := func(typ types.ReceiptType) *events.Receipt {
		return &events.Receipt{
			MessageSource: types.MessageSource{Chat: customer, Sender: customer},
			MessageIDs:    []types.MessageID{"3EB0A", "3EB0B"}, Timestamp: sentAt, Type: typ,
		}
	}
	for typ, status := range map[types.ReceiptType]string{
		types.ReceiptTypeDelivered: channels.StatusDelivered, types.ReceiptTypeRead: channels.StatusRead,
		types.ReceiptTypePlayed: channels.StatusRead, types.ReceiptTypeServerError: channels.StatusFailed,
	} {
		got := Statuses("wa-linked", receipt(typ))
		if len(got) != 2 || got[0].MessageID != "3EB0A" || got[1].MessageID != "3EB0B" || got[0].Status != status ||
			got[0].RecipientID != "5511900000001" || got[0].Kind != KindName || !got[0].Timestamp.Equal(sentAt) {
			t.Errorf("%q: %+v", typ, got)
		}
	}
	for _, typ := range []types.ReceiptType{types.ReceiptTypeRetry, types.ReceiptTypeReadSelf, types.ReceiptTypeSender, types.ReceiptTypeInactive} {
		if got := Statuses("wa-linked", receipt(typ)); len(got) != 0 {
			t.Errorf("%q: %+v, want none", typ, got)
		}
	}
	mine := receipt(types.ReceiptTypeRead)
	mine.IsFromMe = true
	if got := Statuses("wa-linked", mine); len(got) != 0 {
		t.Errorf("our own device's read receipt became %+v", got)
	}
}

func want(t *testing.T, ok bool, what string, in channels.Inbound) {
	t.Helper()
	if !ok {
		t.Fatalf("%s: got %+v (media %+v, location %+v, reply %+v)", what, in, in.Media, in.Location, in.Reply)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
