package whatsapp_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/channels/whatsapp"
)

const (
	phoneNumberID = "106540352242922"
	secret        = "app-secret"
)

func newChannel(t testing.TB, apiBase string) *whatsapp.Channel {
	t.Helper()
	ch, err := whatsapp.New("wa-main", whatsapp.Config{
		PhoneNumberID: phoneNumberID, AppSecret: secret, VerifyToken: "verify-me",
		AccessToken: "EAAG-token", APIBaseURL: apiBase,
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

var received = time.Unix(1749416390, 0)

func parseOne(t *testing.T, file string) channels.Inbound {
	t.Helper()
	b, err := newChannel(t, "").Parse(load(t, file), received)
	if err != nil {
		t.Fatalf("Parse(%s): %v", file, err)
	}
	if len(b.Messages) != 1 || len(b.Statuses) != 0 {
		t.Fatalf("Parse(%s): %d messages, %d statuses; want 1 message", file, len(b.Messages), len(b.Statuses))
	}
	m := b.Messages[0]
	if m.Channel != "wa-main" || m.Kind != "whatsapp_cloud" || m.From != "16505551234" || m.ProfileName != "Sheena Nelson" ||
		!m.Timestamp.Equal(time.Unix(1749416383, 0)) || !strings.HasPrefix(m.ID, "wamid.") {
		t.Fatalf("Parse(%s): envelope fields wrong: %+v", file, m)
	}
	return m
}

func TestParseMessageTypes(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, m channels.Inbound)
	}{
		{"text.json", func(t *testing.T, m channels.Inbound) {
			if m.Type != "text" || m.Text != "Does it come in another color?" || m.ID != "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=" {
				t.Errorf("%+v", m)
			}
		}},
		{"interactive_button_reply.json", func(t *testing.T, m channels.Inbound) {
			if m.Type != "interactive" || m.Reply == nil || *m.Reply != (channels.Reply{Kind: "button_reply", ID: "pay-now", Title: "Pay now"}) || m.ReplyTo != "wamid.CTX1" {
				t.Errorf("%+v reply %+v", m, m.Reply)
			}
		}},
		{"interactive_list_reply.json", func(t *testing.T, m channels.Inbound) {
			if m.Reply == nil || *m.Reply != (channels.Reply{Kind: "list_reply", ID: "2", Title: "Claims"}) || m.Text != "Claims" {
				t.Errorf("%+v reply %+v", m, m.Reply)
			}
		}},
		{"button.json", func(t *testing.T, m channels.Inbound) {
			if m.Type != "button" || m.Reply == nil || *m.Reply != (channels.Reply{Kind: "button", ID: "STOP_PROMOS", Title: "Stop promotions"}) {
				t.Errorf("%+v reply %+v", m, m.Reply)
			}
		}},
		{"image.json", func(t *testing.T, m channels.Inbound) {
			if m.Type != "image" || m.Media == nil || m.Media.ID != "1003383421387256" || m.Media.MimeType != "image/jpeg" || m.Media.Caption != "receipt of payment" || m.Text != "receipt of payment" {
				t.Errorf("%+v media %+v", m, m.Media)
			}
		}},
		{"audio.json", func(t *testing.T, m channels.Inbound) {
			if m.Type != "audio" || m.Media == nil || !m.Media.Voice || m.Media.MimeType != "audio/ogg; codecs=opus" {
				t.Errorf("%+v media %+v", m, m.Media)
			}
		}},
		{"video.json", func(t *testing.T, m channels.Inbound) {
			if m.Type != "video" || m.Media == nil || m.Media.ID != "1003383421387258" || m.Media.Caption != "the damage" {
				t.Errorf("%+v media %+v", m, m.Media)
			}
		}},
		{"document.json", func(t *testing.T, m channels.Inbound) {
			if m.Type != "document" || m.Media == nil || m.Media.Filename != "invoice-0042.pdf" || m.Media.MimeType != "application/pdf" {
				t.Errorf("%+v media %+v", m, m.Media)
			}
		}},
		{"sticker.json", func(t *testing.T, m channels.Inbound) {
			if m.Type != "sticker" || m.Media == nil || m.Media.MimeType != "image/webp" {
				t.Errorf("%+v media %+v", m, m.Media)
			}
		}},
		{"location.json", func(t *testing.T, m channels.Inbound) {
			l := m.Location
			if m.Type != "location" || l == nil || l.Latitude != 37.483307 || l.Longitude != -122.148981 || l.Name != "Main office" || !strings.HasPrefix(l.Address, "1 Hacker Way") {
				t.Errorf("%+v location %+v", m, l)
			}
		}},
		{"contacts.json", func(t *testing.T, m channels.Inbound) {
			if m.Type != "contacts" || len(m.Contacts) != 1 || m.Contacts[0].Name != "Ana Lima" ||
				len(m.Contacts[0].Phones) != 1 || m.Contacts[0].Phones[0] != "+55 11 91234-5678" || m.Contacts[0].Emails[0] != "ana@example.com" {
				t.Errorf("%+v contacts %+v", m, m.Contacts)
			}
		}},
		{"reaction.json", func(t *testing.T, m channels.Inbound) {
			if m.Type != "reaction" || m.Reaction == nil || m.Reaction.MessageID != "wamid.OUT1" || m.Reaction.Emoji != "👍" {
				t.Errorf("%+v reaction %+v", m, m.Reaction)
			}
		}},
		{"referral.json", func(t *testing.T, m channels.Inbound) {
			r := m.Referral
			if m.Text != "Can I get more info about this?" || r == nil || r.SourceID != "120000000000001" || r.SourceType != "ad" ||
				!strings.HasPrefix(r.CTWAClickID, "ARAkLkA8") || r.Headline != "Pay in installments" || r.SourceURL != "https://fb.me/3cr4Wqqkv" {
				t.Errorf("%+v referral %+v", m, r)
			}
		}},
		{"reply_context.json", func(t *testing.T, m channels.Inbound) {
			if m.ReplyTo != "wamid.QUOTED" || m.Text != "yes, this one" {
				t.Errorf("%+v", m)
			}
		}},
		{"unsupported.json", func(t *testing.T, m channels.Inbound) {
			if m.Type != channels.TypeUnknown || m.ProviderType != "unsupported" || !json.Valid(m.Raw) || !strings.Contains(string(m.Raw), "131051") {
				t.Errorf("%+v raw %s", m, m.Raw)
			}
		}},
		{"order.json", func(t *testing.T, m channels.Inbound) {
			// The raw object is kept verbatim, so nothing of the order is lost.
			var raw struct {
				Order struct {
					CatalogID    string `json:"catalog_id"`
					ProductItems []struct {
						Quantity int `json:"quantity"`
					} `json:"product_items"`
				} `json:"order"`
			}
			if err := json.Unmarshal(m.Raw, &raw); err != nil || m.Type != channels.TypeUnknown || m.ProviderType != "order" ||
				raw.Order.CatalogID != "cat-1" || raw.Order.ProductItems[0].Quantity != 2 {
				t.Errorf("%+v raw %s (%v)", m, m.Raw, err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) { tc.check(t, parseOne(t, tc.file)) })
	}
}

func TestParseStatuses(t *testing.T) {
	ch := newChannel(t, "")
	for _, tc := range []struct{ file, status, id string }{
		{"status_sent.json", "sent", "wamid.OUT1"},
		{"status_delivered.json", "delivered", "wamid.OUT1"},
		{"status_read.json", "read", "wamid.OUT1"},
		{"status_failed.json", "failed", "wamid.OUT2"},
	} {
		b, err := ch.Parse(load(t, tc.file), received)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if len(b.Messages) != 0 || len(b.Statuses) != 1 {
			t.Fatalf("%s: %d messages %d statuses", tc.file, len(b.Messages), len(b.Statuses))
		}
		s := b.Statuses[0]
		if s.Status != tc.status || s.MessageID != tc.id || s.RecipientID != "16505551234" || s.Channel != "wa-main" || s.Timestamp.IsZero() {
			t.Errorf("%s: %+v", tc.file, s)
		}
		if tc.status == "failed" {
			// 131047 is the window closing: titled so the operator's
			// history says window_closed, as for a refused send.
			if len(s.Errors) != 1 || s.Errors[0].Code != 131047 || s.Errors[0].Title != channels.WindowClosedTitle ||
				!strings.Contains(s.Errors[0].Details, "24 hours") {
				t.Errorf("failed status errors = %+v", s.Errors)
			}
		}
	}
}

func TestParseBatched(t *testing.T) {
	b, err := newChannel(t, "").Parse(load(t, "batched.json"), received)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range b.Messages {
		ids = append(ids, m.ID)
	}
	// The other phone number's change and the account_update are skipped.
	if got := strings.Join(ids, ","); got != "wamid.B1,wamid.B2,wamid.B3" {
		t.Fatalf("messages %s, want wamid.B1,wamid.B2,wamid.B3", got)
	}
	if b.Messages[1].ProfileName != "Raj" || b.Messages[0].ProfileName != "Sheena Nelson" {
		t.Fatalf("profile names not matched to senders: %q, %q", b.Messages[0].ProfileName, b.Messages[1].ProfileName)
	}
	for i := 1; i < len(b.Messages); i++ {
		if b.Messages[i].Arrival <= b.Messages[i-1].Arrival {
			t.Fatalf("arrival does not increase across the request: %d then %d", b.Messages[i-1].Arrival, b.Messages[i].Arrival)
		}
	}
	if len(b.Statuses) != 2 || b.Statuses[0].Status != "delivered" || b.Statuses[1].Status != "read" {
		t.Fatalf("statuses = %+v", b.Statuses)
	}
}

func TestParseMalformed(t *testing.T) {
	ch := newChannel(t, "")
	text := load(t, "text.json")
	for name, body := range map[string][]byte{
		"not json":         []byte("hello"),
		"truncated":        text[:len(text)/2],
		"wrong object":     []byte(`{"object":"page","entry":[]}`),
		"no object":        []byte(`{"entry":[]}`),
		"entry not a list": []byte(`{"object":"whatsapp_business_account","entry":{}}`),
	} {
		if _, err := ch.Parse(body, received); !errors.Is(err, channels.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
	// A valid envelope with nothing for this channel is not an error.
	b, err := ch.Parse([]byte(`{"object":"whatsapp_business_account","entry":[]}`), received)
	if err != nil || len(b.Messages)+len(b.Statuses) != 0 {
		t.Fatalf("empty envelope: %+v, %v", b, err)
	}
}

func signature(key string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func TestVerify(t *testing.T) {
	ch := newChannel(t, "")
	body := load(t, "text.json")
	good := signature(secret, body)
	for _, tc := range []struct {
		name   string
		header string
		body   []byte
		ok     bool
	}{
		{"good", good, body, true},
		{"upper-case hex", "sha256=" + strings.ToUpper(strings.TrimPrefix(good, "sha256=")), body, true},
		{"wrong secret", signature("other", body), body, false},
		{"tampered body", good, append([]byte(" "), body...), false},
		{"missing", "", body, false},
		{"no prefix", strings.TrimPrefix(good, "sha256="), body, false},
		{"sha1 prefix", "sha1=" + strings.TrimPrefix(good, "sha256="), body, false},
		{"bad hex", "sha256=" + strings.Repeat("zz", 32), body, false},
		{"short", good[:len(good)-2], body, false},
	} {
		h := http.Header{}
		if tc.header != "" {
			h.Set("X-Hub-Signature-256", tc.header)
		}
		err := ch.Verify(&http.Request{Header: h}, tc.body)
		if tc.ok && err != nil {
			t.Errorf("%s: %v, want accepted", tc.name, err)
		}
		if !tc.ok && !errors.Is(err, channels.ErrBadSignature) {
			t.Errorf("%s: %v, want ErrBadSignature", tc.name, err)
		}
	}
}

func TestHandshake(t *testing.T) {
	ch := newChannel(t, "")
	q := func(mode, token, challenge string) url.Values {
		return url.Values{"hub.mode": {mode}, "hub.verify_token": {token}, "hub.challenge": {challenge}}
	}
	if c, ok := ch.Handshake(q("subscribe", "verify-me", "1158201444")); !ok || c != "1158201444" {
		t.Fatalf("good handshake = %q, %v", c, ok)
	}
	for name, v := range map[string]url.Values{
		"wrong token":     q("subscribe", "verify-you", "1"),
		"wrong mode":      q("unsubscribe", "verify-me", "1"),
		"empty challenge": q("subscribe", "verify-me", ""),
		"nothing":         {},
	} {
		if _, ok := ch.Handshake(v); ok {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestConfigErrorsNameKeys(t *testing.T) {
	_, err := whatsapp.New("wa", whatsapp.Config{APIBaseURL: "graph.facebook.com"}, nil)
	for _, key := range []string{"phone_number_id", "app_secret", "verify_token", "access_token", "api_base_url"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("error %v does not name %s", err, key)
		}
	}
	ch, err := whatsapp.New("wa", whatsapp.Config{PhoneNumberID: "1", AppSecret: "a", VerifyToken: "b", AccessToken: "c"}, nil)
	if err != nil || ch.Kind() != "whatsapp_cloud" || ch.ID() != "wa" {
		t.Fatalf("defaults: %v", err)
	}
}

// graph is an httptest fake of the Graph API messages endpoint.
func graph(t *testing.T, handler func(w http.ResponseWriter, r *http.Request, body []byte)) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		handler(w, r, b)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v21.0"
}

func TestSendTextSuccess(t *testing.T) {
	var gotPath, gotAuth string
	var got map[string]any
	base := graph(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		gotPath, gotAuth = r.URL.Path, r.Header.Get("Authorization")
		_ = json.Unmarshal(body, &got)
		fmt.Fprint(w, `{"messaging_product":"whatsapp","contacts":[{"input":"16505551234","wa_id":"16505551234"}],"messages":[{"id":"wamid.SENT"}]}`)
	})
	id, err := newChannel(t, base).SendText(context.Background(), "16505551234", "Hola, ¿cómo podemos ayudar?")
	if err != nil || id != "wamid.SENT" {
		t.Fatalf("SendText = %q, %v", id, err)
	}
	if gotPath != "/v21.0/"+phoneNumberID+"/messages" || gotAuth != "Bearer EAAG-token" {
		t.Fatalf("request to %s with %q", gotPath, gotAuth)
	}
	text, _ := got["text"].(map[string]any)
	if got["messaging_product"] != "whatsapp" || got["to"] != "16505551234" || got["type"] != "text" || text["body"] != "Hola, ¿cómo podemos ayudar?" {
		t.Fatalf("request body = %v", got)
	}
}

func TestSendTextFailures(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		retryAfter string
		retryable  bool
		code       int
		wantAfter  time.Duration
	}{
		{"server error", 500, `{"error":{"message":"An unknown error has occurred.","code":1}}`, "", true, 1, 0},
		{"unavailable", 503, ``, "", true, 0, 0},
		{"too many requests", 429, `{"error":{"message":"rate limited","code":130429}}`, "7", true, 130429, 7 * time.Second},
		{"throttled as 400", 400, `{"error":{"message":"(#131056) pair rate limit","code":131056}}`, "", true, 131056, 0},
		{"outside the window", 400, `{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,"error_data":{"details":"more than 24 hours"}}}`, "", false, 131047, 0},
		{"invalid parameter", 400, `{"error":{"message":"(#100) Invalid parameter","code":100}}`, "", false, 100, 0},
		{"bad token", 401, `{"error":{"message":"Error validating access token","code":190}}`, "", false, 190, 0},
		{"2xx without an id", 200, `{"messaging_product":"whatsapp"}`, "", false, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := graph(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			})
			_, err := newChannel(t, base).SendText(context.Background(), "16505551234", "secret text")
			var se *channels.SendError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *SendError", err)
			}
			if se.Retryable != tc.retryable || se.Code != tc.code || se.HTTPStatus != tc.status || se.RetryAfter != tc.wantAfter {
				t.Fatalf("got %+v", se)
			}
			if se.WindowClosed != (tc.code == 131047) {
				t.Fatalf("WindowClosed = %v for code %d", se.WindowClosed, tc.code)
			}
			if strings.Contains(err.Error(), "EAAG-token") || strings.Contains(err.Error(), "secret text") {
				t.Fatalf("error leaks the token or the text: %v", err)
			}
		})
	}
}

func TestSendTextNetworkErrorsAreRetryable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	base := srv.URL
	srv.Close() // nothing listens there now
	_, err := newChannel(t, base).SendText(context.Background(), "1", "x")
	var se *channels.SendError
	if !errors.As(err, &se) || !se.Retryable || se.HTTPStatus != 0 {
		t.Fatalf("closed server: %v, want a retryable network error", err)
	}

	slow := graph(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = newChannel(t, slow).SendText(ctx, "1", "x")
	if !errors.As(err, &se) || !se.Retryable {
		t.Fatalf("timeout: %v, want retryable", err)
	}
}

func BenchmarkParse(b *testing.B) {
	ch := newChannel(b, "")
	body := load(b, "text.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ch.Parse(body, received); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	ch := newChannel(b, "")
	body := load(b, "text.json")
	r := &http.Request{Header: http.Header{"X-Hub-Signature-256": {signature(secret, body)}}}
	b.ReportAllocs()
	for b.Loop() {
		if err := ch.Verify(r, body); err != nil {
			b.Fatal(err)
		}
	}
}

func parseFile(t *testing.T, file string) channels.Batch {
	t.Helper()
	b, err := newChannel(t, "").Parse(load(t, file), received)
	if err != nil {
		t.Fatalf("Parse(%s): %v", file, err)
	}
	return b
}

const bsuid = "US.13491208655302741918"

// A user who set a username may come with a business-scoped user id and
// no phone number: the message is accepted, keyed by the BSUID.
func TestParseSenderWithoutPhoneIsKeyedByBSUID(t *testing.T) {
	b := parseFile(t, "bsuid_only.json")
	if len(b.Messages) != 1 || len(b.Unparsed) != 0 {
		t.Fatalf("batch = %+v, want one message", b)
	}
	m := b.Messages[0]
	if m.From != bsuid || m.UserID != "" || m.Username != "@sheena.n" || m.ProfileName != "Sheena Nelson" ||
		m.Type != channels.TypeText || m.Text != "Is my order on its way?" {
		t.Fatalf("message = %+v, want From the BSUID with the profile", m)
	}
}

// When Meta gives both ids the phone number stays the key (so the contact
// is the one it always was) and the BSUID is kept beside it.
func TestParseSenderWithPhoneAndBSUIDKeepsBoth(t *testing.T) {
	b := parseFile(t, "bsuid_with_phone.json")
	if len(b.Messages) != 1 {
		t.Fatalf("batch = %+v, want one message", b)
	}
	if m := b.Messages[0]; m.From != "16505551234" || m.UserID != bsuid || m.Username != "@sheena.n" || m.ProfileName != "Sheena Nelson" {
		t.Fatalf("message = %+v, want From the phone and UserID the BSUID", m)
	}
	// A message with only the BSUID, whose contact carries the phone
	// number, is keyed by the phone number too.
	body := strings.Replace(string(load(t, "bsuid_with_phone.json")), `"from":"16505551234",`, "", 1)
	b, err := newChannel(t, "").Parse([]byte(body), received)
	if err != nil || len(b.Messages) != 1 || b.Messages[0].From != "16505551234" || b.Messages[0].UserID != bsuid {
		t.Fatalf("BSUID-only message with a phone in its contact: %+v, %v", b, err)
	}
}

func TestParseStatusOfMessageSentToBSUID(t *testing.T) {
	b := parseFile(t, "status_read_bsuid.json")
	if len(b.Statuses) != 1 || b.Statuses[0].RecipientID != bsuid || b.Statuses[0].Status != channels.StatusRead {
		t.Fatalf("statuses = %+v", b.Statuses)
	}
}

// A Groups API message is a message in a group: answering it one-to-one
// would reply to the member, so it is ignored and counted as such.
func TestParseGroupMessageIsIgnored(t *testing.T) {
	b := parseFile(t, "group_message.json")
	if len(b.Messages) != 0 || len(b.Unparsed) != 0 || len(b.Ignored) != 1 || b.Ignored[0] != channels.IgnoredGroup {
		t.Fatalf("batch = %+v, want the group message ignored", b)
	}
}

// One message, status, change or entry Switchboard cannot read must not
// cost the others of its request: they are returned, the odd ones listed
// in Unparsed, and a message with an id and a sender is kept raw.
func TestParseOddItemsCostNoOthers(t *testing.T) {
	b := parseFile(t, "odd_batch.json")
	var ids []string
	for _, m := range b.Messages {
		ids = append(ids, m.ID)
	}
	if got := strings.Join(ids, " "); got != "wamid.ODD1 wamid.ODD2 wamid.ODD3 wamid.ODD4" {
		t.Fatalf("messages = %s, want every message with an id and a sender", got)
	}
	odd := b.Messages[1]
	if odd.Type != channels.TypeUnknown || odd.ProviderType != "text" || odd.From != "16505550000" || odd.ProfileName != "Raj" ||
		!strings.Contains(string(odd.Raw), "a text that is not an object") || !odd.Timestamp.Equal(time.Unix(1749416383, 0)) {
		t.Fatalf("odd message = %+v, want it kept raw as unknown", odd)
	}
	if b.Messages[0].Type != channels.TypeText || b.Messages[2].Text != "third" || b.Messages[3].Text != "fourth" {
		t.Fatalf("good messages changed: %+v", b.Messages)
	}
	if len(b.Statuses) != 1 || b.Statuses[0].MessageID != "wamid.OUT1" {
		t.Fatalf("statuses = %+v, want the good one", b.Statuses)
	}
	var items []string
	for _, u := range b.Unparsed {
		items = append(items, fmt.Sprintf("%s/%t", u.Item, u.Kept))
		if u.Reason == "" || len(u.Raw) == 0 {
			t.Errorf("unparsed %+v lacks its reason or raw bytes", u)
		}
	}
	if got := strings.Join(items, " "); got != "message/true message/false status/false change/false entry/false" {
		t.Fatalf("unparsed = %s", got)
	}

	env := func(msg string) []byte {
		return []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"` + phoneNumberID + `"},"messages":[` + msg + `]}}]}]}`)
	}
	for name, tc := range map[string]struct {
		msg  string
		kept bool
	}{
		"message without id":   {`{"from":"1","timestamp":"1","type":"text"}`, false},
		"message without from": {`{"id":"wamid.x","timestamp":"1","type":"text"}`, false},
		"bad timestamp":        {`{"from":"1","id":"wamid.x","timestamp":"yesterday","type":"text"}`, true},
		"numeric timestamp":    {`{"from":"1","id":"wamid.x","timestamp":12,"type":"text"}`, true},
		"not an object":        {`"hello"`, false},
	} {
		b, err := newChannel(t, "").Parse(env(tc.msg), received)
		if err != nil || len(b.Unparsed) != 1 || b.Unparsed[0].Kept != tc.kept || len(b.Messages) != map[bool]int{true: 1}[tc.kept] {
			t.Errorf("%s: %+v, %v; want one unparsed message, kept=%t", name, b, err, tc.kept)
			continue
		}
		if tc.kept && (b.Messages[0].Type != channels.TypeUnknown || !b.Messages[0].Timestamp.Equal(received.UTC())) {
			t.Errorf("%s: kept as %+v, want unknown at the receive time", name, b.Messages[0])
		}
	}
}

// A reply to a customer known only by a BSUID goes in "recipient": Meta
// reads "to" as a phone number.
func TestSendToBSUIDUsesRecipient(t *testing.T) {
	var got []map[string]any
	base := graph(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		got = append(got, m)
		fmt.Fprint(w, `{"messaging_product":"whatsapp","contacts":[{"input":"x"}],"messages":[{"id":"wamid.SENT"}]}`)
	})
	ch := newChannel(t, base)
	ctx := context.Background()
	if _, err := ch.SendText(ctx, bsuid, "hola"); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.SendTemplate(ctx, bsuid, "order_update", "es", []string{"1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ch.SendText(ctx, "16505551234", "hola"); err != nil {
		t.Fatal(err)
	}
	for i, m := range got[:2] {
		if _, hasTo := m["to"]; hasTo || m["recipient"] != bsuid {
			t.Errorf("send %d to a BSUID: body %v, want recipient and no to", i, m)
		}
	}
	if _, hasRecipient := got[2]["recipient"]; hasRecipient || got[2]["to"] != "16505551234" {
		t.Errorf("send to a phone number: body %v, want to and no recipient", got[2])
	}
}
