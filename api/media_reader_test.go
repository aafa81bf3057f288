package api_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	"switchboard/channels"
)

// lazyFetcher stands in for a provider whose download starts on the
// first read, as a linked device's does: FetchMedia succeeds, and the
// failure, if any, comes from the reader.
type lazyFetcher struct{ err error }

func (f lazyFetcher) FetchMedia(context.Context, *channels.Media) (io.ReadCloser, channels.FetchedInfo, error) {
	return io.NopCloser(failingReader(f)), channels.FetchedInfo{Size: -1}, nil
}

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

// A permanent failure that a provider's reader reports (bytes that do
// not match their MAC) marks the file failed with its reason at once,
// keeping nothing; a retryable one leaves it pending, to be retried. A
// file done with no longer keeps the provider's reference (a linked
// device's keys).
func TestAReaderFailingForGoodMarksTheFileFailed(t *testing.T) {
	w := newConvWorld(t)
	ctx := context.Background()
	res, corrupt := w.applyMedia(t, mediaMessage("wamid.mac", channels.TypeDocument, "ref-mac", "application/pdf", "a.pdf"))
	_, flaky := w.applyMedia(t, mediaMessage("wamid.net", channels.TypeDocument, "ref-net", "application/pdf", "b.pdf"))

	bad := lazyFetcher{&channels.FetchError{Reason: channels.FetchCorrupt, Permanent: true, Err: errors.New("invalid media hmac")}}
	if err := w.conv.Service.FetchMedia(ctx, corrupt, bad, limits, false); err != nil {
		t.Fatalf("fetch: %v, want nil (failed for good, not retried)", err)
	}
	if m := w.mediaItem(t, res.QueryID, "wamid.mac"); m.Error != "hash_mismatch" || m.Size != nil {
		t.Fatalf("history: %+v, want error hash_mismatch", m)
	}
	if resp, _ := w.getMedia(t, w.anaT, corrupt); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET of a failed file: %d, want 404", resp.StatusCode)
	}
	if m, err := w.conv.Service.Media(ctx, corrupt); err != nil || m.ProviderRef != "" {
		t.Errorf("failed file's row: %+v, %v; want the provider's reference forgotten", m, err)
	}

	down := lazyFetcher{&channels.FetchError{Reason: channels.FetchUnavailable, Err: errors.New("connection reset")}}
	if err := w.conv.Service.FetchMedia(ctx, flaky, down, limits, false); err == nil {
		t.Fatal("a reader failing for now: no error, want one (retried)")
	}
	if m := w.mediaItem(t, res.QueryID, "wamid.net"); m.Error != "" || m.Size != nil {
		t.Fatalf("history after a retryable failure: %+v, want still pending", m)
	}
	if m, err := w.conv.Service.Media(ctx, flaky); err != nil || m.ProviderRef != "ref-net" {
		t.Errorf("pending file's row: %+v, %v; want its reference kept for the retry", m, err)
	}
}
