package telegram_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"switchboard/channels"
)

// A button tap is answered in the webhook's own reply, as Telegram allows,
// so the customer's button stops spinning without another API call.
func TestAckAnswersTheCallbackQuery(t *testing.T) {
	ch := newChannel(t, "")
	b, err := ch.Parse(load(t, "callback_query.json"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ct, body := ch.Ack(b)
	var got map[string]string
	if ct != "application/json" || json.Unmarshal(body, &got) != nil ||
		got["method"] != "answerCallbackQuery" || got["callback_query_id"] != "2239129304839571201" {
		t.Fatalf("Ack = %q %s", ct, body)
	}
	// The token is for the answer only: it is not in the queued message.
	queued, _ := json.Marshal(b.Messages[0])
	if strings.Contains(string(queued), "2239129304839571201") {
		t.Fatalf("the callback query id is queued: %s", queued)
	}
	if _, body := ch.Ack(channels.Batch{}); len(body) != 0 {
		t.Fatalf("an empty batch got %s, want an empty answer", body)
	}
	text, err := ch.Parse(load(t, "message_text.json"), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, body := ch.Ack(text); len(body) != 0 {
		t.Fatalf("a text message got %s, want an empty answer", body)
	}
}

// A shared live location sends an edited message each time the pin moves;
// only the first message becomes part of the conversation.
func TestLiveLocationMovesAreNotMessages(t *testing.T) {
	ch := newChannel(t, "")
	start := []byte(`{"update_id":900100,"message":{"message_id":50,"from":{"id":5213748901,"first_name":"Ana"},"chat":{"id":5213748901,"type":"private"},"date":1763900000,"location":{"latitude":-23.55,"longitude":-46.63,"live_period":900}}}`)
	move := []byte(`{"update_id":900101,"edited_message":{"message_id":50,"from":{"id":5213748901,"first_name":"Ana"},"chat":{"id":5213748901,"type":"private"},"date":1763900000,"edit_date":1763900030,"location":{"latitude":-23.56,"longitude":-46.64,"live_period":900}}}`)
	b, err := ch.Parse(start, time.Now())
	if err != nil || len(b.Messages) != 1 || b.Messages[0].Type != channels.TypeLocation {
		t.Fatalf("live location start: %+v, %v", b, err)
	}
	b, err = ch.Parse(move, time.Now())
	if err != nil || len(b.Messages) != 0 {
		t.Fatalf("live location move: %+v, %v; want nothing queued", b, err)
	}
}
