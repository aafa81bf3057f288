// Package lease gives one process at a time the right to something, through
// a key in Redis that expires unless its holder keeps renewing it. A linked
// WhatsApp device is such a thing: two processes connecting with one
// device's keys take the session from each other in turn.
package lease

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Prefix starts every lease's key.
const Prefix = "{sb}:lease:"

// ErrLost means the lease expired or was taken over before it was renewed.
var ErrLost = errors.New("lease lost")

// renew extends the lease only while it is still ours.
var renew = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)

// release deletes the lease only while it is still ours.
var release = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

// Lease is one process's claim on a named lease.
type Lease struct {
	rdb   redis.UniversalClient
	key   string
	owner string
	ttl   time.Duration
}

// New returns a claim on the lease name with a fresh owner token; hostname,
// if given, starts the token so an SRE can see who holds it. ttl is how
// long a holder that stops renewing keeps the lease.
func New(rdb redis.UniversalClient, name, hostname string, ttl time.Duration) (*Lease, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("lease owner token: %w", err)
	}
	owner := hex.EncodeToString(b[:])
	if hostname != "" {
		owner = hostname + "/" + owner
	}
	return &Lease{rdb: rdb, key: Prefix + name, owner: owner, ttl: ttl}, nil
}

// TTL is the lease's time to live.
func (l *Lease) TTL() time.Duration { return l.ttl }

// Owner is this claim's owner token.
func (l *Lease) Owner() string { return l.owner }

// Acquire takes the lease if nobody holds it. It reports whether this
// claim now holds it (including when it already did).
func (l *Lease) Acquire(ctx context.Context) (bool, error) {
	ok, err := l.rdb.SetNX(ctx, l.key, l.owner, l.ttl).Result()
	if err != nil {
		return false, fmt.Errorf("acquire lease %s: %w", l.key, err)
	}
	if ok {
		return true, nil
	}
	if err := l.Renew(ctx); err == nil {
		return true, nil
	} else if !errors.Is(err, ErrLost) {
		return false, err
	}
	return false, nil
}

// Renew extends a held lease by its TTL. It returns ErrLost when the lease
// is no longer this claim's.
func (l *Lease) Renew(ctx context.Context) error {
	n, err := renew.Run(ctx, l.rdb, []string{l.key}, l.owner, l.ttl.Milliseconds()).Int()
	if err != nil {
		return fmt.Errorf("renew lease %s: %w", l.key, err)
	}
	if n == 0 {
		return fmt.Errorf("renew lease %s: %w", l.key, ErrLost)
	}
	return nil
}

// Release gives the lease up if this claim holds it, so a standby takes
// over at once instead of after the TTL.
func (l *Lease) Release(ctx context.Context) error {
	if err := release.Run(ctx, l.rdb, []string{l.key}, l.owner).Err(); err != nil {
		return fmt.Errorf("release lease %s: %w", l.key, err)
	}
	return nil
}

// Holder returns who holds the lease name, or "" if nobody does.
func Holder(ctx context.Context, rdb redis.UniversalClient, name string) (string, error) {
	v, err := rdb.Get(ctx, Prefix+name).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read lease %s: %w", name, err)
	}
	return v, nil
}
