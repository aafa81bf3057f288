package api_test

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"

	"switchboard/auth"
	"switchboard/blob"
	"switchboard/channels"
	"switchboard/conversations"
	"switchboard/events"
	"switchboard/presence"
	"switchboard/queue"
	"switchboard/routing"
)

// stubbornBlobs is the test's blob directory refusing its first deletes.
type stubbornBlobs struct {
	*blob.Dir
	refuse atomic.Int32
}

func (b *stubbornBlobs) Delete(ctx context.Context, key string) error {
	if b.refuse.Add(-1) >= 0 {
		return errors.New("store unavailable")
	}
	return b.Dir.Delete(ctx, key)
}

// erasingFetcher erases the contact while its file is being downloaded.
type erasingFetcher struct {
	channels.MediaFetcher
	erase func()
}

func (f erasingFetcher) FetchMedia(ctx context.Context, m *channels.Media) (io.ReadCloser, channels.FetchedInfo, error) {
	rc, info, err := f.MediaFetcher.FetchMedia(ctx, m)
	f.erase()
	return rc, info, err
}

// A contact erased while their file was being fetched keeps no file in
// the store, even when the store refuses to delete it at first: the
// task's retry finds no row (so no key), so the file must have gone to
// the deletion outbox, which the next pass drains.
func TestFileFetchedAfterErasureLeavesNoOrphan(t *testing.T) {
	w := newConvWorld(t)
	g := newFakeGraph(t)
	g.files["m"], g.types["m"] = pngBytes(t), "image/png"
	res, id := w.applyMedia(t, mediaMessage("wamid.orphan", channels.TypeImage, "m", "image/png", ""))
	w.decide(t, routing.Query{ID: res.QueryID, Channel: "wa-main", State: routing.StateClosed, Type: "sales", Resolution: "solved", Cycle: 1})

	blobs := &stubbornBlobs{Dir: w.conv.Blobs}
	svc := conversations.New(conversations.Options{
		Repository: w.conv.Repo, Events: events.NewPublisher(w.conv.Redis),
		Tasks:    queue.Tasks{Client: w.conv.Queue, Inspector: w.conv.Inspector},
		Presence: presence.New(w.conv.Redis), Settings: w.conv.Settings,
		Staff: auth.NewRoster(w.conv.DB.Accounts(), auth.NewRoles(w.conv.DB.Roles())),
		Blobs: blobs, Clock: w.conv.Clock, Metrics: w.conv.Metrics,
	})
	f := erasingFetcher{MediaFetcher: g.channel(t), erase: func() {
		if _, err := svc.EraseContact(context.Background(), res.ContactID); err != nil {
			t.Errorf("erase: %v", err)
		}
		blobs.refuse.Store(1) // the delete of the file just fetched fails
	}}
	_ = svc.FetchMedia(context.Background(), id, f, limits, false)
	// The task's retry, then a retention pass with the store back.
	_ = svc.FetchMedia(context.Background(), id, f, limits, false)
	if _, err := svc.DeleteQueuedMedia(context.Background()); err != nil {
		t.Fatalf("delete queued media: %v", err)
	}
	key := conversations.MediaBlobKey(res.ContactID, id)
	if rc, err := w.conv.Blobs.Open(context.Background(), key); !errors.Is(err, blob.ErrNotFound) {
		if err == nil {
			rc.Close()
		}
		t.Fatalf("the erased contact's file after the fetch: %v, want ErrNotFound", err)
	}
}
