// Package api is the JSON API under /api/v1 that CS staff and the web
// console use. Each handler reads: decode, authorize, act, respond. Every
// authorization question goes to auth.Roles.Can through one middleware;
// handlers never compare role names.
package api

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/clock"
	"switchboard/config"
	"switchboard/conversations"
	"switchboard/events"
	"switchboard/httperror"
	"switchboard/metrics"
	"switchboard/reports"
	"switchboard/settings"
)

// OpenAPI is the API's OpenAPI 3 document, served at /api/v1/openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte

// API holds the handlers' dependencies.
type API struct {
	users  *accounts.Store
	roles  *auth.Roles
	login  *auth.Login
	audit  *auth.Audit
	logger *slog.Logger
	conv   *conversations.Service
	// versions stores the settings documents GET and PUT /settings read
	// and apply.
	versions settings.Repository
	clock    clock.Clock
	metrics  *metrics.Metrics
	// closing ends event streams when the server shuts down: a stream
	// never finishes by itself, and shutdown waits for open requests.
	closing   chan struct{}
	closeOnce sync.Once
	// hub feeds every event stream from one Redis subscription.
	hub           *events.Hub
	maxStreams    int
	streamRecheck time.Duration
	// groups keeps the agent groups of the /groups routes.
	groups *accounts.Groups
	// staffChanged, if set, is called after every successful write to
	// what routing reads of the staff (groups, users, roles): it queues
	// the re-check of routing's assignments, so a query assigned to
	// someone who no longer serves its type goes back to the pool at once.
	// Its error is logged, not answered: the write is committed, and the
	// next routing decision notices the new staff version and queues the
	// re-check itself.
	staffChanged func(ctx context.Context) error
	// presenceRenew is how often a stream renews its presence lease.
	presenceRenew time.Duration
	// insecureCookies leaves the Secure flag off the session cookie.
	insecureCookies bool
	// channels are the configured channels GET /team lists.
	channels []Channel
	// reports reads the conversations of GET /reports/conversations.
	reports reports.Source
	// media limits the files operators send.
	media config.Media
}

// Options configure the API.
type Options struct {
	Users  *accounts.Store
	Roles  *auth.Roles
	Login  *auth.Login
	Audit  *auth.Audit
	Logger *slog.Logger
	// Conversations serves the conversation routes; nil leaves them out.
	Conversations *conversations.Service
	// Redis carries the event streams.
	Redis redis.UniversalClient
	// SettingsVersions stores the settings documents that GET and PUT
	// /settings read and apply (the system of record's).
	SettingsVersions settings.Repository
	Clock            clock.Clock
	// Metrics receives the API's metrics; nil keeps them private.
	Metrics *metrics.Metrics
	// MaxStreamsPerUser bounds one user's open event streams in this
	// process (events.DefaultMaxPerUser if 0); more are refused with 429.
	MaxStreamsPerUser int
	// StreamRecheck is how often an event stream re-checks its token
	// besides on revocation signals (DefaultStreamRecheck if 0).
	StreamRecheck time.Duration
	// Groups serves the agent group routes; nil leaves them out.
	Groups *accounts.Groups
	// StaffChanged, if set, is called after every successful write to
	// groups, users or roles, to re-check routing's assignments (see
	// API.staffChanged).
	StaffChanged func(ctx context.Context) error
	// PresenceRenew is how often an event stream renews its presence
	// lease (DefaultPresenceRenew if 0); the lease lasts three renewals,
	// so a stream whose server died is noticed within that.
	PresenceRenew time.Duration
	// InsecureCookies leaves the Secure flag off the console's session
	// cookie, for a deployment served over plain HTTP on a host other than
	// localhost (a LAN demo). Browsers (Chromium, Firefox) keep Secure
	// cookies on http://localhost and http://127.0.0.1 already, so local
	// development does not need it; in production leave it false, or the
	// session could be sent, and read, in clear.
	InsecureCookies bool
	// Channels are the configured channels (the config file's), which GET
	// /team shows staff; the settings do not name them.
	Channels []Channel
	// Reports reads the conversations of the report routes; nil leaves
	// them out.
	Reports reports.Source
	// Media limits the files operators send (media.max_bytes); zero
	// limits are the defaults.
	Media config.Media
}

// New returns the API.
func New(o Options) *API {
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New(prometheus.NewRegistry())
	}
	if o.MaxStreamsPerUser <= 0 {
		o.MaxStreamsPerUser = events.DefaultMaxPerUser
	}
	if o.StreamRecheck <= 0 {
		o.StreamRecheck = DefaultStreamRecheck
	}
	if o.PresenceRenew <= 0 {
		o.PresenceRenew = DefaultPresenceRenew
	}
	a := &API{users: o.Users, roles: o.Roles, login: o.Login, audit: o.Audit, logger: o.Logger,
		conv: o.Conversations, versions: o.SettingsVersions, clock: o.Clock, metrics: o.Metrics,
		closing: make(chan struct{}), maxStreams: o.MaxStreamsPerUser, streamRecheck: o.StreamRecheck,
		groups: o.Groups, staffChanged: o.StaffChanged,
		presenceRenew: o.PresenceRenew, insecureCookies: o.InsecureCookies, channels: slices.Clone(o.Channels),
		reports: o.Reports, media: mediaLimitsOrDefault(o.Media)}
	if o.Conversations != nil {
		a.hub = events.NewHub(o.Redis, events.Options{MaxPerUser: o.MaxStreamsPerUser, Logger: o.Logger})
	}
	return a
}

// Close ends open event streams and their Redis subscription; call it when
// the HTTP server begins to shut down (http.Server.RegisterOnShutdown).
func (a *API) Close() {
	a.closeOnce.Do(func() {
		close(a.closing)
		if a.hub != nil {
			a.hub.Close()
		}
	})
}

// Flush finishes the API's background work: login codes still being
// queued get their last try. Call it after the HTTP server has stopped
// and before Redis is closed.
func (a *API) Flush() {
	if a.login != nil {
		a.login.Close()
	}
}

// maxBody bounds API request bodies; they are small JSON documents.
const maxBody = 64 << 10

// Register adds every /api/v1 route to e.
func (a *API) Register(e *echo.Echo) {
	g := e.Group("/api/v1", a.count, limitBody)
	g.GET("/openapi.yaml", func(c echo.Context) error { return c.Blob(http.StatusOK, "application/yaml", OpenAPI) })
	g.POST("/auth/otp", a.requestCode)
	g.POST("/auth/verify", a.verifyCode)

	authed := g.Group("", a.authenticate)
	authed.POST("/auth/logout", a.logout)
	authed.GET("/me", a.me)

	authed.GET("/users", a.listUsers, a.require(auth.PermUsers))
	authed.POST("/users", a.createUser, a.require(auth.PermUsers))
	authed.GET("/users/:id", a.getUser, a.require(auth.PermUsers))
	authed.PATCH("/users/:id", a.updateUser, a.require(auth.PermUsers))
	authed.POST("/users/:id/disable", a.disableUser, a.require(auth.PermUsers))
	authed.POST("/users/:id/enable", a.enableUser, a.require(auth.PermUsers))
	authed.DELETE("/users/:id", a.deleteUser, a.require(auth.PermUsers))
	if a.groups != nil {
		a.registerGroups(authed)
	}

	authed.GET("/permissions", a.listPermissions, a.require(auth.PermUsers))
	authed.GET("/roles", a.listRoles, a.require(auth.PermUsers))
	authed.PUT("/roles/:name", a.putRole, a.require(auth.PermRoles))
	authed.DELETE("/roles/:name", a.deleteRole, a.require(auth.PermRoles))

	authed.GET("/audit", a.listAudit, a.require(auth.PermAudit))
	if a.conv != nil {
		a.registerConversations(authed)
		a.registerCoordination(authed)
		a.registerContacts(authed)
		a.registerConsole(authed)
	}
	if a.reports != nil {
		a.registerReports(authed)
	}
}

// count counts requests by route template and status.
func (a *API) count(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		status := c.Response().Status
		var he *echo.HTTPError
		if errors.As(err, &he) {
			status = he.Code
		}
		a.metrics.APIRequests.WithLabelValues(c.Path(), strconv.Itoa(status)).Inc()
		return err
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if fileRoutes[c.Path()] && r.Method == http.MethodPost && isMultipart(r) {
			// A file: its handler caps it per kind while streaming it to
			// the store, rather than holding it here.
			return next(c)
		}
		if r.ContentLength > maxBody {
			return httperror.Write(c, http.StatusRequestEntityTooLarge, "too_large", "request body too large")
		}
		if r.Body == nil || r.Body == http.NoBody {
			return next(c)
		}
		// A body sent without a length (chunked) is read here, so one
		// too large is refused as such, not as JSON that fails to bind.
		body, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, maxBody))
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return httperror.Write(c, http.StatusRequestEntityTooLarge, "too_large", "request body too large")
		}
		if err != nil {
			return httperror.Write(c, http.StatusBadRequest, "bad_request", "request body could not be read")
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		return next(c)
	}
}

type userKey struct{}

// caller returns the authenticated user of the request.
func caller(c echo.Context) *accounts.User {
	u, _ := c.Request().Context().Value(userKey{}).(*accounts.User)
	return u
}

// require refuses callers without permission p, then checks the route's
// path ids (checkIDs): a caller without the permission learns nothing,
// not even whether an id is well formed. Routes open to every
// authenticated user and with ids name checkIDs themselves.
func (a *API) require(p auth.Permission) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		next = checkIDs(next)
		return func(c echo.Context) error {
			ok, err := a.roles.Can(c.Request().Context(), caller(c), p)
			if err != nil {
				return a.internal(c, err)
			}
			if !ok {
				return httperror.Write(c, http.StatusForbidden, "forbidden", "missing permission "+string(p))
			}
			return next(c)
		}
	}
}

func bad(c echo.Context, msg string) error {
	return httperror.Write(c, http.StatusBadRequest, "bad_request", msg)
}

// --- login ---

type codeRequest struct {
	Phone string `json:"phone"`
}

// requestCode answers 202 with the same body whether or not the phone has
// an account, so the endpoint cannot be used to find out.
func (a *API) requestCode(c echo.Context) error {
	var req codeRequest
	if err := c.Bind(&req); err != nil {
		return bad(c, "body must be {\"phone\": \"+...\"}")
	}
	if _, err := a.login.RequestCode(c.Request().Context(), req.Phone, c.RealIP()); err != nil {
		return a.internal(c, err)
	}
	return c.JSON(http.StatusAccepted, map[string]string{"status": "if this number has an account, a code is on its way"})
}

// --- users ---

type userInput struct {
	Name       *string   `json:"name"`
	Phone      *string   `json:"phone"`
	Email      *string   `json:"email"`
	Role       *string   `json:"role"`
	Grants     *[]string `json:"grants"`
	Groups     *[]string `json:"groups"`
	QueryTypes *[]string `json:"query_types"`
	Channels   *[]string `json:"channels"`
	Capacity   *int      `json:"capacity"`
}

func (in userInput) apply(u *accounts.User) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	setList := func(dst *[]string, v *[]string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&u.Name, in.Name)
	set(&u.Phone, in.Phone)
	set(&u.Email, in.Email)
	set(&u.Role, in.Role)
	setList(&u.Grants, in.Grants)
	setList(&u.Groups, in.Groups)
	setList(&u.QueryTypes, in.QueryTypes)
	setList(&u.Channels, in.Channels)
	if in.Capacity != nil {
		u.Capacity = *in.Capacity
	}
}

// withinCaller reports whether everything u may do, the caller may do too:
// nobody grants, or manages someone with, more than they have.
func (a *API) withinCaller(c echo.Context, u *accounts.User) (bool, error) {
	ctx := c.Request().Context()
	mine, err := a.roles.Effective(ctx, caller(c))
	if err != nil {
		return false, err
	}
	probe := *u
	probe.Status = accounts.StatusActive
	theirs, err := a.roles.Effective(ctx, &probe)
	if err != nil {
		return false, err
	}
	for _, g := range u.Grants {
		if !slices.Contains(mine, auth.Permission(g)) {
			return false, nil
		}
	}
	for _, p := range theirs {
		if !slices.Contains(mine, p) {
			return false, nil
		}
	}
	return true, nil
}

func (a *API) userError(c echo.Context, err error) error {
	switch {
	case errors.Is(err, accounts.ErrNotFound):
		return httperror.Write(c, http.StatusNotFound, "not_found", "no such user")
	case errors.Is(err, accounts.ErrUnknownGroup):
		// The store's error names the group: "invalid user: groups: no
		// such agent group: \"g_...\"".
		return httperror.Write(c, http.StatusUnprocessableEntity, "invalid_user", err.Error())
	case errors.Is(err, accounts.ErrPhoneTaken):
		// The bare reason: the rest of the chain is for the log.
		return httperror.Write(c, http.StatusConflict, "phone_taken", accounts.ErrPhoneTaken.Error())
	case errors.Is(err, accounts.ErrInvalidAccount):
		return httperror.Write(c, http.StatusUnprocessableEntity, "invalid_user", err.Error())
	}
	return a.internal(c, err)
}

func (a *API) listUsers(c echo.Context) error {
	users, err := a.users.List(c.Request().Context())
	if err != nil {
		return a.internal(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"users": users})
}

func (a *API) getUser(c echo.Context) error {
	u, err := a.users.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return a.userError(c, err)
	}
	return c.JSON(http.StatusOK, u)
}

func (a *API) createUser(c echo.Context) error {
	var in userInput
	if err := c.Bind(&in); err != nil {
		return bad(c, "body must be a user object")
	}
	var u accounts.User
	in.apply(&u)
	if u.Role == "" {
		u.Role = auth.RoleOperator
	}
	if ok, err := a.withinCaller(c, &u); err != nil || !ok {
		if err != nil {
			return a.internal(c, err)
		}
		return httperror.Write(c, http.StatusForbidden, "forbidden", "cannot give a user permissions you do not have")
	}
	created, err := a.users.Create(c.Request().Context(), u)
	if err != nil {
		return a.userError(c, err)
	}
	a.audit.Record(c.Request().Context(), auth.Entry{Actor: caller(c).ID, Action: "user.create", Target: created.ID, IP: c.RealIP()})
	return c.JSON(http.StatusCreated, created)
}

// target loads the user a request names and checks the caller may manage them.
func (a *API) target(c echo.Context) (*accounts.User, error) {
	u, err := a.users.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return nil, a.userError(c, err)
	}
	ok, err := a.withinCaller(c, u)
	if err != nil {
		return nil, a.internal(c, err)
	}
	if !ok {
		return nil, httperror.Write(c, http.StatusForbidden, "forbidden", "cannot manage a user with permissions you do not have")
	}
	return u, nil
}

func (a *API) updateUser(c echo.Context) error {
	u, herr := a.target(c)
	if u == nil {
		return herr
	}
	var in userInput
	if err := c.Bind(&in); err != nil {
		return bad(c, "body must be a user object")
	}
	// Memberships change only when the body says so: written back as
	// read, they could undo a group change made meanwhile.
	u.Groups = nil
	in.apply(u)
	if ok, err := a.withinCaller(c, u); err != nil || !ok {
		if err != nil {
			return a.internal(c, err)
		}
		return httperror.Write(c, http.StatusForbidden, "forbidden", "cannot give a user permissions you do not have")
	}
	updated, err := a.users.Update(c.Request().Context(), *u)
	if err != nil {
		return a.userError(c, err)
	}
	a.audit.Record(c.Request().Context(), auth.Entry{Actor: caller(c).ID, Action: "user.update", Target: u.ID, IP: c.RealIP()})
	a.changedStaff(c.Request().Context())
	return c.JSON(http.StatusOK, updated)
}

func (a *API) disableUser(c echo.Context) error {
	u, herr := a.target(c)
	if u == nil {
		return herr
	}
	if _, err := a.users.Disable(c.Request().Context(), u.ID, a.login); err != nil {
		return a.userError(c, err)
	}
	a.audit.Record(c.Request().Context(), auth.Entry{Actor: caller(c).ID, Action: "user.disable", Target: u.ID, IP: c.RealIP()})
	a.changedStaff(c.Request().Context())
	return c.NoContent(http.StatusNoContent)
}

// enableUser undoes disableUser: the user logs in again with a new code.
// Enabling an active user changes nothing and is not audited.
func (a *API) enableUser(c echo.Context) error {
	u, herr := a.target(c)
	if u == nil {
		return herr
	}
	_, changed, err := a.users.Enable(c.Request().Context(), u.ID)
	if err != nil {
		return a.userError(c, err)
	}
	if changed {
		a.audit.Record(c.Request().Context(), auth.Entry{Actor: caller(c).ID, Action: "user.enable", Target: u.ID, IP: c.RealIP()})
		a.changedStaff(c.Request().Context())
	}
	return c.NoContent(http.StatusNoContent)
}

func (a *API) deleteUser(c echo.Context) error {
	u, herr := a.target(c)
	if u == nil {
		return herr
	}
	if err := a.users.Delete(c.Request().Context(), u.ID, a.login); err != nil {
		return a.userError(c, err)
	}
	a.audit.Record(c.Request().Context(), auth.Entry{Actor: caller(c).ID, Action: "user.delete", Target: u.ID, IP: c.RealIP()})
	a.changedStaff(c.Request().Context())
	return c.NoContent(http.StatusNoContent)
}

// --- roles ---

func (a *API) listPermissions(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"permissions": auth.Catalogue})
}

func (a *API) listRoles(c echo.Context) error {
	roles, err := a.roles.List(c.Request().Context())
	if err != nil {
		return a.internal(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"roles": roles})
}

// mayManageRole reports whether the caller holds every permission in
// perms: changing or deleting a role changes what everyone holding it may
// do, so nobody may do it to a role that can do more than they can.
func (a *API) mayManageRole(c echo.Context, perms []auth.Permission) (bool, error) {
	mine, err := a.roles.Effective(c.Request().Context(), caller(c))
	if err != nil {
		return false, err
	}
	for _, p := range perms {
		if !slices.Contains(mine, p) {
			return false, nil
		}
	}
	return true, nil
}

// existingRole returns role name as it is now; the zero Role if it does
// not exist yet.
func (a *API) existingRole(c echo.Context, name string) (auth.Role, error) {
	old, err := a.roles.Get(c.Request().Context(), name)
	if errors.Is(err, auth.ErrUnknownRole) {
		return auth.Role{}, nil
	}
	return old, err
}

func (a *API) putRole(c echo.Context) error {
	var body struct {
		Permissions []auth.Permission `json:"permissions"`
	}
	if err := c.Bind(&body); err != nil {
		return bad(c, "body must be {\"permissions\": [...]}")
	}
	name := c.Param("name")
	if _, ok := auth.BuiltIn[name]; ok {
		return httperror.Write(c, http.StatusConflict, "built_in_role", auth.ErrBuiltInRole.Error())
	}
	role := auth.Role{Name: name, Permissions: body.Permissions}
	if err := role.Validate(); err != nil {
		return httperror.Write(c, http.StatusUnprocessableEntity, "invalid_role", err.Error())
	}
	old, err := a.existingRole(c, name)
	if err != nil {
		return a.internal(c, err)
	}
	// Both what the role could do and what it will do must be within the
	// caller's reach.
	ok, err := a.mayManageRole(c, append(slices.Clone(old.Permissions), role.Permissions...))
	if err != nil {
		return a.internal(c, err)
	}
	if !ok {
		return httperror.Write(c, http.StatusForbidden, "forbidden", "cannot change a role to or from permissions you do not have")
	}
	// Written only if the role is still what the check above saw: a
	// concurrent change could have given it more than the caller holds.
	err = a.roles.Replace(c.Request().Context(), old, role)
	switch {
	case errors.Is(err, auth.ErrRoleChanged):
		return httperror.Write(c, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, auth.ErrBuiltInRole):
		return httperror.Write(c, http.StatusConflict, "built_in_role", err.Error())
	case errors.Is(err, auth.ErrInvalidRole):
		return httperror.Write(c, http.StatusUnprocessableEntity, "invalid_role", err.Error())
	case err != nil:
		return a.internal(c, err)
	}
	a.audit.Record(c.Request().Context(), auth.Entry{Actor: caller(c).ID, Action: "role.put", Target: role.Name, IP: c.RealIP()})
	a.changedStaff(c.Request().Context())
	return c.JSON(http.StatusOK, role)
}

func (a *API) deleteRole(c echo.Context) error {
	name := c.Param("name")
	if _, ok := auth.BuiltIn[name]; ok {
		return httperror.Write(c, http.StatusConflict, "built_in_role", auth.ErrBuiltInRole.Error())
	}
	old, err := a.roles.Get(c.Request().Context(), name)
	if errors.Is(err, auth.ErrUnknownRole) {
		return httperror.Write(c, http.StatusNotFound, "not_found", "no such role")
	}
	if err != nil {
		return a.internal(c, err)
	}
	ok, err := a.mayManageRole(c, old.Permissions)
	if err != nil {
		return a.internal(c, err)
	}
	if !ok {
		return httperror.Write(c, http.StatusForbidden, "forbidden", "cannot delete a role with permissions you do not have")
	}
	err = a.roles.DeleteIf(c.Request().Context(), old)
	switch {
	case errors.Is(err, auth.ErrRoleChanged):
		return httperror.Write(c, http.StatusConflict, "conflict", err.Error())
	case errors.Is(err, auth.ErrBuiltInRole):
		return httperror.Write(c, http.StatusConflict, "built_in_role", err.Error())
	case errors.Is(err, auth.ErrUnknownRole):
		return httperror.Write(c, http.StatusNotFound, "not_found", "no such role")
	case err != nil:
		return a.internal(c, err)
	}
	a.audit.Record(c.Request().Context(), auth.Entry{Actor: caller(c).ID, Action: "role.delete", Target: name, IP: c.RealIP()})
	a.changedStaff(c.Request().Context())
	return c.NoContent(http.StatusNoContent)
}

// timeParam is a query parameter holding a time, and where it goes.
type timeParam struct {
	name string
	dst  *time.Time
}

// parseTimes reads RFC 3339 query parameters into their places; it
// returns what to answer (400) of the first that is not one, or "".
func parseTimes(c echo.Context, params ...timeParam) string {
	for _, p := range params {
		if v := c.QueryParam(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return p.name + " must be an RFC 3339 time, like 2026-11-30T00:00:00Z"
			}
			*p.dst = t
		}
	}
	return ""
}

// defaultAuditPage is GET /audit's page without a limit.
const defaultAuditPage = 200

// listAudit answers a page of the audit log, newest first, filtered by
// action, actor, target and time; next_cursor, when present, asks for
// the page after it. An audit log is read for what happened last month
// too, not only for the newest entries.
func (a *API) listAudit(c echo.Context) error {
	q := auth.AuditQuery{Limit: defaultAuditPage, Action: c.QueryParam("action"), Actor: c.QueryParam("actor"), Target: c.QueryParam("target")}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > auth.MaxAuditPage {
			return bad(c, "limit must be 1 to "+strconv.Itoa(auth.MaxAuditPage))
		}
		q.Limit = n
	}
	if msg := parseTimes(c, timeParam{"since", &q.Since}, timeParam{"until", &q.Until}); msg != "" {
		return bad(c, msg)
	}
	if v := c.QueryParam("cursor"); v != "" {
		if _, ok := auth.AuditIDTime(v); !ok {
			return bad(c, "invalid cursor")
		}
		q.Before = v
	}
	entries, err := a.audit.Page(c.Request().Context(), q)
	if err != nil {
		return a.internal(c, err)
	}
	out := map[string]any{"entries": entries}
	if len(entries) == q.Limit {
		out["next_cursor"] = entries[len(entries)-1].ID
	}
	return c.JSON(http.StatusOK, out)
}
