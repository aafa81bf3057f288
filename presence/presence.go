// Package presence keeps CS staff's presence (online, away, offline) in
// Redis: it is in-flight state that routing reads on every decision and
// that means nothing once the process that set it is gone long enough.
package presence

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/routing"
)

// key is the hash operator id -> presence.
const key = "{sb}:presence"

// Store reads and writes presence.
type Store struct {
	rdb redis.UniversalClient
}

// New returns a Store on rdb.
func New(rdb redis.UniversalClient) *Store { return &Store{rdb: rdb} }

// Presence returns each operator's presence; offline when never set.
func (s *Store) Presence(ctx context.Context, operators []string) (map[string]string, error) {
	out := make(map[string]string, len(operators))
	if len(operators) == 0 {
		return out, nil
	}
	vals, err := s.rdb.HMGet(ctx, key, operators...).Result()
	if err != nil {
		return nil, fmt.Errorf("read presence: %w", err)
	}
	for i, id := range operators {
		p, _ := vals[i].(string)
		if p == "" {
			p = routing.PresenceOffline
		}
		out[id] = p
	}
	return out, nil
}

// SetPresence records an operator's presence.
func (s *Store) SetPresence(ctx context.Context, operator, presence string) error {
	switch presence {
	case routing.PresenceOnline, routing.PresenceAway, routing.PresenceOffline:
	default:
		return fmt.Errorf("presence %q: want online, away or offline", presence)
	}
	if err := s.rdb.HSet(ctx, key, operator, presence).Err(); err != nil {
		return fmt.Errorf("set presence: %w", err)
	}
	return nil
}

// Forget removes an operator's presence and stream leases (their account
// was deleted).
func (s *Store) Forget(ctx context.Context, operator string) error {
	if err := s.rdb.HDel(ctx, key, operator).Err(); err != nil {
		return fmt.Errorf("forget presence: %w", err)
	}
	if err := s.rdb.Del(ctx, streamsKey(operator)).Err(); err != nil {
		return fmt.Errorf("forget stream leases: %w", err)
	}
	return nil
}

// streamsKey is the sorted set of an account's event streams: each
// stream's id scored by when its lease ends, in Unix milliseconds. A
// stream that closes ends its lease at its close, so the highest score is
// when the account was last seen, and it is in the future while any
// stream is alive. Streams on a process that died simply stop renewing.
func streamsKey(account string) string { return "{sb}:presence:streams:" + account }

// leaseScript records one stream's lease (ARGV[1] the stream, ARGV[2] its
// end), drops the leases that ended before ARGV[3], and keeps the key
// for ARGV[4] ms past its latest lease, so an account nobody watches
// leaves nothing behind.
var leaseScript = redis.NewScript(`
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
local top = redis.call('ZREVRANGE', KEYS[1], 0, 0, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], tonumber(top[2]) + tonumber(ARGV[4]))
return 1
`)

// Lease records that stream, one of account's event streams, is alive
// until ends (a closing stream passes its close). Leases that ended more
// than keep before ends are forgotten: an account whose leases are all
// forgotten has had no stream for at least keep.
func (s *Store) Lease(ctx context.Context, account, stream string, ends time.Time, keep time.Duration) error {
	end := ends.UnixMilli()
	err := leaseScript.Run(ctx, s.rdb, []string{streamsKey(account)}, stream,
		strconv.FormatInt(end, 10), strconv.FormatInt(end-keep.Milliseconds(), 10),
		strconv.FormatInt(keep.Milliseconds(), 10)).Err()
	if err != nil {
		return fmt.Errorf("renew stream lease: %w", err)
	}
	return nil
}

// LastLease returns when the latest lease of account's streams ends (in
// the future while a stream is alive); false when none is remembered.
func (s *Store) LastLease(ctx context.Context, account string) (time.Time, bool, error) {
	top, err := s.rdb.ZRevRangeWithScores(ctx, streamsKey(account), 0, 0).Result()
	if errors.Is(err, redis.Nil) || (err == nil && len(top) == 0) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read stream leases: %w", err)
	}
	return time.UnixMilli(int64(top[0].Score)), true, nil
}
