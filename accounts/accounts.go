// Package accounts keeps CS accounts (the people who answer customers):
// who they are, the phone number they log in with, their role and extra
// permissions, what they serve and their status. It validates and
// normalizes them and stores them through a Repository, the system of
// record. A phone number belongs to at most one account; the database
// enforces that atomically.
package accounts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"switchboard/clock"
)

// Statuses of an account.
const (
	StatusActive   = "active"
	StatusDisabled = "disabled"
)

// User is a CS account.
type User struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Phone string `json:"phone"` // E.164, e.g. +5511912345678
	Email string `json:"email,omitempty"`
	Role  string `json:"role"`
	// Grants are permissions given to this user on top of the role.
	Grants []string `json:"grants,omitempty"`
	// Groups are the agent groups the user belongs to (see Group).
	Groups []string `json:"groups,omitempty"`
	// QueryTypes are the query types routing gives the user, besides
	// those the settings give the user's groups or name the user for.
	QueryTypes []string `json:"query_types,omitempty"`
	// Channels, if set, limits the channels whose customers routing gives
	// the user.
	Channels  []string  `json:"channels,omitempty"`
	Capacity  int       `json:"capacity"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Errors callers tell apart.
var (
	ErrNotFound       = errors.New("user not found")
	ErrPhoneTaken     = errors.New("phone number already belongs to another user")
	ErrInvalidPhone   = errors.New("invalid phone number: want E.164, like +5511912345678")
	ErrInvalidAccount = errors.New("invalid user")
	ErrUnknownGroup   = errors.New("no such agent group")
)

// NormalizePhone turns a phone number as people type it ("+55 (11)
// 91234-5678") into E.164 ("+5511912345678"). The country code is
// required: Switchboard serves teams across countries and cannot guess.
func NormalizePhone(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "+") {
		return "", ErrInvalidPhone
	}
	var b strings.Builder
	b.WriteByte('+')
	for _, r := range s[1:] {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')' || r == '.':
		default:
			return "", ErrInvalidPhone
		}
	}
	out := b.String()
	// E.164: at most 15 digits; no country code starts with 0.
	if n := len(out) - 1; n < 8 || n > 15 || out[1] == '0' {
		return "", ErrInvalidPhone
	}
	return out, nil
}

// MaskPhone keeps the country code area and the last two digits, for logs
// and the audit trail: +55*********78.
func MaskPhone(phone string) string {
	if len(phone) < 6 {
		return "***"
	}
	return phone[:3] + strings.Repeat("*", len(phone)-5) + phone[len(phone)-2:]
}

// Repository is what the accounts need stored. Package repository
// implements it on PostgreSQL and SQLite; tests wrap it to inject faults.
// Users come and go whole: validation and defaults are the Store's, so a
// Repository only keeps what it is given.
type Repository interface {
	// Insert stores a new user, or fails with ErrPhoneTaken when another
	// user has its phone number, decided by the database in the same
	// statement so two creations cannot both take one number.
	Insert(ctx context.Context, u *User) error
	// Get returns the user with that id, or ErrNotFound.
	Get(ctx context.Context, id string) (*User, error)
	// ByPhone returns the user with that E.164 phone number, or
	// ErrNotFound. It must do the same work whether or not the number has
	// a user (one indexed lookup), for the login's sake.
	ByPhone(ctx context.Context, phone string) (*User, error)
	// List returns every user, in no particular order.
	List(ctx context.Context) ([]*User, error)
	// Update replaces the stored user with u's id by u (its created time
	// included), or fails with ErrNotFound, or with ErrPhoneTaken when u's
	// phone number belongs to another user. u.Groups nil leaves the
	// memberships as they are; otherwise (empty too) they become u.Groups.
	Update(ctx context.Context, u *User) error
	// Delete removes the user with that id, or fails with ErrNotFound.
	Delete(ctx context.Context, id string) error
}

// Store keeps CS accounts: it validates and normalizes them and stores
// them through a Repository.
type Store struct {
	repo  Repository
	clock clock.Clock
	// ValidRole reports whether a role name exists (built in or custom);
	// an error means it could not tell.
	ValidRole func(ctx context.Context, role string) (bool, error)
}

// NewStore returns a store over repo. validRole checks role names on
// create/update.
func NewStore(repo Repository, clk clock.Clock, validRole func(ctx context.Context, role string) (bool, error)) *Store {
	return &Store{repo: repo, clock: clk, ValidRole: validRole}
}

// now is the store's time at the database's precision (milliseconds), so
// a user returned by Create or Update is the user Get reads back.
func (s *Store) now() time.Time { return s.clock.Now().UTC().Truncate(time.Millisecond) }

// validate normalizes and checks u in place. old is the stored user u
// replaces (nil for a new one): a list left as it was is not checked
// again, so an account stored before a rule existed can still be
// disabled or edited otherwise.
func (s *Store) validate(ctx context.Context, u *User, old *User) error {
	var errs []error
	u.Name = strings.TrimSpace(u.Name)
	if u.Name == "" || len(u.Name) > 200 {
		errs = append(errs, errors.New("name: required, at most 200 characters"))
	}
	phone, err := NormalizePhone(u.Phone)
	if err != nil {
		errs = append(errs, fmt.Errorf("phone: %w", err))
	}
	u.Phone = phone
	if u.Email != "" && (!strings.Contains(u.Email, "@") || len(u.Email) > 254) {
		errs = append(errs, errors.New("email: not an email address"))
	}
	if s.ValidRole != nil {
		ok, err := s.ValidRole(ctx, u.Role)
		if err != nil {
			// Not a validation error: the user's role may well exist.
			return fmt.Errorf("check role: %w", err)
		}
		if !ok {
			errs = append(errs, fmt.Errorf("role: unknown role %q", u.Role))
		}
	}
	if u.Capacity == 0 {
		u.Capacity = 5
	}
	if u.Capacity < 0 || u.Capacity > 1000 {
		errs = append(errs, errors.New("capacity: must be between 1 and 1000"))
	}
	if u.Status == "" {
		u.Status = StatusActive
	}
	if u.Status != StatusActive && u.Status != StatusDisabled {
		errs = append(errs, fmt.Errorf("status: must be active or disabled, got %q", u.Status))
	}
	slices.Sort(u.Grants)
	u.Grants = slices.Compact(u.Grants)
	was := old
	if was == nil {
		was = &User{}
	}
	for _, l := range []struct {
		key  string
		list *[]string
		was  []string
	}{{"groups", &u.Groups, was.Groups}, {"query_types", &u.QueryTypes, was.QueryTypes}, {"channels", &u.Channels, was.Channels}} {
		*l.list = tidyList(*l.list)
		if old != nil && slices.Equal(*l.list, l.was) {
			continue
		}
		for i, v := range *l.list {
			if !listItem.MatchString(v) {
				errs = append(errs, fmt.Errorf("%s[%d]: want lower-case letters, digits, '-' or '_', got %q", l.key, i, v))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidAccount, err)
	}
	return nil
}

// Create validates and stores a new user, returning it with its id.
func (s *Store) Create(ctx context.Context, u User) (*User, error) {
	if err := s.validate(ctx, &u, nil); err != nil {
		return nil, err
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("user id: %w", err)
	}
	u.ID = "u_" + hex.EncodeToString(rnd[:])
	u.CreatedAt = s.now()
	u.UpdatedAt = u.CreatedAt
	if err := s.repo.Insert(ctx, &u); err != nil {
		return nil, repoError(err, "create user")
	}
	return &u, nil
}

// tidyList is a list as stored: sorted, each item once. Nil stays nil
// and empty stays empty: for Groups they differ (unchanged, none).
func tidyList(l []string) []string {
	if len(l) == 0 {
		return l
	}
	return slices.Compact(slices.Sorted(slices.Values(l)))
}

// listItem is the shape of a group, query type or channel id an account
// lists (ids as the settings document and the groups API make them).
var listItem = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// idFormat is what Create makes: "u_" and 16 hex digits.
var idFormat = regexp.MustCompile(`^u_[0-9a-f]{16}$`)

// ValidID reports whether id is shaped like a user id. Ids still become
// part of Redis keys (sessions, presence, routing load): one like
// "tokens:u_..." would name another key, so anything else is refused
// before it gets there.
func ValidID(id string) bool { return idFormat.MatchString(id) }

// Get reads a user by id. A malformed id is ErrNotFound: no user has it.
func (s *Store) Get(ctx context.Context, id string) (*User, error) {
	if !ValidID(id) {
		return nil, ErrNotFound
	}
	u, err := s.repo.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("read user %s: %w", id, err)
	}
	return u, nil
}

// ByPhone finds the user with that (normalized) phone number. The lookup
// is one indexed query whether or not the number has an account, so the
// login, which must answer alike for both, cannot be timed to tell them
// apart.
func (s *Store) ByPhone(ctx context.Context, phone string) (*User, error) {
	u, err := s.repo.ByPhone(ctx, phone)
	if err != nil {
		// The number stays out of the error: errors end up in logs.
		return nil, fmt.Errorf("look up phone %s: %w", MaskPhone(phone), err)
	}
	return u, nil
}

// List returns every user, ordered by name (then id).
func (s *Store) List(ctx context.Context) ([]*User, error) {
	users, err := s.repo.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	if users == nil {
		users = []*User{} // shown as an empty list, never null
	}
	// Sorted here, not by the database: collations differ between
	// engines, and the order must not.
	slices.SortFunc(users, func(a, b *User) int { return strings.Compare(a.Name+a.ID, b.Name+b.ID) })
	return users, nil
}

// Update replaces a user's fields with u's (id and created time kept).
func (s *Store) Update(ctx context.Context, u User) (*User, error) {
	old, err := s.Get(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	// Memberships change only when the caller changed them: a user read
	// before a coordinator added them to a group, and written back for
	// another field, must not take them out of it again.
	if u.Groups != nil && slices.Equal(tidyList(u.Groups), old.Groups) {
		u.Groups = nil
	}
	if err := s.validate(ctx, &u, old); err != nil {
		return nil, err
	}
	u.CreatedAt = old.CreatedAt
	u.UpdatedAt = s.now()
	if err := s.repo.Update(ctx, &u); err != nil {
		return nil, repoError(err, "update user "+u.ID)
	}
	if u.Groups == nil {
		u.Groups = old.Groups
	}
	return &u, nil
}

// repoError is what Create and Update return for a repository's error:
// a group no agent group has is the caller's mistake (ErrInvalidAccount,
// naming the group), anything else gets what context.
func repoError(err error, what string) error {
	if errors.Is(err, ErrUnknownGroup) {
		return fmt.Errorf("%w: groups: %w", ErrInvalidAccount, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// Revoker ends every session of a user; auth.Login is one.
type Revoker interface {
	RevokeAll(ctx context.Context, userID string) error
}

// Disable stops a user's access and marks them disabled. Their tokens are
// revoked first, so a failure midway leaves at worst an active user
// without sessions (who logs in again), never a disabled one with live
// tokens; they are revoked once more after, for a login that finished in
// between. The CLI and the API both disable through here.
func (s *Store) Disable(ctx context.Context, id string, tokens Revoker) (*User, error) {
	if _, err := s.Get(ctx, id); err != nil {
		return nil, err
	}
	if err := tokens.RevokeAll(ctx, id); err != nil {
		return nil, fmt.Errorf("disable %s: %w", id, err)
	}
	u, err := s.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	u.Status, u.Groups = StatusDisabled, nil // memberships as they are
	updated, err := s.Update(ctx, *u)
	if err != nil {
		return nil, fmt.Errorf("disable %s: %w", id, err)
	}
	if err := tokens.RevokeAll(ctx, id); err != nil {
		return nil, fmt.Errorf("disable %s: %w", id, err)
	}
	return updated, nil
}

// Enable makes a disabled user active again, so they can log in with a
// new code; the sessions Disable revoked stay revoked. It reports whether
// anything changed: enabling an active user leaves them as they are (not
// even UpdatedAt moves), so a repeated request is harmless.
func (s *Store) Enable(ctx context.Context, id string) (*User, bool, error) {
	u, err := s.Get(ctx, id)
	if err != nil {
		return nil, false, err
	}
	if u.Status == StatusActive {
		return u, false, nil
	}
	u.Status, u.Groups = StatusActive, nil // memberships as they are
	updated, err := s.Update(ctx, *u)
	if err != nil {
		return nil, false, fmt.Errorf("enable %s: %w", id, err)
	}
	return updated, true, nil
}

// Delete revokes a user's sessions, then removes the user (and revokes
// again, for a login that finished in between), in the order Disable
// explains. The CLI and the API both delete through here.
func (s *Store) Delete(ctx context.Context, id string, tokens Revoker) error {
	u, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	if err := tokens.RevokeAll(ctx, id); err != nil {
		return fmt.Errorf("delete %s: %w", id, err)
	}
	if err := s.repo.Delete(ctx, u.ID); err != nil {
		return fmt.Errorf("delete %s: %w", id, err)
	}
	if err := tokens.RevokeAll(ctx, id); err != nil {
		return fmt.Errorf("delete %s: %w", id, err)
	}
	return nil
}
