package channels_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"switchboard/channels"
)

func TestAPIBaseURL(t *testing.T) {
	if got, err := channels.APIBaseURL("api_base_url", "", "https://api.example.com"); err != nil || got != "https://api.example.com" {
		t.Fatalf("unset: %q, %v", got, err)
	}
	if got, err := channels.APIBaseURL("api_base_url", "http://127.0.0.1:9000/v1/", "x"); err != nil || got != "http://127.0.0.1:9000/v1" {
		t.Fatalf("trailing slash: %q, %v", got, err)
	}
	for _, bad := range []string{"api.example.com", "ftp://x", "https://", "::"} {
		if _, err := channels.APIBaseURL("api_base_url", bad, "x"); err == nil || !strings.HasPrefix(err.Error(), "api_base_url: ") {
			t.Errorf("%q: %v, want an error naming the key", bad, err)
		}
	}
}

func TestSendRate(t *testing.T) {
	def := channels.Rate{Count: 30, Per: time.Second, Burst: 30}
	if r, err := channels.SendRate("send_rate", nil, def); err != nil || *r != def {
		t.Fatalf("absent: %+v, %v", r, err)
	}
	if r, err := channels.SendRate("send_rate", &channels.Rate{}, def); err != nil || !r.Unlimited() {
		t.Fatalf("zero: %+v, %v; want no limit", r, err)
	}
	if _, err := channels.SendRate("send_rate", &channels.Rate{Count: 5}, def); err == nil || !strings.HasPrefix(err.Error(), "send_rate: ") {
		t.Fatalf("count without per: %v", err)
	}
}

func TestNetworkCauseDropsTheURL(t *testing.T) {
	_, err := (&http.Client{Timeout: time.Second}).Get("http://127.0.0.1:1/bot123:SECRET/sendMessage")
	if err == nil {
		t.Skip("something listens on port 1")
	}
	if cause := channels.NetworkCause(err); strings.Contains(cause.Error(), "SECRET") {
		t.Fatalf("cause %q still quotes the URL", cause)
	}
	plain := errors.New("boom")
	if channels.NetworkCause(plain) != plain {
		t.Fatal("an error without a URL was changed")
	}
}

func TestMaskDigits(t *testing.T) {
	for in, want := range map[string]string{
		"The 'To' number +5511987654321 is not valid": "The 'To' number +… is not valid",
		"5511900000001@s.whatsapp.net":                "…@s.whatsapp.net",
		"HTTP 500 after 12345 ms":                     "HTTP 500 after 12345 ms",
		"":                                            "",
	} {
		if got := channels.MaskDigits(in); got != want {
			t.Errorf("MaskDigits(%q) = %q, want %q", in, got, want)
		}
	}
}
