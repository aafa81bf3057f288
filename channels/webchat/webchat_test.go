package webchat_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchboard/channels"
	"switchboard/channels/webchat"
)

const secret = "site-secret-0123456789"

// now is the fixed clock every test channel checks timestamps against.
var now = time.Unix(1760000000, 0)

var received = time.Unix(1760000007, 123)

func newChannel(t testing.TB, callback string) *webchat.Channel {
	t.Helper()
	if callback == "" {
		callback = "https://shop.example.com/switchboard/replies"
	}
	ch, err := webchat.New("web-main", webchat.Config{Secret: secret, CallbackURL: callback, MediaOrigins: []string{cdnOrigin}},
		&http.Client{Timeout: 2 * time.Second}, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

// cdnOrigin is the one origin newChannel's channel fetches files from.
const cdnOrigin = "https://cdn.shop.example.com"

const messageBody = `{"id": "m-1", "session_id": "visitor-42", "name": "Visitor", "text": "Is my order shipped?", "timestamp": 1760000000}`

// signed builds a webhook request as the site would: timestamp and
// signature over it and body.
func signed(ts int64, body []byte) *http.Request {
	h := http.Header{}
	h.Set(webchat.TimestampHeader, strconv.FormatInt(ts, 10))
	h.Set(webchat.SignatureHeader, webchat.Sign([]byte(secret), ts, body))
	return &http.Request{Header: h}
}

func TestSignKnownAnswer(t *testing.T) {
	// The contract sites implement, computed outside Go:
	// printf '1760000000.{}' | openssl dgst -sha256 -hmac site-secret-0123456789
	const want = "sha256=36227a9bcefc7baef6629d02a202650a9101d9a6a198b7c6d6110ef20f9294ca"
	if got := webchat.Sign([]byte(secret), 1760000000, []byte("{}")); got != want {
		t.Fatalf("Sign = %q, want %q", got, want)
	}
}

func TestVerify(t *testing.T) {
	ch := newChannel(t, "")
	body := []byte(messageBody)
	ts := now.Unix()
	good := webchat.Sign([]byte(secret), ts, body)
	for _, tc := range []struct {
		name    string
		ts, sig string // "-" leaves the header out
		body    []byte
		ok      bool
		errPart string
	}{
		{"good", strconv.FormatInt(ts, 10), good, body, true, ""},
		{"upper-case hex", strconv.FormatInt(ts, 10), "sha256=" + strings.ToUpper(strings.TrimPrefix(good, "sha256=")), body, true, ""},
		{"wrong secret", strconv.FormatInt(ts, 10), webchat.Sign([]byte("another-secret-0123456"), ts, body), body, false, "does not match"},
		{"tampered body", strconv.FormatInt(ts, 10), good, append([]byte(" "), body...), false, "does not match"},
		{"signed over another timestamp", strconv.FormatInt(ts-1, 10), good, body, false, "does not match"},
		{"timestamp header missing", "-", good, body, false, webchat.TimestampHeader + " header missing"},
		{"signature header missing", strconv.FormatInt(ts, 10), "-", body, false, webchat.SignatureHeader + " header missing"},
		{"both missing", "-", "-", body, false, "header missing"},
		{"timestamp not a number", "yesterday", good, body, false, "not Unix seconds"},
		{"timestamp with a sign", "+" + strconv.FormatInt(ts, 10), good, body, false, "not Unix seconds"},
		{"timestamp with a fraction", strconv.FormatInt(ts, 10) + ".0", good, body, false, "not Unix seconds"},
		{"no prefix", strconv.FormatInt(ts, 10), strings.TrimPrefix(good, "sha256="), body, false, "prefix"},
		{"sha1 prefix", strconv.FormatInt(ts, 10), "sha1=" + strings.TrimPrefix(good, "sha256="), body, false, "prefix"},
		{"bad hex", strconv.FormatInt(ts, 10), "sha256=" + strings.Repeat("zz", 32), body, false, "not hex"},
		{"short", strconv.FormatInt(ts, 10), good[:len(good)-2], body, false, "length"},
	} {
		h := http.Header{}
		if tc.ts != "-" {
			h.Set(webchat.TimestampHeader, tc.ts)
		}
		if tc.sig != "-" {
			h.Set(webchat.SignatureHeader, tc.sig)
		}
		err := ch.Verify(&http.Request{Header: h}, tc.body)
		if tc.ok && err != nil {
			t.Errorf("%s: %v, want accepted", tc.name, err)
		}
		if !tc.ok {
			if !errors.Is(err, channels.ErrBadSignature) {
				t.Errorf("%s: %v, want ErrBadSignature", tc.name, err)
			} else if !strings.Contains(err.Error(), tc.errPart) {
				t.Errorf("%s: %v, want it to say %q", tc.name, err, tc.errPart)
			}
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error leaks the secret: %v", tc.name, err)
		}
	}
}

// maxSkewLess1s is the furthest a whole-second timestamp may be from a
// whole-second clock.
const maxSkewLess1s = webchat.MaxSkew - time.Second

func TestVerifySkew(t *testing.T) {
	ch := newChannel(t, "")
	body := []byte(messageBody)
	for _, tc := range []struct {
		name    string
		offset  time.Duration // timestamp minus now
		ok      bool
		errPart string
	}{
		{"now", 0, true, ""},
		{"a minute old", -time.Minute, true, ""},
		{"just within the window, old", -maxSkewLess1s, true, ""},
		{"just within the window, ahead", maxSkewLess1s, true, ""},
		{"exactly five minutes old", -webchat.MaxSkew, false, "replay"},
		{"replay, six minutes old", -6 * time.Minute, false, "replay"},
		{"replay, a day old", -24 * time.Hour, false, "replay"},
		{"five minutes in the future", webchat.MaxSkew, false, "future"},
		{"an hour in the future", time.Hour, false, "future"},
	} {
		ts := now.Add(tc.offset).Unix()
		err := ch.Verify(signed(ts, body), body)
		if tc.ok && err != nil {
			t.Errorf("%s: %v, want accepted", tc.name, err)
		}
		if !tc.ok && (!errors.Is(err, channels.ErrBadSignature) || !strings.Contains(err.Error(), tc.errPart)) {
			t.Errorf("%s: %v, want ErrBadSignature saying %q", tc.name, err, tc.errPart)
		}
	}
}

func TestVerifyUsesTheClock(t *testing.T) {
	// A clock between seconds: the window is open at both ends, so from
	// 12:00:00.5 it runs from 11:55:01 to 12:05:00.
	clock := now.Add(500 * time.Millisecond)
	ch, err := webchat.New("web", webchat.Config{Secret: secret, CallbackURL: "http://localhost/"}, nil, func() time.Time { return clock })
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(messageBody)
	for offset, ok := range map[int64]bool{-301: false, -300: false, -299: true, 300: true, 301: false} {
		err := ch.Verify(signed(now.Unix()+offset, body), body)
		if ok != (err == nil) {
			t.Errorf("timestamp now%+ds: err = %v, want accepted = %v", offset, err, ok)
		}
	}
}

func parse(t *testing.T, body string) channels.Batch {
	t.Helper()
	b, err := newChannel(t, "").Parse([]byte(body), received)
	if err != nil {
		t.Fatalf("Parse(%s): %v", body, err)
	}
	return b
}

func TestParseMessage(t *testing.T) {
	for name, body := range map[string]string{
		"no type":      messageBody,
		"type message": `{"type": "message", "id": "m-1", "session_id": "visitor-42", "name": "Visitor", "text": "Is my order shipped?", "timestamp": 1760000000, "page": "/cart"}`,
	} {
		b := parse(t, body)
		if len(b.Messages) != 1 || len(b.Statuses) != 0 {
			t.Fatalf("%s: %d messages, %d statuses; want 1 message", name, len(b.Messages), len(b.Statuses))
		}
		want := channels.Inbound{
			Channel: "web-main", Kind: "webchat", ID: "m-1", From: "visitor-42", ProfileName: "Visitor",
			Timestamp: time.Unix(1760000000, 0).UTC(), Arrival: received.UnixNano(), Type: channels.TypeText,
			Text: "Is my order shipped?",
		}
		if got := b.Messages[0]; fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, want)
		}
	}
}

func TestParseMessageWithoutTimestamp(t *testing.T) {
	for _, body := range []string{
		`{"id": "m-2", "session_id": "v", "text": "hi"}`,
		`{"id": "m-2", "session_id": "v", "text": "hi", "timestamp": 0}`,
	} {
		m := parse(t, body).Messages[0]
		if !m.Timestamp.Equal(received) || m.ProfileName != "" {
			t.Errorf("%s: timestamp %v, profile %q; want the receive time %v and no profile", body, m.Timestamp, m.ProfileName, received)
		}
	}
}

func TestParseSameBodySameID(t *testing.T) {
	// The webhook handler dedupes by ID: a site retrying a request must
	// produce the same one, whenever it arrives.
	ch := newChannel(t, "")
	a, err1 := ch.Parse([]byte(messageBody), received)
	b, err2 := ch.Parse([]byte(messageBody), received.Add(time.Minute))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if a.Messages[0].ID != b.Messages[0].ID || a.Messages[0].ID != "m-1" {
		t.Fatalf("ids %q and %q, want m-1 twice", a.Messages[0].ID, b.Messages[0].ID)
	}
}

func TestParseStatuses(t *testing.T) {
	for _, status := range []string{"delivered", "read", "failed"} {
		b := parse(t, `{"type": "status", "message_id": "sb-0123", "status": "`+status+`", "timestamp": 1760000000}`)
		if len(b.Messages) != 0 || len(b.Statuses) != 1 {
			t.Fatalf("%s: %d messages, %d statuses; want 1 status", status, len(b.Messages), len(b.Statuses))
		}
		want := channels.Status{Channel: "web-main", Kind: "webchat", MessageID: "sb-0123", Status: status, Timestamp: time.Unix(1760000000, 0).UTC()}
		if got := b.Statuses[0]; fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
			t.Errorf("%s:\n got %+v\nwant %+v", status, got, want)
		}
	}
	s := parse(t, `{"type": "status", "message_id": "sb-0123", "status": "read"}`).Statuses[0]
	if !s.Timestamp.Equal(received) {
		t.Errorf("status without timestamp: %v, want the receive time", s.Timestamp)
	}
}

func TestParseMalformed(t *testing.T) {
	ch := newChannel(t, "")
	long := strings.Repeat("x", 257)
	for name, body := range map[string]string{
		"empty":                    ``,
		"not json":                 `hello`,
		"truncated":                messageBody[:len(messageBody)/2],
		"array":                    `[` + messageBody + `]`,
		"string":                   `"m-1"`,
		"null":                     `null`,
		"trailing object":          messageBody + `{}`,
		"trailing garbage":         messageBody + `x`,
		"two messages":             messageBody + "\n" + messageBody,
		"unknown type":             `{"type": "typing", "id": "m-1", "session_id": "v", "text": "hi"}`,
		"type not a string":        `{"type": 1, "id": "m-1", "session_id": "v", "text": "hi"}`,
		"no id":                    `{"session_id": "v", "text": "hi"}`,
		"no session_id":            `{"id": "m-1", "text": "hi"}`,
		"no text":                  `{"id": "m-1", "session_id": "v"}`,
		"empty text":               `{"id": "m-1", "session_id": "v", "text": ""}`,
		"id not a string":          `{"id": 1, "session_id": "v", "text": "hi"}`,
		"id too long":              `{"id": "` + long + `", "session_id": "v", "text": "hi"}`,
		"session_id too long":      `{"id": "m-1", "session_id": "` + long + `", "text": "hi"}`,
		"text too long":            `{"id": "m-1", "session_id": "v", "text": "` + strings.Repeat("x", 64<<10+1) + `"}`,
		"timestamp a string":       `{"id": "m-1", "session_id": "v", "text": "hi", "timestamp": "1760000000"}`,
		"timestamp fractional":     `{"id": "m-1", "session_id": "v", "text": "hi", "timestamp": 1760000000.5}`,
		"timestamp negative":       `{"id": "m-1", "session_id": "v", "text": "hi", "timestamp": -1}`,
		"timestamp past year 9999": `{"id": "m-1", "session_id": "v", "text": "hi", "timestamp": 253402300800}`,
		"status without id":        `{"type": "status", "status": "read"}`,
		"status id too long":       `{"type": "status", "message_id": "` + long + `", "status": "read"}`,
		"status without status":    `{"type": "status", "message_id": "sb-1"}`,
		"status unknown":           `{"type": "status", "message_id": "sb-1", "status": "sent"}`,
	} {
		if _, err := ch.Parse([]byte(body), received); !errors.Is(err, channels.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
	// At the limits exactly is fine.
	atLimits := `{"id": "` + strings.Repeat("i", 256) + `", "session_id": "` + strings.Repeat("s", 256) + `", "text": "` + strings.Repeat("t", 64<<10) + `"}`
	if _, err := ch.Parse([]byte(atLimits), received); err != nil {
		t.Errorf("fields at their limits: %v", err)
	}
	if _, err := ch.Parse([]byte(messageBody+" \n\t"), received); err != nil {
		t.Errorf("trailing whitespace: %v", err)
	}
}

func TestConfig(t *testing.T) {
	_, err := webchat.New("web", webchat.Config{SendRate: channels.Rate{Count: 1}}, nil, nil)
	for _, key := range []string{"secret", "callback_url", "send_rate"} {
		if err == nil || !strings.Contains(err.Error(), key+":") {
			t.Errorf("error %v does not name %s", err, key)
		}
	}
	for name, cfg := range map[string]webchat.Config{
		"short secret":      {Secret: "fifteen-bytes!!", CallbackURL: "https://a.example/"},
		"relative url":      {Secret: secret, CallbackURL: "/replies"},
		"no host":           {Secret: secret, CallbackURL: "https:///replies"},
		"other scheme":      {Secret: secret, CallbackURL: "ftp://a.example/replies"},
		"unparseable url":   {Secret: secret, CallbackURL: "http://a.example/%zz"},
		"negative rate":     {Secret: secret, CallbackURL: "https://a.example/", SendRate: channels.Rate{Count: -1, Per: time.Second}},
		"whitespace secret": {Secret: strings.Repeat(" ", 20), CallbackURL: "https://a.example/"},
	} {
		if _, err := webchat.New("web", cfg, nil, nil); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), cfg.Secret) && strings.TrimSpace(cfg.Secret) != "" {
			t.Errorf("%s: error quotes the secret: %v", name, err)
		}
	}
	rate := channels.Rate{Count: 10, Per: time.Second, Burst: 5}
	ch, err := webchat.New("web", webchat.Config{Secret: "sixteen-bytes-ok", CallbackURL: "http://localhost:8080/replies", SendRate: rate}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ch.ID() != "web" || ch.Kind() != "webchat" || ch.Limits() != (channels.Limits{Send: rate}) {
		t.Fatalf("channel %s/%s limits %+v", ch.ID(), ch.Kind(), ch.Limits())
	}
	if !newChannel(t, "").Limits().Send.Unlimited() {
		t.Fatal("no send_rate should mean unlimited")
	}
}

func TestKindBuildsFromConfig(t *testing.T) {
	reg := channels.Registry{}
	reg.Register(webchat.Kind)
	decode := func(v any) error {
		*v.(*webchat.Config) = webchat.Config{Secret: secret, CallbackURL: "https://a.example/"}
		return nil
	}
	ch, err := reg.Build("web", "webchat", decode, channels.Deps{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	// deps.Now reaches the channel: a request stamped by the fixed clock,
	// long ago by the real one, is accepted.
	body := []byte(messageBody)
	if err := ch.(channels.WebhookReceiver).Verify(signed(now.Unix(), body), body); err != nil {
		t.Fatalf("deps.Now not used: %v", err)
	}
	_, err = reg.Build("web", "webchat", func(any) error { return errors.New("unknown key foo") }, channels.Deps{})
	if err == nil || !strings.Contains(err.Error(), "foo") {
		t.Fatalf("decode error lost: %v", err)
	}
}

// site is an httptest fake of the site's reply endpoint.
func site(t *testing.T, handler func(w http.ResponseWriter, r *http.Request, body []byte)) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		handler(w, r, b)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/switchboard/replies"
}

func TestSendText(t *testing.T) {
	var got struct {
		ID        string `json:"id"`
		SessionID string `json:"session_id"`
		Text      string `json:"text"`
		Timestamp int64  `json:"timestamp"`
	}
	var req *http.Request
	var raw []byte
	url := site(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		req, raw = r, body
		w.WriteHeader(http.StatusAccepted)
	})
	ch := newChannel(t, url)
	id, err := ch.SendText(context.Background(), "visitor-42", "Yes, it ships <today> & tomorrow")
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != http.MethodPost || req.URL.Path != "/switchboard/replies" || req.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("%s %s with content type %q", req.Method, req.URL.Path, req.Header.Get("Content-Type"))
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("body %s: %v", raw, err)
	}
	if got.SessionID != "visitor-42" || got.Text != "Yes, it ships <today> & tomorrow" || got.Timestamp != now.Unix() {
		t.Fatalf("body = %+v", got)
	}
	if id != got.ID || !strings.HasPrefix(id, "sb-") || len(id) != 3+32 {
		t.Fatalf("SendText returned %q, body carried %q; want the same sb- id", id, got.ID)
	}
	// The site checks the reply exactly as Switchboard checks the site:
	// the request as received verifies with the same algorithm.
	if ts := req.Header.Get(webchat.TimestampHeader); ts != strconv.FormatInt(now.Unix(), 10) {
		t.Fatalf("%s = %q", webchat.TimestampHeader, ts)
	}
	if sig := req.Header.Get(webchat.SignatureHeader); sig != webchat.Sign([]byte(secret), now.Unix(), raw) {
		t.Fatalf("%s = %q does not sign the body", webchat.SignatureHeader, sig)
	}
	if err := ch.Verify(req, raw); err != nil {
		t.Fatalf("reply does not verify: %v", err)
	}

	// Every reply gets its own id.
	id2, err := ch.SendText(context.Background(), "visitor-42", "again")
	if err != nil || id2 == id {
		t.Fatalf("second reply id %q (first %q), %v", id2, id, err)
	}
}

func TestSendTextSiteID(t *testing.T) {
	for _, tc := range []struct {
		name, answer string
		siteID       bool
	}{
		{"site id", `{"id": "site-msg-9"}`, true},
		{"empty id", `{"id": ""}`, false},
		{"no body", ``, false},
		{"not json", `OK`, false},
		{"id too long", `{"id": "` + strings.Repeat("x", 257) + `"}`, false},
	} {
		url := site(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) { fmt.Fprint(w, tc.answer) })
		id, err := newChannel(t, url).SendText(context.Background(), "v", "hi")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tc.siteID && id != "site-msg-9" || !tc.siteID && !strings.HasPrefix(id, "sb-") {
			t.Errorf("%s: id %q", tc.name, id)
		}
	}
}

func TestSendTextFailures(t *testing.T) {
	tests := []struct {
		status     int
		retryAfter string
		retryable  bool
		wantAfter  time.Duration
	}{
		{500, "", true, 0},
		{502, "", true, 0},
		{503, "30", true, 30 * time.Second},
		{408, "", true, 0},
		{429, "7", true, 7 * time.Second},
		{429, "Wed, 21 Oct 2015 07:28:00 GMT", true, 0},
		{400, "", false, 0},
		{401, "", false, 0},
		{404, "", false, 0},
		{410, "", false, 0},
	}
	for _, tc := range tests {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			url := site(t, func(w http.ResponseWriter, _ *http.Request, body []byte) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.WriteHeader(tc.status)
				w.Write(body) // an error page that echoes the request
			})
			_, err := newChannel(t, url).SendText(context.Background(), "visitor-42", "private words")
			var se *channels.SendError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *SendError", err)
			}
			if se.Retryable != tc.retryable || se.HTTPStatus != tc.status || se.RetryAfter != tc.wantAfter {
				t.Fatalf("got %+v", se)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "private words") {
				t.Fatalf("error leaks the secret or the text: %v", err)
			}
		})
	}
}

func TestSendTextNetworkErrorsAreRetryable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	url := srv.URL + "/replies?token=site-token"
	srv.Close() // nothing listens there now
	_, err := newChannel(t, url).SendText(context.Background(), "1", "x")
	var se *channels.SendError
	if !errors.As(err, &se) || !se.Retryable || se.HTTPStatus != 0 {
		t.Fatalf("closed server: %v, want a retryable network error", err)
	}
	if strings.Contains(err.Error(), "site-token") {
		t.Fatalf("error quotes the callback URL: %v", err)
	}

	slow := site(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
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

func TestSendTextBoundsTheAnswer(t *testing.T) {
	// A site answering with an endless body does not hold the sender.
	url := site(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Write([]byte(`{"id": "`))
		chunk := []byte(strings.Repeat("x", 32<<10))
		for range 1 << 10 { // 32 MiB
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	id, err := newChannel(t, url).SendText(context.Background(), "v", "hi")
	if err != nil || !strings.HasPrefix(id, "sb-") {
		t.Fatalf("SendText = %q, %v", id, err)
	}
}

func BenchmarkVerify(b *testing.B) {
	ch := newChannel(b, "")
	body := []byte(messageBody)
	r := signed(now.Unix(), body)
	b.ReportAllocs()
	for b.Loop() {
		if err := ch.Verify(r, body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	ch := newChannel(b, "")
	body := []byte(messageBody)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ch.Parse(body, received); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSendTextDoesNotFollowRedirects(t *testing.T) {
	var gets int
	final := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { gets++ }))
	defer final.Close()
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, final.URL, http.StatusMovedPermanently)
	}))
	defer site.Close()
	ch, err := webchat.New("web", webchat.Config{Secret: "0123456789abcdef", CallbackURL: site.URL}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ch.SendText(context.Background(), "visitor-42", "hola")
	var se *channels.SendError
	if !errors.As(err, &se) || se.Retryable || se.HTTPStatus != http.StatusMovedPermanently {
		t.Fatalf("redirected callback = %v, want a permanent failure naming the 301", err)
	}
	if gets != 0 {
		t.Fatal("the redirect was followed: the reply would have been lost as a GET")
	}
}

func TestSendTextKeepsTheStoredMessageIDAcrossRetries(t *testing.T) {
	var ids []string
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ ID string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		ids = append(ids, body.ID)
	}))
	defer site.Close()
	ch, err := webchat.New("web", webchat.Config{Secret: "0123456789abcdef", CallbackURL: site.URL}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := channels.WithOutboundID(context.Background(), "sb-0123abcd")
	for range 2 {
		if id, err := ch.SendText(ctx, "visitor-42", "hola"); err != nil || id != "sb-0123abcd" {
			t.Fatalf("SendText = %q, %v", id, err)
		}
	}
	if len(ids) != 2 || ids[0] != "sb-0123abcd" || ids[1] != ids[0] {
		t.Fatalf("the site saw ids %v, want the stored message's id both times", ids)
	}
}
