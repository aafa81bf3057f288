// Package blob stores media files: customers' photos, voice notes and
// documents, and the files operators send. The system of record keeps
// each file's metadata; this package keeps only its bytes, under a key
// the caller chooses, in a local directory (the embedded default and a
// single node) or in S3-compatible object storage (replicas that share
// nothing).
package blob

import (
	"context"
	"errors"
	"io"
)

// ErrNotFound is returned by Open for a key that holds no file.
var ErrNotFound = errors.New("blob: not found")

// Store keeps files by key. Keys are the caller's, made of letters,
// digits, '-', '_', '.' and '/', and never start with '/' or hold "..".
//
// Put is atomic: a reader sees the whole file or none, so a failed or
// interrupted write leaves nothing half-written behind.
type Store interface {
	// Put stores what r yields under key, replacing any file there, and
	// says how many bytes it stored. Size is a hint (-1 when unknown).
	Put(ctx context.Context, key string, r io.Reader, size int64) (int64, error)
	// Open reads the file under key, or fails with ErrNotFound.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// OpenRange reads at most n bytes of the file under key from byte
	// off (to its end when n is negative), or fails with ErrNotFound:
	// what a ranged HTTP answer (a browser seeking in a video) sends. An
	// off at or past the end reads nothing.
	OpenRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error)
	// Delete removes the file under key; a missing file is no error, so
	// an erasure that is retried succeeds.
	Delete(ctx context.Context, key string) error
}

// ValidKey reports whether key is one a Store accepts.
func ValidKey(key string) bool {
	if key == "" || len(key) > 512 || key[0] == '/' || key[len(key)-1] == '/' {
		return false
	}
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '_', c == '.', c == '/':
		default:
			return false
		}
	}
	for _, part := range splitKey(key) {
		if part == "" || part == "." || part == ".." {
			return false
		}
	}
	return true
}

func splitKey(key string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(key); i++ {
		if key[i] == '/' {
			parts = append(parts, key[start:i])
			start = i + 1
		}
	}
	return append(parts, key[start:])
}

func checkKey(key string) error {
	if !ValidKey(key) {
		return errors.New("blob: invalid key")
	}
	return nil
}
