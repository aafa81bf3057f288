package accounts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"switchboard/clock"
)

// Group is an agent group: a named set of accounts (by skill, language,
// department) that a query type may name as serving it. Its members'
// User.Groups list it.
type Group struct {
	// ID is what query types and accounts name the group by; Create makes
	// it ("g_" and 16 hex digits) and it never changes.
	ID string `json:"id"`
	// Name is what people see; unique among groups.
	Name string `json:"name"`
	// Members are the ids of the accounts in the group, sorted; never nil.
	Members   []string  `json:"members"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Errors of agent groups that callers tell apart.
var (
	ErrGroupNotFound  = errors.New("agent group not found")
	ErrGroupNameTaken = errors.New("another agent group already has that name")
	ErrGroupIDTaken   = errors.New("another agent group already has that id")
	// ErrInvalidGroup wraps what is wrong with a group's name or members.
	ErrInvalidGroup = errors.New("invalid agent group")
	// ErrUnknownMember is a member id no account has; the error that
	// wraps it names the id.
	ErrUnknownMember = errors.New("no such account")
)

// GroupChange is a change to a group: the fields that are set are
// replaced, the others kept.
type GroupChange struct {
	Name *string
	// Members, when set, replaces every membership (an empty list leaves
	// the group empty).
	Members *[]string
}

// GroupRepository is what agent groups need stored. Package repository
// implements it on PostgreSQL and SQLite. Every write is one transaction
// that also counts a staff change, so routing's cached roster sees it.
type GroupRepository interface {
	// List returns every group with its members, in no particular order.
	List(ctx context.Context) ([]*Group, error)
	// Get returns the group with that id and its members, or
	// ErrGroupNotFound.
	Get(ctx context.Context, id string) (*Group, error)
	// Insert stores a new group and its memberships, or fails with
	// ErrGroupNameTaken when another group has its name (decided by the
	// database's UNIQUE index, however the writers race), or with an
	// error wrapping ErrUnknownMember and naming a member no account has.
	Insert(ctx context.Context, g *Group) error
	// Update applies ch to the group with that id and sets its updated
	// time to at, and returns the group as it then is; it fails with
	// ErrGroupNotFound, ErrGroupNameTaken or an error wrapping
	// ErrUnknownMember, and then changes nothing.
	Update(ctx context.Context, id string, ch GroupChange, at time.Time) (*Group, error)
	// Delete removes the group with that id and its memberships, or fails
	// with ErrGroupNotFound.
	Delete(ctx context.Context, id string) error
}

// Groups keeps agent groups: it validates and normalizes them and stores
// them through a GroupRepository. The CLI and the API both go through it.
type Groups struct {
	repo  GroupRepository
	clock clock.Clock
}

// NewGroups returns the agent groups stored in repo.
func NewGroups(repo GroupRepository, clk clock.Clock) *Groups {
	return &Groups{repo: repo, clock: clk}
}

// MaxGroupName is the longest group name, in characters.
const MaxGroupName = 100

// ValidGroupID reports whether id is shaped like a group id: what Create
// makes ("g_..."), or a name an account listed before groups were rows
// (migration 3 kept those as ids).
func ValidGroupID(id string) bool { return listItem.MatchString(id) }

// normalizeName trims a group name and checks it.
func normalizeName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > MaxGroupName {
		return "", fmt.Errorf("name: required, at most %d characters", MaxGroupName)
	}
	if !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", errors.New("name: no control characters (such as line breaks)")
	}
	return name, nil
}

// normalizeMembers sorts and deduplicates member ids and refuses one
// shaped unlike any account's id; whether the account exists is the
// repository's to decide, in the write's transaction.
func normalizeMembers(members []string) ([]string, error) {
	out := slices.Clone(members)
	for i, m := range out {
		out[i] = strings.TrimSpace(m)
		if !ValidID(out[i]) {
			return nil, fmt.Errorf("members: %w %q", ErrUnknownMember, m)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// invalid marks err as the caller's mistake in a group.
func invalid(err error) error { return fmt.Errorf("%w: %w", ErrInvalidGroup, err) }

// storeError turns a repository error into what Groups returns: a member
// no account has is the caller's mistake (ErrInvalidGroup), a taken name
// or a missing group is returned as is, anything else gets what context.
func storeError(err error, what string) error {
	switch {
	case errors.Is(err, ErrUnknownMember):
		return invalid(fmt.Errorf("members: %w", err))
	case errors.Is(err, ErrGroupNameTaken), errors.Is(err, ErrGroupNotFound):
		return err
	}
	return fmt.Errorf("%s: %w", what, err)
}

// now is the store's time at the database's precision (milliseconds), so
// a group returned by a write is the group Get reads back.
func (s *Groups) now() time.Time { return s.clock.Now().UTC().Truncate(time.Millisecond) }

// Create validates and stores a new group named name with those members,
// returning it with its id. A member must be an existing account.
func (s *Groups) Create(ctx context.Context, name string, members []string) (*Group, error) {
	return s.CreateWithID(ctx, "", name, members)
}

// CreateWithID is Create with the id the settings will name the group by
// (billing, care): a readable id a coordinator chooses, or "" for a
// generated one. An id another group has is ErrGroupIDTaken.
func (s *Groups) CreateWithID(ctx context.Context, id, name string, members []string) (*Group, error) {
	if id != "" && !ValidGroupID(id) {
		return nil, invalid(fmt.Errorf("id: want lower-case letters, digits, '-' or '_' (at most 64), got %q", id))
	}
	name, err := normalizeName(name)
	if err != nil {
		return nil, invalid(err)
	}
	ms, err := normalizeMembers(members)
	if err != nil {
		return nil, invalid(err)
	}
	if id == "" {
		var rnd [8]byte
		if _, err := rand.Read(rnd[:]); err != nil {
			return nil, fmt.Errorf("group id: %w", err)
		}
		id = "g_" + hex.EncodeToString(rnd[:])
	}
	g := &Group{ID: id, Name: name, Members: ms, CreatedAt: s.now()}
	g.UpdatedAt = g.CreatedAt
	if err := s.repo.Insert(ctx, g); err != nil {
		return nil, storeError(err, "create group "+name)
	}
	return tidy(g), nil
}

// Get reads a group by id. A malformed id is ErrGroupNotFound: no group
// has it.
func (s *Groups) Get(ctx context.Context, id string) (*Group, error) {
	if !ValidGroupID(id) {
		return nil, ErrGroupNotFound
	}
	g, err := s.repo.Get(ctx, id)
	if err != nil {
		return nil, storeError(err, "read group "+id)
	}
	return tidy(g), nil
}

// List returns every group, ordered by name (then id).
func (s *Groups) List(ctx context.Context) ([]*Group, error) {
	groups, err := s.repo.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	if groups == nil {
		groups = []*Group{} // shown as an empty list, never null
	}
	for _, g := range groups {
		tidy(g)
	}
	// Sorted here, not by the database: collations differ between
	// engines, and the order must not.
	slices.SortFunc(groups, func(a, b *Group) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return groups, nil
}

// Update applies ch to a group (a new name, a new set of members, or
// both, in one write) and returns the group as it then is. A change with
// neither is refused (ErrGroupNotFound first, if there is no such group).
func (s *Groups) Update(ctx context.Context, id string, ch GroupChange) (*Group, error) {
	if !ValidGroupID(id) {
		return nil, ErrGroupNotFound
	}
	if ch.Name == nil && ch.Members == nil {
		// A group that does not exist is that, whatever the change.
		if _, err := s.Get(ctx, id); err != nil {
			return nil, err
		}
		return nil, invalid(errors.New("give a new name, new members, or both"))
	}
	if ch.Name != nil {
		name, err := normalizeName(*ch.Name)
		if err != nil {
			return nil, invalid(err)
		}
		ch.Name = &name
	}
	if ch.Members != nil {
		ms, err := normalizeMembers(*ch.Members)
		if err != nil {
			return nil, invalid(err)
		}
		ch.Members = &ms
	}
	g, err := s.repo.Update(ctx, id, ch, s.now())
	if err != nil {
		return nil, storeError(err, "update group "+id)
	}
	return tidy(g), nil
}

// Rename gives a group a new name.
func (s *Groups) Rename(ctx context.Context, id, name string) (*Group, error) {
	return s.Update(ctx, id, GroupChange{Name: &name})
}

// SetMembers replaces a group's members by members.
func (s *Groups) SetMembers(ctx context.Context, id string, members []string) (*Group, error) {
	return s.Update(ctx, id, GroupChange{Members: &members})
}

// Delete removes a group; its members stay, without it.
func (s *Groups) Delete(ctx context.Context, id string) error {
	if !ValidGroupID(id) {
		return ErrGroupNotFound
	}
	if err := s.repo.Delete(ctx, id); err != nil {
		return storeError(err, "delete group "+id)
	}
	return nil
}

// tidy makes g's members a sorted, non-nil list.
func tidy(g *Group) *Group {
	if g.Members == nil {
		g.Members = []string{}
	}
	slices.Sort(g.Members)
	return g
}
