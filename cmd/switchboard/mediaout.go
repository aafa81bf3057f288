package main

import (
	"crypto/rand"
	"fmt"
	"log/slog"

	"github.com/labstack/echo/v4"

	"switchboard/blob"
	"switchboard/clock"
	"switchboard/config"
	"switchboard/conversations"
	"switchboard/mediasign"
)

// newMediaSigner makes the signer of the links providers fetch operators'
// files from, keyed from auth.secret so every replica accepts every
// other's links. Without a secret (the embedded Redis only) the key is
// this process's own, which serves the links it signs: it runs every role.
func newMediaSigner(cfg *config.Config) (*mediasign.Signer, error) {
	secret := []byte(cfg.Auth.Secret)
	if len(secret) == 0 {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("media link key: %w", err)
		}
	}
	return mediasign.New(secret, cfg.Media.PublicURL, clock.System{}), nil
}

// registerSignedMedia serves the signed links on e, outside /api/v1: the
// provider fetching a file has no session, only the link.
func registerSignedMedia(e *echo.Echo, signer *mediasign.Signer, conv *conversations.Service, blobs blob.Store, logger *slog.Logger) {
	h := echo.WrapHandler(signer.Handler(conv.SignedMediaFile, blobs, logger))
	e.GET(mediasign.Path+"*", h)
	e.HEAD(mediasign.Path+"*", h)
}
