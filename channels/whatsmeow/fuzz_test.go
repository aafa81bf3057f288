package whatsmeow

import (
	"encoding/json"
	"math"
	"testing"

	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"
)

// FuzzInbound feeds arbitrary protobuf bytes, as a modified or future
// WhatsApp client might send, through the event conversion: it must never
// panic, and whatever it queues must be a complete, encodable message.
func FuzzInbound(f *testing.F) {
	for _, m := range []*waE2E.Message{
		{Conversation: proto.String("hola")},
		{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String("sí"), ContextInfo: quoting("3EB0")}},
		{ImageMessage: &waE2E.ImageMessage{Caption: proto.String("c"), FileSHA256: []byte{1}}},
		{ContactMessage: &waE2E.ContactMessage{Vcard: proto.String("BEGIN:VCARD\nTEL:+1\nEND:VCARD")}},
		{LocationMessage: &waE2E.LocationMessage{DegreesLatitude: proto.Float64(1)}},
		{LiveLocationMessage: &waE2E.LiveLocationMessage{DegreesLatitude: proto.Float64(math.NaN()), DegreesLongitude: proto.Float64(math.Inf(1))}},
		{PollCreationMessage: &waE2E.PollCreationMessage{Name: proto.String("p")}},
	} {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m waE2E.Message
		if proto.Unmarshal(b, &m) != nil {
			return // whatsmeow drops what does not decode before any handler sees it
		}
		in, ok := Inbound("wa-linked", message("3EB0FUZZ", &m), received)
		if !ok {
			return
		}
		if in.ID == "" || in.From == "" || in.Type == "" {
			t.Fatalf("incomplete inbound: %+v", in)
		}
		if _, err := json.Marshal(in); err != nil {
			t.Fatalf("inbound does not encode for the queue: %v", err)
		}
	})
}
