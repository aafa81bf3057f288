package api_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// A body over the API's 64 KiB limit is 413 whether or not the client
// said its length up front: a chunked upload is not "JSON that failed to
// parse".
func TestOversizedBodyIsTooLarge(t *testing.T) {
	h := newHarness(t, nil)
	big := `{"phone":"` + strings.Repeat("1", 70<<10) + `"}`
	for _, tc := range []struct {
		name    string
		chunked bool
	}{{"with Content-Length", false}, {"chunked", true}} {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(big)
			if tc.chunked {
				// Hidden behind a plain Reader, the length is unknown and
				// the client sends the body chunked.
				body = io.MultiReader(body)
			}
			req, _ := http.NewRequest("POST", h.srv.URL+"/api/v1/auth/otp", body)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "too_large") {
				t.Fatalf("%d %s, want 413 too_large", resp.StatusCode, b)
			}
		})
	}
}
