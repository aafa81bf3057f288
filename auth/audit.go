package auth

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/clock"
)

// keyAudit is the audit log: a Redis stream capped near auditMaxLen entries.
const (
	keyAudit    = "{sb}:audit"
	auditMaxLen = 100_000
)

// Entry is one audited event. Phone numbers in it are masked.
type Entry struct {
	At      time.Time `json:"at"`
	Actor   string    `json:"actor,omitempty"` // user id, if known
	Action  string    `json:"action"`          // login, login.failed, user.create, ...
	Outcome string    `json:"outcome,omitempty"`
	Target  string    `json:"target,omitempty"` // a user id, a role name, a masked phone
	IP      string    `json:"ip,omitempty"`
}

// Audit records who did what, when and from where.
type Audit struct {
	rdb    redis.UniversalClient
	clock  clock.Clock
	logger *slog.Logger
}

// NewAudit returns the audit log over rdb.
func NewAudit(rdb redis.UniversalClient, clk clock.Clock, logger *slog.Logger) *Audit {
	return &Audit{rdb: rdb, clock: clk, logger: logger}
}

// Record appends an entry. A failure is logged, not returned: the audited
// action has already happened.
func (a *Audit) Record(ctx context.Context, e Entry) {
	if a == nil {
		return
	}
	if e.At.IsZero() {
		e.At = a.clock.Now()
	}
	err := a.rdb.XAdd(ctx, &redis.XAddArgs{
		Stream: keyAudit, MaxLen: auditMaxLen, Approx: true,
		Values: []any{"at", e.At.UnixMilli(), "actor", e.Actor, "action", e.Action, "outcome", e.Outcome, "target", e.Target, "ip", e.IP},
	}).Err()
	if err != nil {
		a.logger.ErrorContext(ctx, "audit entry not recorded", "action", e.Action, "err", err)
	}
}

// Recent returns up to n entries, newest first.
func (a *Audit) Recent(ctx context.Context, n int64) ([]Entry, error) {
	msgs, err := a.rdb.XRevRangeN(ctx, keyAudit, "+", "-", n).Result()
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	out := make([]Entry, 0, len(msgs))
	for _, m := range msgs {
		s := func(k string) string { v, _ := m.Values[k].(string); return v }
		ms, _ := strconv.ParseInt(s("at"), 10, 64)
		out = append(out, Entry{At: time.UnixMilli(ms).UTC(), Actor: s("actor"), Action: s("action"), Outcome: s("outcome"), Target: s("target"), IP: s("ip")})
	}
	return out, nil
}
