package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"switchboard/api"
	"switchboard/internal/redistest"
	"switchboard/routing"
)

// cookieReq is a request as the console's browser would send it.
type cookieReq struct {
	method, path string
	session      string // the session cookie's value; "" sends none
	csrf         string // X-CSRF-Token; "" sends none
	origin       string // Origin; "" sends none
	bearer       string // Authorization: Bearer; "" sends none
	body         any
}

// send makes r and returns the answer and the cookies it set.
func (h *harness) send(t *testing.T, r cookieReq) (response, []*http.Cookie) {
	t.Helper()
	var rd io.Reader
	if r.body != nil {
		b, _ := json.Marshal(r.body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(r.method, h.srv.URL+r.path, rd)
	req.Header.Set("Content-Type", "application/json")
	if r.session != "" {
		req.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: r.session})
	}
	if r.csrf != "" {
		req.Header.Set(api.CSRFHeader, r.csrf)
	}
	if r.origin != "" {
		req.Header.Set("Origin", r.origin)
	}
	if r.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+r.bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(b)}, resp.Cookies()
}

// ownOrigin is the Origin a page served by the test server sends.
func (h *harness) ownOrigin() string { return h.srv.URL }

type cookieLogin struct {
	cookie    *http.Cookie
	body      string
	csrf      string
	userID    string
	expiresAt time.Time
}

// loginCookie walks the console's login for phone: a code, then verify
// with session "cookie" from the console's own origin.
func (h *harness) loginCookie(t *testing.T, phone string) cookieLogin {
	t.Helper()
	h.rdb.Del(context.Background(), mustKeys(t, h.rdb, "{sb}:otp:cool:*")...)
	if r := h.do(t, "POST", "/api/v1/auth/otp", "", map[string]string{"phone": phone}); r.status != http.StatusAccepted {
		t.Fatalf("request code: %d %s", r.status, r.body)
	}
	r, cookies := h.send(t, cookieReq{method: "POST", path: "/api/v1/auth/verify", origin: h.ownOrigin(),
		body: map[string]string{"phone": phone, "code": h.codes.last(phone), "session": "cookie"}})
	if r.status != http.StatusOK {
		t.Fatalf("cookie verify: %d %s", r.status, r.body)
	}
	var out struct {
		ExpiresAt time.Time `json:"expires_at"`
		CSRF      string    `json:"csrf_token"`
		User      struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	r.decode(t, &out)
	l := cookieLogin{body: r.body, csrf: out.CSRF, userID: out.User.ID, expiresAt: out.ExpiresAt}
	for _, c := range cookies {
		if c.Name == api.SessionCookie || c.Name == api.InsecureSessionCookie {
			l.cookie = c
		}
	}
	if l.cookie == nil {
		t.Fatalf("cookie verify set no %s cookie: %v", api.SessionCookie, cookies)
	}
	return l
}

// The console's login sets an HttpOnly, Secure, SameSite=Strict cookie
// and never shows the token; a cookie request that changes something
// needs the CSRF token and no foreign Origin, and is refused with nothing
// done otherwise; bearer requests are held to neither; logout revokes the
// session and clears the cookie.
func TestCookieSession(t *testing.T) {
	w := newConvWorld(t)
	ctx := context.Background()
	l := w.loginCookie(t, w.ana.Phone)
	ck := l.cookie
	if !ck.HttpOnly || !ck.Secure || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.MaxAge != 12*60*60 {
		t.Fatalf("session cookie = %+v; want HttpOnly, Secure, SameSite=Strict, Path=/, Max-Age=43200", ck)
	}
	if strings.Contains(l.body, ck.Value) || strings.Contains(l.body, `"token"`) {
		t.Fatalf("the cookie login's answer shows the token: %s", l.body)
	}
	if l.userID != w.ana.ID || len(l.csrf) < 40 || !l.expiresAt.Equal(w.clock.Now().Add(12*time.Hour)) {
		t.Fatalf("cookie login answer: %s", l.body)
	}

	// Reads need no CSRF token; /me gives it again to a reloaded page.
	r, _ := w.send(t, cookieReq{method: "GET", path: "/api/v1/me", session: ck.Value})
	var me struct {
		CSRF string `json:"csrf_token"`
		User struct{ ID string }
	}
	r.decode(t, &me)
	if r.status != 200 || me.User.ID != w.ana.ID || me.CSRF != l.csrf {
		t.Fatalf("cookie GET /me: %d %s", r.status, r.body)
	}
	if r := w.do(t, "GET", "/api/v1/me", w.anaT, nil); strings.Contains(r.body, "csrf_token") {
		t.Fatalf("bearer /me shows a csrf_token: %s", r.body)
	}

	pool := w.query(t, "5511911110001", w.clock.Now(), "sales", routing.StatePending, "")
	reply := "/api/v1/conversations/" + pool + "/messages"
	text := map[string]string{"text": "Olá!"}
	untouched := func(what string) {
		t.Helper()
		st, err := w.conv.Service.State(ctx, pool)
		if err != nil {
			t.Fatal(err)
		}
		if st.Query.State != routing.StatePending || len(w.history(t, pool)) != 1 {
			t.Fatalf("after %s: state %s, %d messages; want the pool query untouched", what, st.Query.State, len(w.history(t, pool)))
		}
	}
	for _, tc := range []struct {
		name string
		req  cookieReq
	}{
		{"no CSRF header", cookieReq{session: ck.Value, origin: w.ownOrigin()}},
		{"a wrong CSRF header", cookieReq{session: ck.Value, csrf: l.csrf[:len(l.csrf)-2] + "xx", origin: w.ownOrigin()}},
		{"another session's CSRF token", cookieReq{session: ck.Value, csrf: w.loginCookie(t, w.bruno.Phone).csrf}},
		{"a foreign Origin", cookieReq{session: ck.Value, csrf: l.csrf, origin: "https://evil.example"}},
		{"Origin null", cookieReq{session: ck.Value, csrf: l.csrf, origin: "null"}},
	} {
		tc.req.method, tc.req.path, tc.req.body = "POST", reply, text
		r, _ := w.send(t, tc.req)
		if r.status != http.StatusForbidden || !strings.Contains(r.body, `"code":"csrf"`) {
			t.Errorf("cookie reply with %s: %d %s, want 403 csrf", tc.name, r.status, r.body)
		}
		untouched(tc.name)
	}
	r, _ = w.send(t, cookieReq{method: "POST", path: reply, session: ck.Value, csrf: l.csrf, origin: w.ownOrigin(), body: text})
	if r.status != http.StatusAccepted {
		t.Fatalf("cookie reply with the CSRF token: %d %s", r.status, r.body)
	}
	if st, _ := w.conv.Service.State(ctx, pool); st.Query.State != routing.StateAssigned || st.Query.Assignee != w.ana.ID {
		t.Fatalf("after the reply: %+v, want assigned to ana", st.Query)
	}
	// Without an Origin (older browsers) the token alone decides.
	if r, _ := w.send(t, cookieReq{method: "PUT", path: "/api/v1/me/presence", session: ck.Value, csrf: l.csrf, body: map[string]string{"presence": "away"}}); r.status != 200 {
		t.Fatalf("cookie PUT without Origin, with the token: %d %s", r.status, r.body)
	}

	// Bearer requests need neither, whatever Origin they carry, and a
	// bearer header wins over a cookie.
	if r, _ := w.send(t, cookieReq{method: "PUT", path: "/api/v1/me/presence", bearer: w.brunoT, origin: "https://evil.example", body: map[string]string{"presence": "online"}}); r.status != 200 {
		t.Fatalf("bearer PUT without a CSRF token: %d %s", r.status, r.body)
	}
	r, _ = w.send(t, cookieReq{method: "GET", path: "/api/v1/me", bearer: w.brunoT, session: ck.Value})
	if r.status != 200 || !strings.Contains(r.body, w.bruno.ID) || strings.Contains(r.body, "csrf_token") {
		t.Fatalf("bearer and cookie: %d %s, want bruno by his bearer token", r.status, r.body)
	}

	// Logout is a change too: it needs the token.
	if r, _ := w.send(t, cookieReq{method: "POST", path: "/api/v1/auth/logout", session: ck.Value}); r.status != http.StatusForbidden {
		t.Fatalf("cookie logout without the CSRF token: %d, want 403", r.status)
	}
	r, cookies := w.send(t, cookieReq{method: "POST", path: "/api/v1/auth/logout", session: ck.Value, csrf: l.csrf, origin: w.ownOrigin()})
	if r.status != http.StatusNoContent {
		t.Fatalf("cookie logout: %d %s", r.status, r.body)
	}
	cleared := false
	for _, c := range cookies {
		cleared = cleared || (c.Name == api.SessionCookie && c.MaxAge < 0 && c.Value == "")
	}
	if !cleared {
		t.Fatalf("logout did not clear the cookie: %v", cookies)
	}
	// A browser that kept the cookie is told to drop it.
	r, cookies = w.send(t, cookieReq{method: "GET", path: "/api/v1/me", session: ck.Value})
	if r.status != http.StatusUnauthorized || len(cookies) != 1 || cookies[0].Name != api.SessionCookie || cookies[0].MaxAge >= 0 {
		t.Fatalf("the cookie after logout: %d %v, want 401 (revoked) clearing the cookie", r.status, cookies)
	}
	if r := w.do(t, "GET", "/api/v1/me", w.anaT, nil); r.status != 200 {
		t.Fatalf("ana's bearer session after her cookie logout: %d, want it untouched", r.status)
	}
}

// A cookie login from another site is refused before the code is
// checked, so the code still works from the console; without session
// "cookie" the answer is the bearer token as before.
func TestCookieLoginChecksOrigin(t *testing.T) {
	h := newHarness(t, nil)
	u := h.createUser(t, "Ana", "+5511900000001", "operator")
	h.do(t, "POST", "/api/v1/auth/otp", "", map[string]string{"phone": u.Phone})
	code := h.codes.last(u.Phone)
	r, cookies := h.send(t, cookieReq{method: "POST", path: "/api/v1/auth/verify", origin: "https://evil.example",
		body: map[string]string{"phone": u.Phone, "code": code, "session": "cookie"}})
	if r.status != http.StatusForbidden || !strings.Contains(r.body, `"code":"csrf"`) || len(cookies) != 0 {
		t.Fatalf("cookie login from a foreign origin: %d %s %v, want 403 csrf and no cookie", r.status, r.body, cookies)
	}
	if r, _ := h.send(t, cookieReq{method: "POST", path: "/api/v1/auth/verify", body: map[string]string{"phone": u.Phone, "code": code, "session": "jar"}}); r.status != http.StatusBadRequest {
		t.Fatalf("session \"jar\": %d, want 400", r.status)
	}
	r, cookies = h.send(t, cookieReq{method: "POST", path: "/api/v1/auth/verify", origin: "https://evil.example",
		body: map[string]string{"phone": u.Phone, "code": code}})
	if r.status != 200 || !strings.Contains(r.body, `"token"`) || len(cookies) != 0 {
		t.Fatalf("bearer login with the code the refused cookie login left: %d %s %v", r.status, r.body, cookies)
	}
}

// InsecureCookies drops Secure, for a plain-HTTP demo on a LAN host.
func TestInsecureCookiesOption(t *testing.T) {
	h := newHarnessOn(t, &harness{rdb: redistest.Client(t), apiOptions: func(o *api.Options) { o.InsecureCookies = true }}, nil)
	h.createUser(t, "Ana", "+5511900000001", "operator")
	if ck := h.loginCookie(t, "+5511900000001").cookie; ck.Secure || !ck.HttpOnly || ck.Name != api.InsecureSessionCookie {
		t.Fatalf("cookie with InsecureCookies = %+v, want HttpOnly without Secure, named without __Host-", ck)
	}
}

// The session cookie is a __Host- cookie, which browsers keep only as set
// Secure by this host for the whole path; a cookie of the plain name, as
// a neighbouring subdomain could plant, authenticates nothing.
func TestSessionCookieIsAHostCookie(t *testing.T) {
	h := newHarnessOn(t, &harness{rdb: redistest.Client(t)}, nil)
	h.createUser(t, "Ana", "+5511900000001", "operator")
	ck := h.loginCookie(t, "+5511900000001").cookie
	if ck.Name != "__Host-switchboard_session" || !ck.Secure || ck.Path != "/" || ck.Domain != "" {
		t.Fatalf("session cookie = %+v, want __Host-switchboard_session, Secure, Path=/ and no Domain", ck)
	}
	for name, want := range map[string]int{api.SessionCookie: http.StatusOK, api.InsecureSessionCookie: http.StatusUnauthorized} {
		req, _ := http.NewRequest("GET", h.srv.URL+"/api/v1/me", nil)
		req.AddCookie(&http.Cookie{Name: name, Value: ck.Value})
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET /me with the token in %s: %d, want %d", name, resp.StatusCode, want)
		}
	}
}

// A browser's EventSource sends the cookie, no header: the stream opens,
// survives its periodic re-checks while the session lives, delivers, and
// ends when the session is logged out.
func TestEventStreamWithCookie(t *testing.T) {
	w := newConvWorldWith(t, func(o *api.Options) { o.StreamRecheck = 20 * time.Millisecond })
	l := w.loginCookie(t, w.ana.Phone)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", w.srv.URL+"/api/v1/events", nil)
	req.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: l.cookie.Value})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("cookie event stream: %d", resp.StatusCode)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	if first := <-lines; first != ": connected" {
		t.Fatalf("first line %q", first)
	}
	time.Sleep(200 * time.Millisecond) // ten re-checks of the cookie's token
	mine := w.query(t, "5511911110001", w.clock.Now(), "sales", routing.StateAssigned, w.ana.ID)
	deadline := time.After(10 * time.Second)
	for seen := false; !seen; {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("the cookie's event stream ended while its session was valid")
			}
			seen = strings.HasPrefix(line, "data: ") && strings.Contains(line, mine)
		case <-deadline:
			t.Fatal("no event about ana's conversation on the cookie stream")
		}
	}
	if r, _ := w.send(t, cookieReq{method: "POST", path: "/api/v1/auth/logout", session: l.cookie.Value, csrf: l.csrf}); r.status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	for {
		select {
		case _, ok := <-lines:
			if !ok {
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the cookie's event stream outlived its logout")
		}
	}
}
