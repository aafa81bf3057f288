package api_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// errInjected is the fault a faultHook answers with: what go-redis
// returns when Redis drops the connection.
var errInjected error = &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}

// faultHook wraps the real Redis client and fails, on cue, the commands
// fail matches: the rest of Redis keeps working, as in a partial outage.
type faultHook struct {
	mu   sync.Mutex
	fail func(cmd redis.Cmder) bool
}

var _ redis.Hook = (*faultHook)(nil)

// set arms the hook; nil disarms it.
func (f *faultHook) set(fail func(cmd redis.Cmder) bool) {
	f.mu.Lock()
	f.fail = fail
	f.mu.Unlock()
}

func (f *faultHook) hit(cmd redis.Cmder) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fail != nil && f.fail(cmd)
}

func (f *faultHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (f *faultHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if f.hit(cmd) {
			cmd.SetErr(errInjected)
			return errInjected
		}
		return next(ctx, cmd)
	}
}

func (f *faultHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, cmd := range cmds {
			if f.hit(cmd) {
				for _, c := range cmds {
					c.SetErr(errInjected)
				}
				return errInjected
			}
		}
		return next(ctx, cmds)
	}
}

// commandNamed matches commands by name (lower case, as go-redis names them).
func commandNamed(names ...string) func(redis.Cmder) bool {
	return func(cmd redis.Cmder) bool {
		for _, n := range names {
			if cmd.Name() == n {
				return true
			}
		}
		return false
	}
}

// firstKey returns the first key a command names ("" if none it knows).
func firstKey(cmd redis.Cmder) string {
	args := cmd.Args()
	i := 1
	switch cmd.Name() {
	case "eval", "evalsha", "eval_ro", "evalsha_ro":
		i = 3
	}
	if len(args) <= i {
		return ""
	}
	s, _ := args[i].(string)
	return s
}

// keyPrefixed matches commands whose first key starts with prefix.
func keyPrefixed(prefix string) func(redis.Cmder) bool {
	return func(cmd redis.Cmder) bool { return strings.HasPrefix(firstKey(cmd), prefix) }
}

// withFaults adds a faultHook to rdb and returns it, disarmed.
func withFaults(rdb *redis.Client) *faultHook {
	f := &faultHook{}
	rdb.AddHook(f)
	return f
}

// and matches commands both predicates match.
func and(a, b func(redis.Cmder) bool) func(redis.Cmder) bool {
	return func(cmd redis.Cmder) bool { return a(cmd) && b(cmd) }
}

// keyIs matches commands whose first key is key.
func keyIs(key string) func(redis.Cmder) bool {
	return func(cmd redis.Cmder) bool { return firstKey(cmd) == key }
}
