// Package blobtest holds the contract every blob.Store must keep, as a test
// each implementation runs against itself.
package blobtest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"switchboard/blob"
)

// Run checks the behaviour every Store must have against s. Each
// implementation's tests call it, so the local directory and S3 keep one
// contract.
func Run(t *testing.T, s blob.Store) {
	t.Helper()
	ctx := context.Background()

	if _, err := s.Open(ctx, "media/absent"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("Open(absent) = %v, want blob.ErrNotFound", err)
	}
	payload := bytes.Repeat([]byte{0x89, 'P', 'N', 'G', 0}, 300_000) // 1.5 MB, binary
	n, err := s.Put(ctx, "media/c1/m1", bytes.NewReader(payload), int64(len(payload)))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if n != int64(len(payload)) {
		t.Fatalf("Put stored %d bytes, want %d", n, len(payload))
	}
	if got := read(t, s, "media/c1/m1"); !bytes.Equal(got, payload) {
		t.Fatalf("Open returned %d bytes, not the %d stored", len(got), len(payload))
	}
	// Unknown size, and a replacement.
	if _, err := s.Put(ctx, "media/c1/m1", strings.NewReader("second"), -1); err != nil {
		t.Fatalf("Put again: %v", err)
	}
	if got := string(read(t, s, "media/c1/m1")); got != "second" {
		t.Fatalf("after replacing, Open = %q, want %q", got, "second")
	}
	// A failing reader stores nothing.
	boom := errors.New("boom")
	if _, err := s.Put(ctx, "media/c1/broken", io.MultiReader(strings.NewReader("half"), errReader{boom}), -1); err == nil {
		t.Fatal("Put from a failing reader succeeded")
	}
	if _, err := s.Open(ctx, "media/c1/broken"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("after a failed Put, Open = %v, want blob.ErrNotFound (nothing half-written)", err)
	}
	if err := s.Delete(ctx, "media/c1/m1"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Open(ctx, "media/c1/m1"); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("after Delete, Open = %v, want blob.ErrNotFound", err)
	}
	if err := s.Delete(ctx, "media/c1/m1"); err != nil {
		t.Fatalf("Delete of a missing file: %v", err)
	}
	for _, bad := range []string{"", "/abs", "a/../b", "a//b", "sp ace", "a/"} {
		if _, err := s.Put(ctx, bad, strings.NewReader("x"), 1); err == nil {
			t.Errorf("Put(%q) accepted an invalid key", bad)
		}
	}
}

func read(t *testing.T, s blob.Store, key string) []byte {
	t.Helper()
	rc, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%s): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
