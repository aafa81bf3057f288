package queue_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"switchboard/internal/redistest"
	"switchboard/queue"
)

// The same login code queued twice, as a retry after a try that timed out
// once it had reached Redis would, is one task and one send, before and
// after the task has run; a new code is a task of its own. The task's id
// shows neither the phone nor the code.
func TestSameLoginCodeIsQueuedOnce(t *testing.T) {
	rdb := redistest.Client(t)
	ac := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { ac.Close() })
	qc := queue.NewClient(ac, time.Minute)
	ctx := context.Background()
	o := queue.OTP{Channel: "wa-main", Phone: "+5511900000001", Code: "482913"}
	expires := time.Now().Add(5 * time.Minute)

	if err := qc.EnqueueOTP(ctx, o, expires); err != nil {
		t.Fatal(err)
	}
	if err := qc.EnqueueOTP(ctx, o, expires); !errors.Is(err, queue.ErrDuplicate) {
		t.Fatalf("same code again: %v, want ErrDuplicate", err)
	}
	insp := asynq.NewInspectorFromRedisClient(rdb)
	t.Cleanup(func() { insp.Close() })
	pending, err := insp.ListPendingTasks(queue.QueueOTP)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 {
		t.Fatalf("%d tasks for one code, want 1", len(pending))
	}
	if id := pending[0].ID; strings.Contains(id, "5511900000001") || strings.Contains(id, "482913") {
		t.Fatalf("task id %q shows the phone or the code", id)
	}

	var sends atomic.Int32
	mux := asynq.NewServeMux()
	mux.HandleFunc(queue.TypeOTP, func(context.Context, *asynq.Task) error { sends.Add(1); return nil })
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency: 1, Queues: map[string]int{queue.QueueOTP: 1}, TaskCheckInterval: 50 * time.Millisecond,
		Logger: quiet{}, LogLevel: asynq.FatalLevel,
	})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	for deadline := time.Now().Add(10 * time.Second); sends.Load() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the code was never sent")
		}
	}
	if err := qc.EnqueueOTP(ctx, o, expires); !errors.Is(err, queue.ErrDuplicate) {
		t.Fatalf("same code after it was sent: %v, want ErrDuplicate", err)
	}
	o2 := o
	o2.Code = "000111"
	if err := qc.EnqueueOTP(ctx, o2, expires); err != nil {
		t.Fatalf("a new code: %v", err)
	}
	for deadline := time.Now().Add(10 * time.Second); sends.Load() < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the new code was never sent")
		}
	}
	time.Sleep(300 * time.Millisecond)
	if n := sends.Load(); n != 2 {
		t.Fatalf("%d sends for two codes, want 2", n)
	}
}

// A presence check of one account and second is scheduled once; another
// second, or another account, is another check.
func TestPresenceChecksAreScheduledOncePerAccountAndSecond(t *testing.T) {
	rdb := redistest.Client(t)
	c := queue.NewClient(asynq.NewClientFromRedisClient(rdb), time.Hour)
	insp := asynq.NewInspectorFromRedisClient(rdb)
	t.Cleanup(func() { insp.Close() })
	ctx := context.Background()
	at := time.Now().Add(time.Hour).Truncate(time.Second)
	for _, tc := range []struct {
		account string
		at      time.Time
	}{{"u_a", at}, {"u_a", at.Add(300 * time.Millisecond)}, {"u_a", at.Add(time.Second)}, {"u_b", at}} {
		if err := c.SchedulePresenceCheck(ctx, tc.account, tc.at); err != nil {
			t.Fatal(err)
		}
	}
	tasks, err := insp.ListScheduledTasks(queue.QueueRouting)
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != 3 {
		t.Fatalf("%d checks scheduled, want 3 (u_a twice, u_b once)", len(tasks))
	}
}

// A timer due in the middle of a second is scheduled for the second after
// it: asynq keeps whole seconds, cut down, and a timer run before it is
// due would find nothing to do and could not schedule itself again under
// the id it holds. One due on a whole second keeps it.
func TestTimersNeverRunBeforeTheyAreDue(t *testing.T) {
	rdb := redistest.Client(t)
	ac := asynq.NewClientFromRedisClient(rdb)
	t.Cleanup(func() { ac.Close() })
	qc := queue.NewClient(ac, time.Minute)
	insp := asynq.NewInspectorFromRedisClient(rdb)
	t.Cleanup(func() { insp.Close() })
	ctx := context.Background()
	second := time.Now().Add(time.Hour).Truncate(time.Second)
	for key, due := range map[string]time.Time{"mid": second.Add(700 * time.Millisecond), "whole": second} {
		if err := qc.ScheduleTimer(ctx, queue.TypeSessionEnd, queue.Timer{QueryID: "q_" + key, Key: "1"}, due); err != nil {
			t.Fatal(err)
		}
	}
	if err := qc.SchedulePresenceCheck(ctx, "u_1", second.Add(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	tasks, err := insp.ListScheduledTasks(queue.QueueRouting)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{"q_mid": second.Add(time.Second), "q_whole": second, "-": second.Add(time.Second)}
	if len(tasks) != len(want) {
		t.Fatalf("%d scheduled tasks, want %d", len(tasks), len(want))
	}
	for _, ti := range tasks {
		var tm queue.Timer
		if err := json.Unmarshal(ti.Payload, &tm); err != nil {
			t.Fatal(err)
		}
		if w := want[tm.QueryID]; !ti.NextProcessAt.Equal(w) {
			t.Errorf("%s %s runs at %v, want %v", ti.Type, tm.QueryID, ti.NextProcessAt, w)
		}
	}
}
