package mediasign_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"switchboard/blob"
	"switchboard/clock"
	"switchboard/mediasign"
)

var (
	secret = []byte("0123456789abcdef-server-secret")
	start  = time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)
)

func TestURLIsUnderThePublicURL(t *testing.T) {
	s := mediasign.New(secret, "https://cs.example.com/", clock.NewFake(start))
	u := s.URL("m-1")
	if !strings.HasPrefix(u, "https://cs.example.com/media/signed/") {
		t.Fatalf("URL = %q", u)
	}
	if id, err := s.Verify(strings.TrimPrefix(u, "https://cs.example.com/media/signed/")); err != nil || id != "m-1" {
		t.Fatalf("Verify = %q, %v", id, err)
	}
	if got := mediasign.New(secret, "", nil).URL("m-1"); got != "" {
		t.Fatalf("URL without a public URL = %q, want none", got)
	}
}

func TestVerifyRefusesExpiredTamperedAndForeignTokens(t *testing.T) {
	c := clock.NewFake(start)
	s := mediasign.New(secret, "https://cs.example.com", c)
	tok := s.Token("m-1")

	c.Advance(mediasign.TTL - time.Second)
	if _, err := s.Verify(tok); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	c.Advance(time.Second)
	if _, err := s.Verify(tok); !errors.Is(err, mediasign.ErrInvalid) {
		t.Fatalf("at expiry: %v, want ErrInvalid", err)
	}

	c.Set(start)
	other := s.Token("m-2")
	parts := strings.Split(tok, ".")
	otherParts := strings.Split(other, ".")
	for name, bad := range map[string]string{
		"another id, same mac":   otherParts[0] + "." + parts[1] + "." + parts[2],
		"a later expiry":         parts[0] + ".zzzzzz." + parts[2],
		"a longer mac":           tok + "A",
		"no mac":                 parts[0] + "." + parts[1],
		"empty":                  "",
		"another server's token": mediasign.New([]byte("another-secret-of-16+"), "", clock.NewFake(start)).Token("m-1"),
	} {
		if _, err := s.Verify(bad); !errors.Is(err, mediasign.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func TestHandlerServesTheFileOnlyWithAValidToken(t *testing.T) {
	store, err := blob.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	file := append([]byte("%PDF-1.4\n"), 0, 0xff, 0x80)
	if _, err := store.Put(context.Background(), "out/m-1", bytes.NewReader(file), int64(len(file))); err != nil {
		t.Fatal(err)
	}
	lookup := func(_ context.Context, id string) (mediasign.File, error) {
		switch id {
		case "m-1":
			return mediasign.File{Key: "out/m-1", MimeType: "application/pdf", Filename: "Nota fiscal ção.pdf", Size: int64(len(file))}, nil
		case "m-gone":
			return mediasign.File{Key: "out/m-gone", MimeType: "image/png", Size: 1}, nil
		}
		return mediasign.File{}, mediasign.ErrNotFound
	}
	c := clock.NewFake(start)
	s := mediasign.New(secret, "https://cs.example.com", c)
	srv := httptest.NewServer(s.Handler(lookup, store, nil))
	defer srv.Close()
	get := func(token string) (*http.Response, []byte) {
		resp, err := http.Get(srv.URL + mediasign.Path + token)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}

	resp, body := get(s.Token("m-1"))
	if resp.StatusCode != 200 || !bytes.Equal(body, file) {
		t.Fatalf("valid link: %d, %d bytes", resp.StatusCode, len(body))
	}
	if resp.Header.Get("Content-Type") != "application/pdf" || resp.Header.Get("X-Content-Type-Options") != "nosniff" ||
		resp.Header.Get("Content-Disposition") != "attachment; filename*=utf-8''Nota%20fiscal%20%C3%A7%C3%A3o.pdf" {
		t.Fatalf("headers = %v", resp.Header)
	}

	tampered := s.Token("m-1")
	tampered = tampered[:len(tampered)-2] + "AA"
	for name, tok := range map[string]string{"tampered": tampered, "unknown id": s.Token("m-unknown"), "file gone": s.Token("m-gone"), "garbage": "x.y.z"} {
		if resp, _ := get(tok); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", name, resp.StatusCode)
		}
	}
	valid := s.Token("m-1")
	c.Advance(mediasign.TTL)
	if resp, body := get(valid); resp.StatusCode != http.StatusNotFound || bytes.Contains(body, file[:4]) {
		t.Errorf("expired: %d, want 404", resp.StatusCode)
	}
}

func TestHandlerFailingLookupIs500(t *testing.T) {
	store, _ := blob.NewDir(t.TempDir())
	s := mediasign.New(secret, "", clock.NewFake(start))
	h := s.Handler(func(context.Context, string) (mediasign.File, error) {
		return mediasign.File{}, errors.New("database down")
	}, store, nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, mediasign.Path+s.Token("m-1"), nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status = %d, want 500", rec.Code)
	}
}
