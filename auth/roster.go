package auth

import (
	"context"
	"fmt"
	"slices"

	"switchboard/accounts"
	"switchboard/routing"
)

// StaffReader reads the accounts routing assigns from;
// repository.Accounts is one.
type StaffReader interface {
	// StaffVersion counts changes to accounts, groups, memberships and
	// custom roles.
	StaffVersion(ctx context.Context) (int64, error)
	// Staff returns every account and the version it was read at.
	Staff(ctx context.Context) (int64, []*accounts.User, error)
}

// Roster is routing's view of the accounts (conversations.Staff): every
// account, with those that may not be assigned marked disabled, which
// are the disabled accounts and those whose permissions, role and grants
// together, do not include answering customers (a collaborator's, say).
// Who may answer is an authorization question, so it is answered here.
type Roster struct {
	accounts StaffReader
	roles    *Roles
}

// NewRoster returns the roster of the accounts in a, their roles
// resolved by roles.
func NewRoster(a StaffReader, roles *Roles) *Roster { return &Roster{accounts: a, roles: roles} }

// StaffVersion changes whenever Members may return something else.
func (r *Roster) StaffVersion(ctx context.Context) (int64, error) {
	return r.accounts.StaffVersion(ctx)
}

// Members returns every account as routing sees it, and the staff
// version it was read at.
func (r *Roster) Members(ctx context.Context) (int64, []routing.Member, error) {
	v, users, err := r.accounts.Staff(ctx)
	if err != nil {
		return 0, nil, err
	}
	roles, err := r.roles.List(ctx)
	if err != nil {
		return 0, nil, fmt.Errorf("roster: %w", err)
	}
	answers := map[string]bool{}
	for _, role := range roles {
		answers[role.Name] = slices.Contains(role.Permissions, PermReply)
	}
	out := make([]routing.Member, 0, len(users))
	for _, u := range users {
		may := answers[u.Role] || slices.Contains(u.Grants, string(PermReply))
		out = append(out, routing.Member{
			ID: u.ID, Name: u.Name, Capacity: u.Capacity, Channels: u.Channels,
			QueryTypes: u.QueryTypes, Groups: u.Groups,
			Disabled: u.Status != accounts.StatusActive || !may,
		})
	}
	return v, out, nil
}
