package api_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/auth"
	"switchboard/internal/redistest"
)

// 60 concurrent wrong guesses during a Redis stall, then the right code:
// at most five guesses are ever evaluated, and the right code sent after
// them gets no token.
func TestConcurrentGuessesCannotOutrunTheAttemptLimit(t *testing.T) {
	h := newHarness(t, nil)
	const phone, other = "+5511900000001", "+5511900000009"
	h.createUser(t, "Ana", phone, auth.RoleOperator)
	h.createUser(t, "Bia", other, auth.RoleOperator)
	for _, p := range []string{phone, other} {
		if r := h.do(t, "POST", "/api/v1/auth/otp", "", map[string]string{"phone": p}); r.status != http.StatusAccepted {
			t.Fatalf("request code: %d %s", r.status, r.body)
		}
	}
	right := h.codes.last(phone)
	// One guess on another number first, so Redis knows the scripts and
	// every guess below costs one command on its code key.
	h.do(t, "POST", "/api/v1/auth/verify", "", map[string]string{"phone": other, "code": wrongCode(h.codes.last(other), 0)})
	evaluated := func() int { return h.count("verify:wrong") + h.count("verify:locked") + h.count("verify:ok") }
	before := evaluated()

	// A short Redis stall: the first 60 commands on the code key run, but
	// their replies are held until all 60 have run and the right code has
	// been sent, as when a slow Redis answers a burst at once.
	const guesses = 60
	stalled := redistest.First(guesses, redistest.KeyPrefixed("{sb}:otp:code:"))
	parked, release := make(chan struct{}, guesses), make(chan struct{})
	redistest.Intercept(h.rdb).After(func(_ context.Context, cmd redis.Cmder) error {
		if stalled.Match(cmd) {
			parked <- struct{}{}
			<-release
		}
		return nil
	})
	var wg sync.WaitGroup
	statuses := make([]int, guesses)
	for i := range guesses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = h.do(t, "POST", "/api/v1/auth/verify", "", map[string]string{"phone": phone, "code": wrongCode(right, i)}).status
		}()
	}
	timeout := time.After(30 * time.Second)
	for range guesses {
		select {
		case <-parked:
		case <-timeout:
			close(release)
			t.Fatal("the guesses never reached Redis")
		}
	}
	// The right code, sent once the 60 guesses have reached Redis.
	r := h.do(t, "POST", "/api/v1/auth/verify", "", map[string]string{"phone": phone, "code": right})
	close(release)
	wg.Wait()
	if r.status != http.StatusUnauthorized {
		t.Errorf("the right code sent after 60 wrong guesses: %d %s, want 401", r.status, r.body)
	}
	for i, s := range statuses {
		if s != http.StatusUnauthorized {
			t.Errorf("wrong guess %d: %d, want 401", i, s)
		}
	}
	if n := evaluated() - before; n > auth.MaxAttempts {
		t.Errorf("%d guesses evaluated against one code, want at most %d", n, auth.MaxAttempts)
	}
}

// wrongCode returns the i-th six-digit code that is not right.
func wrongCode(right string, i int) string {
	for {
		c := fmt.Sprintf("%06d", 100000+i)
		if c != right {
			return c
		}
		i += 1000
	}
}
