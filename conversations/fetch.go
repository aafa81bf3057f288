package conversations

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"mime"
	"net/http"
	"strings"

	"switchboard/channels"
	"switchboard/metrics"
)

// FetchMedia fetches the inbound file id from its provider through f
// and keeps it in the blob store, no larger than limit(kind) bytes. It
// returns nil when the file is done with (stored; failed for good; no
// longer pending, or erased) and an error worth retrying otherwise;
// final says this is the last attempt, after which a file still not
// fetched is marked unavailable.
func (s *Service) FetchMedia(ctx context.Context, id string, f channels.MediaFetcher, limit func(kind string) int64, final bool) error {
	m, err := s.repo.Media(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil // erased meanwhile
	}
	if err != nil {
		return err
	}
	if m.State != MediaPending {
		return nil
	}
	if s.blobs == nil {
		return errors.New("fetch media: no blob store configured")
	}
	if _, err := s.repo.CountMediaAttempt(ctx, id); err != nil {
		return err
	}
	outcome, reason, err := s.fetchInto(ctx, m, f, limit(m.Kind))
	if err != nil && !final {
		s.metrics.Media.Fetches.WithLabelValues(m.Channel, metrics.MediaRetry).Inc()
		return err
	}
	if err != nil {
		// Retries ran out: a file the provider never handed over.
		outcome, reason = metrics.MediaFailed, MediaUnavailable
		s.logger.WarnContext(ctx, "media file not fetched after every retry", "media", id, "channel", m.Channel, "err", err)
	}
	if reason != "" {
		if err := s.repo.MarkMediaFailed(ctx, id, reason, s.clock.Now()); err != nil {
			return err
		}
		s.logger.InfoContext(ctx, "media file not kept", "media", id, "channel", m.Channel, "reason", reason)
	}
	s.metrics.Media.Fetches.WithLabelValues(m.Channel, outcome).Inc()
	s.publishMedia(ctx, m)
	return nil
}

// publishMedia tells live views that the message's file changed state.
func (s *Service) publishMedia(ctx context.Context, m *Media) {
	st, err := s.repo.RoutingState(ctx, m.QueryID)
	if err != nil {
		return // erased or gone: nobody to tell
	}
	s.publish(ctx, &Event{Type: EventMessage, QueryID: m.QueryID, MessageID: m.MessageID, Direction: m.Direction,
		State: st.Query.State, Assignee: st.Query.Assignee, QueryType: st.Query.Type, Channel: m.Channel})
}

// fetchInto streams the file into the store. It returns the fetch's
// outcome and, for a file failed for good, the reason; err is a failure
// worth retrying.
func (s *Service) fetchInto(ctx context.Context, m *Media, f channels.MediaFetcher, limit int64) (outcome, reason string, err error) {
	rc, info, err := f.FetchMedia(ctx, &channels.Media{ID: m.ProviderRef, MimeType: m.MimeType, Filename: m.Filename, SHA256: m.SHA256})
	if err != nil {
		return fetchFailure(err)
	}
	defer rc.Close()
	if info.Size > limit {
		return metrics.MediaTooLarge, MediaTooLarge, nil
	}
	cr := &cappedReader{r: rc, left: limit, h: sha256.New()}
	br := bufio.NewReaderSize(cr, 512)
	head, _ := br.Peek(512) // shorter for a small file; a read error shows in Put
	stored := storedType(http.DetectContentType(head), info.MimeType)
	n, err := s.blobs.Put(ctx, m.BlobKey, br, info.Size)
	if cr.over {
		// Put failed on the cap's error, keeping nothing.
		return metrics.MediaTooLarge, MediaTooLarge, nil
	}
	if _, ok := channels.PermanentFetch(err); ok {
		// The provider's reader failed for good (a fetcher that
		// downloads on first read): nothing was kept.
		return fetchFailure(err)
	}
	if err != nil {
		return "", "", fmt.Errorf("store media: %w", err)
	}
	sum := cr.h.Sum(nil)
	want := info.SHA256
	if want == "" {
		want = m.SHA256
	}
	if !hashMatches(want, sum) {
		if err := s.blobs.Delete(ctx, m.BlobKey); err != nil {
			return "", "", fmt.Errorf("delete mismatched media: %w", err)
		}
		return metrics.MediaFailed, MediaHashMismatch, nil
	}
	ok, err := s.repo.MarkMediaStored(ctx, m.ID, stored, hex.EncodeToString(sum), n, s.clock.Now())
	if err != nil {
		return "", "", err
	}
	if !ok {
		// Purged or erased while it was fetched: keep nothing. A retry
		// would find no row, hence no key: a file the store will not
		// delete now goes to the deletion outbox, retried from there.
		if err := s.blobs.Delete(ctx, m.BlobKey); err != nil {
			if qerr := s.repo.QueueMediaDeletion(ctx, m.BlobKey, s.clock.Now()); qerr != nil {
				return "", "", fmt.Errorf("delete media no longer wanted: %w (and queue it: %w)", err, qerr)
			}
		}
		return metrics.MediaStored, "", nil
	}
	s.metrics.Media.BytesStored.WithLabelValues(m.Channel).Add(float64(n))
	s.logger.InfoContext(ctx, "media file stored", "media", m.ID, "channel", m.Channel, "bytes", n)
	return metrics.MediaStored, "", nil
}

// fetchFailure is fetchInto's answer to a fetcher's error: the outcome
// and reason of a permanent one, or the error itself, to be retried.
func fetchFailure(err error) (outcome, reason string, _ error) {
	r, ok := channels.PermanentFetch(err)
	switch {
	case !ok:
		return "", "", err
	case r == channels.FetchTooLarge:
		return metrics.MediaTooLarge, MediaTooLarge, nil
	}
	return metrics.MediaFailed, r, nil
}

// errTooLarge ends a read past the size cap.
var errTooLarge = errors.New("media file larger than its limit")

// cappedReader hashes what it reads and fails past left bytes.
type cappedReader struct {
	r    io.Reader
	left int64
	h    hash.Hash
	over bool
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.r.Read(p)
	if int64(n) > c.left {
		c.over = true
		return 0, errTooLarge
	}
	c.left -= int64(n)
	c.h.Write(p[:n])
	return n, err
}

// storedType is the type a file is kept (and later served) as: what its
// bytes are, as sniffed, unless the sniffer knows only the family (or
// nothing) and the provider's type is more precise and of that family.
// A provider's type never makes active content look harmless: the
// sniffed type wins whenever it names something specific.
func storedType(sniffed, provider string) string {
	pt, _, err := mime.ParseMediaType(provider)
	if err != nil {
		pt = ""
	}
	st, _, _ := mime.ParseMediaType(sniffed)
	switch {
	case pt == "":
		return sniffed
	case st == "application/octet-stream", st == "text/plain" && !strings.HasPrefix(pt, "text/"):
		return pt
	case st == "application/ogg" && (strings.HasPrefix(pt, "audio/") || strings.HasPrefix(pt, "video/")):
		return pt // a voice note: audio/ogg; the sniffer says only Ogg
	case st == "application/zip" && strings.HasPrefix(pt, "application/vnd."):
		return pt // an office document is a zip
	}
	return sniffed
}

// hashMatches reports whether want, the provider's SHA-256 of the file
// (hex or base64, as providers differ), is sum; a want that is neither
// (or none) is not checked.
func hashMatches(want string, sum []byte) bool {
	want = strings.TrimSpace(want)
	if want == "" {
		return true
	}
	if b, err := hex.DecodeString(want); err == nil && len(b) == sha256.Size {
		return string(b) == string(sum)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(want); err == nil && len(b) == sha256.Size {
			return string(b) == string(sum)
		}
	}
	return true
}

// OpenMedia opens a stored file's bytes.
func (s *Service) OpenMedia(ctx context.Context, m *Media) (io.ReadCloser, error) {
	if s.blobs == nil {
		return nil, errors.New("open media: no blob store configured")
	}
	return s.blobs.Open(ctx, m.BlobKey)
}

// Media reads one file's row.
func (s *Service) Media(ctx context.Context, id string) (*Media, error) {
	return s.repo.Media(ctx, id)
}

// DeleteMediaBatch is how many queued file deletions one pass takes.
const DeleteMediaBatch = 200

// DeleteQueuedMedia deletes from the blob store the files erasure and
// retention queued, forgetting each the store confirmed; one that fails
// stays queued for the next pass. It returns how many it deleted.
func (s *Service) DeleteQueuedMedia(ctx context.Context) (int, error) {
	if s.blobs == nil {
		return 0, nil
	}
	total := 0
	for ctx.Err() == nil {
		keys, err := s.repo.MediaDeletions(ctx, DeleteMediaBatch)
		if err != nil {
			return total, err
		}
		var done []string
		var failed error
		for _, k := range keys {
			if err := s.blobs.Delete(ctx, k); err != nil {
				failed = err
				continue
			}
			done = append(done, k)
		}
		if err := s.repo.MediaDeleted(ctx, done); err != nil {
			return total, err
		}
		total += len(done)
		if failed != nil {
			return total, fmt.Errorf("delete media files: %w", failed)
		}
		if len(keys) < DeleteMediaBatch {
			break
		}
	}
	return total, ctx.Err()
}
