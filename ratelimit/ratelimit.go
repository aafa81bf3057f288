// Package ratelimit holds token buckets in Redis, so a limit on what a
// channel sends holds across every replica that sends on it.
package ratelimit

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Prefix starts every bucket's key; its hash tag is Switchboard's one
// Cluster slot (see store.Prefix).
const Prefix = "{sb}:rl:"

//go:embed take.lua
var takeSource string

var take = redis.NewScript(takeSource)

// Bucket is one limit: Count tokens every Per on average, holding at most
// Burst (0 means 1). Buckets with the same Key share their tokens.
type Bucket struct {
	Key   string
	Count int
	Per   time.Duration
	Burst int
}

// Limiter takes tokens from buckets in Redis. Redis's clock is the only one
// used, so replicas whose clocks disagree still share one rate.
type Limiter struct {
	rdb redis.UniversalClient
}

// New returns a limiter on rdb.
func New(rdb redis.UniversalClient) *Limiter { return &Limiter{rdb: rdb} }

// Take takes one token from every bucket, or none if any is empty. When it
// takes none it returns how long until all of them will have a token.
// Buckets with a zero Count or Per are no limit and are skipped. Prefix's
// hash tag keeps every bucket in one Redis Cluster slot, as one script
// must.
func (l *Limiter) Take(ctx context.Context, buckets ...Bucket) (ok bool, wait time.Duration, err error) {
	keys := make([]string, 0, len(buckets))
	args := []any{1}
	for _, b := range buckets {
		if b.Count <= 0 || b.Per <= 0 {
			continue
		}
		// Integers only: the script computes the rate itself, so no
		// float is ever formatted here and parsed there (see take.lua).
		// A period under a microsecond counts as one.
		period := max(b.Per.Microseconds(), 1)
		keys = append(keys, Prefix+b.Key)
		args = append(args, b.Count, period, max(b.Burst, 1))
	}
	if len(keys) == 0 {
		return true, 0, nil
	}
	res, err := take.Run(ctx, l.rdb, keys, args...).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("rate limit %s: %w", keys[0], err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("rate limit %s: script answered %v", keys[0], res)
	}
	return res[0] == 1, time.Duration(res[1]) * time.Microsecond, nil
}

// Key names a bucket of a channel.
func Key(channel, bucket string) string {
	return channel + ":" + bucket
}
