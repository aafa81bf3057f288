package twilio_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/channels/twilio"
)

const (
	accountSID = "AC0123456789abcdef0123456789abcdef"
	authToken  = "9f2c4e7a1b3d5f6e8a0c2e4f6a8b0d1c"
	publicURL  = "https://cs.example.com"
	waSender   = "whatsapp:+14155238886"
	// hookURI is the webhook's path and query as the gateway receives it.
	hookURI = "/webhooks/twilio-wa?x=1"
)

func newChannelFrom(t testing.TB, apiBase, from string) *twilio.Channel {
	t.Helper()
	ch, err := twilio.New("tw-main", twilio.Config{
		AccountSID: accountSID, AuthToken: authToken, From: from,
		PublicURL: publicURL, APIBaseURL: apiBase,
	}, &http.Client{Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func newChannel(t testing.TB, apiBase string) *twilio.Channel {
	t.Helper()
	return newChannelFrom(t, apiBase, waSender)
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

// sign is Twilio's documented signing, written out independently of the
// package: the URL, then every parameter's name and value sorted by name
// (values of a repeated name sorted too), HMAC-SHA1 under the auth token,
// base64.
func sign(t testing.TB, token, fullURL string, body []byte) string {
	t.Helper()
	form, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return signForm(token, fullURL, form)
}

func signForm(token, fullURL string, form url.Values) string {
	names := make([]string, 0, len(form))
	for name := range form {
		names = append(names, name)
	}
	sort.Strings(names)
	var data strings.Builder
	data.WriteString(fullURL)
	for _, name := range names {
		values := append([]string(nil), form[name]...)
		sort.Strings(values)
		for _, v := range values {
			data.WriteString(name + v)
		}
	}
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(data.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// webhook is Twilio's POST as the gateway receives it.
func webhook(target string, body []byte, signature string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if signature != "" {
		r.Header.Set("X-Twilio-Signature", signature)
	}
	return r
}

// TestVerifyTwilioDocumentedVector checks Verify against the worked example
// of https://www.twilio.com/docs/usage/security#validating-requests: auth
// token "12345", URL https://mycompany.com/myapp.php?foo=1&bar=2, and the
// POST parameters CallSid, Caller, Digits, From, To.
//
// Twilio's page has carried two versions of the example, differing only in
// the caller's number; the signatures below were computed once, outside Go,
// with
//
//	python3 -c 'import hmac,hashlib,base64; s="<signed string>"; print(base64.b64encode(hmac.new(b"12345", s.encode(), hashlib.sha1).digest()).decode())'
//
// and cross-checked with `printf %s "<signed string>" | openssl dgst -sha1 -hmac 12345 -binary | base64`.
//
// With Caller and From +12349013030 (the older page) the signed string is
//
//	https://mycompany.com/myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+12349013030Digits1234From+12349013030To+18005551212
//
// and the signature 0/KCTR6DLpKmkAf8muzZqo1nDgQ=. The signature
// GvWf1cFY/Q7PnoempGyD5oXAezc= does NOT belong to these parameters: it is
// the current page's, whose Caller and From are +14158675310, signing
//
//	https://mycompany.com/myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+14158675310Digits1234From+14158675310To+18005551212
func TestVerifyTwilioDocumentedVector(t *testing.T) {
	ch, err := twilio.New("doc", twilio.Config{
		AccountSID: accountSID, AuthToken: "12345", From: "+18005551212", PublicURL: "https://mycompany.com",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		caller, signature string
	}{
		{"+12349013030", "0/KCTR6DLpKmkAf8muzZqo1nDgQ="},
		{"+14158675310", "GvWf1cFY/Q7PnoempGyD5oXAezc="},
	} {
		// Out of order on purpose: the signature sorts the parameters.
		body := []byte("To=%2B18005551212&Digits=1234&From=" + url.QueryEscape(tc.caller) +
			"&CallSid=CA1234567890ABCDE&Caller=" + url.QueryEscape(tc.caller))
		if got := sign(t, "12345", "https://mycompany.com/myapp.php?foo=1&bar=2", body); got != tc.signature {
			t.Fatalf("the test's own signing gives %s for caller %s, want %s", got, tc.caller, tc.signature)
		}
		if err := ch.Verify(webhook("/myapp.php?foo=1&bar=2", body, tc.signature), body); err != nil {
			t.Errorf("caller %s: documented signature rejected: %v", tc.caller, err)
		}
		// The other version's signature must not pass for these parameters.
		other := "GvWf1cFY/Q7PnoempGyD5oXAezc="
		if tc.signature == other {
			other = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
		}
		if err := ch.Verify(webhook("/myapp.php?foo=1&bar=2", body, other), body); !errors.Is(err, channels.ErrBadSignature) {
			t.Errorf("caller %s: the other example's signature: %v, want ErrBadSignature", tc.caller, err)
		}
	}
}

// TestVerifyWhatsAppVector checks Verify on a WhatsApp inbound message
// posted to public_url + "/webhooks/twilio-wa?x=1". testdata/wa_text.form,
// its parameters sorted by name, gives the signed string (one line)
//
//	https://cs.example.com/webhooks/twilio-wa?x=1
//	AccountSidAC0123456789abcdef0123456789abcdefApiVersion2010-04-01
//	BodyOlá, meu pedido não chegouFromwhatsapp:+5511900000001
//	MessageSidSM5f2e2b0d1c3a4e6f8091a2b3c4d5e6f7MessageTypetextNumMedia0
//	NumSegments1ProfileNameAna LimaReferralNumMedia0
//	SmsMessageSidSM5f2e2b0d1c3a4e6f8091a2b3c4d5e6f7
//	SmsSidSM5f2e2b0d1c3a4e6f8091a2b3c4d5e6f7SmsStatusreceived
//	Towhatsapp:+14155238886WaId5511900000001
//
// whose HMAC-SHA1 under the auth token 9f2c4e7a1b3d5f6e8a0c2e4f6a8b0d1c,
// computed once with Python (urllib.parse.parse_qsl on the file, sorted,
// hmac/hashlib/base64) and with openssl dgst -sha1 -hmac, is
// ULHyPD6qNlUmmvxEIdvqyesyEEQ=.
func TestVerifyWhatsAppVector(t *testing.T) {
	const want = "ULHyPD6qNlUmmvxEIdvqyesyEEQ="
	body := load(t, "wa_text.form")
	if got := sign(t, authToken, publicURL+hookURI, body); got != want {
		t.Fatalf("the test's own signing gives %s, want %s", got, want)
	}
	if err := newChannel(t, "").Verify(webhook(hookURI, body, want), body); err != nil {
		t.Fatalf("vector rejected: %v", err)
	}
}

func TestVerify(t *testing.T) {
	ch := newChannel(t, "")
	body := load(t, "wa_text.form")
	good := sign(t, authToken, publicURL+hookURI, body)
	extra := append(bytes.Clone(body), "&Extra=1"...)
	for _, tc := range []struct {
		name   string
		req    *http.Request
		body   []byte
		ok     bool
		reason string
	}{
		{"good", webhook(hookURI, body, good), body, true, ""},
		{"absolute-form target", webhook("http://10.0.0.7:8080"+hookURI, body, good), body, true, ""},
		{"signed for the proxy's internal URL", webhook(hookURI, body, sign(t, authToken, "http://switchboard.internal:8080"+hookURI, body)), body, false, ""},
		{"signed without the query", webhook(hookURI, body, sign(t, authToken, publicURL+"/webhooks/twilio-wa", body)), body, false, ""},
		{"another query", webhook("/webhooks/twilio-wa?x=2", body, good), body, false, ""},
		{"another path", webhook("/webhooks/twilio-sms?x=1", body, good), body, false, ""},
		{"signed over http", webhook(hookURI, body, sign(t, authToken, "http://cs.example.com"+hookURI, body)), body, false, ""},
		{"wrong token", webhook(hookURI, body, sign(t, "other-token", publicURL+hookURI, body)), body, false, ""},
		{"tampered body", webhook(hookURI, body, good), bytes.Replace(body, []byte("chegou"), []byte("chegou!"), 1), false, ""},
		{"added parameter", webhook(hookURI, body, good), extra, false, ""},
		{"missing", webhook(hookURI, body, ""), body, false, "missing"},
		{"not base64", webhook(hookURI, body, strings.Repeat("*", 28)), body, false, "base64"},
		{"truncated", webhook(hookURI, body, good[:27]), body, false, "length"},
		{"unpadded", webhook(hookURI, body, strings.TrimRight(good, "=")), body, false, "length"},
		{"hex instead of base64", webhook(hookURI, body, strings.Repeat("ab", 20)), body, false, "length"},
		{"not form-encoded", webhook(hookURI, body, sign(t, authToken, publicURL+hookURI, nil)), []byte("%zz"), false, "form-encoded"},
	} {
		err := ch.Verify(tc.req, tc.body)
		if tc.ok && err != nil {
			t.Errorf("%s: %v, want accepted", tc.name, err)
		}
		if !tc.ok && !errors.Is(err, channels.ErrBadSignature) {
			t.Errorf("%s: %v, want ErrBadSignature", tc.name, err)
		}
		if err != nil && !strings.Contains(err.Error(), tc.reason) {
			t.Errorf("%s: %v does not say %q", tc.name, err, tc.reason)
		}
	}
}

func TestVerifyIgnoresTheReceivedHost(t *testing.T) {
	body := load(t, "wa_text.form")
	r := webhook(hookURI, body, sign(t, authToken, publicURL+hookURI, body))
	r.Host = "10.0.0.7:8080" // what the proxy forwards to
	r.Header.Set("X-Forwarded-Host", "evil.example")
	if err := newChannel(t, "").Verify(r, body); err != nil {
		t.Fatalf("request through the proxy rejected: %v", err)
	}
}

func TestVerifyRepeatedParameters(t *testing.T) {
	// Values of a repeated name are signed in sorted order, whatever their
	// order in the body.
	body := []byte("MessageSid=SM1&Tag=b&From=%2B1&Tag=a")
	sig := sign(t, authToken, publicURL+hookURI, []byte("From=%2B1&MessageSid=SM1&Tag=a&Tag=b"))
	if err := newChannel(t, "").Verify(webhook(hookURI, body, sig), body); err != nil {
		t.Fatal(err)
	}
}

func TestVerifyPublicURLWithPathAndTrailingSlash(t *testing.T) {
	// The proxy strips /switchboard before the gateway sees the request.
	ch, err := twilio.New("tw", twilio.Config{
		AccountSID: accountSID, AuthToken: authToken, From: waSender, PublicURL: "https://cs.example.com/switchboard/",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	body := load(t, "wa_text.form")
	sig := sign(t, authToken, "https://cs.example.com/switchboard"+hookURI, body)
	if err := ch.Verify(webhook(hookURI, body, sig), body); err != nil {
		t.Fatal(err)
	}
}

// parse parses a testdata file and checks the fields every message of it
// shares.
func parse(t *testing.T, file string) []channels.Inbound {
	t.Helper()
	b, err := newChannel(t, "").Parse(load(t, file), received)
	if err != nil {
		t.Fatalf("Parse(%s): %v", file, err)
	}
	if len(b.Messages) == 0 || len(b.Statuses) != 0 {
		t.Fatalf("Parse(%s): %d messages, %d statuses; want messages only", file, len(b.Messages), len(b.Statuses))
	}
	for i, m := range b.Messages {
		if m.Channel != "tw-main" || m.Kind != "twilio" || m.ID == "" || m.From == "" ||
			!m.Timestamp.Equal(received) || m.Arrival != received.UnixNano()+int64(i) {
			t.Fatalf("Parse(%s): envelope fields of message %d wrong: %+v", file, i, m)
		}
	}
	return b.Messages
}

func parseOne(t *testing.T, file string) channels.Inbound {
	t.Helper()
	msgs := parse(t, file)
	if len(msgs) != 1 {
		t.Fatalf("Parse(%s): %d messages, want 1", file, len(msgs))
	}
	return msgs[0]
}

func TestParseMessages(t *testing.T) {
	tests := []struct {
		file  string
		check func(t *testing.T, m channels.Inbound)
	}{
		{"wa_text.form", func(t *testing.T, m channels.Inbound) {
			if m.Type != "text" || m.Text != "Olá, meu pedido não chegou" || m.ID != "SM5f2e2b0d1c3a4e6f8091a2b3c4d5e6f7" ||
				m.From != "5511900000001" || m.ProfileName != "Ana Lima" || m.Media != nil || m.Referral != nil || m.ReplyTo != "" {
				t.Errorf("%+v", m)
			}
		}},
		{"wa_image.form", func(t *testing.T, m channels.Inbound) {
			md := m.Media
			if m.Type != "image" || m.ID != "MM7a1b2c3d4e5f60718293a4b5c6d7e8f9" || m.Text != "receipt of payment" || md == nil ||
				md.ID != "https://api.twilio.com/2010-04-01/Accounts/"+accountSID+"/Messages/MM7a1b2c3d4e5f60718293a4b5c6d7e8f9/Media/ME1f2e3d4c5b6a79808172635445362718" ||
				md.MimeType != "image/jpeg" || md.Caption != "receipt of payment" {
				t.Errorf("%+v media %+v", m, md)
			}
		}},
		{"wa_location.form", func(t *testing.T, m channels.Inbound) {
			l := m.Location
			if m.Type != "location" || l == nil || l.Latitude != -23.561414 || l.Longitude != -46.655881 || l.Name != "MASP" ||
				l.Address != "Av. Paulista, 1578 - Bela Vista, São Paulo" {
				t.Errorf("%+v location %+v", m, l)
			}
		}},
		{"wa_button.form", func(t *testing.T, m channels.Inbound) {
			if m.Type != "button" || m.Reply == nil || *m.Reply != (channels.Reply{Kind: "button", ID: "TRACK_ORDER", Title: "Track my order"}) ||
				m.Text != "Track my order" || m.ReplyTo != "SM9f8e7d6c5b4a39281706f5e4d3c2b1a0" {
				t.Errorf("%+v reply %+v", m, m.Reply)
			}
		}},
		{"wa_referral.form", func(t *testing.T, m channels.Inbound) {
			r := m.Referral
			if m.Type != "text" || m.Text != "Can I get more info about this?" || m.From != "16505551234" || m.ProfileName != "Raj" || r == nil ||
				*r != (channels.Referral{SourceURL: "https://fb.me/3cr4Wqqkv", SourceID: "120000000000001", SourceType: "ad",
					Headline: "Pay in installments", Body: "Up to 12x with no interest",
					CTWAClickID: "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0-eM-ZABqoLPUgd4TmEE"}) {
				t.Errorf("%+v referral %+v", m, r)
			}
		}},
		{"wa_reply.form", func(t *testing.T, m channels.Inbound) {
			if m.Type != "text" || m.ReplyTo != "SMaaaabbbbccccddddeeeeffff00001111" || m.Text != "yes, this one" {
				t.Errorf("%+v", m)
			}
		}},
		{"wa_reaction.form", func(t *testing.T, m channels.Inbound) {
			// A type Switchboard does not model is kept whole.
			var raw url.Values
			if err := json.Unmarshal(m.Raw, &raw); err != nil || m.Type != channels.TypeUnknown || m.ProviderType != "reaction" ||
				raw.Get("MessageSid") != m.ID || raw.Get("WaId") != "5511900000001" {
				t.Errorf("%+v raw %s (%v)", m, m.Raw, err)
			}
		}},
		{"sms_text.form", func(t *testing.T, m channels.Inbound) {
			if m.Type != "text" || m.Text != "Where is my order #4521?" || m.From != "5511900000001" || m.ProfileName != "" ||
				m.ID != "SM6f708192a3b4c5d6e7f8091a2b3c4d56" {
				t.Errorf("%+v", m)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) { tc.check(t, parseOne(t, tc.file)) })
	}
}

func TestParseSeveralMedia(t *testing.T) {
	msgs := parse(t, "mms_two_media.form")
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want one per attachment", len(msgs))
	}
	const sid = "MM0c9b8a7f6e5d4c3b2a19081726354453"
	media := "https://api.twilio.com/2010-04-01/Accounts/" + accountSID + "/Messages/" + sid + "/Media/"
	first, second := msgs[0], msgs[1]
	if first.ID != sid || first.Type != "image" || first.Text != "photos of the damage" || first.From != "5511900000001" ||
		first.Media == nil || *first.Media != (channels.Media{ID: media + "ME11111111111111111111111111111111", MimeType: "image/jpeg", Caption: "photos of the damage"}) {
		t.Errorf("first: %+v media %+v", first, first.Media)
	}
	if second.ID != sid+"/1" || second.Type != "video" || second.Text != "" || second.From != "5511900000001" ||
		second.Media == nil || *second.Media != (channels.Media{ID: media + "ME22222222222222222222222222222222", MimeType: "video/mp4"}) {
		t.Errorf("second: %+v media %+v", second, second.Media)
	}
}

func TestParseMediaTypes(t *testing.T) {
	ch := newChannel(t, "")
	for ct, want := range map[string]string{
		"image/jpeg": "image", "image/webp": "image", "IMAGE/PNG": "image",
		"video/mp4": "video", "audio/ogg": "audio", "audio/mpeg": "audio",
		"application/pdf": "document", "text/vcard": "document", "": "document",
	} {
		body := url.Values{"MessageSid": {"MM1"}, "From": {"whatsapp:+1555"}, "NumMedia": {"1"},
			"MediaUrl0": {"https://api.twilio.com/m"}, "MediaContentType0": {ct}}.Encode()
		b, err := ch.Parse([]byte(body), received)
		if err != nil || len(b.Messages) != 1 || b.Messages[0].Type != want {
			t.Errorf("%q: %+v, %v; want type %s", ct, b, err, want)
		}
	}
}

func TestParseDuplicatesShareIDs(t *testing.T) {
	ch := newChannel(t, "")
	for _, file := range []string{"wa_text.form", "mms_two_media.form"} {
		a, errA := ch.Parse(load(t, file), received)
		b, errB := ch.Parse(load(t, file), received.Add(time.Minute)) // Twilio's retry
		if errA != nil || errB != nil || len(a.Messages) != len(b.Messages) {
			t.Fatalf("%s: %v, %v", file, errA, errB)
		}
		for i := range a.Messages {
			if a.Messages[i].ID != b.Messages[i].ID {
				t.Errorf("%s: message %d has id %q, then %q on retry", file, i, a.Messages[i].ID, b.Messages[i].ID)
			}
		}
	}
}

func TestParseFallbacks(t *testing.T) {
	ch := newChannel(t, "")
	// SmsMessageSid alone names the message; without WaId, From is the
	// number stripped of its prefixes.
	b, err := ch.Parse([]byte("SmsMessageSid=SM42&From=whatsapp%3A%2B5511900000001&Body=oi"), received)
	if err != nil || len(b.Messages) != 1 || b.Messages[0].ID != "SM42" || b.Messages[0].From != "5511900000001" || b.Messages[0].Text != "oi" {
		t.Fatalf("%+v, %v", b, err)
	}
	// A received status carrying the message itself is kept.
	b, err = ch.Parse([]byte("MessageStatus=received&MessageSid=SM43&From=%2B5511900000001&Body=hello&NumMedia=0"), received)
	if err != nil || len(b.Messages) != 1 || b.Messages[0].ID != "SM43" || b.Messages[0].Text != "hello" {
		t.Fatalf("received with a body: %+v, %v", b, err)
	}
}

func TestParseStatuses(t *testing.T) {
	ch := newChannel(t, "")
	const sid = "SM0123456789abcdef0123456789abcdef"
	for _, tc := range []struct{ twilio, want string }{
		{"accepted", "queued"},
		{"scheduled", "queued"},
		{"queued", "queued"},
		{"sending", "queued"},
		{"sent", "sent"},
		{"delivered", "delivered"},
		{"read", "read"},
		{"undelivered", "failed"},
		{"failed", "failed"},
		{"canceled", "failed"},
	} {
		body := url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "MessageStatus": {tc.twilio}, "SmsStatus": {tc.twilio},
			"To": {"whatsapp:+5511900000001"}, "From": {waSender}, "AccountSid": {accountSID}}.Encode()
		b, err := ch.Parse([]byte(body), received)
		if err != nil || len(b.Messages) != 0 || len(b.Statuses) != 1 {
			t.Fatalf("%s: %+v, %v", tc.twilio, b, err)
		}
		s := b.Statuses[0]
		if s.Status != tc.want || s.MessageID != sid || s.RecipientID != "5511900000001" || s.Channel != "tw-main" ||
			s.Kind != "twilio" || !s.Timestamp.Equal(received) {
			t.Errorf("%s: %+v", tc.twilio, s)
		}
		if (tc.want == "failed") != (len(s.Errors) == 1) {
			t.Errorf("%s: errors %+v", tc.twilio, s.Errors)
		}
	}

	for _, tc := range []struct {
		file, status, recipient string
		errs                    []channels.StatusError
	}{
		{"status_delivered.form", "delivered", "5511900000001", nil},
		{"status_read.form", "read", "5511900000001", nil},
		{"status_sms_sent.form", "sent", "5511900000001", nil},
		// 63016 is the 24-hour window closing: recorded as window_closed.
		{"status_undelivered.form", "failed", "5511900000001", []channels.StatusError{{Code: 63016, Title: channels.WindowClosedTitle,
			Message: "Failed to send freeform message because you are outside the allowed window.", Details: "undelivered"}}},
		{"status_failed_window.form", "failed", "5511900000001", []channels.StatusError{{Code: 63016, Title: channels.WindowClosedTitle,
			Message: "Failed to send freeform message because you are outside the allowed window.", Details: "failed"}}},
	} {
		b, err := ch.Parse(load(t, tc.file), received)
		if err != nil || len(b.Statuses) != 1 || len(b.Messages) != 0 {
			t.Fatalf("%s: %+v, %v", tc.file, b, err)
		}
		s := b.Statuses[0]
		if s.Status != tc.status || s.MessageID != sid || s.RecipientID != tc.recipient || fmt.Sprint(s.Errors) != fmt.Sprint(tc.errs) {
			t.Errorf("%s: %+v", tc.file, s)
		}
	}

	b, err := ch.Parse([]byte("MessageSid=SM1&MessageStatus=failed&ErrorCode=30008&To=%2B5511900000001"), received)
	if err != nil || len(b.Statuses) != 1 || fmt.Sprint(b.Statuses[0].Errors) != fmt.Sprint([]channels.StatusError{{Code: 30008, Title: "failed"}}) {
		t.Fatalf("failed with ErrorCode only: %+v, %v", b, err)
	}
}

func TestParseStatusesWithoutNews(t *testing.T) {
	ch := newChannel(t, "")
	for _, status := range []string{"received", "receiving", "partially_delivered", "some_future_status"} {
		b, err := ch.Parse([]byte("MessageSid=SM1&MessageStatus="+status+"&To=%2B1555&From=%2B1666"), received)
		if err != nil || len(b.Messages)+len(b.Statuses) != 0 {
			t.Errorf("%s: %+v, %v; want an empty batch", status, b, err)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	ch := newChannel(t, "")
	for name, body := range map[string]string{
		"bad escape":                    "MessageSid=SM1&From=%zz",
		"semicolon separator":           "MessageSid=SM1;From=%2B1",
		"empty body":                    "",
		"no MessageSid":                 "From=%2B5511900000001&Body=hi",
		"no From":                       "MessageSid=SM1&Body=hi",
		"From names nobody":             "MessageSid=SM1&From=whatsapp%3A%2B&Body=hi",
		"status without MessageSid":     "MessageStatus=delivered&To=%2B1",
		"status empty":                  "MessageSid=SM1&MessageStatus=",
		"status ErrorCode not a number": "MessageSid=SM1&MessageStatus=failed&ErrorCode=abc",
		"status ErrorCode out of int":   "MessageSid=SM1&MessageStatus=undelivered&ErrorCode=99999999999999999999",
		"json instead of form":          `{"MessageSid":"SM1","From":"+1"}`,
		"received with a Body, no sid":  "MessageStatus=received&Body=x&From=%2B1",
	} {
		if _, err := ch.Parse([]byte(body), received); !errors.Is(err, channels.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

// A message with an id and a sender whose content does not add up is not
// refused (Twilio would not send it again, so it would be lost): it is
// queued as unknown with every field, and reported unparsed.
func TestParseOddMessageIsKeptRaw(t *testing.T) {
	ch := newChannel(t, "")
	msg := "MessageSid=SM1&From=whatsapp%3A%2B5511900000001&ProfileName=Ana&Body=aqui&"
	for name, body := range map[string]string{
		"NumMedia not a number":      msg + "NumMedia=one",
		"NumMedia negative":          msg + "NumMedia=-1",
		"NumMedia beyond the fields": msg + "NumMedia=999999999&MediaUrl0=https%3A%2F%2Fx",
		"MediaUrl missing":           msg + "NumMedia=2&MediaUrl0=https%3A%2F%2Fx&MediaUrl2=https%3A%2F%2Fy",
		"latitude without longitude": msg + "Latitude=1.5",
		"latitude not a number":      msg + "Latitude=north&Longitude=1",
		"latitude off the globe":     msg + "Latitude=91&Longitude=1",
		"longitude NaN":              msg + "Latitude=1&Longitude=NaN",
	} {
		b, err := ch.Parse([]byte(body), received)
		if err != nil || len(b.Messages) != 1 || len(b.Unparsed) != 1 || !b.Unparsed[0].Kept || b.Unparsed[0].Reason == "" {
			t.Errorf("%s: %+v, %v; want the message kept and reported unparsed", name, b, err)
			continue
		}
		m := b.Messages[0]
		if m.ID != "SM1" || m.From != "5511900000001" || m.Type != channels.TypeUnknown || m.Text != "aqui" || m.ProfileName != "Ana" ||
			!strings.Contains(string(m.Raw), `"MessageSid":["SM1"]`) {
			t.Errorf("%s: kept as %+v", name, m)
		}
	}
}

func TestAck(t *testing.T) {
	ct, body := newChannel(t, "").Ack(channels.Batch{})
	if ct != "text/xml" || string(body) != `<?xml version="1.0" encoding="UTF-8"?><Response></Response>` {
		t.Fatalf("Ack = %q, %q", ct, body)
	}
	body[0] = 'X' // a caller scribbling on one answer does not change the next
	if _, again := newChannel(t, "").Ack(channels.Batch{}); again[0] != '<' {
		t.Fatal("Ack shares its buffer")
	}
}

func TestConfigErrorsNameKeys(t *testing.T) {
	_, err := twilio.New("tw", twilio.Config{}, nil)
	for _, key := range []string{"account_sid", "auth_token", "from", "public_url"} {
		if err == nil || !strings.Contains(err.Error(), key+": required") {
			t.Errorf("empty config: error %v does not name %s", err, key)
		}
	}
	_, err = twilio.New("tw", twilio.Config{
		AccountSID: "SK0123", AuthToken: authToken, From: "14155238886", PublicURL: "cs.example.com/hooks",
		APIBaseURL: "api.twilio.com", SendRate: &channels.Rate{Count: -1},
	}, nil)
	for _, key := range []string{"account_sid", "from", "public_url", "api_base_url", "send_rate"} {
		if err == nil || !strings.Contains(err.Error(), key+":") {
			t.Errorf("bad values: error %v does not name %s", err, key)
		}
	}
	if err != nil && strings.Contains(err.Error(), authToken) {
		t.Errorf("error leaks the auth token: %v", err)
	}
	for _, bad := range []string{"https://cs.example.com?x=1", "https://cs.example.com#top", "ftp://cs.example.com", "https://"} {
		if _, err := twilio.New("tw", twilio.Config{AccountSID: accountSID, AuthToken: authToken, From: waSender, PublicURL: bad}, nil); err == nil ||
			!strings.Contains(err.Error(), "public_url") {
			t.Errorf("public_url %q: %v", bad, err)
		}
	}
	for _, bad := range []string{"whatsapp:14155238886", "whatsapp:+1415x", "+", "MG", "tel:+14155238886"} {
		if _, err := twilio.New("tw", twilio.Config{AccountSID: accountSID, AuthToken: authToken, From: bad, PublicURL: publicURL}, nil); err == nil ||
			!strings.Contains(err.Error(), "from") {
			t.Errorf("from %q: %v", bad, err)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	var got twilio.Config
	decode := func(v any) error {
		*v.(*twilio.Config) = twilio.Config{AccountSID: accountSID, AuthToken: authToken, From: "MG0123", PublicURL: publicURL}
		got = *v.(*twilio.Config)
		return nil
	}
	ch, err := twilio.Kind.New("tw", decode, channels.Deps{})
	if err != nil || ch.Kind() != "twilio" || ch.ID() != "tw" || twilio.Kind.Name != "twilio" || got.From != "MG0123" {
		t.Fatalf("Kind.New: %v, %v", ch, err)
	}
	want := channels.Rate{Count: 80, Per: time.Second, Burst: 80}
	if l := ch.(channels.Limited).Limits(); l.Send != want || l.NewContact != (channels.Rate{}) {
		t.Fatalf("Limits() = %+v, want send %+v", l, want)
	}
	custom := channels.Rate{Count: 1, Per: time.Second}
	tw, err := twilio.New("tw", twilio.Config{AccountSID: accountSID, AuthToken: authToken, From: waSender, PublicURL: publicURL, SendRate: &custom}, nil)
	if err != nil || tw.Limits().Send != custom {
		t.Fatalf("custom rate: %+v, %v", tw, err)
	}
	if _, err := twilio.Kind.New("tw", func(any) error { return errors.New("unknown key x") }, channels.Deps{}); err == nil {
		t.Fatal("decode error swallowed")
	}
}

// fakeAPI is an httptest fake of Twilio's Messages endpoint.
func fakeAPI(t *testing.T, handler func(w http.ResponseWriter, r *http.Request, form url.Values)) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(b))
		handler(w, r, form)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// created is a trimmed Message resource as Twilio answers a create.
const created = `{"account_sid":"` + accountSID + `","api_version":"2010-04-01","body":"x","direction":"outbound-api","error_code":null,"error_message":null,"num_media":"0","sid":"SMd1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6","status":"queued"}`

func TestSendText(t *testing.T) {
	for _, tc := range []struct {
		name, from, to string
		wantTo         string
		senderKey      string
	}{
		{"whatsapp", waSender, "5511900000001", "whatsapp:+5511900000001", "From"},
		{"whatsapp, to with +", waSender, "+5511900000001", "whatsapp:+5511900000001", "From"},
		{"sms", "+14155238886", "5511900000001", "+5511900000001", "From"},
		{"messaging service", "MG0123456789abcdef0123456789abcdef", "5511900000001", "+5511900000001", "MessagingServiceSid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var method, path, contentType string
			var user, pass string
			var authOK bool
			var form url.Values
			base := fakeAPI(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
				method, path, contentType, form = r.Method, r.URL.Path, r.Header.Get("Content-Type"), f
				user, pass, authOK = r.BasicAuth()
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusCreated)
				fmt.Fprint(w, created)
			})
			id, err := newChannelFrom(t, base, tc.from).SendText(context.Background(), tc.to, "Olá! Como podemos ajudar?")
			if err != nil || id != "SMd1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6" {
				t.Fatalf("SendText = %q, %v", id, err)
			}
			if method != http.MethodPost || path != "/2010-04-01/Accounts/"+accountSID+"/Messages.json" ||
				contentType != "application/x-www-form-urlencoded" || !authOK || user != accountSID || pass != authToken {
				t.Fatalf("%s %s (%s) as %q:%q (%v)", method, path, contentType, user, pass, authOK)
			}
			want := url.Values{"To": {tc.wantTo}, tc.senderKey: {tc.from}, "Body": {"Olá! Como podemos ajudar?"}}
			if form.Encode() != want.Encode() {
				t.Fatalf("form = %v, want %v", form, want)
			}
		})
	}
}

func TestSendTextFailures(t *testing.T) {
	const text = "your order #4521 ships tomorrow"
	tests := []struct {
		name       string
		status     int
		body       string
		retryAfter string
		retryable  bool
		window     bool
		code       int
		wantAfter  time.Duration
	}{
		{"outside the window", 400, `{"code":63016,"message":"Failed to send freeform message because you are outside the allowed window. If you want to send messages outside a session, you need to use a template.","more_info":"https://www.twilio.com/docs/errors/63016","status":400}`, "", false, true, 63016, 0},
		{"too many requests", 429, `{"code":20429,"message":"Too Many Requests","more_info":"https://www.twilio.com/docs/errors/20429","status":429}`, "7", true, false, 20429, 7 * time.Second},
		{"server error", 500, `{"code":20500,"message":"Internal Server Error","more_info":"https://www.twilio.com/docs/errors/20500","status":500}`, "", true, false, 20500, 0},
		{"unavailable without a body", 503, ``, "", true, false, 0, 0},
		{"invalid To", 400, `{"code":21211,"message":"Invalid 'To' Phone Number: +55119000XXXX","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`, "", false, false, 21211, 0},
		{"bad credentials", 401, `{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`, "", false, false, 20003, 0},
		{"html from a proxy", 502, `<html>Bad Gateway</html>`, "", true, false, 0, 0},
		{"2xx without a sid", 201, `{"status":"queued"}`, "", false, false, 0, 0},
		{"2xx not json", 200, `OK`, "", false, false, 0, 0},
		// A message that echoes what was sent must not carry it into logs.
		{"echoing error", 400, `{"code":21617,"message":"The concatenated message body '` + text + `' exceeds the limit (token ` + authToken + `)","status":400}`, "", false, false, 21617, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := fakeAPI(t, func(w http.ResponseWriter, r *http.Request, _ url.Values) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			})
			_, err := newChannel(t, base).SendText(context.Background(), "5511900000001", text)
			var se *channels.SendError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *SendError", err)
			}
			if se.Retryable != tc.retryable || se.WindowClosed != tc.window || se.Code != tc.code || se.HTTPStatus != tc.status || se.RetryAfter != tc.wantAfter {
				t.Fatalf("got %+v", se)
			}
			if strings.Contains(err.Error(), authToken) || strings.Contains(err.Error(), text) {
				t.Fatalf("error leaks the token or the text: %v", err)
			}
		})
	}
}

func TestSendRetryAfterDate(t *testing.T) {
	base := fakeAPI(t, func(w http.ResponseWriter, r *http.Request, _ url.Values) {
		w.Header().Set("Retry-After", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusServiceUnavailable)
	})
	_, err := newChannel(t, base).SendText(context.Background(), "1555", "x")
	var se *channels.SendError
	if !errors.As(err, &se) || !se.Retryable || se.RetryAfter < 58*time.Minute || se.RetryAfter > time.Hour {
		t.Fatalf("err = %v (%+v), want retryable after about an hour", err, se)
	}
}

func TestSendNetworkErrorsAreRetryable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	base := srv.URL
	srv.Close() // nothing listens there now
	_, err := newChannel(t, base).SendText(context.Background(), "1555", "secret text")
	var se *channels.SendError
	if !errors.As(err, &se) || !se.Retryable || se.HTTPStatus != 0 {
		t.Fatalf("closed server: %v, want a retryable network error", err)
	}
	if strings.Contains(err.Error(), authToken) || strings.Contains(err.Error(), "secret text") {
		t.Fatalf("error leaks the token or the text: %v", err)
	}

	slow := fakeAPI(t, func(w http.ResponseWriter, r *http.Request, _ url.Values) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err = newChannel(t, slow).SendText(ctx, "1555", "x")
	if !errors.As(err, &se) || !se.Retryable {
		t.Fatalf("timeout: %v, want retryable", err)
	}
}

func TestSendTemplate(t *testing.T) {
	var form url.Values
	base := fakeAPI(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		form = f
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, created)
	})
	params := []string{"Ana", "#4521", `quote " and {{2}}`}
	id, err := newChannel(t, base).SendTemplate(context.Background(), "5511900000001", "HXb5b62575e6e4ff6129ad7c8efe1f983e", "pt_BR", params)
	if err != nil || id == "" {
		t.Fatalf("SendTemplate = %q, %v", id, err)
	}
	var vars map[string]string
	if err := json.Unmarshal([]byte(form.Get("ContentVariables")), &vars); err != nil {
		t.Fatalf("ContentVariables %q: %v", form.Get("ContentVariables"), err)
	}
	if form.Get("ContentSid") != "HXb5b62575e6e4ff6129ad7c8efe1f983e" || form.Get("To") != "whatsapp:+5511900000001" ||
		form.Get("From") != waSender || form.Has("Body") || len(form) != 4 ||
		fmt.Sprint(vars) != fmt.Sprint(map[string]string{"1": "Ana", "2": "#4521", "3": `quote " and {{2}}`}) {
		t.Fatalf("form = %v, variables %v", form, vars)
	}
	if params[0] != "Ana" || len(params) != 3 {
		t.Fatalf("caller's params changed: %q", params)
	}

	// A template without variables sends none.
	if _, err := newChannel(t, base).SendTemplate(context.Background(), "5511900000001", "HX1", "", nil); err != nil || form.Has("ContentVariables") {
		t.Fatalf("no params: %v, form %v", err, form)
	}
}

func TestSendTemplateNeedsAContentSID(t *testing.T) {
	var calls atomic.Int32
	base := fakeAPI(t, func(w http.ResponseWriter, r *http.Request, _ url.Values) { calls.Add(1) })
	_, err := newChannel(t, base).SendTemplate(context.Background(), "1555", "order_update", "en", []string{"x"})
	var se *channels.SendError
	if !errors.As(err, &se) || se.Retryable || !strings.Contains(err.Error(), "Content SID") || calls.Load() != 0 {
		t.Fatalf("template name: %v after %d calls, want a permanent error before any request", err, calls.Load())
	}
}

func TestSendAuthCode(t *testing.T) {
	var form url.Values
	base := fakeAPI(t, func(w http.ResponseWriter, r *http.Request, f url.Values) {
		form = f
		w.WriteHeader(http.StatusCreated)
		fmt.Fprint(w, created)
	})
	ch := newChannel(t, base)
	if _, err := ch.SendAuthCode(context.Background(), "5511900000001", "482913", "HXauth", "en"); err != nil {
		t.Fatal(err)
	}
	if form.Get("ContentSid") != "HXauth" || form.Get("ContentVariables") != `{"1":"482913"}` || form.Has("Body") {
		t.Fatalf("with a template: %v", form)
	}
	if _, err := ch.SendAuthCode(context.Background(), "5511900000001", "482913", "", ""); err != nil {
		t.Fatal(err)
	}
	if form.Get("Body") != "Your Switchboard login code is 482913" || form.Has("ContentSid") || form.Get("To") != "whatsapp:+5511900000001" {
		t.Fatalf("as text: %v", form)
	}
}

func TestSendAuthCodeErrorsHideTheCode(t *testing.T) {
	base := fakeAPI(t, func(w http.ResponseWriter, r *http.Request, _ url.Values) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"code":21656,"message":"ContentVariables {\"1\":\"482913\"} invalid for 482913","status":400}`)
	})
	for _, template := range []string{"HXauth", ""} {
		_, err := newChannel(t, base).SendAuthCode(context.Background(), "5511900000001", "482913", template, "en")
		if err == nil || strings.Contains(err.Error(), "482913") {
			t.Fatalf("template %q: error %v leaks the code", template, err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	ch := newChannel(b, "")
	body := load(b, "wa_text.form")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ch.Parse(body, received); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	ch := newChannel(b, "")
	body := load(b, "wa_text.form")
	r := webhook(hookURI, body, sign(b, authToken, publicURL+hookURI, body))
	b.ReportAllocs()
	for b.Loop() {
		if err := ch.Verify(r, body); err != nil {
			b.Fatal(err)
		}
	}
}
