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
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/accounts"
	"switchboard/clock"
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
	return &Login{rdb: rdb, users: o.Users, clock: o.Clock, secret: o.Secret, sessionTTL: o.SessionTTL,
		sender: o.Sender, audit: o.Audit, logger: o.Logger}, nil
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

// RequestCode sends a code to phone if it belongs to an active account. It
// returns the outcome for metrics and tests only: the caller must answer
// the same whatever it is, so nobody can learn which numbers have accounts.
func (l *Login) RequestCode(ctx context.Context, rawPhone, ip string) (string, error) {
	phone, err := accounts.NormalizePhone(rawPhone)
	pk := l.phoneKey(rawPhone)
	if err == nil {
		pk = l.phoneKey(phone)
	}
	// Limits first, for every number alike.
	limited, err2 := l.rateLimited(ctx, pk, ip)
	if err2 != nil {
		return "", err2
	}
	outcome := RequestSent
	var user *accounts.User
	switch {
	case limited:
		outcome = RequestRateLimited
	case err != nil:
		outcome = RequestUnknown
	default:
		user, err = l.users.ByPhone(ctx, phone)
		if errors.Is(err, accounts.ErrNotFound) || (err == nil && user.Status != accounts.StatusActive) {
			outcome = RequestUnknown
		} else if err != nil {
			return "", err
		}
	}
	l.observe("request", outcome)
	if outcome != RequestSent {
		// The same Redis work as a real code, so the answer takes as long.
		l.decoy(ctx)
		l.audit.Record(ctx, Entry{Action: "otp.request", Outcome: outcome, Target: accounts.MaskPhone(phone), IP: ip})
		return outcome, nil
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("generate code: %w", err)
	}
	code := fmt.Sprintf("%06d", n.Int64())
	expires := l.clock.Now().Add(CodeTTL)
	key := "{sb}:otp:code:" + pk
	pipe := l.rdb.TxPipeline()
	pipe.HSet(ctx, key, "hash", hex.EncodeToString(l.mac("code", phone, code)), "attempts", 0, "expires", expires.UnixMilli(), "user", user.ID)
	pipe.Expire(ctx, key, CodeTTL+time.Minute)
	pipe.Incr(ctx, "{sb}:otp:hour:"+pk)
	pipe.ExpireNX(ctx, "{sb}:otp:hour:"+pk, time.Hour)
	if _, err := pipe.Exec(ctx); err != nil {
		return "", fmt.Errorf("store code: %w", err)
	}
	if err := l.sender.SendCode(ctx, phone, code, expires); err != nil {
		// Not returned: an error here would answer differently for numbers
		// that have an account. The person asks again.
		l.logger.ErrorContext(ctx, "login code not queued", "user", user.ID, "err", err)
	}
	l.audit.Record(ctx, Entry{Actor: user.ID, Action: "otp.request", Outcome: outcome, Target: accounts.MaskPhone(phone), IP: ip})
	return outcome, nil
}

// decoy does what storing and queueing a code does to Redis, on a
// throwaway key.
func (l *Login) decoy(ctx context.Context) {
	pipe := l.rdb.TxPipeline()
	pipe.HSet(ctx, "{sb}:otp:decoy", "hash", strings.Repeat("0", 64), "attempts", 0, "expires", 0, "user", "")
	pipe.Expire(ctx, "{sb}:otp:decoy", time.Minute)
	pipe.Incr(ctx, "{sb}:otp:decoy:n")
	pipe.ExpireNX(ctx, "{sb}:otp:decoy:n", time.Minute)
	_, _ = pipe.Exec(ctx)
	_ = l.rdb.Exists(ctx, "{sb}:otp:decoy").Err()
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

// consumeScript deletes the code if its hash is still the one verified,
// so two correct verifications race to one token. KEYS: code key. ARGV: hash.
var consumeScript = redis.NewScript(`
if redis.call("HGET", KEYS[1], "hash") == ARGV[1] then
  redis.call("DEL", KEYS[1])
  return 1
end
return 0
`)

// failScript counts a wrong attempt and burns the code at the limit.
var failScript = redis.NewScript(`
local n = redis.call("HINCRBY", KEYS[1], "attempts", 1)
if n >= tonumber(ARGV[1]) then redis.call("DEL", KEYS[1]) end
return n
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
	h, err := l.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, "", fmt.Errorf("read code: %w", err)
	}
	outcome := VerifyOK
	exp, _ := strconv.ParseInt(h["expires"], 10, 64)
	attempts, _ := strconv.Atoi(h["attempts"])
	stored, _ := hex.DecodeString(h["hash"])
	switch {
	case len(h) == 0:
		outcome = VerifyExpired // never issued, used, burnt or gone
	case attempts >= MaxAttempts:
		outcome = VerifyLocked
	case !l.clock.Now().Before(time.UnixMilli(exp)):
		outcome = VerifyExpired
	case !hmac.Equal(stored, l.mac("code", phone, code)):
		outcome = VerifyWrong
		n, err := failScript.Run(ctx, l.rdb, []string{key}, MaxAttempts).Int()
		if err != nil {
			return nil, "", fmt.Errorf("count attempt: %w", err)
		}
		if n >= MaxAttempts {
			outcome = VerifyLocked
		}
	default:
		ok, err := consumeScript.Run(ctx, l.rdb, []string{key}, h["hash"]).Int()
		if err != nil {
			return nil, "", fmt.Errorf("consume code: %w", err)
		}
		if ok == 0 {
			outcome = VerifyExpired // used by a concurrent verification
		}
	}
	var user *accounts.User
	if outcome == VerifyOK {
		user, err = l.users.Get(ctx, h["user"])
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
