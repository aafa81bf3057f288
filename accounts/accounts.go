// Package accounts stores CS accounts (the people who answer customers) in
// Redis: who they are, the phone number they log in with, their role and
// extra permissions, what they serve and their status. A phone number
// belongs to at most one account; that is enforced atomically.
package accounts

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

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
	Grants     []string  `json:"grants,omitempty"`
	Groups     []string  `json:"groups,omitempty"`
	QueryTypes []string  `json:"query_types,omitempty"`
	Capacity   int       `json:"capacity"`
	Status     string    `json:"status"`
	Presence   string    `json:"presence"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Errors callers tell apart.
var (
	ErrNotFound       = errors.New("user not found")
	ErrPhoneTaken     = errors.New("phone number already belongs to another user")
	ErrInvalidPhone   = errors.New("invalid phone number: want E.164, like +5511912345678")
	ErrInvalidAccount = errors.New("invalid user")
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

const (
	keyUser  = "{sb}:user:"       // + id: JSON of the user
	keyPhone = "{sb}:user:phone:" // + E.164: user id
	keyAll   = "{sb}:users"       // set of user ids
)

// createScript creates a user only if the phone number is free.
// KEYS: phone index, user key, user set. ARGV: id, JSON.
var createScript = redis.NewScript(`
if redis.call("EXISTS", KEYS[1]) == 1 then return 0 end
redis.call("SET", KEYS[1], ARGV[1])
redis.call("SET", KEYS[2], ARGV[2])
redis.call("SADD", KEYS[3], ARGV[1])
return 1
`)

// updateScript replaces a user, moving the phone index if the number
// changed. KEYS: user key, old phone index, new phone index. ARGV: id, JSON.
var updateScript = redis.NewScript(`
if redis.call("EXISTS", KEYS[1]) == 0 then return -1 end
if KEYS[2] ~= KEYS[3] then
  if redis.call("EXISTS", KEYS[3]) == 1 then return 0 end
  redis.call("DEL", KEYS[2])
  redis.call("SET", KEYS[3], ARGV[1])
end
redis.call("SET", KEYS[1], ARGV[2])
return 1
`)

// deleteScript removes a user and its phone index. KEYS: user key, phone
// index, user set. ARGV: id.
var deleteScript = redis.NewScript(`
if redis.call("EXISTS", KEYS[1]) == 0 then return 0 end
redis.call("DEL", KEYS[1])
if redis.call("GET", KEYS[2]) == ARGV[1] then redis.call("DEL", KEYS[2]) end
redis.call("SREM", KEYS[3], ARGV[1])
return 1
`)

// Store keeps users in Redis.
type Store struct {
	rdb   redis.UniversalClient
	clock clock.Clock
	// ValidRole reports whether a role name exists (built in or custom);
	// an error means it could not tell.
	ValidRole func(ctx context.Context, role string) (bool, error)
}

// NewStore returns a store. validRole checks role names on create/update.
func NewStore(rdb redis.UniversalClient, clk clock.Clock, validRole func(ctx context.Context, role string) (bool, error)) *Store {
	return &Store{rdb: rdb, clock: clk, ValidRole: validRole}
}

// validate normalizes and checks u in place.
func (s *Store) validate(ctx context.Context, u *User) error {
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
	if u.Presence == "" {
		u.Presence = "offline"
	}
	slices.Sort(u.Grants)
	u.Grants = slices.Compact(u.Grants)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidAccount, err)
	}
	return nil
}

// Create validates and stores a new user, returning it with its id.
func (s *Store) Create(ctx context.Context, u User) (*User, error) {
	if err := s.validate(ctx, &u); err != nil {
		return nil, err
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, fmt.Errorf("user id: %w", err)
	}
	u.ID = "u_" + hex.EncodeToString(rnd[:])
	u.CreatedAt = s.clock.Now().UTC()
	u.UpdatedAt = u.CreatedAt
	raw, err := json.Marshal(u)
	if err != nil {
		return nil, fmt.Errorf("encode user: %w", err)
	}
	ok, err := createScript.Run(ctx, s.rdb, []string{keyPhone + u.Phone, keyUser + u.ID, keyAll}, u.ID, raw).Int()
	if err != nil {
		return nil, fmt.Errorf("create user: %w", err)
	}
	if ok == 0 {
		return nil, ErrPhoneTaken
	}
	return &u, nil
}

// idFormat is what Create makes: "u_" and 16 hex digits.
var idFormat = regexp.MustCompile(`^u_[0-9a-f]{16}$`)

// ValidID reports whether id is shaped like a user id. Ids become part of
// Redis keys: one like "phone:+55..." or "tokens:u_..." would name another
// key, so anything else is refused before it gets there.
func ValidID(id string) bool { return idFormat.MatchString(id) }

// Get reads a user by id. A malformed id is ErrNotFound: no user has it.
func (s *Store) Get(ctx context.Context, id string) (*User, error) {
	if !ValidID(id) {
		return nil, ErrNotFound
	}
	raw, err := s.rdb.Get(ctx, keyUser+id).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read user: %w", err)
	}
	var u User
	if err := json.Unmarshal(raw, &u); err != nil {
		return nil, fmt.Errorf("decode user %s: %w", id, err)
	}
	return &u, nil
}

// keyNoUser is read instead of a user when a phone number has none.
const keyNoUser = "{sb}:user:none"

// ByPhone finds the user with that (normalized) phone number. It makes the
// same two reads whether or not the number has an account, so the login,
// which must answer alike for both, cannot be timed to tell them apart.
func (s *Store) ByPhone(ctx context.Context, phone string) (*User, error) {
	id, err := s.rdb.Get(ctx, keyPhone+phone).Result()
	found := err == nil && ValidID(id)
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("look up phone: %w", err)
	}
	key := keyNoUser
	if found {
		key = keyUser + id
	}
	raw, err := s.rdb.Get(ctx, key).Bytes()
	if errors.Is(err, redis.Nil) || (err == nil && !found) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("read user: %w", err)
	}
	var u User
	if err := json.Unmarshal(raw, &u); err != nil {
		return nil, fmt.Errorf("decode user %s: %w", id, err)
	}
	return &u, nil
}

// List returns every user, ordered by name.
func (s *Store) List(ctx context.Context) ([]*User, error) {
	ids, err := s.rdb.SMembers(ctx, keyAll).Result()
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	users := make([]*User, 0, len(ids))
	for _, id := range ids {
		u, err := s.Get(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	slices.SortFunc(users, func(a, b *User) int { return strings.Compare(a.Name+a.ID, b.Name+b.ID) })
	return users, nil
}

// Update replaces a user's fields with u's (id and created time kept).
func (s *Store) Update(ctx context.Context, u User) (*User, error) {
	old, err := s.Get(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if err := s.validate(ctx, &u); err != nil {
		return nil, err
	}
	u.CreatedAt = old.CreatedAt
	u.UpdatedAt = s.clock.Now().UTC()
	raw, err := json.Marshal(u)
	if err != nil {
		return nil, fmt.Errorf("encode user: %w", err)
	}
	n, err := updateScript.Run(ctx, s.rdb, []string{keyUser + u.ID, keyPhone + old.Phone, keyPhone + u.Phone}, u.ID, raw).Int()
	if err != nil {
		return nil, fmt.Errorf("update user: %w", err)
	}
	switch n {
	case -1:
		return nil, ErrNotFound
	case 0:
		return nil, ErrPhoneTaken
	}
	return &u, nil
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
	u.Status = StatusDisabled
	updated, err := s.Update(ctx, *u)
	if err != nil {
		return nil, fmt.Errorf("disable %s: %w", id, err)
	}
	if err := tokens.RevokeAll(ctx, id); err != nil {
		return nil, fmt.Errorf("disable %s: %w", id, err)
	}
	return updated, nil
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
	n, err := deleteScript.Run(ctx, s.rdb, []string{keyUser + id, keyPhone + u.Phone, keyAll}, id).Int()
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	if err := tokens.RevokeAll(ctx, id); err != nil {
		return fmt.Errorf("delete %s: %w", id, err)
	}
	return nil
}
