package redistest

import (
	"context"
	"net"
	"strings"
	"sync"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// ErrConnReset is the fault an Interceptor answers with by default: what
// go-redis returns when Redis drops the connection, so the code under test
// sees a Redis outage (a net.Error), not a bug of its own.
var ErrConnReset error = &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}

// Func is called with each command an Interceptor sees, pipelined ones
// included. A non-nil error fails the command, and with it the pipeline
// it is in. It may block, to model a slow Redis.
type Func func(ctx context.Context, cmd redis.Cmder) error

// Interceptor is a go-redis hook that hands the commands of a real client
// to the test, which can fail them or hold them up on cue while the rest
// of Redis keeps working, as in a partial outage. The zero Interceptor is
// disarmed; add it with Intercept, or with AddHook to a client the test
// does not build itself. It is safe for concurrent use.
type Interceptor struct {
	mu     sync.Mutex
	before Func
	after  Func
}

var _ redis.Hook = (*Interceptor)(nil)

// Intercept adds a disarmed Interceptor to rdb and returns it.
func Intercept(rdb *redis.Client) *Interceptor {
	i := &Interceptor{}
	rdb.AddHook(i)
	return i
}

// Before calls fn with each command before it is sent; an error from fn
// fails the command unsent. A nil fn disarms it.
func (i *Interceptor) Before(fn Func) {
	i.mu.Lock()
	i.before = fn
	i.mu.Unlock()
}

// After calls fn with each command once Redis has answered it, before the
// caller sees the answer: the command has taken effect, whatever fn does.
// An error from fn replaces the answer, as when the reply is lost. A nil
// fn disarms it.
func (i *Interceptor) After(fn Func) {
	i.mu.Lock()
	i.after = fn
	i.mu.Unlock()
}

// Fail fails, unsent and with ErrConnReset, the commands m matches (and
// the pipelines they are in). A nil m disarms it; it replaces any Before.
func (i *Interceptor) Fail(m Match) {
	if m == nil {
		i.Before(nil)
		return
	}
	i.Before(func(_ context.Context, cmd redis.Cmder) error {
		if m(cmd) {
			return ErrConnReset
		}
		return nil
	})
}

func (i *Interceptor) funcs() (before, after Func) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.before, i.after
}

// DialHook implements redis.Hook; dials are left alone.
func (i *Interceptor) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook.
func (i *Interceptor) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		return i.process(ctx, []redis.Cmder{cmd}, func(ctx context.Context, _ []redis.Cmder) error {
			return next(ctx, cmd)
		})
	}
}

// ProcessPipelineHook implements redis.Hook, for pipelines and
// transactions alike.
func (i *Interceptor) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		return i.process(ctx, cmds, next)
	}
}

func (i *Interceptor) process(ctx context.Context, cmds []redis.Cmder, next redis.ProcessPipelineHook) error {
	before, after := i.funcs()
	if err := each(ctx, cmds, before); err != nil {
		return fail(cmds, err)
	}
	err := next(ctx, cmds)
	if ferr := each(ctx, cmds, after); ferr != nil {
		return fail(cmds, ferr)
	}
	return err
}

// each calls fn with every command, up to the first error.
func each(ctx context.Context, cmds []redis.Cmder, fn Func) error {
	if fn == nil {
		return nil
	}
	for _, cmd := range cmds {
		if err := fn(ctx, cmd); err != nil {
			return err
		}
	}
	return nil
}

// fail gives every command err, as go-redis does when a pipeline's
// connection fails.
func fail(cmds []redis.Cmder, err error) error {
	for _, cmd := range cmds {
		cmd.SetErr(err)
	}
	return err
}

// Match picks out the commands a fault is aimed at.
type Match func(cmd redis.Cmder) bool

// Named matches commands by name, in lower case as go-redis names them
// ("evalsha", "hget").
func Named(names ...string) Match {
	return func(cmd redis.Cmder) bool {
		for _, n := range names {
			if cmd.Name() == n {
				return true
			}
		}
		return false
	}
}

// FirstKey returns the first key a command names: its first argument, or
// for scripts and functions the first of KEYS. It returns "" for a command
// with no key, or one whose key is not a string.
func FirstKey(cmd redis.Cmder) string {
	args := cmd.Args()
	i := 1
	switch cmd.Name() {
	case "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro":
		if len(args) > 2 && args[2] == 0 { // no KEYS
			return ""
		}
		i = 3
	}
	if len(args) <= i {
		return ""
	}
	s, _ := args[i].(string)
	return s
}

// KeyIs matches commands whose first key is key.
func KeyIs(key string) Match {
	return func(cmd redis.Cmder) bool { return FirstKey(cmd) == key }
}

// KeyPrefixed matches commands whose first key starts with prefix.
func KeyPrefixed(prefix string) Match {
	return func(cmd redis.Cmder) bool { return strings.HasPrefix(FirstKey(cmd), prefix) }
}

// ArgsContain matches commands whose string arguments, name and script
// arguments included, joined by spaces, contain every one of strs: a way
// to pick out a command by a task id or a field without knowing which
// argument holds it.
func ArgsContain(strs ...string) Match {
	return func(cmd redis.Cmder) bool {
		var b strings.Builder
		for _, a := range cmd.Args() {
			if s, ok := a.(string); ok {
				b.WriteString(s)
				b.WriteByte(' ')
			}
		}
		for _, s := range strs {
			if !strings.Contains(b.String(), s) {
				return false
			}
		}
		return true
	}
}

// And matches commands every one of ms matches.
func And(ms ...Match) Match {
	return func(cmd redis.Cmder) bool {
		for _, m := range ms {
			if !m(cmd) {
				return false
			}
		}
		return true
	}
}

// Limit matches the first n commands its Match matches, and no later
// ones, so a fault fires a set number of times and a retry goes through.
type Limit struct {
	m     Match
	mu    sync.Mutex
	n     int
	fired int
}

// First returns a Limit that matches the first n commands m matches.
func First(n int, m Match) *Limit { return &Limit{m: m, n: n} }

// Once returns a Limit that matches the first command m matches.
func Once(m Match) *Limit { return First(1, m) }

// Match reports whether cmd is one of the first n commands l's Match
// matches, counting it if so. Pass it as a Match: l.Match.
func (l *Limit) Match(cmd redis.Cmder) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fired >= l.n || !l.m(cmd) {
		return false
	}
	l.fired++
	return true
}

// Fired reports how many commands l has matched.
func (l *Limit) Fired() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fired
}
