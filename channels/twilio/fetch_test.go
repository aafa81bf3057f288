package twilio_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"switchboard/channels"
)

// A MediaUrl of this account on the API host is fetched with the
// account's credentials, following Twilio's redirect to its CDN; a URL
// on any other host, or of another account, is refused without a
// request, so the credentials never go where a payload points.
func TestFetchMediaOnlyFromTheAPIHost(t *testing.T) {
	jpeg := []byte("\xff\xd8\xff\xe0 a jpeg \x00\x01")
	var cdnAuth string
	cdn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cdnAuth = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write(jpeg)
	}))
	defer cdn.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != accountSID || p != authToken {
			http.Error(w, "auth", http.StatusUnauthorized)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/ME404") {
			http.NotFound(w, r)
			return
		}
		http.Redirect(w, r, cdn.URL+"/media/abc", http.StatusTemporaryRedirect)
	}))
	defer api.Close()
	ch := newChannel(t, api.URL)
	base := api.URL + "/2010-04-01/Accounts/" + accountSID + "/Messages/MM1/Media/"

	rc, info, err := ch.FetchMedia(context.Background(), &channels.Media{ID: base + "ME1", MimeType: "image/jpeg"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, jpeg) || info.MimeType != "image/jpeg" {
		t.Fatalf("fetched %q, %+v", got, info)
	}
	if cdnAuth != "" {
		t.Errorf("the CDN got credentials %q", cdnAuth)
	}
	if _, _, err := ch.FetchMedia(context.Background(), &channels.Media{ID: base + "ME404"}); err == nil {
		t.Error("a file Twilio no longer has: no error")
	} else if r, ok := channels.PermanentFetch(err); !ok || r != channels.FetchNotFound {
		t.Errorf("404: %v, want permanent not_found", err)
	}
	for _, u := range []string{
		cdn.URL + "/2010-04-01/Accounts/" + accountSID + "/Messages/MM1/Media/ME1",
		api.URL + "/2010-04-01/Accounts/ACother/Messages/MM1/Media/ME1",
		api.URL + "/2010-04-01/Accounts/" + accountSID + "/../ACother/Media/ME1",
		"https://evil.example/2010-04-01/Accounts/" + accountSID + "/x",
	} {
		_, _, err := ch.FetchMedia(context.Background(), &channels.Media{ID: u})
		if r, ok := channels.PermanentFetch(err); !ok || r != channels.FetchRefused {
			t.Errorf("fetch %s: %v, want refused", u, err)
		}
	}
}
