package conversations

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

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
	// The staff or the settings are new to this process (changed, or it
	// just started): the queries assigned to someone who no longer serves
	// them go back to the pool, re-checked once per pair of versions
	// whichever replica noticed. A failure fails this decision, whose
	// retry asks again.
	if err := s.tasks.EnqueueRecheck(ctx, comp.Routing.Version, v); err != nil {
		return nil, fmt.Errorf("queue the re-check of assignments: %w", err)
	}
	rs := comp.Routing.WithStaff(members)
	c.mu.Lock()
	if c.version <= v || c.settings != comp.Routing {
		c.settings, c.version, c.staffed = comp.Routing, v, rs
	}
	c.mu.Unlock()
	return rs, nil
}

// operatorIDs are the ids of rs's operators routing may assign, sorted:
// the roster's presence and loads are read for them only (a disabled
// account, a collaborator, is never assigned).
func operatorIDs(rs *routing.Settings) []string {
	var out []string
	for id, op := range rs.Operators {
		if !op.Disabled {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// StaffChanged is told that accounts, groups, roles or the settings just
// changed (by the API, after its write committed): it queues the re-check of assignments
// for the staff as it now is, so a deleted group's or account's queries
// go back to the pool at once rather than at the next routing decision.
func (s *Service) StaffChanged(ctx context.Context) error {
	if s.staff == nil {
		return nil
	}
	comp, err := s.Current(ctx)
	if err != nil || comp == nil {
		return err
	}
	v, err := s.staff.StaffVersion(ctx)
	if err != nil {
		return fmt.Errorf("read the staff version: %w", err)
	}
	if err := s.tasks.EnqueueRecheck(ctx, comp.Routing.Version, v); err != nil {
		return fmt.Errorf("queue the re-check of assignments: %w", err)
	}
	return nil
}

// Released is a query ReleaseUnserved took from its assignee.
type Released struct {
	QueryID, From string
}

// ReleaseUnserved returns every assigned query whose assignee may no
// longer have it to its pool, routed as its type's strategy says (to the
// next eligible operator, or left in the pool): the assignee's account is
// gone, disabled or may not answer customers, or no longer serves the
// query's type (their group was deleted, they left it, the type stopped
// naming them). Queries the portfolio gave its owner stay with a owner
// who may still answer. Doing it again changes nothing more.
func (s *Service) ReleaseUnserved(ctx context.Context) ([]Released, error) {
	comp, err := s.Current(ctx)
	if err != nil || comp == nil {
		return nil, err
	}
	assignees, err := s.repo.Assignees(ctx)
	if err != nil {
		return nil, err
	}
	var out []Released
	for _, a := range assignees {
		ids, err := s.repo.AssignedTo(ctx, a)
		if err != nil {
			return out, err
		}
		for _, id := range ids {
			d, err := s.route(ctx, comp, id, "", unserved(a, s.clock.Now()))
			if err != nil {
				return out, fmt.Errorf("release %s: %w", id, err)
			}
			if d.Outcome != routing.OutcomeContinued {
				out = append(out, Released{QueryID: id, From: a})
			}
		}
	}
	if len(out) > 0 {
		s.logger.InfoContext(ctx, "queries whose operator no longer serves them returned", "queries", len(out))
	}
	return out, nil
}

// unserved decides on a query assigned to assignee, under the staffed
// settings rs: released when they may no longer have it.
func unserved(assignee string, now time.Time) decideFunc {
	return func(rs *routing.Settings, st *RoutingState, r routing.Roster) routing.Decision {
		q := st.Query
		if q.State != routing.StateAssigned || q.Assignee != assignee || mayKeep(rs, st) {
			return routing.Decision{Outcome: routing.OutcomeContinued, Query: q}
		}
		return routing.OnNoReply(rs, q, routing.Contact{}, r, now)
	}
}

// mayKeep reports whether st's assignee may keep the query under rs. One
// whose account is gone, disabled or may not answer may not. Otherwise a
// query stays when the assignee still serves its type and channel, and
// also when they do not but the portfolio or a person (a transfer, a
// derivation) gave it to them, or they have answered it since: a
// conversation under way stays with whoever is talking to the customer;
// only one nobody has answered goes back.
func mayKeep(rs *routing.Settings, st *RoutingState) bool {
	q := st.Query
	op := rs.Operators[q.Assignee]
	if op == nil || op.Disabled {
		return false
	}
	if q.Origin == routing.OriginPortfolio || q.Referred || st.AnsweredSinceAssignment {
		return true
	}
	t := rs.Type(q.Type)
	return t == nil || (slices.Contains(t.Operators, q.Assignee) && op.Serves(q.Channel))
}
