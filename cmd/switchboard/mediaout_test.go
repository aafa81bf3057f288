package main

import (
	"net/http"
	"path/filepath"
	"testing"

	"switchboard/internal/redistest"
)

// The signed links providers fetch files from are served by the server,
// outside /api/v1 and without a session: a link that is no link is 404,
// never 401, so a caller learns nothing of the route's rules.
func TestSignedMediaLinksAreServedWithoutASession(t *testing.T) {
	rdb := redistest.Client(t)
	d := testDatabase(t)
	nowhere := "http://127.0.0.1:1"
	base, _, _ := start(t, everyChannelYAML(redistest.URL(rdb), nowhere, nowhere, nowhere, filepath.Join(t.TempDir(), "wa.db"))+databaseYAML(d), nil, roleAll)
	for _, path := range []string{"/media/signed/bWQx.zzzzzz.AAAAAAAAAAAAAAAAAAAAAA", "/media/signed/garbage"} {
		if code, _ := get(t, base+path); code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", path, code)
		}
	}
	// The route is there (GET and HEAD only), not merely unknown.
	if code := send(t, "POST", base+"/media/signed/garbage", http.Header{}, nil); code != http.StatusMethodNotAllowed {
		t.Errorf("POST to a link = %d, want 405", code)
	}
}
