package twilio_test

import (
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"switchboard/channels"
)

// FuzzParse: whatever the body, Parse never panics, and it either rejects
// the body as malformed or returns messages a worker can route (id, sender
// and type set) and statuses with an id and a known status.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.form")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"",
		"MessageSid=SM1&From=%2B1",
		"SmsMessageSid=SM1&From=whatsapp%3A%2B&WaId=1",
		"MessageSid=SM1&From=%2B1&NumMedia=3&MediaUrl0=a&MediaUrl1=b&MediaUrl2=c&MediaContentType1=audio%2Fogg",
		"MessageSid=SM1&From=%2B1&Latitude=-90&Longitude=180&Label=x",
		"MessageSid=SM1&From=%2B1&ButtonPayload=&ButtonText=Yes",
		"MessageSid=SM1&MessageStatus=failed&ErrorCode=30008&ErrorMessage=Unknown",
		"MessageSid=SM1&MessageStatus=received&Body=&From=%2B1",
		"MessageSid=SM1&From=%2B1&MessageType=interactive&Body=x",
		"MessageSid=SM1&From=%2B1&NumMedia=2&MediaUrl0=a",
		"MessageSid=SM1&From=%2B1&Latitude=91&Longitude=1",
	} {
		f.Add([]byte(s))
	}
	ch := newChannel(f, "")
	known := map[string]bool{channels.StatusQueued: true, channels.StatusSent: true, channels.StatusDelivered: true,
		channels.StatusRead: true, channels.StatusFailed: true}
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := ch.Parse(body, received)
		if err != nil {
			if !errors.Is(err, channels.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		ids := map[string]bool{}
		for _, m := range b.Messages {
			if m.ID == "" || m.From == "" || m.Type == "" || m.Channel != "tw-main" || m.Kind != "twilio" {
				t.Fatalf("accepted an unroutable message: %+v", m)
			}
			if ids[m.ID] {
				t.Fatalf("two messages of one request share the id %q", m.ID)
			}
			ids[m.ID] = true
			if m.Type == channels.TypeUnknown && len(m.Raw) == 0 {
				t.Fatalf("unknown type %q queued without its raw payload", m.ProviderType)
			}
		}
		for _, s := range b.Statuses {
			if s.MessageID == "" || !known[s.Status] {
				t.Fatalf("accepted a status without id or with an unknown status: %+v", s)
			}
		}
		if len(b.Messages) > 0 && len(b.Statuses) > 0 {
			t.Fatalf("one request gave both messages and statuses: %+v", b)
		}
		for _, u := range b.Unparsed {
			if !u.Kept || u.Reason == "" || len(u.Raw) == 0 || len(b.Messages) != 1 || b.Messages[0].Type != channels.TypeUnknown {
				t.Fatalf("an unparsed message not kept raw: %+v", b)
			}
		}
	})
}

// FuzzVerify: a signature is accepted exactly when it is the base64
// HMAC-SHA1, under the auth token, of public_url + the request URI and the
// sorted parameters, as computed here independently of the package.
func FuzzVerify(f *testing.F) {
	body, err := os.ReadFile("testdata/wa_text.form")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(body, "x=1", "", true)
	f.Add(body, "x=1", signOf(body, "x=1"), false)
	f.Add(body, "x=1", "ULHyPD6qNlUmmvxEIdvqyesyEEQ=", false)
	f.Add(body, "x=2", "ULHyPD6qNlUmmvxEIdvqyesyEEQ=", false)
	f.Add(body, "", "ULHyPD6qNlUmmvxEIdvqyesyEEQ", false)
	f.Add([]byte{}, "", "", true)
	f.Add([]byte("a=1&a=0&b"), "q=%20", "", true)
	f.Add([]byte("%zz"), "", signOf(nil, ""), false)
	ch := newChannel(f, "")
	f.Fuzz(func(t *testing.T, body []byte, query, header string, useCorrect bool) {
		target := "/webhooks/twilio-wa"
		if query != "" {
			target += "?" + query
		}
		// Built by hand: httptest.NewRequest panics on targets the fuzzer
		// makes up, and Verify reads only the header and the raw target.
		r := &http.Request{Method: http.MethodPost, RequestURI: target, URL: &url.URL{Path: "/webhooks/twilio-wa", RawQuery: query}, Header: http.Header{}}

		form, formErr := url.ParseQuery(string(body))
		want := ""
		if formErr == nil {
			want = signForm(authToken, publicURL+target, form)
		}
		if useCorrect && want != "" {
			header = want
		}
		if header != "" {
			r.Header["X-Twilio-Signature"] = []string{header}
		}
		err := ch.Verify(r, body)
		valid := want != "" && header == want
		if valid && err != nil {
			t.Fatalf("rejected a correct signature: %v", err)
		}
		if !valid && err == nil {
			t.Fatalf("accepted %q for a request whose signature is %q", header, want)
		}
		if err != nil && !errors.Is(err, channels.ErrBadSignature) {
			t.Fatalf("error %v does not wrap ErrBadSignature", err)
		}
	})
}

// signOf signs body posted to the webhook with query, for seeds; a body
// that is not form-encoded is signed as if it had no parameters.
func signOf(body []byte, query string) string {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		form = url.Values{}
	}
	target := publicURL + "/webhooks/twilio-wa"
	if query != "" {
		target += "?" + query
	}
	return signForm(authToken, target, form)
}
