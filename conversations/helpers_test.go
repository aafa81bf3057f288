package conversations_test

// The service's routing rules, driven as the worker drives them: a test
// hands the service a customer message, a timer or a dispatch as the
// worker's task would, and plays the queue itself, calling again when a
// call fails, as asynq retries the task. Sends and timers go to the real
// queue, where a test reads what was scheduled; no worker consumes them.

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"switchboard/channels"
	"switchboard/clock"
	"switchboard/conversations"
	"switchboard/internal/convtest"
	"switchboard/internal/redistest"
	"switchboard/queue"
	"switchboard/routing"
)

// applyOneOperator routes sales round robin to one operator, ana, with
// capacity 1.
func (e *env) applyOneOperator(t *testing.T) {
	t.Helper()
	e.ApplySettings(t, "default_query_type: sales\nquery_types:\n  - {id: sales, strategy: round_robin}\n")
	e.Operators(t, 1, []string{"sales"}, "ana")
}

// noonAfter is the first noon (UTC) after from: closed under
// convtest.OutOfHoursDoc, with the next opening at the following midnight, which is
// after from too. asynq schedules by the real clock, so a test's fake
// clock must not lie before the real now, or the timers it schedules
// would already be due, and pending rather than scheduled.
func noonAfter(from time.Time) time.Time {
	y, m, d := from.UTC().Date()
	return time.Date(y, m, d+1, 12, 0, 0, 0, time.UTC)
}

// openingAfter is the opening that follows noonAfter's noon under convtest.OutOfHoursDoc.
func openingAfter(noon time.Time) time.Time {
	return time.Date(noon.Year(), noon.Month(), noon.Day()+1, 0, 0, 0, 0, time.UTC)
}

type env struct{ *convtest.Env }

func newEnv(t testing.TB, clk clock.Clock) *env {
	t.Helper()
	return &env{convtest.New(t, convtest.Options{Clock: clk})}
}

// failingService is another worker's service whose own Redis commands
// (its queue's enqueues, presence, events) fail once when fault matches
// them, as if Redis had dropped the connection.
func (e *env) failingService(t testing.TB, fault *redistest.Limit) *conversations.Service {
	t.Helper()
	rdb := redis.NewClient(e.Redis.Options())
	t.Cleanup(func() { rdb.Close() })
	redistest.Intercept(rdb).Fail(fault.Match)
	return e.NewService(rdb)
}

func text(id, from string, ts time.Time, arrival int64) *channels.Inbound {
	return &channels.Inbound{Channel: "wa-main", Kind: "whatsapp_cloud", ID: id, From: from, ProfileName: "Ana",
		Timestamp: ts, Arrival: arrival, Type: channels.TypeText, Text: "hola " + id}
}

// deliver hands m to svc as the worker's inbound task does, the queued
// payload as its body, and returns what the task would.
func deliver(svc *conversations.Service, m *channels.Inbound) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	_, err = svc.ApplyInbound(context.Background(), m, body)
	return err
}

// maxTries is how often a test calls again a call that fails, as the
// queue retries a task; the faults it injects fire far fewer times.
const maxTries = 5

// retried calls fn until it succeeds, as the queue retries a failed task,
// and returns how many calls failed; the test fails if every try did.
func retried(t testing.TB, what string, fn func() error) int {
	t.Helper()
	var err error
	for i := range maxTries {
		if err = fn(); err == nil {
			return i
		}
	}
	t.Fatalf("%s still fails after %d tries: %v", what, maxTries, err)
	return maxTries
}

// mustDeliver delivers m, retrying as the queue would, and returns how
// many deliveries failed.
func (e *env) mustDeliver(t testing.TB, m *channels.Inbound) int {
	t.Helper()
	return retried(t, "message "+m.ID, func() error { return deliver(e.Service, m) })
}

// online sets operators online, as their consoles do.
func (e *env) online(t testing.TB, ops ...string) {
	t.Helper()
	for _, op := range ops {
		if err := e.Service.SetPresence(context.Background(), op, routing.PresenceOnline); err != nil {
			t.Fatal(err)
		}
	}
}

// openQuery returns the open query of the customer from on wa-main.
func (e *env) openQuery(t testing.TB, from string) string {
	t.Helper()
	c, err := e.Service.Contact(context.Background(), conversations.ContactID("wa-main", from))
	if err != nil {
		t.Fatalf("contact %s: %v", from, err)
	}
	if c.OpenQuery == "" {
		t.Fatalf("contact %s has no open query", from)
	}
	return c.OpenQuery
}

// state reads a query's routing state.
func (e *env) state(t testing.TB, queryID string) *conversations.RoutingState {
	t.Helper()
	st, err := e.Service.State(context.Background(), queryID)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// history returns a query's whole history, oldest first, as the console shows it.
func (e *env) history(t testing.TB, queryID string) []conversations.Message {
	t.Helper()
	page, err := e.Service.History(context.Background(), queryID, conversations.HistoryRange{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return page.Messages
}

// outbound returns a query's outbound messages, oldest first.
func (e *env) outbound(t testing.TB, queryID string) []conversations.Message {
	t.Helper()
	var out []conversations.Message
	for _, m := range e.history(t, queryID) {
		if m.Direction == conversations.DirectionOutbound {
			out = append(out, m)
		}
	}
	return out
}

// outboundTexts returns the texts of a query's outbound messages, oldest first.
func (e *env) outboundTexts(t testing.TB, queryID string) []string {
	t.Helper()
	var out []string
	for _, m := range e.outbound(t, queryID) {
		out = append(out, m.Text)
	}
	return out
}

// sends returns the ids of the messages of queryID whose sends are
// queued for the workers, as each is handed to the provider once.
func (e *env) sends(t testing.TB, queryID string) []string {
	t.Helper()
	tasks, err := e.Inspector.ListPendingTasks(queue.QueueOutbound)
	if errors.Is(err, asynq.ErrQueueNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, ti := range tasks {
		o, err := queue.DecodeOutbound(ti.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if o.QueryID == queryID {
			if o.Channel != "wa-main" {
				t.Fatalf("send of %s queued on channel %s, want the customer's wa-main", o.MessageID, o.Channel)
			}
			ids = append(ids, o.MessageID)
		}
	}
	return ids
}

// timers returns when the routing timers of type typ (a queue.Type...)
// scheduled for queryID are due, by their keys.
func (e *env) timers(t testing.TB, typ, queryID string) map[string]time.Time {
	t.Helper()
	tasks, err := e.Inspector.ListScheduledTasks(queue.QueueRouting)
	if errors.Is(err, asynq.ErrQueueNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]time.Time{}
	for _, ti := range tasks {
		if ti.Type != typ {
			continue
		}
		tm, err := queue.DecodeTimer(ti.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if tm.QueryID == queryID {
			out[tm.Key] = ti.NextProcessAt
		}
	}
	return out
}

// scheduledAt reports whether a timer of type typ is scheduled for
// queryID at at.
func (e *env) scheduledAt(t testing.TB, typ, queryID string, at time.Time) bool {
	t.Helper()
	for _, due := range e.timers(t, typ, queryID) {
		if due.Equal(at) {
			return true
		}
	}
	return false
}
