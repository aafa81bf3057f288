package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/accounts"
	"switchboard/clock"
	"switchboard/queue"
)

// Limits of the one-time-code login.
const (
	CodeTTL        = 5 * time.Minute
	MaxAttempts    = 5
	PhoneCooldown  = 30 * time.Second // one code per phone this often
	PhoneHourly    = 5                // codes per phone per hour
	IPHourly       = 20               // code requests per client IP per hour
	DefaultSession = 12 * time.Hour
)

// OTP request outcomes (switchboard_otp_requests_total).
const (
	RequestSent        = "sent"
	RequestUnknown     = "unknown_or_disabled"
	RequestRateLimited = "rate_limited"
)

// Verification outcomes (switchboard_otp_verifications_total).
const (
	VerifyOK      = "ok"
	VerifyWrong   = "wrong"
	VerifyExpired = "expired"
	VerifyLocked  = "locked"
)

// ErrCannotSend is wrapped by a CodeSender's error that no retry can
// cure (no login-code channel configured): the code is given up at once.
var ErrCannotSend = errors.New("login codes cannot be sent")

// CodeSender delivers a one-time code to a phone (through the queue).
type CodeSender interface {
	SendCode(ctx context.Context, phone, code string, expires time.Time) error
}

// Login issues one-time codes and bearer tokens.
type Login struct {
	rdb        redis.UniversalClient
	users      *accounts.Store
	clock      clock.Clock
	secret     []byte
	sessionTTL time.Duration
	sender     CodeSender
	audit      *Audit
	logger     *slog.Logger
	// Observe, if set, is told every request and verification outcome.
	Observe func(kind, outcome string)
	// sends tracks the codes being queued in the background; stop ends
	// their retries at shutdown.
	sends    sync.WaitGroup
	stop     chan struct{}
	stopOnce sync.Once
}

// LoginOptions configure Login.
type LoginOptions struct {
	Users      *accounts.Store
	Clock      clock.Clock
	Secret     []byte // keys the code hashes; at least 16 bytes
	SessionTTL time.Duration
	Sender     CodeSender
	Audit      *Audit
	Logger     *slog.Logger
}

// NewLogin returns the login service.
func NewLogin(rdb redis.UniversalClient, o LoginOptions) (*Login, error) {
	if len(o.Secret) < 16 {
		return nil, errors.New("auth secret: at least 16 bytes are required")
	}
	if o.SessionTTL == 0 {
		o.SessionTTL = DefaultSession
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Login{rdb: rdb, users: o.Users, clock: o.Clock, secret: o.Secret, sessionTTL: o.SessionTTL,
		sender: o.Sender, audit: o.Audit, logger: o.Logger, stop: make(chan struct{})}, nil
}

func (l *Login) observe(kind, outcome string) {
	if l.Observe != nil {
		l.Observe(kind, outcome)
	}
}

// mac keys a value with the server secret; codes and phone numbers in keys
// are stored only this way.
func (l *Login) mac(parts ...string) []byte {
	h := hmac.New(sha256.New, l.secret)
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum(nil)
}

func (l *Login) phoneKey(phone string) string { return hex.EncodeToString(l.mac("phone", phone)[:16]) }

// sendTimeout bounds one try at queueing a code in the background;
// sendRetryMin and sendRetryMax bound the wait between tries.
const (
	sendTimeout  = 10 * time.Second
	sendRetryMin = 250 * time.Millisecond
	sendRetryMax = 5 * time.Second
)

// RequestCode sends a code to phone if it belongs to an active account. It
// returns the outcome for metrics and tests only: the caller must answer
// the same whatever it is, so nobody can learn which numbers have accounts.
//
// Every request does the same work before it returns, whatever the
// number: the same Redis round trips (limits, one transaction storing a
// code, on a decoy key when none is sent), the same database work (one
// indexed lookup by phone, an audit entry), a code drawn and hashed. The one step only real codes take,
// queueing the code, runs in the background after the answer.
func (l *Login) RequestCode(ctx context.Context, rawPhone, ip string) (string, error) {
	phone, perr := accounts.NormalizePhone(rawPhone)
	pk := l.phoneKey(rawPhone)
	if perr == nil {
		pk = l.phoneKey(phone)
	}
	limited, err := l.rateLimited(ctx, pk, ip)
	if err != nil {
		return "", err
	}
	// Looked up even when limited or malformed ("" matches no account),
	// so no path is shorter than another.
	lookup := ""
	if perr == nil {
		lookup = phone
	}
	user, err := l.users.ByPhone(ctx, lookup)
	if err != nil && !errors.Is(err, accounts.ErrNotFound) {
		return "", err
	}
	outcome := RequestSent
	switch {
	case limited:
		outcome = RequestRateLimited
	case perr != nil, user == nil, user.Status != accounts.StatusActive:
		outcome = RequestUnknown
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("generate code: %w", err)
	}
	code := fmt.Sprintf("%06d", n.Int64())
	hash := hex.EncodeToString(l.mac("code", lookup, code))
	expires := l.clock.Now().Add(CodeTTL)
	// A code not sent goes to a decoy key, counted on a decoy counter.
	key, hourKey, userID := "{sb}:otp:decoy", "{sb}:otp:decoy:n", ""
	if outcome == RequestSent {
		key, hourKey, userID = "{sb}:otp:code:"+pk, "{sb}:otp:hour:"+pk, user.ID
	}
	pipe := l.rdb.TxPipeline()
	pipe.HSet(ctx, key, "hash", hash, "attempts", 0, "expires", expires.UnixMilli(), "user", userID)
	pipe.Expire(ctx, key, CodeTTL+time.Minute)
	pipe.Incr(ctx, hourKey)
	pipe.ExpireNX(ctx, hourKey, time.Hour)
	if _, err := pipe.Exec(ctx); err != nil {
		return "", fmt.Errorf("store code: %w", err)
	}
	l.observe("request", outcome)
	l.audit.Record(ctx, Entry{Actor: userID, Action: "otp.request", Outcome: outcome, Target: accounts.MaskPhone(phone), IP: ip})
	if outcome == RequestSent {
		l.sendLater(ctx, userID, phone, code, expires)
	}
	return outcome, nil
}

// sendLater queues the code without holding up the answer, which must not
// take longer for numbers that have an account. Queueing is retried with
// backoff until the code would expire (a Redis blip must not cost the
// person their code); only then is the failure given up, and logged.
//
// A try that timed out may still have queued the code, so a retry can
// find it queued already (queue.ErrDuplicate): that is a success, the
// sender queuing the same code once whatever the tries.
func (l *Login) sendLater(ctx context.Context, userID, phone, code string, expires time.Time) {
	// The code's life is measured on l.clock, as its expiry was.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), expires.Sub(l.clock.Now()))
	l.sends.Add(1)
	go func() {
		defer l.sends.Done()
		defer cancel()
		backoff := sendRetryMin
		for {
			try, done := context.WithTimeout(ctx, sendTimeout)
			err := l.sender.SendCode(try, phone, code, expires)
			done()
			if err == nil || errors.Is(err, queue.ErrDuplicate) {
				return
			}
			if errors.Is(err, ErrCannotSend) {
				l.logger.ErrorContext(ctx, "login code not queued", "user", userID, "err", err)
				return
			}
			select {
			case <-ctx.Done():
				l.logger.ErrorContext(ctx, "login code not queued before it expired", "user", userID, "err", err)
				return
			case <-l.stop:
				l.logger.ErrorContext(ctx, "login code not queued before shutdown", "user", userID, "err", err)
				return
			case <-time.After(backoff):
			}
			l.logger.WarnContext(ctx, "login code not queued yet; retrying", "user", userID, "err", err)
			backoff = min(2*backoff, sendRetryMax)
		}
	}()
}

// Wait returns once the codes being queued in the background are queued
// (or failed). Call it on shutdown, after the HTTP server has stopped.
func (l *Login) Wait() { l.sends.Wait() }

// Close stops retrying codes that could not be queued and waits for the
// tries in flight. Call it on shutdown, after the HTTP server has stopped
// and before Redis is closed.
func (l *Login) Close() {
	l.stopOnce.Do(func() { close(l.stop) })
	l.sends.Wait()
}

// rateLimited counts this request against the phone's and the IP's limits.
func (l *Login) rateLimited(ctx context.Context, pk, ip string) (bool, error) {
	pipe := l.rdb.TxPipeline()
	cool := pipe.SetNX(ctx, "{sb}:otp:cool:"+pk, 1, PhoneCooldown)
	hour := pipe.Get(ctx, "{sb}:otp:hour:"+pk) // counted when a code is issued
	ipHour := pipe.Incr(ctx, "{sb}:otp:ip:"+ip)
	pipe.ExpireNX(ctx, "{sb}:otp:ip:"+ip, time.Hour)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return false, fmt.Errorf("rate limit: %w", err)
	}
	sent, _ := strconv.Atoi(hour.Val())
	return !cool.Val() || sent >= PhoneHourly || ipHour.Val() > IPHourly, nil
}

// verifyScript checks a code and counts the attempt in one atomic step, so
// concurrent guesses cannot all read the same attempt count before any of
// them is counted: at most MaxAttempts guesses are ever compared per code.
// A right code is deleted in the same step, so it yields one token; the
// wrong guess that reaches the limit burns the code.
// KEYS: code key. ARGV: hash of the guess, MaxAttempts, now (Unix ms).
// It returns {outcome, user id}.
//
// The comparison walks every byte of the hashes whatever differs, so its
// time does not say where they differ.
var verifyScript = redis.NewScript(`
local h = redis.call("HMGET", KEYS[1], "hash", "attempts", "expires", "user")
if not h[1] then return {"expired", ""} end
local max = tonumber(ARGV[2])
if (tonumber(h[2]) or 0) >= max then return {"locked", ""} end
if tonumber(ARGV[3]) >= (tonumber(h[3]) or 0) then return {"expired", ""} end
local a, b = h[1], ARGV[1]
local diff = 0
if #a ~= #b then diff = 1 end
for i = 1, math.min(#a, #b) do
  if string.byte(a, i) ~= string.byte(b, i) then diff = 1 end
end
if diff == 0 then
  redis.call("DEL", KEYS[1])
  return {"ok", h[4] or ""}
end
local n = redis.call("HINCRBY", KEYS[1], "attempts", 1)
if n >= max then
  redis.call("DEL", KEYS[1])
  return {"locked", ""}
end
return {"wrong", ""}
`)

// Session is an issued bearer token.
type Session struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	UserID    string    `json:"-"`
}

// ErrLoginFailed is every verification failure, as the caller sees it.
var ErrLoginFailed = errors.New("invalid or expired code")

// Verify checks a code and, if right, returns a new session. A code works
// once; five wrong tries burn it.
func (l *Login) Verify(ctx context.Context, rawPhone, code, ip string) (*Session, string, error) {
	phone, err := accounts.NormalizePhone(rawPhone)
	if err != nil {
		l.observe("verify", VerifyWrong)
		return nil, VerifyWrong, ErrLoginFailed
	}
	key := "{sb}:otp:code:" + l.phoneKey(phone)
	guess := hex.EncodeToString(l.mac("code", phone, code))
	res, err := verifyScript.Run(ctx, l.rdb, []string{key}, guess, MaxAttempts, l.clock.Now().UnixMilli()).StringSlice()
	if err != nil {
		return nil, "", fmt.Errorf("verify code: %w", err)
	}
	if len(res) != 2 {
		return nil, "", fmt.Errorf("verify code: unexpected reply %q", res)
	}
	outcome, userID := res[0], res[1]
	var user *accounts.User
	if outcome == VerifyOK {
		user, err = l.users.Get(ctx, userID)
		if err != nil && !errors.Is(err, accounts.ErrNotFound) {
			return nil, "", fmt.Errorf("read user: %w", err)
		}
		if err != nil || user.Status != accounts.StatusActive || user.Phone != phone {
			outcome = VerifyWrong
		}
	}
	l.observe("verify", outcome)
	action := "login.failed"
	switch outcome {
	case VerifyOK:
		action = "login"
	case VerifyLocked:
		action = "login.locked"
	}
	actor := ""
	if user != nil {
		actor = user.ID
	}
	l.audit.Record(ctx, Entry{Actor: actor, Action: action, Outcome: outcome, Target: accounts.MaskPhone(phone), IP: ip})
	if outcome != VerifyOK {
		return nil, outcome, ErrLoginFailed
	}
	s, err := l.issue(ctx, user.ID)
	return s, outcome, err
}

const (
	keyToken       = "{sb}:token:"       // + sha256(token): user id and expiry
	keyUserTokens  = "{sb}:user:tokens:" // + user id: set of token hashes
	keySessionsAll = "{sb}:sessions"     // zset token hash -> expiry, for the gauge
)

func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

type tokenRecord struct {
	UserID  string `json:"user_id"`
	Expires int64  `json:"expires"`
}

// issue creates a 256-bit random bearer token, stored only as its hash.
func (l *Login) issue(ctx context.Context, userID string) (*Session, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(b[:])
	th := tokenHash(token)
	exp := l.clock.Now().Add(l.sessionTTL)
	raw, _ := json.Marshal(tokenRecord{UserID: userID, Expires: exp.UnixMilli()})
	pipe := l.rdb.TxPipeline()
	pipe.Set(ctx, keyToken+th, raw, l.sessionTTL)
	pipe.SAdd(ctx, keyUserTokens+userID, th)
	pipe.ZAdd(ctx, keySessionsAll, redis.Z{Score: float64(exp.UnixMilli()), Member: th})
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("store session: %w", err)
	}
	return &Session{Token: token, ExpiresAt: exp.UTC(), UserID: userID}, nil
}

// CSRFToken returns the token a browser session must echo in the
// X-CSRF-Token header of every state-changing request. It is derived from
// the session token with the server secret, so it needs no storage of its
// own, ends with the session, and cannot be computed by a page that can
// send the session cookie but never read it.
func (l *Login) CSRFToken(token string) string {
	return base64.RawURLEncoding.EncodeToString(l.mac("csrf", tokenHash(token)))
}

// CheckCSRF reports whether got is the CSRF token of the session token,
// compared in constant time so its timing says nothing about the right one.
func (l *Login) CheckCSRF(token, got string) bool {
	return got != "" && hmac.Equal([]byte(l.CSRFToken(token)), []byte(got))
}

// ErrInvalidToken is every reason a bearer token is refused.
var ErrInvalidToken = errors.New("invalid or expired token")

// Authenticate returns the active user a bearer token belongs to.
func (l *Login) Authenticate(ctx context.Context, token string) (*accounts.User, error) {
	if token == "" || len(token) > 100 {
		return nil, ErrInvalidToken
	}
	raw, err := l.rdb.Get(ctx, keyToken+tokenHash(token)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	var rec tokenRecord
	if err := json.Unmarshal(raw, &rec); err != nil || !l.clock.Now().Before(time.UnixMilli(rec.Expires)) {
		return nil, ErrInvalidToken
	}
	u, err := l.users.Get(ctx, rec.UserID)
	if errors.Is(err, accounts.ErrNotFound) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, err
	}
	if u.Status != accounts.StatusActive {
		return nil, ErrInvalidToken
	}
	return u, nil
}

// RevocationsChannel is the Redis pub/sub channel a user's id is published
// on when one of their tokens is revoked (logout, disable, delete), so open
// event streams re-check their token at once instead of at their next
// periodic check.
const RevocationsChannel = "{sb}:revoked"

// Logout revokes one token.
func (l *Login) Logout(ctx context.Context, token string) error {
	th := tokenHash(token)
	raw, err := l.rdb.Get(ctx, keyToken+th).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read session: %w", err)
	}
	var rec tokenRecord
	_ = json.Unmarshal(raw, &rec)
	pipe := l.rdb.TxPipeline()
	pipe.Del(ctx, keyToken+th)
	pipe.SRem(ctx, keyUserTokens+rec.UserID, th)
	pipe.ZRem(ctx, keySessionsAll, th)
	if rec.UserID != "" {
		pipe.Publish(ctx, RevocationsChannel, rec.UserID)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return nil
}

// RevokeAll revokes every token of a user (on disable or delete).
func (l *Login) RevokeAll(ctx context.Context, userID string) error {
	hashes, err := l.rdb.SMembers(ctx, keyUserTokens+userID).Result()
	if err != nil {
		return fmt.Errorf("list sessions: %w", err)
	}
	pipe := l.rdb.TxPipeline()
	for _, th := range hashes {
		pipe.Del(ctx, keyToken+th)
		pipe.ZRem(ctx, keySessionsAll, th)
	}
	pipe.Del(ctx, keyUserTokens+userID)
	pipe.Publish(ctx, RevocationsChannel, userID)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("revoke sessions: %w", err)
	}
	return nil
}

// ActiveSessions counts unexpired sessions.
func (l *Login) ActiveSessions(ctx context.Context) (int64, error) {
	now := strconv.FormatInt(l.clock.Now().UnixMilli(), 10)
	pipe := l.rdb.Pipeline()
	pipe.ZRemRangeByScore(ctx, keySessionsAll, "-inf", "("+now)
	n := pipe.ZCard(ctx, keySessionsAll)
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("count sessions: %w", err)
	}
	return n.Val(), nil
}
