package settings

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Key holds the applied settings: the YAML exactly as applied, its version
// and when it was applied. One hash, so a reader never sees the YAML of
// one version with the number of another.
const Key = "{sb}:settings"

// ErrNone means no settings were ever applied.
var ErrNone = errors.New("no settings applied yet (run switchboard apply -f settings.yaml)")

// applyScript stores a new version atomically. ARGV[1] is the YAML,
// ARGV[2] the time, ARGV[3] the version the caller diffed against ("" to
// skip the check); it returns the new version, or -1 when someone else
// applied in between.
var applyScript = redis.NewScript(`
local cur = tonumber(redis.call("HGET", KEYS[1], "version") or "0")
if ARGV[3] ~= "" and tonumber(ARGV[3]) ~= cur then
  return -1
end
local v = cur + 1
redis.call("HSET", KEYS[1], "version", v, "yaml", ARGV[1], "applied_at", ARGV[2])
return v
`)

// ErrConflict means the settings changed between reading and applying.
var ErrConflict = errors.New("settings were changed by someone else meanwhile; review and apply again")

// Apply validates data and, if valid, stores it as the next version. With
// expectVersion >= 0 it refuses (ErrConflict) if the stored version is not
// that one, so a reviewed diff is what gets applied.
func Apply(ctx context.Context, rdb redis.UniversalClient, data []byte, now time.Time, expectVersion int64) (int64, error) {
	if _, err := Parse(data); err != nil {
		return 0, err
	}
	expect := ""
	if expectVersion >= 0 {
		expect = strconv.FormatInt(expectVersion, 10)
	}
	v, err := applyScript.Run(ctx, rdb, []string{Key}, data, now.UnixMilli(), expect).Int64()
	if err != nil {
		return 0, fmt.Errorf("store settings: %w", err)
	}
	if v < 0 {
		return 0, ErrConflict
	}
	return v, nil
}

// Stored is the applied settings as kept in Redis.
type Stored struct {
	Version   int64
	YAML      []byte
	AppliedAt time.Time
}

// Load reads the applied settings; ErrNone if there are none.
func Load(ctx context.Context, rdb redis.UniversalClient) (*Stored, error) {
	h, err := rdb.HGetAll(ctx, Key).Result()
	if err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	if len(h) == 0 {
		return nil, ErrNone
	}
	v, _ := strconv.ParseInt(h["version"], 10, 64)
	ms, _ := strconv.ParseInt(h["applied_at"], 10, 64)
	return &Stored{Version: v, YAML: []byte(h["yaml"]), AppliedAt: time.UnixMilli(ms)}, nil
}

// Watcher keeps the current compiled settings of a worker, reloading them
// when a new version is applied, so workers pick changes up without a
// restart. A check costs one HGET and happens at most once per interval.
type Watcher struct {
	rdb      redis.UniversalClient
	interval time.Duration

	mu        sync.Mutex
	current   *Compiled
	version   int64
	checkedAt time.Time
	// none remembers, for an interval, that no settings are applied, so an
	// unconfigured installation does not ask Redis on every message.
	none bool
}

// NewWatcher returns a watcher checking at most every interval.
func NewWatcher(rdb redis.UniversalClient, interval time.Duration) *Watcher {
	return &Watcher{rdb: rdb, interval: interval}
}

// Current returns the settings in force. A stored version that fails to
// compile (written by an older or newer Switchboard) is reported and the
// previous good version stays in force.
func (w *Watcher) Current(ctx context.Context) (*Compiled, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if time.Since(w.checkedAt) < w.interval {
		if w.current != nil {
			return w.current, nil
		}
		if w.none {
			return nil, ErrNone
		}
	}
	vs, err := w.rdb.HGet(ctx, Key, "version").Result()
	if errors.Is(err, redis.Nil) {
		w.none, w.checkedAt = true, time.Now()
		return nil, ErrNone
	}
	if err != nil {
		if w.current != nil {
			return w.current, nil // keep routing on the last good settings
		}
		return nil, fmt.Errorf("read settings version: %w", err)
	}
	w.none, w.checkedAt = false, time.Now()
	v, _ := strconv.ParseInt(vs, 10, 64)
	if w.current != nil && v == w.version {
		return w.current, nil
	}
	st, err := Load(ctx, w.rdb)
	if err != nil {
		return nil, err
	}
	c, err := Parse(st.YAML)
	if err != nil {
		if w.current != nil {
			return w.current, fmt.Errorf("settings version %d does not compile, keeping version %d: %w", st.Version, w.version, err)
		}
		return nil, fmt.Errorf("settings version %d: %w", st.Version, err)
	}
	c.Routing.Version = st.Version
	w.current, w.version = c, st.Version
	return c, nil
}
