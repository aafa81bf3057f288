// Package presence keeps CS staff's presence (online, away, offline) in
// Redis: it is in-flight state that routing reads on every decision and
// that means nothing once the process that set it is gone long enough.
package presence

import (
	"context"
	"fmt"

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

// Forget removes an operator's presence (their account was deleted).
func (s *Store) Forget(ctx context.Context, operator string) error {
	if err := s.rdb.HDel(ctx, key, operator).Err(); err != nil {
		return fmt.Errorf("forget presence: %w", err)
	}
	return nil
}
