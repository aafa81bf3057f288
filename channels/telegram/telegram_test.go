package telegram_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"switchboard/channels"
	"switchboard/channels/telegram"
)

const (
	botToken = "7000000001:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
	secret   = "s3cr3t_Token-2025"
	customer = "5213748901" // Ana's user id, which is her private chat's id
)

func newChannel(t testing.TB, apiBase string) *telegram.Channel {
	t.Helper()
	ch, err := telegram.New("tg-main", telegram.Config{
		BotToken: botToken, SecretToken: secret, APIBaseURL: apiBase,
	}, &http.Client{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func load(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var received = time.Unix(1749416390, 123456789)

// sent is the date of every customer message in testdata.
var sent = time.Unix(1749416383, 0)

// parseOne parses a testdata update that must give one message, and checks
// what every message from Ana has in common.
func parseOne(t *testing.T, file string) channels.Inbound {
	t.Helper()
	body := load(t, file)
	b, err := newChannel(t, "").Parse(body, received)
	if err != nil {
		t.Fatalf("Parse(%s): %v", file, err)
	}
	if len(b.Messages) != 1 || len(b.Statuses) != 0 {
		t.Fatalf("Parse(%s): %d messages, %d statuses; want 1 message", file, len(b.Messages), len(b.Statuses))
	}
	var u struct {
		UpdateID int64 `json:"update_id"`
	}
	if err := json.Unmarshal(body, &u); err != nil {
		t.Fatal(err)
	}
	m := b.Messages[0]
	if m.Channel != "tg-main" || m.Kind != "telegram" || m.ID != strconv.FormatInt(u.UpdateID, 10) ||
		m.From != customer || m.ProfileName != "Ana Lima" || m.Arrival != received.UnixNano() || m.Timestamp.Location() != time.UTC {
		t.Fatalf("Parse(%s): envelope fields wrong: %+v", file, m)
	}
	return m
}

func TestParseMessageTypes(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, m channels.Inbound)
	}{
		{"message_text.json", func(t *testing.T, m channels.Inbound) {
			if m.Type != "text" || m.Text != "Olá! Meu pedido ainda não chegou." || m.ID != "872915001" ||
				!m.Timestamp.Equal(sent) || m.ProviderType != "" || m.ReplyTo != "" || m.Raw != nil {
				t.Errorf("%+v", m)
			}
		}},
		{"start_command.json", func(t *testing.T, m channels.Inbound) {
			// /start is what every conversation begins with: plain text.
			if m.Type != "text" || m.Text != "/start" {
				t.Errorf("%+v", m)
			}
		}},
		{"photo.json", func(t *testing.T, m channels.Inbound) {
			want := channels.Media{ID: "AgACAgEAAxkBAAIFVmZlYTlarge0000000000000000000AAQ", MimeType: "image/jpeg", Caption: "comprovante de pagamento"}
			if m.Type != "image" || m.Media == nil || *m.Media != want || m.Text != "comprovante de pagamento" || !m.Timestamp.Equal(sent) {
				t.Errorf("%+v media %+v", m, m.Media)
			}
		}},
		{"document.json", func(t *testing.T, m channels.Inbound) {
			want := channels.Media{ID: "BQACAgEAAxkBAAIFV2ZlYTtmYXR1cmEtMDA0Mi5wZGYAAQ", MimeType: "application/pdf", Filename: "fatura-0042.pdf", Caption: "segue a fatura"}
			if m.Type != "document" || m.Media == nil || *m.Media != want || m.Text != "segue a fatura" {
				t.Errorf("%+v media %+v", m, m.Media)
			}
		}},
		{"voice.json", func(t *testing.T, m channels.Inbound) {
			want := channels.Media{ID: "AwACAgEAAxkBAAIFWGZlYTt2b2ljZQAB", MimeType: "audio/ogg", Voice: true}
			if m.Type != "audio" || m.Media == nil || *m.Media != want || m.Text != "" {
				t.Errorf("%+v media %+v", m, m.Media)
			}
		}},
		{"audio.json", func(t *testing.T, m channels.Inbound) {
			if m.Type != "audio" || m.Media == nil || m.Media.Voice || m.Media.MimeType != "audio/mpeg" ||
				m.Media.Filename != "gravacao-ligacao.mp3" || m.Text != "a ligação de ontem" {
				t.Errorf("%+v media %+v", m, m.Media)
			}
		}},
		{"video.json", func(t *testing.T, m channels.Inbound) {
			if m.Type != "video" || m.Media == nil || m.Media.ID != "BAACAgEAAxkBAAIFWmZlYTt2aWRlbwAB" || m.Media.MimeType != "video/mp4" ||
				m.Media.Caption != "a caixa chegou assim" || m.Media.Animated {
				t.Errorf("%+v media %+v", m, m.Media)
			}
		}},
		{"animation.json", func(t *testing.T, m channels.Inbound) {
			// Telegram sets document too; the animation is what it is.
			if m.Type != "video" || m.Media == nil || !m.Media.Animated || m.Media.ID != "CgACAgQAAxkBAAIFXGZlYTthbmltYXRpb24AAQ" {
				t.Errorf("%+v media %+v", m, m.Media)
			}
		}},
		{"sticker.json", func(t *testing.T, m channels.Inbound) {
			if m.Type != "sticker" || m.Media == nil || m.Media.MimeType != "application/x-tgsticker" || !m.Media.Animated || m.Media.ID != "CAACAgIAAxkBAAIFW2ZlYTtzdGlja2VyAAE" {
				t.Errorf("%+v media %+v", m, m.Media)
			}
		}},
		{"location.json", func(t *testing.T, m channels.Inbound) {
			want := channels.Location{Latitude: -23.561414, Longitude: -46.655881}
			if m.Type != "location" || m.Location == nil || *m.Location != want {
				t.Errorf("%+v location %+v", m, m.Location)
			}
		}},
		{"venue.json", func(t *testing.T, m channels.Inbound) {
			want := channels.Location{Latitude: -23.561414, Longitude: -46.655881, Name: "Loja Paulista", Address: "Av. Paulista, 1578 - Bela Vista, São Paulo"}
			if m.Type != "location" || m.Location == nil || *m.Location != want {
				t.Errorf("%+v location %+v", m, m.Location)
			}
		}},
		{"contact.json", func(t *testing.T, m channels.Inbound) {
			if m.Type != "contacts" || len(m.Contacts) != 1 || m.Contacts[0].Name != "Bruno Souza" ||
				len(m.Contacts[0].Phones) != 1 || m.Contacts[0].Phones[0] != "+5511912345678" {
				t.Errorf("%+v contacts %+v", m, m.Contacts)
			}
		}},
		{"reply.json", func(t *testing.T, m channels.Inbound) {
			if m.Type != "text" || m.Text != "É o 48213" || m.ReplyTo != customer+":1376" {
				t.Errorf("%+v", m)
			}
		}},
		{"edited_message.json", func(t *testing.T, m channels.Inbound) {
			if m.Type != "text" || m.Text != "Olá! Meu pedido 48213 ainda não chegou." || m.ProviderType != "edited_message" ||
				!m.Timestamp.Equal(time.Unix(1749416450, 0)) || m.ID != "872915013" {
				t.Errorf("%+v", m)
			}
		}},
		{"callback_query.json", func(t *testing.T, m channels.Inbound) {
			want := channels.Reply{Kind: "callback_query", ID: "track_order", Title: "track_order"}
			if m.Type != "interactive" || m.Reply == nil || *m.Reply != want || m.Text != "track_order" ||
				m.ReplyTo != customer+":1378" || !m.Timestamp.Equal(received) {
				t.Errorf("%+v reply %+v", m, m.Reply)
			}
		}},
		{"poll.json", func(t *testing.T, m channels.Inbound) {
			// The raw message is kept verbatim, so nothing of the poll is lost.
			var raw struct {
				Poll struct {
					Question string `json:"question"`
					Options  []struct {
						Text string `json:"text"`
					} `json:"options"`
				} `json:"poll"`
			}
			if err := json.Unmarshal(m.Raw, &raw); err != nil || m.Type != channels.TypeUnknown || m.ProviderType != "poll" ||
				raw.Poll.Question != "Qual horário é melhor para a entrega?" || len(raw.Poll.Options) != 2 {
				t.Errorf("%+v raw %s (%v)", m, m.Raw, err)
			}
		}},
		{"dice.json", func(t *testing.T, m channels.Inbound) {
			// forward_origin describes the message; dice is what it is.
			if m.Type != channels.TypeUnknown || m.ProviderType != "dice" || !json.Valid(m.Raw) || !strings.Contains(string(m.Raw), "🎲") {
				t.Errorf("%+v raw %s", m, m.Raw)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) { tc.check(t, parseOne(t, tc.file)) })
	}
}

// msg is a private-chat message update from Ana with the given extra
// fields, for cases not worth a testdata file.
func msg(updateID int, field, fields string) []byte {
	return fmt.Appendf(nil, `{"update_id":%d,%q:{"message_id":9,"from":{"id":%s,"is_bot":false,"first_name":"Ana"},`+
		`"chat":{"id":%s,"type":"private","first_name":"Ana","last_name":"Lima"},"date":1749416383%s}}`, updateID, field, customer, customer, fields)
}

func TestParseEdgeCases(t *testing.T) {
	ch := newChannel(t, "")
	parse := func(t *testing.T, body []byte) channels.Inbound {
		t.Helper()
		b, err := ch.Parse(body, received)
		if err != nil || len(b.Messages) != 1 {
			t.Fatalf("Parse(%s) = %+v, %v; want one message", body, b, err)
		}
		return b.Messages[0]
	}
	t.Run("callback on an inline-mode message", func(t *testing.T) {
		m := parse(t, []byte(`{"update_id":5,"callback_query":{"id":"1","from":{"id":6011223344,"first_name":"Bruno"},"inline_message_id":"AAAA","chat_instance":"1","data":"agent"}}`))
		if m.From != "6011223344" || m.ProfileName != "Bruno" || m.Reply == nil || m.Reply.ID != "agent" || m.ReplyTo != "" {
			t.Errorf("%+v", m)
		}
	})
	t.Run("game callback is kept raw", func(t *testing.T) {
		m := parse(t, []byte(`{"update_id":5,"callback_query":{"id":"1","from":{"id":6011223344,"first_name":"Bruno"},"chat_instance":"1","game_short_name":"tetris"}}`))
		if m.Type != channels.TypeUnknown || m.ProviderType != "callback_query" || !strings.Contains(string(m.Raw), "tetris") {
			t.Errorf("%+v", m)
		}
	})
	t.Run("profile name falls back to the chat", func(t *testing.T) {
		m := parse(t, []byte(`{"update_id":5,"message":{"message_id":1,"chat":{"id":1,"type":"private","first_name":"Ana","last_name":"Lima"},"date":1,"text":"oi"}}`))
		if m.ProfileName != "Ana Lima" {
			t.Errorf("profile name %q", m.ProfileName)
		}
	})
	t.Run("missing date is the receive time", func(t *testing.T) {
		m := parse(t, []byte(`{"update_id":5,"message":{"message_id":1,"chat":{"id":1,"type":"private"},"text":"oi"}}`))
		if !m.Timestamp.Equal(received) {
			t.Errorf("timestamp %v", m.Timestamp)
		}
	})
	t.Run("edited message without edit_date", func(t *testing.T) {
		m := parse(t, msg(5, "edited_message", `,"text":"x"`))
		if !m.Timestamp.Equal(sent) || m.ProviderType != "edited_message" {
			t.Errorf("%+v", m)
		}
	})
	t.Run("edited unknown type keeps its own type name", func(t *testing.T) {
		m := parse(t, msg(5, "edited_message", `,"edit_date":1749416999,"checklist":{"title":"t","tasks":[]}`))
		if m.Type != channels.TypeUnknown || m.ProviderType != "checklist" || len(m.Raw) == 0 {
			t.Errorf("%+v", m)
		}
	})
	t.Run("field newer than this package", func(t *testing.T) {
		m := parse(t, msg(5, "message", `,"has_protected_content":true,"hologram":{"id":1}`))
		if m.Type != channels.TypeUnknown || m.ProviderType != "hologram" {
			t.Errorf("%+v", m)
		}
	})
	t.Run("service message", func(t *testing.T) {
		m := parse(t, msg(5, "message", `,"web_app_data":{"data":"{}","button_text":"Abrir"}`))
		if m.Type != channels.TypeUnknown || m.ProviderType != "web_app_data" {
			t.Errorf("%+v", m)
		}
	})
	t.Run("video note and static sticker", func(t *testing.T) {
		m := parse(t, msg(5, "message", `,"video_note":{"file_id":"DQAC","length":240,"duration":6}`))
		if m.Type != "video" || m.Media == nil || m.Media.ID != "DQAC" || m.Media.MimeType != "video/mp4" {
			t.Errorf("%+v", m)
		}
		m = parse(t, msg(5, "message", `,"sticker":{"file_id":"CAAC","is_animated":false,"is_video":false}`))
		if m.Type != "sticker" || m.Media.MimeType != "image/webp" || m.Media.Animated {
			t.Errorf("%+v", m)
		}
	})
}

func TestParseIgnored(t *testing.T) {
	ch := newChannel(t, "")
	bodies := map[string][]byte{
		"group message":  load(t, "group_message.json"),
		"my_chat_member": load(t, "my_chat_member.json"),
		"channel_post":   []byte(`{"update_id":7,"channel_post":{"message_id":3,"sender_chat":{"id":-1001,"type":"channel","title":"Acme"},"chat":{"id":-1001,"type":"channel","title":"Acme"},"date":1,"text":"news"}}`),
		"inline_query":   []byte(`{"update_id":7,"inline_query":{"id":"1","from":{"id":1,"first_name":"A"},"query":"x","offset":""}}`),
		"nothing else":   []byte(`{"update_id":7}`),
		"null message":   []byte(`{"update_id":7,"message":null}`),
		"callback in a group": []byte(`{"update_id":7,"callback_query":{"id":"1","from":{"id":1,"first_name":"A"},` +
			`"message":{"message_id":2,"chat":{"id":-100,"type":"group","title":"G"},"date":1},"chat_instance":"1","data":"x"}}`),
		"chat without type": []byte(`{"update_id":7,"message":{"message_id":1,"chat":{"id":1},"date":1,"text":"x"}}`),
	}
	for name, body := range bodies {
		b, err := ch.Parse(body, received)
		if err != nil || len(b.Messages)+len(b.Statuses) != 0 {
			t.Errorf("%s: %+v, %v; want an empty batch", name, b, err)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	ch := newChannel(t, "")
	text := load(t, "message_text.json")
	for name, body := range map[string][]byte{
		"not json":           []byte("hello"),
		"empty":              {},
		"truncated":          text[:len(text)/2],
		"array":              []byte(`[]`),
		"no update_id":       bytes.Replace(text, []byte(`"update_id": 872915001,`), nil, 1),
		"zero update_id":     []byte(`{"update_id":0,"message":{"chat":{"id":1,"type":"private"},"text":"x"}}`),
		"negative update_id": []byte(`{"update_id":-4,"message":{"chat":{"id":1,"type":"private"},"text":"x"}}`),
		"string update_id":   []byte(`{"update_id":"12","message":{"chat":{"id":1,"type":"private"},"text":"x"}}`),
	} {
		if _, err := ch.Parse(body, received); !errors.Is(err, channels.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

// An Update whose content cannot be read is not refused: Telegram would
// retry it, in vain, for hours. It comes back unparsed, to be counted,
// and the webhook answers 200.
func TestParseUnreadableUpdateIsNotRefused(t *testing.T) {
	ch := newChannel(t, "")
	for name, body := range map[string][]byte{
		"message without chat":    []byte(`{"update_id":3,"message":{"message_id":1,"date":1,"text":"x"}}`),
		"chat without id":         []byte(`{"update_id":3,"message":{"message_id":1,"chat":{"type":"private"},"date":1,"text":"x"}}`),
		"edited without chat":     []byte(`{"update_id":3,"edited_message":{"message_id":1,"date":1,"text":"x"}}`),
		"message not an object":   []byte(`{"update_id":3,"message":[1]}`),
		"photo not a list":        msg(3, "message", `,"photo":{"file_id":"x"}`),
		"callback without anyone": []byte(`{"update_id":3,"callback_query":{"id":"1","chat_instance":"1","data":"x"}}`),
	} {
		b, err := ch.Parse(body, received)
		if err != nil || len(b.Messages) != 0 || len(b.Unparsed) != 1 || b.Unparsed[0].Item != channels.ItemMessage ||
			b.Unparsed[0].Reason == "" || string(b.Unparsed[0].Raw) != string(body) {
			t.Errorf("%s: %+v, %v; want one unparsed message and no error", name, b, err)
		}
	}
}

func TestParseRedeliveryKeepsID(t *testing.T) {
	ch := newChannel(t, "")
	body := load(t, "message_text.json")
	first, err1 := ch.Parse(body, received)
	again, err2 := ch.Parse(body, received.Add(time.Minute))
	if err1 != nil || err2 != nil || first.Messages[0].ID != again.Messages[0].ID {
		t.Fatalf("redelivery ids %+v / %+v (%v, %v)", first, again, err1, err2)
	}
	// An edit of the same message is a new update, not a duplicate.
	edit, err := ch.Parse(load(t, "edited_message.json"), received)
	if err != nil || edit.Messages[0].ID == first.Messages[0].ID {
		t.Fatalf("edit id %+v, %v", edit, err)
	}
}

func TestVerify(t *testing.T) {
	ch := newChannel(t, "")
	body := load(t, "message_text.json")
	for _, tc := range []struct {
		name   string
		header []string
		ok     bool
	}{
		{"good", []string{secret}, true},
		{"wrong, same length", []string{strings.Repeat("x", len(secret))}, false},
		{"other case", []string{strings.ToUpper(secret)}, false},
		{"prefix", []string{secret[:len(secret)-1]}, false},
		{"longer", []string{secret + "0"}, false},
		{"missing", nil, false},
		{"empty", []string{""}, false},
		{"second value only", []string{"wrong", secret}, false},
	} {
		h := http.Header{}
		for _, v := range tc.header {
			h.Add(telegram.SecretHeader, v)
		}
		err := ch.Verify(&http.Request{Header: h}, body)
		if tc.ok && err != nil {
			t.Errorf("%s: %v, want accepted", tc.name, err)
		}
		if !tc.ok && !errors.Is(err, channels.ErrBadSignature) {
			t.Errorf("%s: %v, want ErrBadSignature", tc.name, err)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error leaks the secret: %v", tc.name, err)
		}
	}
}

func TestConfigErrorsNameKeys(t *testing.T) {
	_, err := telegram.New("tg", telegram.Config{APIBaseURL: "api.telegram.org", SendRate: &channels.Rate{Count: -1}}, nil)
	for _, key := range []string{"bot_token", "secret_token", "api_base_url", "send_rate"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("error %v does not name %s", err, key)
		}
	}
	for name, tok := range map[string]string{
		"too long":   strings.Repeat("a", 257),
		"space":      "two words",
		"punctuated": "secret!",
		"non-ascii":  "segredo-ç",
	} {
		_, err := telegram.New("tg", telegram.Config{BotToken: botToken, SecretToken: tok}, nil)
		if err == nil || !strings.Contains(err.Error(), "secret_token") {
			t.Errorf("%s secret_token: err = %v, want one naming secret_token", name, err)
		}
		if err != nil && strings.Contains(err.Error(), tok) {
			t.Errorf("%s secret_token: error quotes the secret: %v", name, err)
		}
	}
	for _, tok := range []string{"a", strings.Repeat("Z", 256), "A-z_0-9"} {
		if _, err := telegram.New("tg", telegram.Config{BotToken: botToken, SecretToken: tok}, nil); err != nil {
			t.Errorf("secret_token %q refused: %v", tok, err)
		}
	}
	if _, err := telegram.New("tg", telegram.Config{BotToken: botToken, SecretToken: secret, SendRate: &channels.Rate{Count: 1}}, nil); err == nil ||
		!strings.Contains(err.Error(), "send_rate") {
		t.Errorf("count without per: %v", err)
	}

	ch, err := telegram.New("tg", telegram.Config{BotToken: botToken, SecretToken: secret}, nil)
	if err != nil || ch.Kind() != "telegram" || ch.ID() != "tg" {
		t.Fatalf("defaults: %v", err)
	}
	if got, want := ch.Limits(), (channels.Limits{Send: channels.Rate{Count: 30, Per: time.Second, Burst: 30}}); got != want {
		t.Fatalf("default limits %+v, want %+v", got, want)
	}
}

// TestKindDecodesYAML decodes a configuration entry the way the config
// package does (unknown keys refused), so the yaml keys are the documented ones.
func TestKindDecodesYAML(t *testing.T) {
	const entry = `
bot_token: "` + botToken + `"
secret_token: ` + secret + `
api_base_url: http://127.0.0.1:8081/
send_rate: {count: 20, per: 1s, burst: 5}
`
	decode := func(v any) error {
		dec := yaml.NewDecoder(strings.NewReader(entry))
		dec.KnownFields(true)
		return dec.Decode(v)
	}
	got, err := telegram.Kind.New("tg", decode, channels.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ch, ok := got.(*telegram.Channel)
	if !ok || telegram.Kind.Name != "telegram" {
		t.Fatalf("Kind.New built %T", got)
	}
	if l := ch.Limits(); l.Send != (channels.Rate{Count: 20, Per: time.Second, Burst: 5}) {
		t.Fatalf("send_rate decoded as %+v", l.Send)
	}

	bad := func(v any) error {
		dec := yaml.NewDecoder(strings.NewReader("bot_token: x\nsecret: y\n"))
		dec.KnownFields(true)
		return dec.Decode(v)
	}
	if _, err := telegram.Kind.New("tg", bad, channels.Deps{}); err == nil {
		t.Fatal("unknown key accepted")
	}
}

// botAPI is an httptest fake of the Bot API; handler sees the method name.
func botAPI(t *testing.T, handler func(w http.ResponseWriter, method string, body []byte)) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method, ok := strings.CutPrefix(r.URL.Path, "/bot"+botToken+"/")
		if !ok || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("unexpected request %s %s (%s)", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"ok":false,"error_code":404,"description":"Not Found"}`)
			return
		}
		b, _ := io.ReadAll(r.Body)
		handler(w, method, b)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// assertNoToken fails if err, or anything it wraps, quotes the bot token.
func assertNoToken(t *testing.T, err error) {
	t.Helper()
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), botToken) || strings.Contains(e.Error(), "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw") {
			t.Fatalf("error leaks the bot token: %v", e)
		}
	}
	if s := fmt.Sprintf("%+v %#v", err, err); strings.Contains(s, botToken) {
		t.Fatalf("formatted error leaks the bot token: %s", s)
	}
}

func TestSendTextSuccess(t *testing.T) {
	var gotMethod string
	var got map[string]any
	base := botAPI(t, func(w http.ResponseWriter, method string, body []byte) {
		gotMethod = method
		d := json.NewDecoder(bytes.NewReader(body))
		d.UseNumber()
		_ = d.Decode(&got)
		fmt.Fprint(w, `{"ok":true,"result":{"message_id":1381,"from":{"id":7000000001,"is_bot":true,"first_name":"Acme Suporte","username":"acme_suporte_bot"},`+
			`"chat":{"id":5213748901,"first_name":"Ana","last_name":"Lima","type":"private"},"date":1749416400,"text":"Olá, Ana! Vamos verificar."}}`)
	})
	id, err := newChannel(t, base).SendText(context.Background(), customer, "Olá, Ana! Vamos verificar.")
	if err != nil || id != customer+":1381" {
		t.Fatalf("SendText = %q, %v", id, err)
	}
	// chat_id goes as the integer the Bot API documents.
	if gotMethod != "sendMessage" || got["chat_id"] != json.Number(customer) || got["text"] != "Olá, Ana! Vamos verificar." || len(got) != 2 {
		t.Fatalf("%s with %v", gotMethod, got)
	}
}

func TestSendTextToUsername(t *testing.T) {
	var got map[string]any
	base := botAPI(t, func(w http.ResponseWriter, _ string, body []byte) {
		_ = json.Unmarshal(body, &got)
		fmt.Fprint(w, `{"ok":true,"result":{"message_id":7,"chat":{"id":-1001234,"type":"channel"}}}`)
	})
	id, err := newChannel(t, base).SendText(context.Background(), "@acme_news", "x")
	if err != nil || id != "-1001234:7" || got["chat_id"] != "@acme_news" {
		t.Fatalf("SendText = %q, %v; sent %v", id, err, got)
	}
}

func TestSendTextFailures(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		header    string
		retryable bool
		code      int
		wantAfter time.Duration
		message   string
	}{
		{"flood control", 429, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 5","parameters":{"retry_after":5}}`, "", true, 429, 5 * time.Second, "retry after 5"},
		{"blocked by the user", 403, `{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}`, "", false, 403, 0, "blocked"},
		{"chat not found", 400, `{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}`, "", false, 400, 0, "chat not found"},
		{"bad token", 401, `{"ok":false,"error_code":401,"description":"Unauthorized"}`, "", false, 401, 0, "Unauthorized"},
		{"server error", 500, `{"ok":false,"error_code":500,"description":"Internal Server Error"}`, "", true, 500, 0, "Internal"},
		{"proxy error page", 502, `<html><body>502 Bad Gateway</body></html>`, "", true, 0, 0, "Bad Gateway"},
		{"retry-after header only", 429, `{"ok":false,"error_code":429,"description":"Too Many Requests"}`, "3", true, 429, 3 * time.Second, "Too Many"},
		{"ok false with 200", 200, `{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 1","parameters":{"retry_after":1}}`, "", true, 429, time.Second, "retry after"},
		{"accepted without an id", 200, `{"ok":true,"result":{}}`, "", false, 0, 0, "without a message id"},
		{"unreadable result", 200, `{"ok":true,"result":[1]}`, "", false, 0, 0, "unreadable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := botAPI(t, func(w http.ResponseWriter, _ string, _ []byte) {
				if tc.header != "" {
					w.Header().Set("Retry-After", tc.header)
				}
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			})
			_, err := newChannel(t, base).SendText(context.Background(), customer, "texto secreto")
			var se *channels.SendError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *SendError", err)
			}
			if se.Retryable != tc.retryable || se.Code != tc.code || se.HTTPStatus != tc.status || se.RetryAfter != tc.wantAfter ||
				!strings.Contains(err.Error(), tc.message) {
				t.Fatalf("got %+v (%v)", se, err)
			}
			if strings.Contains(err.Error(), "texto secreto") {
				t.Fatalf("error quotes the text: %v", err)
			}
			assertNoToken(t, err)
		})
	}
}

func TestSendTextNetworkErrorsAreRetryable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	base := srv.URL
	srv.Close() // nothing listens there now
	_, err := newChannel(t, base).SendText(context.Background(), customer, "x")
	var se *channels.SendError
	if !errors.As(err, &se) || !se.Retryable || se.HTTPStatus != 0 {
		t.Fatalf("closed server: %v, want a retryable network error", err)
	}
	assertNoToken(t, err)

	slow := botAPI(t, func(w http.ResponseWriter, _ string, _ []byte) { time.Sleep(500 * time.Millisecond) })
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = newChannel(t, slow).SendText(ctx, customer, "x")
	if !errors.As(err, &se) || !se.Retryable || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout: %v, want retryable and wrapping DeadlineExceeded", err)
	}
	assertNoToken(t, err)

	// A redirect's error names the URL redirected to: it must go too.
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Path, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirecting.Close)
	_, err = newChannel(t, redirecting.URL).SendText(context.Background(), customer, "x")
	if !errors.As(err, &se) || !se.Retryable {
		t.Fatalf("redirect loop: %v", err)
	}
	assertNoToken(t, err)
}

func TestSendTextBoundsTheResponse(t *testing.T) {
	base := botAPI(t, func(w http.ResponseWriter, _ string, _ []byte) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write(bytes.Repeat([]byte("x"), 8<<20))
	})
	_, err := newChannel(t, base).SendText(context.Background(), customer, "x")
	var se *channels.SendError
	if !errors.As(err, &se) || se.HTTPStatus != 500 || len(err.Error()) > 1000 {
		t.Fatalf("huge answer: %.200v", err)
	}
}

func TestSetWebhook(t *testing.T) {
	var gotMethod string
	var got json.RawMessage
	base := botAPI(t, func(w http.ResponseWriter, method string, body []byte) {
		gotMethod, got = method, body
		fmt.Fprint(w, `{"ok":true,"result":true,"description":"Webhook was set"}`)
	})
	if err := newChannel(t, base).SetWebhook(context.Background(), "https://sb.example.com/webhooks/tg-main"); err != nil {
		t.Fatal(err)
	}
	want := `{"url":"https://sb.example.com/webhooks/tg-main","secret_token":"` + secret + `","allowed_updates":["message","edited_message","callback_query"]}`
	if gotMethod != "setWebhook" || string(got) != want {
		t.Fatalf("%s with %s\nwant %s", gotMethod, got, want)
	}
}

func TestSetWebhookFailure(t *testing.T) {
	base := botAPI(t, func(w http.ResponseWriter, _ string, _ []byte) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"ok":false,"error_code":400,"description":"Bad Request: bad webhook: An HTTPS URL must be provided for webhook"}`)
	})
	err := newChannel(t, base).SetWebhook(context.Background(), "http://sb.example.com/webhooks/tg-main")
	if err == nil || !strings.Contains(err.Error(), "An HTTPS URL must be provided") || !strings.Contains(err.Error(), "setWebhook") {
		t.Fatalf("err = %v", err)
	}
	assertNoToken(t, err)

	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Close()
	err = newChannel(t, srv.URL).SetWebhook(context.Background(), "https://sb.example.com/webhooks/tg-main")
	if err == nil {
		t.Fatal("unreachable Bot API: no error")
	}
	assertNoToken(t, err)
}

func BenchmarkParse(b *testing.B) {
	ch := newChannel(b, "")
	body := load(b, "message_text.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ch.Parse(body, received); err != nil {
			b.Fatal(err)
		}
	}
}
