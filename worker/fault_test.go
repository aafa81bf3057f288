package worker_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// failOnce is a go-redis hook on the real Redis that fails, once, the
// first command (script calls included) whose arguments contain every
// string in match. Everything else goes through.
type failOnce struct {
	match []string
	mu    sync.Mutex
	fired int
}

var _ redis.Hook = (*failOnce)(nil)

// errInjected is the injected Redis failure.
var errInjected = errors.New("injected Redis fault")

func newFailOnce(match ...string) *failOnce {
	return &failOnce{match: match}
}

// times reports how often the fault fired.
func (f *failOnce) times() int { f.mu.Lock(); defer f.mu.Unlock(); return f.fired }

func (f *failOnce) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (f *failOnce) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if f.hit(cmd) {
			cmd.SetErr(errInjected)
			return errInjected
		}
		return next(ctx, cmd)
	}
}

func (f *failOnce) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (f *failOnce) hit(cmd redis.Cmder) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fired > 0 {
		return false
	}
	var args strings.Builder
	for _, a := range cmd.Args() {
		if s, ok := a.(string); ok {
			args.WriteString(s)
			args.WriteByte(' ')
		}
	}
	for _, m := range f.match {
		if !strings.Contains(args.String(), m) {
			return false
		}
	}
	f.fired++
	return true
}
