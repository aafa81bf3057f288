package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/httperror"
)

// How a request proves who it is. Integrations send the bearer token of
// POST /auth/verify; the web console holds its session in a cookie that
// its scripts cannot read (HttpOnly), so a script injected into the page
// cannot carry the session away. A cookie is sent by the browser on
// requests other sites make too, so a request it authenticates that
// changes anything must also prove it comes from the console: the CSRF
// token, which only a page of the console's origin can have read, in
// X-CSRF-Token, and no foreign Origin.
const (
	// SessionCookie is the cookie holding the console's session token.
	// The __Host- prefix makes browsers keep it only as set Secure, by
	// this very host, for the whole path: a neighbouring subdomain, or a
	// plain-HTTP answer on the way, cannot plant or shadow one.
	SessionCookie = "__Host-switchboard_session"
	// InsecureSessionCookie is the session cookie's name with
	// http.insecure_cookies: without Secure, browsers refuse a __Host-
	// cookie.
	InsecureSessionCookie = "switchboard_session"
	// CSRFHeader carries the session's CSRF token on state-changing
	// requests authenticated by SessionCookie.
	CSRFHeader = "X-CSRF-Token"
)

type credentialKey struct{}

// credential is what authenticated a request: the session token, and
// whether it came in the cookie (else in the Authorization header).
type credential struct {
	token  string
	cookie bool
}

// credentialOf returns what authenticated the request.
func credentialOf(c echo.Context) credential {
	cr, _ := c.Request().Context().Value(credentialKey{}).(credential)
	return cr
}

// requestCredential reads the request's token: the Authorization header
// when there is one (an integration's request carrying a stray cookie is
// still judged by its header), else the session cookie named cookie. ok
// is false when there is neither, or the header is not a bearer token.
func requestCredential(r *http.Request, cookie string) (credential, bool) {
	if h := r.Header.Get(echo.HeaderAuthorization); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		return credential{token: strings.TrimSpace(token)}, ok
	}
	if ck, err := r.Cookie(cookie); err == nil && ck.Value != "" {
		return credential{token: ck.Value, cookie: true}, true
	}
	return credential{}, false
}

// authenticate accepts a valid token of an active user, in the
// Authorization header or the session cookie; a cookie-authenticated
// request that may change something must also pass the CSRF checks
// (csrfRefusal).
func (a *API) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		cred, ok := requestCredential(r, a.cookieName())
		if !ok {
			return httperror.Write(c, http.StatusUnauthorized, "unauthorized", "a bearer token or a session cookie is required")
		}
		u, err := a.login.Authenticate(r.Context(), cred.token)
		if errors.Is(err, auth.ErrInvalidToken) {
			if cred.cookie {
				// The browser drops a cookie that can only fail.
				c.SetCookie(a.sessionCookie("", -1))
			}
			return httperror.Write(c, http.StatusUnauthorized, "unauthorized", "invalid or expired token")
		}
		if err != nil {
			return a.internal(c, err)
		}
		if cred.cookie && !safeMethod(r.Method) {
			if why := a.csrfRefusal(r, cred.token); why != "" {
				return httperror.Write(c, http.StatusForbidden, "csrf", why)
			}
		}
		ctx := context.WithValue(r.Context(), userKey{}, u)
		ctx = context.WithValue(ctx, credentialKey{}, cred)
		c.SetRequest(r.WithContext(ctx))
		return next(c)
	}
}

// safeMethod reports whether method only reads (RFC 9110 §9.2.1). Every
// other method is held to the CSRF checks, not only the four the API
// uses, so a route added later is covered whatever its method.
func safeMethod(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// csrfRefusal says why a cookie-authenticated request of session token
// that may change something is refused (403 csrf): it comes from another
// origin, or lacks the session's CSRF token. "" lets it go on.
func (a *API) csrfRefusal(r *http.Request, token string) string {
	if !sameOrigin(r) {
		return "cross-origin request refused"
	}
	if !a.login.CheckCSRF(token, r.Header.Get(CSRFHeader)) {
		return "the " + CSRFHeader + " header must carry the session's csrf_token"
	}
	return ""
}

// sameOrigin reports whether the request's Origin header, if it has one,
// names the host the request was sent to. Browsers send Origin on every
// cross-origin POST, so a foreign one is refused even before the CSRF
// token is looked at; a request without one (an old browser, a same-origin
// GET) is left to the token. A reverse proxy must pass the Host header on.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get(echo.HeaderOrigin)
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false // "null" (a sandboxed frame, a file) is no origin of ours
	}
	return strings.EqualFold(u.Host, r.Host)
}

// sessionCookie is the session cookie holding token for maxAge seconds
// (a negative maxAge deletes it: "Max-Age=0"). SameSite=Strict keeps
// browsers from sending it on requests other sites start; Secure keeps it
// off plain HTTP unless the deployment said otherwise (InsecureCookies).
func (a *API) sessionCookie(token string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: a.cookieName(), Value: token, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: !a.insecureCookies, SameSite: http.SameSiteStrictMode}
}

// cookieName is the session cookie's name: SessionCookie, or
// InsecureSessionCookie with http.insecure_cookies. Only that one is
// read: a cookie of the other name may be one a subdomain planted.
func (a *API) cookieName() string {
	if a.insecureCookies {
		return InsecureSessionCookie
	}
	return SessionCookie
}

type verifyRequest struct {
	Phone string `json:"phone"`
	Code  string `json:"code"`
	// Session is "cookie" for the console's cookie session; "" or
	// "bearer" for a bearer token.
	Session string `json:"session"`
}

// cookieSession answers a cookie login: what the console needs, but not
// the token, which stays in the HttpOnly cookie.
type cookieSession struct {
	ExpiresAt time.Time      `json:"expires_at"`
	User      *accounts.User `json:"user"`
	CSRFToken string         `json:"csrf_token"`
}

func (a *API) verifyCode(c echo.Context) error {
	var req verifyRequest
	if err := c.Bind(&req); err != nil {
		return bad(c, "body must be {\"phone\": \"+...\", \"code\": \"123456\"}")
	}
	cookie := false
	switch req.Session {
	case "", "bearer":
	case "cookie":
		cookie = true
	default:
		return bad(c, "session must be \"cookie\" or \"bearer\"")
	}
	// Checked before the code is, so a forged login from another site
	// (into the attacker's account) neither succeeds nor burns a code.
	if cookie && !sameOrigin(c.Request()) {
		return httperror.Write(c, http.StatusForbidden, "csrf", "cross-origin request refused")
	}
	ctx := c.Request().Context()
	s, _, err := a.login.Verify(ctx, req.Phone, req.Code, c.RealIP())
	if errors.Is(err, auth.ErrLoginFailed) {
		return httperror.Write(c, http.StatusUnauthorized, "invalid_code", "invalid or expired code")
	}
	if err != nil {
		return a.internal(c, err)
	}
	if !cookie {
		return c.JSON(http.StatusOK, s)
	}
	u, err := a.users.Get(ctx, s.UserID)
	if err != nil {
		return a.internal(c, err)
	}
	ttl := s.ExpiresAt.Sub(a.clock.Now()).Round(time.Second)
	c.SetCookie(a.sessionCookie(s.Token, int(ttl/time.Second)))
	return c.JSON(http.StatusOK, cookieSession{ExpiresAt: s.ExpiresAt, User: u, CSRFToken: a.login.CSRFToken(s.Token)})
}

// logout revokes the credential that authenticated the request; a cookie
// is also cleared.
func (a *API) logout(c echo.Context) error {
	cred := credentialOf(c)
	if err := a.login.Logout(c.Request().Context(), cred.token); err != nil {
		return a.internal(c, err)
	}
	if cred.cookie {
		c.SetCookie(a.sessionCookie("", -1))
	}
	a.audit.Record(c.Request().Context(), auth.Entry{Actor: caller(c).ID, Action: "logout", IP: c.RealIP()})
	return c.NoContent(http.StatusNoContent)
}

type meResponse struct {
	User        *accounts.User    `json:"user"`
	Permissions []auth.Permission `json:"permissions"`
	// CSRFToken is the session's, for a console page that was reloaded
	// and so lost the one its login answered; only for the cookie.
	CSRFToken string `json:"csrf_token,omitempty"`
	// Presence is the caller's presence as routing sees it (online, away
	// or offline), so the console's switch starts where routing is.
	Presence string `json:"presence,omitempty"`
}

func (a *API) me(c echo.Context) error {
	u := caller(c)
	perms, err := a.roles.Effective(c.Request().Context(), u)
	if err != nil {
		return a.internal(c, err)
	}
	out := meResponse{User: u, Permissions: perms}
	if a.conv != nil {
		states, err := a.conv.OperatorStates(c.Request().Context(), []string{u.ID})
		if err != nil {
			return a.internal(c, err)
		}
		out.Presence = states[u.ID].Presence
	}
	if cred := credentialOf(c); cred.cookie {
		out.CSRFToken = a.login.CSRFToken(cred.token)
	}
	return c.JSON(http.StatusOK, out)
}
