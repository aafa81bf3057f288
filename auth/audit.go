package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"switchboard/clock"
)

// Entry is one audited event. Phone numbers in it are masked.
type Entry struct {
	// ID orders entries (the millisecond first) and is the cursor of the
	// page after it (AuditQuery.Before).
	ID      string    `json:"id"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor,omitempty"` // user id, if known
	Action  string    `json:"action"`          // login, login.failed, user.create, ...
	Outcome string    `json:"outcome,omitempty"`
	Target  string    `json:"target,omitempty"` // a user id, a role name, a masked phone
	IP      string    `json:"ip,omitempty"`
}

// AuditRepository is what Audit needs stored: the audit log. Package
// repository implements it on PostgreSQL and SQLite; tests wrap it to
// inject faults.
type AuditRepository interface {
	// Append stores e under id. Ids are unique and, for entries of one
	// millisecond from one process, in the order they were made.
	Append(ctx context.Context, id string, e Entry) error
	// Page returns the entries q selects, newest first (by time, then
	// id), at most q.Limit of them.
	Page(ctx context.Context, q AuditQuery) ([]Entry, error)
}

// AuditQuery selects a page of the audit log. Zero fields select all.
type AuditQuery struct {
	// Before is an entry's ID: only entries older than it.
	Before string
	// Limit caps the page (required, positive).
	Limit int
	// Action, Actor and Target match exactly.
	Action, Actor, Target string
	// Since and Until bound the entries' time: Since <= At < Until.
	Since, Until time.Time
}

// MaxAuditPage is the largest page GET /audit answers.
const MaxAuditPage = 500

// AuditIDTime is the time an entry id was made at, its leading
// millisecond; ok is false for what is not an entry id.
func AuditIDTime(id string) (time.Time, bool) {
	if len(id) != 28 {
		return time.Time{}, false
	}
	ms, err := strconv.ParseInt(id[:12], 16, 64)
	if err != nil || ms < 0 {
		return time.Time{}, false
	}
	if _, err := hex.DecodeString(id[12:]); err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms).UTC(), true
}

// Audit records who did what, when and from where.
type Audit struct {
	repo   AuditRepository
	clock  clock.Clock
	logger *slog.Logger
	// seq orders the entries this process makes within one millisecond.
	seq atomic.Uint32
}

// NewAudit returns the audit log over repo. A nil logger discards the
// warnings about entries that could not be recorded.
func NewAudit(repo AuditRepository, clk clock.Clock, logger *slog.Logger) *Audit {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Audit{repo: repo, clock: clk, logger: logger}
}

// recordTimeout bounds writing one entry: the action it records is done
// and its caller waits for the entry.
const recordTimeout = 5 * time.Second

// Record appends an entry. A failure is logged, not returned: the audited
// action has already happened.
func (a *Audit) Record(ctx context.Context, e Entry) {
	if a == nil {
		return
	}
	if e.At.IsZero() {
		e.At = a.clock.Now()
	}
	e.At = e.At.UTC().Truncate(time.Millisecond)
	id, err := a.newID(e.At)
	if err == nil {
		// The action happened even if its requester hung up since: the
		// entry is written all the same.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
		err = a.repo.Append(wctx, id, e)
		cancel()
	}
	if err != nil {
		a.logger.WarnContext(ctx, "audit entry not recorded", "action", e.Action, "err", err)
	}
}

// newID makes a time-ordered id: the millisecond, then this process's
// sequence (so entries of one millisecond keep their order), then random
// bits (so processes writing in the same millisecond do not collide).
// Every part has a fixed width, so ids sort as text.
func (a *Audit) newID(at time.Time) (string, error) {
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", fmt.Errorf("audit id: %w", err)
	}
	return fmt.Sprintf("%012x%08x%s", at.UnixMilli(), a.seq.Add(1), hex.EncodeToString(rnd[:])), nil
}

// Recent returns up to n entries, newest first.
func (a *Audit) Recent(ctx context.Context, n int64) ([]Entry, error) {
	return a.Page(ctx, AuditQuery{Limit: int(n)})
}

// Page returns the entries q selects, newest first.
func (a *Audit) Page(ctx context.Context, q AuditQuery) ([]Entry, error) {
	entries, err := a.repo.Page(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	return entries, nil
}
