package api_test

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"switchboard/auth"
	"switchboard/settings"
)

// errDBConnReset is what a write fails with when the connection to the
// database drops under it, as the driver reports it.
var errDBConnReset error = &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}

// faultyRoles wraps the real role storage: while failWrites is set its
// writes fail with errDBConnReset, and afterGet, if set, runs once right
// after the next read.
type faultyRoles struct {
	auth.RoleRepository
	failWrites atomic.Bool
	mu         sync.Mutex
	afterGet   func()
}

// onNextGet makes fn run once, right after the next read of a role.
func (f *faultyRoles) onNextGet(fn func()) {
	f.mu.Lock()
	f.afterGet = fn
	f.mu.Unlock()
}

func (f *faultyRoles) Get(ctx context.Context, name string) ([]auth.Permission, int64, error) {
	perms, rev, err := f.RoleRepository.Get(ctx, name)
	f.mu.Lock()
	fn := f.afterGet
	f.afterGet = nil
	f.mu.Unlock()
	if fn != nil {
		fn()
	}
	return perms, rev, err
}

func (f *faultyRoles) Put(ctx context.Context, name string, perms []auth.Permission) error {
	if f.failWrites.Load() {
		return errDBConnReset
	}
	return f.RoleRepository.Put(ctx, name, perms)
}

func (f *faultyRoles) Replace(ctx context.Context, name string, revision int64, perms []auth.Permission) (bool, error) {
	if f.failWrites.Load() {
		return false, errDBConnReset
	}
	return f.RoleRepository.Replace(ctx, name, revision, perms)
}

// faultySettings wraps the real settings storage: while failWrites is
// set, applying a version fails with errDBConnReset.
type faultySettings struct {
	settings.Repository
	failWrites atomic.Bool
}

func (f *faultySettings) Insert(ctx context.Context, version int64, yaml []byte, at time.Time, by string) error {
	if f.failWrites.Load() {
		return errDBConnReset
	}
	return f.Repository.Insert(ctx, version, yaml, at, by)
}
