package auth_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/clock"
	"switchboard/internal/dbtest"
	"switchboard/internal/redistest"
	"switchboard/queue"
)

// recorder wraps the real Redis client and the real repositories and
// writes down, while on, every command sent to Redis (name and argument
// count, pipelines as one step) and every call made to the database.
type recorder struct {
	mu   sync.Mutex
	on   bool
	cmds []string
}

func (r *recorder) start() { r.mu.Lock(); r.on, r.cmds = true, nil; r.mu.Unlock() }

func (r *recorder) stop() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = false
	return r.cmds
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	if r.on {
		r.cmds = append(r.cmds, s)
	}
	r.mu.Unlock()
}

func shape(cmd redis.Cmder) string { return fmt.Sprintf("%s/%d", cmd.Name(), len(cmd.Args())) }

func (r *recorder) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *recorder) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.add(shape(cmd))
		return next(ctx, cmd)
	}
}

func (r *recorder) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		var s []string
		for _, c := range cmds {
			s = append(s, shape(c))
		}
		r.add("[" + strings.Join(s, " ") + "]")
		return next(ctx, cmds)
	}
}

// recordedAccounts writes down the account lookups made through it.
type recordedAccounts struct {
	accounts.Repository
	rec *recorder
}

func (r recordedAccounts) ByPhone(ctx context.Context, phone string) (*accounts.User, error) {
	r.rec.add("db:accounts.ByPhone")
	return r.Repository.ByPhone(ctx, phone)
}

func (r recordedAccounts) Get(ctx context.Context, id string) (*accounts.User, error) {
	r.rec.add("db:accounts.Get")
	return r.Repository.Get(ctx, id)
}

// recordedAudit writes down the audit entries appended through it.
type recordedAudit struct {
	auth.AuditRepository
	rec *recorder
}

func (r recordedAudit) Append(ctx context.Context, id string, e auth.Entry) error {
	r.rec.add("db:audit.Append")
	return r.AuditRepository.Append(ctx, id, e)
}

// gatedSender queues a code (one Redis write) only once released.
type gatedSender struct {
	rdb     *redis.Client
	release chan struct{}
	sent    chan string
}

func (g *gatedSender) SendCode(ctx context.Context, phone, code string, _ time.Time) error {
	<-g.release
	err := g.rdb.RPush(ctx, "{sb}:test:queued", code).Err()
	g.sent <- phone
	return err
}

// A code request does the same Redis and database work before it answers
// whether the number has an active account, a disabled one, none, or is
// not a number: the answer must not take longer for numbers that have
// accounts. The code itself is queued after the answer.
func TestCodeRequestsDoTheSameWorkForEveryNumber(t *testing.T) {
	ctx := context.Background()
	rdb := redistest.Client(t)
	rec := &recorder{}
	rdb.AddHook(rec)
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	db := dbtest.Open(t)
	roles := auth.NewRoles(db.Roles())
	users := accounts.NewStore(recordedAccounts{db.Accounts(), rec}, clk, roles.Exists)
	sender := &gatedSender{rdb: rdb, sent: make(chan string, 10)}
	login, err := auth.NewLogin(rdb, auth.LoginOptions{Users: users, Clock: clk, Secret: []byte("test-secret-0123456789"), Sender: sender,
		Audit: auth.NewAudit(recordedAudit{db.Audit(), rec}, clk, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := users.Create(ctx, accounts.User{Name: "Ana", Phone: "+5511900000001", Role: auth.RoleOperator}); err != nil {
		t.Fatal(err)
	}
	dis, err := users.Create(ctx, accounts.User{Name: "Bia", Phone: "+5511900000002", Role: auth.RoleOperator})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := users.Disable(ctx, dis.ID, login); err != nil {
		t.Fatal(err)
	}

	var want []string
	for i, tc := range []struct{ phone, outcome string }{
		{"+5511900000001", auth.RequestSent},
		{"+5511900000003", auth.RequestUnknown},
		{"+5511900000002", auth.RequestUnknown},
		{"not a phone", auth.RequestUnknown},
	} {
		sender.release = make(chan struct{})
		rec.start()
		type result struct {
			outcome string
			err     error
		}
		done := make(chan result, 1)
		go func() {
			o, err := login.RequestCode(ctx, tc.phone, fmt.Sprintf("192.0.2.%d", i+1))
			done <- result{o, err}
		}()
		var res result
		select {
		case res = <-done:
		case <-time.After(10 * time.Second):
			close(sender.release)
			t.Fatalf("request for %s waits for its code to be queued: the answer would take longer for numbers with accounts", tc.phone)
		}
		got := rec.stop()
		close(sender.release)
		login.Wait()
		if res.err != nil || res.outcome != tc.outcome {
			t.Fatalf("request for %s: %q, %v; want %q", tc.phone, res.outcome, res.err, tc.outcome)
		}
		if i == 0 {
			want = got
			// The recorder must see both stores, or equal work proves nothing.
			if j := strings.Join(got, " "); !strings.Contains(j, "db:accounts.ByPhone") || !strings.Contains(j, "db:audit.Append") || !strings.Contains(j, "hset/") {
				t.Fatalf("the recorder missed the lookup, the audit entry or the stored code: %v", got)
			}
			if p := <-sender.sent; p != tc.phone {
				t.Fatalf("code queued for %s", p)
			}
			continue
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("request for %s (%s) sent\n  %v\nbut one for a number with an account sent\n  %v", tc.phone, tc.outcome, got, want)
		}
	}
	select {
	case p := <-sender.sent:
		t.Errorf("a code was queued for %s", p)
	default:
	}
}

// flakySender fails to queue the first fails codes, as a Redis blip would.
type flakySender struct {
	mu    sync.Mutex
	fails int
	tries int
	sent  chan string
}

func (f *flakySender) SendCode(_ context.Context, phone, _ string, _ time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tries++
	if f.tries <= f.fails {
		return fmt.Errorf("enqueue: %w", redis.ErrClosed)
	}
	f.sent <- phone
	return nil
}

// A code that could not be queued at first is retried, not lost: the
// person was told a code is on its way.
func TestCodeIsQueuedAfterAFailedTry(t *testing.T) {
	sender := &flakySender{fails: 2, sent: make(chan string, 1)}
	login := requestAnasCode(t, redistest.Client(t), sender)
	select {
	case p := <-sender.sent:
		if p != "+5511900000001" {
			t.Fatalf("code queued for %s", p)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the code was never queued after two failed tries")
	}
	login.Close()
}

// lateSender queues codes through the real queue; its first try reaches
// Redis but then reports a timeout, as a try whose reply was lost would.
type lateSender struct {
	q     *queue.Client
	mu    sync.Mutex
	tries int
}

func (s *lateSender) SendCode(ctx context.Context, phone, code string, expires time.Time) error {
	s.mu.Lock()
	s.tries++
	first := s.tries == 1
	s.mu.Unlock()
	err := s.q.EnqueueOTP(ctx, queue.OTP{Channel: "wa-main", Phone: phone, Code: code}, expires)
	if first && err == nil {
		return fmt.Errorf("enqueue: %w", context.DeadlineExceeded)
	}
	return err
}

// A try that timed out after it had queued the code is retried without
// queueing the code a second time, and the retry that finds it queued
// ends the retries: the person gets one code, not two.
func TestCodeQueuedOnceAfterATryThatTimedOut(t *testing.T) {
	rdb := redistest.Client(t)
	ac := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { ac.Close() })
	sender := &lateSender{q: queue.NewClient(ac, time.Minute)}
	login := requestAnasCode(t, rdb, sender)
	waited := make(chan struct{})
	go func() { login.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		sender.mu.Lock()
		defer sender.mu.Unlock()
		t.Fatalf("still retrying after %d tries: the code found queued was not taken as queued", sender.tries)
	}
	insp := asynq.NewInspectorFromRedisClient(rdb)
	t.Cleanup(func() { insp.Close() })
	pending, err := insp.ListPendingTasks(queue.QueueOTP)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || sender.tries != 2 {
		t.Fatalf("%d tasks after %d tries, want 1 task after 2 tries", len(pending), sender.tries)
	}
	login.Close()
}

// requestAnasCode makes Ana's account and requests her a login code sent
// through sender, as the API does; the code's life is measured on a clock
// set to now, as the queue's is.
func requestAnasCode(t *testing.T, rdb *redis.Client, sender auth.CodeSender) *auth.Login {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewFake(time.Now())
	db := dbtest.Open(t)
	roles := auth.NewRoles(db.Roles())
	users := accounts.NewStore(db.Accounts(), clk, roles.Exists)
	login, err := auth.NewLogin(rdb, auth.LoginOptions{Users: users, Clock: clk, Secret: []byte("test-secret-0123456789"), Sender: sender,
		Audit: auth.NewAudit(db.Audit(), clk, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := users.Create(ctx, accounts.User{Name: "Ana", Phone: "+5511900000001", Role: auth.RoleOperator}); err != nil {
		t.Fatal(err)
	}
	if o, err := login.RequestCode(ctx, "+5511900000001", "192.0.2.1"); err != nil || o != auth.RequestSent {
		t.Fatalf("request: %q, %v", o, err)
	}
	return login
}

// countingSender counts its tries and fails each with err.
type countingSender struct {
	tries atomic.Int32
	err   error
}

func (c *countingSender) SendCode(context.Context, string, string, time.Time) error {
	c.tries.Add(1)
	return c.err
}

// A code that can never be sent (no login-code channel) is given up at
// once, not retried for its whole life.
func TestCodeThatCannotBeSentIsNotRetried(t *testing.T) {
	sender := &countingSender{err: fmt.Errorf("auth.otp.channel is not configured: %w", auth.ErrCannotSend)}
	login := requestAnasCode(t, redistest.Client(t), sender)
	waited := make(chan struct{})
	go func() { login.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		login.Close()
		t.Fatalf("still retrying a code that cannot be sent after %d tries", sender.tries.Load())
	}
	if n := sender.tries.Load(); n != 1 {
		t.Fatalf("%d tries, want 1", n)
	}
}
