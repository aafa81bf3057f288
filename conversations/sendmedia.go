package conversations

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"switchboard/mediasign"
	"switchboard/routing"
)

// OutboundFile is a file an operator sends, as the API read it: its kind
// and type sniffed, its bytes still streaming from the request.
type OutboundFile struct {
	// Kind is channels.TypeImage, TypeAudio, TypeVideo or TypeDocument.
	Kind     string
	MimeType string
	Filename string
	// Caption is the operator's text sent with the file, possibly empty.
	Caption string
	// Body yields the file's bytes; an error from it (a size cap) fails
	// the send with that error and keeps nothing.
	Body io.Reader
	// Rest, if set, is called once Body is read to its end and the file
	// stored, before anything is recorded: it reads what the request
	// holds after the file (a form's caption may follow its file) and
	// says the caption of the whole request, which replaces Caption. An
	// error from it fails the send with that error and keeps nothing.
	Rest func() (caption string, err error)
}

// ErrNoMediaStore means no blob store is configured, so no file can be kept.
var ErrNoMediaStore = errors.New("no media store is configured")

// OutboundMediaRecorder is the part of the system of record that records
// an outbound message with its file in one transaction.
type OutboundMediaRecorder interface {
	// RecordOutboundMedia records an outbound message carrying m, as
	// RecordOutbound records a text or a template (whose header is m),
	// and m's row in the same transaction.
	RecordOutboundMedia(ctx context.Context, queryID, msgID, author, text string, tmpl *TemplateRef, m *Media, now time.Time) (created bool, ev *Event, err error)
}

// ReplyMedia sends a file from operator, inside the customer service
// window only (as Reply); a reply to a pooled conversation claims it.
// The file is stored first and the message with its media row recorded
// after, in one transaction: if recording fails the file is deleted, so
// nothing is half-written, and nothing is queued for a file not kept.
func (s *Service) ReplyMedia(ctx context.Context, queryID, operator string, f OutboundFile) (string, error) {
	st, err := s.repo.RoutingState(ctx, queryID)
	if err != nil {
		return "", err
	}
	if !routing.WindowOpen(st.LastInboundAt, s.clock.Now()) {
		s.metrics.WindowRejections.Inc()
		return "", ErrWindowClosed
	}
	return s.sendFile(ctx, st, operator, f.Caption, nil, f)
}

// SendMediaTemplate sends an approved template whose header is f's file,
// inside or outside the window: the one way to send a file to a customer
// whose window has closed. text is the template's rendering, for the
// history; f's caption is unused, a template has none.
func (s *Service) SendMediaTemplate(ctx context.Context, queryID, operator, text string, t TemplateRef, f OutboundFile) (string, error) {
	st, err := s.repo.RoutingState(ctx, queryID)
	if err != nil {
		return "", err
	}
	return s.sendFile(ctx, st, operator, text, &t, f)
}

// sendFile stores f, reads the rest of the request (f.Rest), then claims
// the conversation and records the message carrying it (text, and t for
// a template send) with its media row, and queues its send. A file too
// large or unreadable fails before anything else happens; a rest, a
// claim or a record that fails deletes the file.
func (s *Service) sendFile(ctx context.Context, st *RoutingState, operator, text string, t *TemplateRef, f OutboundFile) (string, error) {
	if s.blobs == nil {
		return "", ErrNoMediaStore
	}
	queryID := st.Query.ID
	id, err := newMessageID()
	if err != nil {
		return "", err
	}
	mediaID := MediaID(st.ContactID, id)
	key := MediaBlobKey(st.ContactID, mediaID)
	h := sha256.New()
	n, err := s.blobs.Put(ctx, key, io.TeeReader(f.Body, h), -1)
	if err != nil {
		return "", fmt.Errorf("store the file: %w", err)
	}
	recorded := false
	if f.Rest != nil {
		caption, rerr := f.Rest()
		if t == nil {
			text = caption
		}
		err = rerr
	}
	if err == nil {
		err = s.sendRecorded(ctx, queryID, operator, id, func() (*Event, error) {
			now := s.clock.Now()
			m := &Media{ID: mediaID, ContactID: st.ContactID, QueryID: queryID, MessageID: id, Channel: st.Query.Channel,
				Direction: DirectionOutbound, Kind: f.Kind, MimeType: f.MimeType, Filename: f.Filename, Size: n,
				SHA256: hex.EncodeToString(h.Sum(nil)), BlobKey: key, State: MediaStored, CreatedAt: now, StoredAt: now}
			_, ev, err := s.repo.RecordOutboundMedia(ctx, queryID, id, operator, text, t, m, now)
			recorded = err == nil
			return ev, err
		})
	}
	if err != nil && !recorded {
		// No message carries the file, so it must not stay: with a fresh
		// context, as the request's may be what ended.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if derr := s.blobs.Delete(dctx, key); derr != nil {
			s.logger.ErrorContext(ctx, "outbound file kept without its message", "query", queryID, "media", mediaID, "err", derr)
		}
	}
	if err != nil {
		return "", err
	}
	return id, nil
}

// SignedMediaFile is the file a signed link names, for the link's
// handler: only an operator's stored file, as only those are ever
// signed; any other id, or a file purged or erased since, is
// mediasign.ErrNotFound.
func (s *Service) SignedMediaFile(ctx context.Context, id string) (mediasign.File, error) {
	m, err := s.repo.Media(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return mediasign.File{}, mediasign.ErrNotFound
	}
	if err != nil {
		return mediasign.File{}, err
	}
	if m.Direction != DirectionOutbound || m.State != MediaStored || m.BlobKey == "" {
		return mediasign.File{}, mediasign.ErrNotFound
	}
	return mediasign.File{Key: m.BlobKey, MimeType: m.MimeType, Filename: m.Filename, Size: m.Size}, nil
}
