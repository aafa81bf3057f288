package main

import (
	"context"
	"fmt"
	"time"

	"switchboard/blob"
	"switchboard/config"
)

// openBlobStore opens the store that keeps media files' bytes: the
// local directory media.dir, or, when media.s3 names a bucket, that
// bucket. It is the one place the store is chosen; every process role
// opens the same one (gateways serve files, workers fetch them).
func openBlobStore(ctx context.Context, cfg *config.Config) (blob.Store, error) {
	if cfg.Media.S3.Configured() {
		// Not returned directly: a nil *S3 would be a non-nil Store.
		s, err := blob.NewS3(ctx, blob.S3Options(cfg.Media.S3))
		if err != nil {
			return nil, fmt.Errorf("media.s3: %w", err)
		}
		// Refused at start, as an unreachable database is: the first
		// customer's photo is no time to learn the bucket is wrong.
		pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := s.Check(pctx); err != nil {
			return nil, fmt.Errorf("media.s3: %w", err)
		}
		return s, nil
	}
	d, err := blob.NewDir(cfg.Media.Dir)
	if err != nil {
		return nil, fmt.Errorf("media.dir: %w", err)
	}
	return d, nil
}
