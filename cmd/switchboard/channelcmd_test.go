package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"switchboard/config"
	"switchboard/internal/redistest"
	"switchboard/lease"
)

// A pair holds the channel's lease while it waits for the phone; when the
// lease is lost (here taken over by another process) the pairing stops
// with an error that says so, and leaves the new holder's lease alone.
func TestPairingStopsWhenTheLeaseIsLost(t *testing.T) {
	rdb := redistest.Client(t)
	cfg, err := config.Parse([]byte(channelYAML(redistest.URL(rdb), "http://127.0.0.1:1")), func(k string) (string, bool) { v, ok := secretEnv[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	logger := slog.New(slog.DiscardHandler)
	held, release, err := holdForCommand(ctx, cfg, "wa-linked", true, 600*time.Millisecond, io.Discard, logger)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := lease.Holder(ctx, rdb, "channel:wa-linked"); !strings.HasSuffix(strings.SplitN(h, "/", 3)[1], "cli") {
		t.Fatalf("lease held by %q, want the command", h)
	}
	paired := make(chan error, 1)
	go func() {
		paired <- underLease(held, "wa-linked", func(ctx context.Context) error {
			<-ctx.Done() // the phone never answers
			return ctx.Err()
		})
	}()
	if err := rdb.Set(ctx, lease.Prefix+"channel:wa-linked", "pod-b/other", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-paired:
		if !errors.Is(err, lease.ErrLost) || !strings.Contains(err.Error(), "lost the channel's lease") {
			t.Fatalf("pairing ended with %v, want a lost-lease error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("pairing went on after its lease was lost")
	}
	release()
	if h, _ := lease.Holder(ctx, rdb, "channel:wa-linked"); h != "pod-b/other" {
		t.Fatalf("after release the lease is held by %q, want the new holder kept", h)
	}
}
