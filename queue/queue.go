// Package queue is the durable hand-off between the gateway and the workers:
// the task types, their payloads, the queues they go to, and the enqueue
// operations. It is built on asynq (Redis).
//
// Deduplication rides on asynq's task id: an inbound message's task id is
// derived from its channel and provider message id, and asynq refuses a
// second task with the same id atomically (one Lua script) for as long as
// the first one is pending, running, or retained after completion. So a
// provider's redelivery inside the dedupe window never becomes a second
// task, and a redelivery after a failed enqueue is simply queued.
package queue

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"switchboard/channels"
	"switchboard/conversations"
)

// Task type names.
const (
	TypeInbound  = "inbound:message"
	TypeStatus   = "inbound:status"
	TypeOutbound = "outbound:text"
	// Routing timers: each re-checks the query's state when it fires, so a
	// stale timer does nothing.
	TypeSessionEnd = "routing:session_end"
	TypeNoReply    = "routing:no_reply"
	TypeRelease    = "routing:release"
	// TypeSLAFirstResponse and TypeSLAResolution fire at a
	// conversation's service-level due times.
	TypeSLAFirstResponse = "sla:first_response"
	TypeSLAResolution    = "sla:resolution"
	// TypeCSAT asks a closed conversation's satisfaction survey again
	// when asking it on the close failed.
	TypeCSAT = "csat:ask"
	// TypeDispatch hands waiting pool queries to an operator who came
	// online or got room.
	TypeDispatch = "routing:dispatch"
	// TypeReturn returns the unanswered queries of an operator who went
	// away or offline to their pools or the next operator.
	TypeReturn = "routing:return"
	// TypeRecheck re-checks routing's assignments after the staff changed:
	// a query whose assignee no longer serves it goes back to the pool.
	TypeRecheck = "routing:recheck"
	// TypePresenceCheck turns an online operator away when none of their
	// event streams has been alive for presence.away_after.
	TypePresenceCheck = "presence:check"
	// TypeOTP sends a login code.
	TypeOTP = "auth:otp"
	// TypeRetention applies message retention once per RetentionPeriod.
	TypeRetention = "maintenance:retention"
	// TypeOutbox queues the sends of outbound messages recorded while
	// queuing them failed, once per OutboxPeriod.
	TypeOutbox = "maintenance:outbox"
)

// RetentionPeriod is how often message retention runs.
const RetentionPeriod = 10 * time.Minute

// OutboxPeriod is how often the outbox sweep runs: an operator's reply
// recorded while Redis failed leaves within about a minute of its return.
const OutboxPeriod = time.Minute

// Queue names. Inbound customer messages come first; delivery statuses
// are informational and can wait behind everything else.
const (
	QueueInbound  = "inbound"
	QueueOutbound = "outbound"
	QueueStatus   = "status"
	QueueRouting  = "routing"
	// QueueOTP carries login codes: people are waiting for them.
	QueueOTP = "otp"
)

// Priorities are the worker's weighted queue priorities (see asynq.Config.Queues).
var Priorities = map[string]int{
	QueueOTP:      10,
	QueueInbound:  6,
	QueueRouting:  4,
	QueueOutbound: 3,
	QueueStatus:   1,
}

// Retry limits per task type. Inbound processing only fails while Redis is
// in trouble, so it keeps trying for a long time (asynq's exponential
// backoff makes 25 retries span days).
const (
	MaxRetryInbound  = 25
	MaxRetryOutbound = 10
	// A status can arrive before the send that it reports on is recorded;
	// a few quick retries cover that race, more would only chase statuses
	// of messages Switchboard never sent.
	MaxRetryStatus = 4
)

// ErrDuplicate is returned when a task with the same id was already queued
// inside the dedupe window: the provider redelivered.
var ErrDuplicate = errors.New("duplicate delivery")

// Outbound is the payload of an outbound-text task. It carries ids only: the
// text and the recipient stay in the store, not in the queue.
type Outbound struct {
	Channel   string `json:"channel"`
	QueryID   string `json:"query_id"`
	MessageID string `json:"message_id"`
}

// Client enqueues tasks.
type Client struct {
	asynq        *asynq.Client
	dedupeWindow time.Duration
	// held are the channels whose sends only their lease holder can make.
	held map[string]bool
	// otpKey keys login-code task ids, so an id says nothing about the
	// code or the phone. It is per process: a code is only ever queued,
	// and retried, by the process that issued it.
	otpKey []byte
}

// ChannelQueue is the queue of sends on a channel that only one process
// can make: the one holding the channel's connection (a linked WhatsApp
// device). Only that process's worker consumes it.
func ChannelQueue(channel string) string { return "channel:" + channel }

// HoldChannels routes the sends (outbound messages and login codes) of the
// named channels to their ChannelQueue. Call it before first use.
func (c *Client) HoldChannels(ids ...string) {
	if c.held == nil {
		c.held = map[string]bool{}
	}
	for _, id := range ids {
		c.held[id] = true
	}
}

// sendQueue is the queue a send on channel goes to.
func (c *Client) sendQueue(channel, shared string) string {
	if c.held[channel] {
		return ChannelQueue(channel)
	}
	return shared
}

// NewClient wraps an asynq client. dedupeWindow is how long a completed
// inbound task is retained so its id still refuses redeliveries.
func NewClient(c *asynq.Client, dedupeWindow time.Duration) *Client {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails
	return &Client{asynq: c, dedupeWindow: dedupeWindow, otpKey: key}
}

// EnqueueInbound durably queues one inbound message. It returns ErrDuplicate
// if the same channel and provider message id were queued inside the dedupe
// window.
func (c *Client) EnqueueInbound(ctx context.Context, m *channels.Inbound) error {
	payload, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode inbound task: %w", err)
	}
	return c.enqueue(ctx, asynq.NewTask(TypeInbound, payload),
		asynq.TaskID(taskID("in", m.Channel, m.ID)),
		asynq.Queue(QueueInbound),
		asynq.MaxRetry(MaxRetryInbound),
		asynq.Retention(c.dedupeWindow),
		asynq.Timeout(30*time.Second))
}

// EnqueueStatus durably queues one delivery status. The same status of the
// same message is queued once.
func (c *Client) EnqueueStatus(ctx context.Context, s *channels.Status) error {
	payload, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode status task: %w", err)
	}
	return c.enqueue(ctx, asynq.NewTask(TypeStatus, payload),
		asynq.TaskID(taskID("st", s.Channel, s.MessageID, s.Status)),
		asynq.Queue(QueueStatus),
		asynq.MaxRetry(MaxRetryStatus),
		asynq.Retention(c.dedupeWindow),
		asynq.Timeout(30*time.Second))
}

// EnqueueOutbound queues the send of an outbound message already recorded in
// the store. Enqueueing the same message twice sends it once.
func (c *Client) EnqueueOutbound(ctx context.Context, o Outbound) error {
	payload, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("encode outbound task: %w", err)
	}
	return c.enqueue(ctx, asynq.NewTask(TypeOutbound, payload),
		asynq.TaskID(taskID("out", o.Channel, o.MessageID)),
		asynq.Queue(c.sendQueue(o.Channel, QueueOutbound)),
		asynq.MaxRetry(MaxRetryOutbound),
		asynq.Retention(time.Hour),
		// A provider that hangs must not hold a worker for long.
		asynq.Timeout(time.Minute))
}

func (c *Client) enqueue(ctx context.Context, t *asynq.Task, opts ...asynq.Option) error {
	_, err := c.asynq.EnqueueContext(ctx, t, opts...)
	switch {
	case errors.Is(err, asynq.ErrTaskIDConflict):
		return ErrDuplicate
	case err != nil:
		return fmt.Errorf("enqueue %s: %w", t.Type(), err)
	}
	return nil
}

// taskID builds a task id from its parts. Provider ids are bounded in
// practice, but a long one is hashed so a key stays small.
func taskID(parts ...string) string {
	n := len(parts) - 1
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, p...)
	}
	if len(b) <= 200 {
		return string(b)
	}
	sum := sha256.Sum256(b)
	return parts[0] + ":h:" + hex.EncodeToString(sum[:])
}

// Timer is the payload of a routing timer task.
type Timer struct {
	QueryID string `json:"query_id"`
	// Key is what makes the timer unique: the cycle for a session end, the
	// routing version for a no-reply timeout, the opening time for a release.
	Key string `json:"key"`
}

// ScheduleTimer schedules a routing timer of type typ for at, never to
// run before it (notBefore). The same type, query and key are scheduled
// once; scheduling again is not an error.
func (c *Client) ScheduleTimer(ctx context.Context, typ string, t Timer, at time.Time) error {
	payload, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("encode timer: %w", err)
	}
	err = c.enqueue(ctx, asynq.NewTask(typ, payload),
		asynq.TaskID(taskID(typ, t.QueryID, t.Key)),
		asynq.Queue(QueueRouting),
		asynq.ProcessAt(notBefore(at)),
		asynq.MaxRetry(MaxRetryInbound),
		asynq.Retention(time.Hour),
		asynq.Timeout(30*time.Second))
	if errors.Is(err, ErrDuplicate) {
		return nil
	}
	return err
}

// notBefore is when to schedule a task due at at: at rounded up to the
// second. asynq keeps a scheduled task's time in whole seconds, cut
// down, so a task due at 12:00:00.700 would run from 12:00:00.000, find
// itself early, and schedule itself again under the id it still holds:
// refused as a duplicate, the timer would be lost (a session that never
// expires, a target miss never recorded).
func notBefore(at time.Time) time.Time {
	if t := at.Truncate(time.Second); t.Before(at) {
		return t.Add(time.Second)
	}
	return at
}

// EnqueueDispatch asks the workers to give operator the longest-waiting
// queries they can take. Call it when an operator comes online.
func (c *Client) EnqueueDispatch(ctx context.Context, operator string) error {
	payload, err := json.Marshal(Timer{QueryID: "-", Key: operator})
	if err != nil {
		return fmt.Errorf("encode dispatch: %w", err)
	}
	return c.enqueue(ctx, asynq.NewTask(TypeDispatch, payload),
		asynq.Queue(QueueRouting), asynq.MaxRetry(5), asynq.Timeout(time.Minute))
}

// EnqueueReturn asks the workers to return the unanswered queries of
// operator, who went away or offline.
func (c *Client) EnqueueReturn(ctx context.Context, operator string) error {
	payload, err := json.Marshal(Timer{QueryID: "-", Key: operator})
	if err != nil {
		return fmt.Errorf("encode return: %w", err)
	}
	return c.enqueue(ctx, asynq.NewTask(TypeReturn, payload),
		asynq.Queue(QueueRouting), asynq.MaxRetry(MaxRetryInbound), asynq.Timeout(time.Minute))
}

// EnqueueRecheck asks the workers to re-check routing's assignments
// under settings version settingsVersion and staff version staffVersion;
// one pair is re-checked once, whichever replica noticed it (asking again
// is not an error).
func (c *Client) EnqueueRecheck(ctx context.Context, settingsVersion, staffVersion int64) error {
	v := strconv.FormatInt(settingsVersion, 10) + "-" + strconv.FormatInt(staffVersion, 10)
	payload, err := json.Marshal(Timer{QueryID: "-", Key: v})
	if err != nil {
		return fmt.Errorf("encode recheck: %w", err)
	}
	err = c.enqueue(ctx, asynq.NewTask(TypeRecheck, payload), asynq.TaskID(taskID(TypeRecheck, v)),
		asynq.Queue(QueueRouting), asynq.MaxRetry(MaxRetryInbound), asynq.Timeout(5*time.Minute), asynq.Retention(time.Hour))
	if errors.Is(err, ErrDuplicate) {
		return nil
	}
	return err
}

// SchedulePresenceCheck schedules a presence check of account for at
// (the payload's Key is the account). One account's check of one second
// is scheduled once; scheduling again is not an error.
func (c *Client) SchedulePresenceCheck(ctx context.Context, account string, at time.Time) error {
	payload, err := json.Marshal(Timer{QueryID: "-", Key: account})
	if err != nil {
		return fmt.Errorf("encode presence check: %w", err)
	}
	err = c.enqueue(ctx, asynq.NewTask(TypePresenceCheck, payload),
		asynq.TaskID(taskID(TypePresenceCheck, account, strconv.FormatInt(at.Unix(), 10))),
		asynq.Queue(QueueRouting),
		asynq.ProcessAt(notBefore(at)),
		asynq.MaxRetry(MaxRetryInbound),
		// Every open stream's renewal schedules its account's next check
		// again, refused while that one waits; once run, a check need not
		// be remembered long (checks decide from Redis when they run, so
		// one run twice changes nothing), and an account's checks, one per
		// away_after, would otherwise pile up retained.
		asynq.Retention(time.Minute),
		asynq.Timeout(time.Minute))
	if errors.Is(err, ErrDuplicate) {
		return nil
	}
	return err
}

// OTP is the payload of a login-code task. It holds the code in clear
// until the code expires at the latest: the task expires with the code,
// and, once run, is retained only until then (see EnqueueOTP).
type OTP struct {
	Channel string `json:"channel"`
	Phone   string `json:"phone"`
	Code    string `json:"code"`
}

// EnqueueOTP queues a login code to be sent before expires. The same code
// (channel, phone, code and expiry) is queued once: a second enqueue, such
// as the retry of a try that timed out after it reached Redis, returns
// ErrDuplicate, so the person does not get, and pay for, the code twice.
func (c *Client) EnqueueOTP(ctx context.Context, o OTP, expires time.Time) error {
	payload, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("encode otp task: %w", err)
	}
	opts := []asynq.Option{
		asynq.TaskID(c.otpTaskID(o, expires)),
		asynq.Queue(c.sendQueue(o.Channel, QueueOTP)), asynq.MaxRetry(3), asynq.Deadline(expires),
	}
	// A sent code's task is kept until the code expires, so its id goes on
	// refusing a late retry; after that the code is useless anyway.
	if keep := time.Until(expires); keep > 0 {
		opts = append(opts, asynq.Retention(keep))
	}
	return c.enqueue(ctx, asynq.NewTask(TypeOTP, payload), opts...)
}

// otpTaskID identifies one issued code: an HMAC, under a key of this
// process, of everything that makes it, hex. Neither the code nor the
// phone can be read back from it, nor guessed from it without the key.
func (c *Client) otpTaskID(o OTP, expires time.Time) string {
	h := hmac.New(sha256.New, c.otpKey)
	for _, p := range []string{o.Channel, o.Phone, o.Code, strconv.FormatInt(expires.UnixMilli(), 10)} {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return "otp:" + hex.EncodeToString(h.Sum(nil))
}

// DecodeOTP decodes a login-code task payload.
func DecodeOTP(payload []byte) (*OTP, error) {
	var o OTP
	if err := json.Unmarshal(payload, &o); err != nil || o.Channel == "" || o.Phone == "" || o.Code == "" {
		return nil, fmt.Errorf("decode otp task: invalid payload")
	}
	return &o, nil
}

// DecodeTimer decodes a routing timer payload.
func DecodeTimer(payload []byte) (*Timer, error) {
	var t Timer
	if err := json.Unmarshal(payload, &t); err != nil || t.QueryID == "" {
		return nil, fmt.Errorf("decode timer: invalid payload")
	}
	return &t, nil
}

// DecodeInbound decodes an inbound-message task payload.
func DecodeInbound(payload []byte) (*channels.Inbound, error) {
	var m channels.Inbound
	if err := json.Unmarshal(payload, &m); err != nil {
		return nil, fmt.Errorf("decode inbound task: %w", err)
	}
	if m.Channel == "" || m.ID == "" || m.From == "" {
		return nil, fmt.Errorf("decode inbound task: channel, id and from are required")
	}
	return &m, nil
}

// DecodeStatus decodes a status task payload.
func DecodeStatus(payload []byte) (*channels.Status, error) {
	var s channels.Status
	if err := json.Unmarshal(payload, &s); err != nil {
		return nil, fmt.Errorf("decode status task: %w", err)
	}
	if s.Channel == "" || s.MessageID == "" {
		return nil, fmt.Errorf("decode status task: channel and message_id are required")
	}
	return &s, nil
}

// DecodeOutbound decodes an outbound task payload.
func DecodeOutbound(payload []byte) (*Outbound, error) {
	var o Outbound
	if err := json.Unmarshal(payload, &o); err != nil {
		return nil, fmt.Errorf("decode outbound task: %w", err)
	}
	if o.Channel == "" || o.QueryID == "" || o.MessageID == "" {
		return nil, fmt.Errorf("decode outbound task: channel, query_id and message_id are required")
	}
	return &o, nil
}

// EnqueueRetention queues the retention run of the period that holds now.
// Every worker process calls it each period; the task id, one per period,
// makes one run per period for the whole installation.
func (c *Client) EnqueueRetention(ctx context.Context, now time.Time) error {
	return c.enqueuePeriodic(ctx, TypeRetention, RetentionPeriod, QueueStatus, now)
}

// EnqueueOutbox queues the outbox sweep of now's period; like
// retention, once per period for the installation.
func (c *Client) EnqueueOutbox(ctx context.Context, now time.Time) error {
	return c.enqueuePeriodic(ctx, TypeOutbox, OutboxPeriod, QueueOutbound, now)
}

// enqueuePeriodic queues the run of typ for now's period on queue: the
// period in the task id makes one run per period, however many
// processes ask.
func (c *Client) enqueuePeriodic(ctx context.Context, typ string, period time.Duration, queue string, now time.Time) error {
	n := strconv.FormatInt(now.Unix()/int64(period/time.Second), 10)
	err := c.enqueue(ctx, asynq.NewTask(typ, nil),
		asynq.TaskID(taskID(typ, n)),
		asynq.Queue(queue),
		asynq.MaxRetry(3),
		asynq.Retention(period),
		asynq.Timeout(period))
	if errors.Is(err, ErrDuplicate) {
		return nil
	}
	return err
}

// Tasks schedules a conversations.Service's work on the queue.
type Tasks struct {
	Client *Client
	// Inspector cancels timers; nil leaves them to fire and do nothing.
	Inspector *asynq.Inspector
}

var _ conversations.Scheduler = Tasks{}

// EnqueueSend queues the send of a recorded outbound message; queued
// before is not an error.
func (t Tasks) EnqueueSend(ctx context.Context, channel, queryID, msgID string) error {
	err := t.Client.EnqueueOutbound(ctx, Outbound{Channel: channel, QueryID: queryID, MessageID: msgID})
	if errors.Is(err, ErrDuplicate) {
		return nil
	}
	return err
}

// RequeueSend queues the send of a recorded outbound message, reporting
// false when its task was there already (queued, running or retried).
func (t Tasks) RequeueSend(ctx context.Context, channel, queryID, msgID string) (bool, error) {
	err := t.Client.EnqueueOutbound(ctx, Outbound{Channel: channel, QueryID: queryID, MessageID: msgID})
	if errors.Is(err, ErrDuplicate) {
		return false, nil
	}
	return err == nil, err
}

// timerTypes maps the service's timer kinds to task types.
var timerTypes = map[string]string{
	conversations.TimerSessionEnd: TypeSessionEnd,
	conversations.TimerNoReply:    TypeNoReply,
	conversations.TimerRelease:    TypeRelease,
	// The targets' timers.
	conversations.TimerFirstResponse: TypeSLAFirstResponse,
	conversations.TimerResolution:    TypeSLAResolution,
	// A survey the close could not queue.
	conversations.TimerCSAT: TypeCSAT,
}

// ScheduleTimer schedules a routing timer task.
func (t Tasks) ScheduleTimer(ctx context.Context, kind, queryID, key string, at time.Time) error {
	typ, ok := timerTypes[kind]
	if !ok {
		return fmt.Errorf("schedule timer: unknown kind %q", kind)
	}
	return t.Client.ScheduleTimer(ctx, typ, Timer{QueryID: queryID, Key: key}, at)
}

// CancelTimer deletes a scheduled routing timer task, if it is still there.
func (t Tasks) CancelTimer(ctx context.Context, kind, queryID, key string) error {
	typ, ok := timerTypes[kind]
	if !ok {
		return fmt.Errorf("cancel timer: unknown kind %q", kind)
	}
	if t.Inspector == nil {
		return nil
	}
	err := t.Inspector.DeleteTask(QueueRouting, taskID(typ, queryID, key))
	if err != nil && !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) {
		return fmt.Errorf("cancel %s timer: %w", kind, err)
	}
	return nil
}

// EnqueueDispatch queues a dispatch to operator.
func (t Tasks) EnqueueDispatch(ctx context.Context, operator string) error {
	return t.Client.EnqueueDispatch(ctx, operator)
}

// EnqueueReturn queues the return of operator's unanswered queries.
func (t Tasks) EnqueueReturn(ctx context.Context, operator string) error {
	return t.Client.EnqueueReturn(ctx, operator)
}

// EnqueueRecheck queues the re-check of assignments for the versions.
func (t Tasks) EnqueueRecheck(ctx context.Context, settingsVersion, staffVersion int64) error {
	return t.Client.EnqueueRecheck(ctx, settingsVersion, staffVersion)
}

// SchedulePresenceCheck schedules a presence check of account for at.
func (t Tasks) SchedulePresenceCheck(ctx context.Context, account string, at time.Time) error {
	return t.Client.SchedulePresenceCheck(ctx, account, at)
}
