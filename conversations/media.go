package conversations

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"time"

	"switchboard/channels"
)

// Media states: an inbound file is pending until a worker fetched it
// from the provider, then stored or failed; retention turns a stored file
// purged (its bytes gone, its row kept for reports).
const (
	MediaPending = "pending"
	MediaStored  = "stored"
	MediaFailed  = "failed"
	MediaPurged  = "purged"
)

// Media is one file attached to a message, inbound or outbound, as the
// system of record keeps it; the bytes are in the blob store under
// BlobKey.
type Media struct {
	ID        string
	ContactID string
	QueryID   string
	// MessageID is the message carrying the file (its id within the contact).
	MessageID string
	Channel   string
	Direction string // DirectionInbound or DirectionOutbound
	// Kind is a channels.Type* media type: image, audio, video, document or sticker.
	Kind string
	// ProviderRef is where the provider keeps an inbound file (its media
	// id, a URL, or a linked device's location and keys). It is a secret
	// of sorts, never logged, and emptied once the file is done with.
	ProviderRef string
	MimeType    string
	Filename    string
	// Size is the stored size in bytes; -1 until stored.
	Size      int64
	SHA256    string
	BlobKey   string
	State     string
	Error     string
	Attempts  int
	CreatedAt time.Time
	StoredAt  time.Time
}

// Reasons a file failed, the values of Media.Error.
const (
	// MediaTooLarge: larger than media.max_bytes for its kind.
	MediaTooLarge = "too_large"
	// MediaNotFound: the provider no longer has it (or never had).
	MediaNotFound = "not_found"
	// MediaHashMismatch: the bytes do not match the provider's hash.
	MediaHashMismatch = "hash_mismatch"
	// MediaRefused: the provider refused the fetch (bad credentials, a
	// URL outside the provider's host).
	MediaRefused = "refused"
	// MediaUnavailable: the fetch kept failing until retries ran out.
	MediaUnavailable = "unavailable"
)

// MediaKinds are the message types that carry a file.
var MediaKinds = []string{channels.TypeImage, channels.TypeAudio, channels.TypeVideo, channels.TypeDocument, channels.TypeSticker}

// IsMediaKind reports whether a message of type t carries a file.
func IsMediaKind(t string) bool {
	switch t {
	case channels.TypeImage, channels.TypeAudio, channels.TypeVideo, channels.TypeDocument, channels.TypeSticker:
		return true
	}
	return false
}

// HasMedia reports whether an inbound message carries a file to fetch.
func HasMedia(m *channels.Inbound) bool {
	return m != nil && m.Media != nil && m.Media.ID != "" && IsMediaKind(m.Type)
}

// MediaID is the id of the file of a contact's message: derived, so a
// redelivered message names the same file and records it once. It says
// nothing of the contact or the message.
func MediaID(contactID, messageID string) string {
	h := sha256.New()
	h.Write([]byte("switchboard/media/v1\x00"))
	h.Write([]byte(contactID))
	h.Write([]byte{0})
	h.Write([]byte(messageID))
	return "md_" + hex.EncodeToString(h.Sum(nil)[:12])
}

// MediaBlobKey is the blob store key of a contact's file: grouped by
// contact, so a store's listing shows whose files are where.
func MediaBlobKey(contactID, mediaID string) string {
	return "media/" + contactID + "/" + mediaID
}

// NewInboundMedia is the pending media row of an inbound message of
// contactID in conversation queryID, recorded with the message.
func NewInboundMedia(m *channels.Inbound, contactID, queryID string, now time.Time) *Media {
	id := MediaID(contactID, m.ID)
	return &Media{ID: id, ContactID: contactID, QueryID: queryID, MessageID: m.ID, Channel: m.Channel,
		Direction: DirectionInbound, Kind: m.Type, ProviderRef: m.Media.ID, MimeType: m.Media.MimeType,
		Filename: m.Media.Filename, Size: -1, SHA256: m.Media.SHA256, BlobKey: MediaBlobKey(contactID, id),
		State: MediaPending, CreatedAt: now}
}

// MediaRepository is the part of the system of record that keeps media
// rows. Inbound rows are created by ApplyInbound, with their message.
type MediaRepository interface {
	// InsertMedia records a file (an outbound one, say); recording one
	// already there changes nothing.
	InsertMedia(ctx context.Context, m *Media) error
	// Media reads one file's row (ErrNotFound for none).
	Media(ctx context.Context, id string) (*Media, error)
	// MarkMediaStored records a pending file as stored with its size,
	// type and hash; false when it was no longer pending (purged or
	// erased meanwhile: the caller deletes the bytes it stored).
	MarkMediaStored(ctx context.Context, id, mimeType, sha string, size int64, now time.Time) (bool, error)
	// MarkMediaFailed records that a pending file cannot be kept, and why.
	MarkMediaFailed(ctx context.Context, id, reason string, now time.Time) error
	// CountMediaAttempt counts one fetch attempt of a file and returns
	// the count.
	CountMediaAttempt(ctx context.Context, id string) (int, error)
	// MessageMedia returns the files of a conversation's messages, by
	// message id.
	MessageMedia(ctx context.Context, queryID string, msgIDs []string) (map[string]*Media, error)
	// MediaDeletions returns up to n blob keys whose files are to be
	// deleted from the store (erased or purged), oldest first.
	MediaDeletions(ctx context.Context, n int) ([]string, error)
	// QueueMediaDeletion queues one blob key for deletion, as erasure
	// and retention queue theirs.
	QueueMediaDeletion(ctx context.Context, key string, now time.Time) error
	// MediaDeleted forgets blob keys whose files the store deleted.
	MediaDeleted(ctx context.Context, keys []string) error
}

// Blobs is what the service needs of the blob store (package blob's
// Store satisfies it).
type Blobs interface {
	Put(ctx context.Context, key string, r io.Reader, size int64) (int64, error)
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	OpenRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error)
	Delete(ctx context.Context, key string) error
}

// OpenMediaRange opens at most n bytes of a stored file from byte off
// (to its end when n is negative): the part of it a ranged request, a
// player seeking in a video, asks for.
func (s *Service) OpenMediaRange(ctx context.Context, m *Media, off, n int64) (io.ReadCloser, error) {
	if s.blobs == nil {
		return nil, errors.New("open media: no blob store configured")
	}
	return s.blobs.OpenRange(ctx, m.BlobKey, off, n)
}
