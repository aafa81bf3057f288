package main

import (
	"errors"

	"switchboard/blob"
	"switchboard/config"
)

// openBlobStore opens the store that keeps media files' bytes: the
// local directory media.dir, or, when media.s3 names a bucket, that
// bucket. It is the one place the store is chosen; every process role
// opens the same one (gateways serve files, workers fetch them).
//
// S3 HOOK: the S3-compatible store (blob/s3.go) plugs in here.
func openBlobStore(cfg *config.Config) (blob.Store, error) {
	if cfg.Media.S3.Configured() {
		return nil, errors.New("media.s3: the S3-compatible store is not built yet; leave media.s3.bucket empty to keep files in media.dir")
	}
	return blob.NewDir(cfg.Media.Dir)
}
