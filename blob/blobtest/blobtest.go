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
	ranges(t, s, "media/c1/m1", payload)
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
	for _, n := range []int64{-1, 0, 4} {
		if _, err := s.OpenRange(ctx, "media/c1/m1", 0, n); !errors.Is(err, blob.ErrNotFound) {
			t.Fatalf("after Delete, OpenRange(0, %d) = %v, want blob.ErrNotFound", n, err)
		}
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

// ranges reads parts of the file under key, which holds payload, as a
// player seeking in it asks for them, and past its end.
func ranges(t *testing.T, s blob.Store, key string, payload []byte) {
	t.Helper()
	size := int64(len(payload))
	for _, c := range []struct {
		off, n int64
		want   []byte
	}{
		{0, 10, payload[:10]},
		{777_777, 100_000, payload[777_777:877_777]},
		{1_000_001, -1, payload[1_000_001:]},
		{size - 3, 1000, payload[size-3:]},
		{size - 1, 1, payload[size-1:]},
		{0, -1, payload},
		{0, 0, nil},
		{size, 5, nil},
		{size + 10, -1, nil},
	} {
		rc, err := s.OpenRange(context.Background(), key, c.off, c.n)
		if err != nil {
			t.Fatalf("OpenRange(%d, %d): %v", c.off, c.n, err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("read OpenRange(%d, %d): %v", c.off, c.n, err)
		}
		if !bytes.Equal(got, c.want) {
			t.Fatalf("OpenRange(%d, %d) read %d bytes, not the %d of the file there", c.off, c.n, len(got), len(c.want))
		}
	}
	if _, err := s.OpenRange(context.Background(), "media/absent", 0, 10); !errors.Is(err, blob.ErrNotFound) {
		t.Fatalf("OpenRange(absent) = %v, want blob.ErrNotFound", err)
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
