package console_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"switchboard/console"
)

func serve(t *testing.T) *httptest.Server {
	t.Helper()
	c, err := console.New(console.Options{SimulatorURL: "/simulator"})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	c.Register(e)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

func TestPageIsServedWithAStrictPolicy(t *testing.T) {
	srv := serve(t)
	res, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET / = %d %s, want 200 HTML", res.StatusCode, res.Header.Get("Content-Type"))
	}
	csp := res.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("policy %q allows inline or eval'd script", csp)
	}
}

func TestFilesRevalidateByETag(t *testing.T) {
	srv := serve(t)
	res, err := http.Get(srv.URL + "/console/js/app.js")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	tag := res.Header.Get("ETag")
	if res.StatusCode != http.StatusOK || tag == "" || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
		t.Fatalf("app.js = %d, ETag %q, type %q", res.StatusCode, tag, res.Header.Get("Content-Type"))
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/console/js/app.js", nil)
	req.Header.Set("If-None-Match", tag)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation = %d, want 304", res.StatusCode)
	}
	for _, p := range []string{"/console/nope.js", "/console/../console.go"} {
		res, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, res.StatusCode)
		}
	}
}

func TestEveryStringExistsInEveryLanguage(t *testing.T) {
	tr, err := console.LoadStrings()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range console.Languages {
		if len(tr[l]) != len(tr["en"]) {
			t.Errorf("%s has %d strings, English %d", l, len(tr[l]), len(tr["en"]))
		}
	}
	if tr["en"]["login.phone"] != "Phone number" || tr["en"]["login.code"] != "Code" {
		t.Errorf("login labels = %q, %q; the contract says Phone number and Code", tr["en"]["login.phone"], tr["en"]["login.code"])
	}
}

func TestManifestMakesItInstallable(t *testing.T) {
	srv := serve(t)
	res, err := http.Get(srv.URL + "/manifest.webmanifest")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m struct {
		Name    string `json:"name"`
		Start   string `json:"start_url"`
		Display string `json:"display"`
		Icons   []struct {
			Src   string `json:"src"`
			Sizes string `json:"sizes"`
		} `json:"icons"`
	}
	if err := json.NewDecoder(res.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	if m.Name == "" || m.Start != "/" || m.Display != "standalone" {
		t.Errorf("manifest = %+v", m)
	}
	for _, ic := range m.Icons {
		r, err := http.Get(srv.URL + ic.Src)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusOK {
			t.Errorf("icon %s = %d", ic.Src, r.StatusCode)
		}
	}
}
