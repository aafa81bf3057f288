// Package redistest gives each test its own flushed Redis database: on the
// real Redis named by $REDIS_URL when it is set (as in CI), else on an
// embedded miniredis whose keys expire with the wall clock, the one
// redisconn embeds. Test packages run in parallel processes, so a test
// claims one of databases 1..15 with a lock key in database 0 and releases
// it when it ends; database 0 itself is left to whoever runs Switchboard
// there.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/redisconn"
)

// EnvURL names the variable that selects a real Redis.
const EnvURL = "REDIS_URL"

// lockTTL outlives any one test; a crashed test's claim expires by itself.
const lockTTL = 10 * time.Minute

// Client returns a client on a database reserved for t and flushed.
func Client(t testing.TB) *redis.Client {
	t.Helper()
	url := os.Getenv(EnvURL)
	if url == "" {
		// The server production embeds, so keys expire with the wall
		// clock here too; aged finely, since tests use short TTLs.
		m, err := redisconn.StartEmbedded(50 * time.Millisecond)
		if err != nil {
			t.Fatalf("redistest: %v", err)
		}
		c := redis.NewClient(&redis.Options{Addr: m.Addr()})
		t.Cleanup(func() {
			_ = c.Close()
			m.Close()
		})
		return c
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("redistest: parse %s: %v", EnvURL, err)
	}
	ctx := context.Background()
	lockOpts := *opts
	lockOpts.DB = 0
	locks := redis.NewClient(&lockOpts)
	defer locks.Close()

	var tok [8]byte
	_, _ = rand.Read(tok[:])
	token := hex.EncodeToString(tok[:])
	deadline := time.Now().Add(2 * time.Minute)
	for {
		for db := 1; db <= 15; db++ {
			key := fmt.Sprintf("switchboard:test:db:%d", db)
			ok, err := locks.SetNX(ctx, key, token, lockTTL).Result()
			if err != nil {
				t.Fatalf("redistest: redis at %s is not usable: %v", opts.Addr, err)
			}
			if !ok {
				continue
			}
			o := *opts
			o.DB = db
			c := redis.NewClient(&o)
			if err := c.FlushDB(ctx).Err(); err != nil {
				t.Fatalf("redistest: flush db %d: %v", db, err)
			}
			t.Cleanup(func() {
				_ = c.FlushDB(ctx).Err()
				_ = c.Close()
				l := redis.NewClient(&lockOpts)
				defer l.Close()
				if v, _ := l.Get(ctx, key).Result(); v == token {
					l.Del(ctx, key)
				}
			})
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: no free test database on %s after 2m", opts.Addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// URL returns the redis:// URL of c's server and database, for code under
// test that takes a URL.
func URL(c *redis.Client) string {
	o := c.Options()
	return fmt.Sprintf("redis://%s/%d", o.Addr, o.DB)
}
