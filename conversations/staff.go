package conversations

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"switchboard/routing"
	"switchboard/settings"
)

// Staff is who routing may assign: the accounts, as routing sees them.
// auth.Roster is one (the accounts with their roles resolved).
type Staff interface {
	// StaffVersion changes whenever anything Members returns may have
	// changed: one cheap read, so a cached roster is checked on every
	// decision that consults it.
	StaffVersion(ctx context.Context) (int64, error)
	// Members returns every account as routing sees it, and the version
	// it was read at.
	Members(ctx context.Context) (int64, []routing.Member, error)
}

// staffCache keeps the routing settings with the staff filled in, for the
// settings version and staff version they were built from.
type staffCache struct {
	mu       sync.Mutex
	settings *routing.Settings // the compiled settings it was built on
	version  int64             // the staff version
	staffed  *routing.Settings
}

// staffed returns comp's routing settings with the current staff filled
// in (routing.Settings.WithStaff): the accounts that may be assigned,
// and for each query type who serves it. A change to an account, a group
// or a role shows in the next decision, on every replica.
func (s *Service) staffed(ctx context.Context, comp *settings.Compiled) (*routing.Settings, error) {
	if s.staff == nil {
		return comp.Routing, nil
	}
	v, err := s.staff.StaffVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the staff version: %w", err)
	}
	c := &s.staffCache
	c.mu.Lock()
	if c.settings == comp.Routing && c.version == v {
		rs := c.staffed
		c.mu.Unlock()
		return rs, nil
	}
	c.mu.Unlock()
	v, members, err := s.staff.Members(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the staff: %w", err)
	}
	rs := comp.Routing.WithStaff(members)
	c.mu.Lock()
	if c.version <= v || c.settings != comp.Routing {
		c.settings, c.version, c.staffed = comp.Routing, v, rs
	}
	c.mu.Unlock()
	return rs, nil
}

// Routing returns the routing settings in force with the staff filled
// in; nil when no settings were applied.
func (s *Service) Routing(ctx context.Context) (*routing.Settings, error) {
	comp, err := s.Current(ctx)
	if err != nil || comp == nil {
		return nil, err
	}
	return s.staffed(ctx, comp)
}

// operatorIDs are the ids of rs's operators, sorted.
func operatorIDs(rs *routing.Settings) []string { return slices.Sorted(maps.Keys(rs.Operators)) }
