package api_test

import (
	"net/http"
	"strings"
	"testing"

	"switchboard/auth"
)

// Every answer of the HTTP server carries the headers a browser console
// needs; API and auth answers (tokens, phone numbers) are never cached.
func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	h := newHarness(t, nil)
	h.createUser(t, "Ana", "+5511900000001", auth.RoleAdmin)
	h.do(t, "POST", "/api/v1/auth/otp", "", map[string]string{"phone": "+5511900000001"})
	code := h.codes.last("+5511900000001")
	for _, tc := range []struct {
		method, path, body string
		status             int
		noStore            bool
	}{
		{"POST", "/api/v1/auth/verify", `{"phone":"+5511900000001","code":"` + code + `"}`, http.StatusOK, true},
		{"POST", "/api/v1/auth/verify", `{"phone":"+5511900000001","code":"000000"}`, http.StatusUnauthorized, true},
		{"POST", "/api/v1/auth/otp", `{"phone":"+5511900000002"}`, http.StatusAccepted, true},
		{"GET", "/api/v1/me", "", http.StatusUnauthorized, true},
		{"GET", "/api/v1/no-such-route", "", http.StatusUnauthorized, true}, // the authenticated group answers first
		{"GET", "/healthz", "", http.StatusOK, false},
		{"GET", "/no-such-page", "", http.StatusNotFound, false},
	} {
		var body *strings.Reader
		if tc.body != "" {
			body = strings.NewReader(tc.body)
		} else {
			body = strings.NewReader("")
		}
		req, _ := http.NewRequest(tc.method, h.srv.URL+tc.path, body)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
		for k, want := range map[string]string{
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"X-Frame-Options":         "DENY",
			"Content-Security-Policy": "frame-ancestors 'none'",
		} {
			if got := resp.Header.Get(k); got != want {
				t.Errorf("%s %s: %s = %q, want %q", tc.method, tc.path, k, got, want)
			}
		}
		if got := resp.Header.Get("Cache-Control"); tc.noStore && got != "no-store" {
			t.Errorf("%s %s: Cache-Control = %q, want no-store", tc.method, tc.path, got)
		}
	}
}
