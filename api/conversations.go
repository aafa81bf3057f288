package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/channels"
	"switchboard/httperror"
	"switchboard/queue"
	"switchboard/routing"
	"switchboard/settings"
	"switchboard/store"
)

// Conversation is a query as the API shows it.
type Conversation struct {
	ID            string    `json:"id"`
	ContactID     string    `json:"contact_id"`
	ContactName   string    `json:"contact_name"`
	ContactPhone  string    `json:"contact_phone"`
	Channel       string    `json:"channel"`
	State         string    `json:"state"`
	QueryType     string    `json:"query_type,omitempty"`
	Assignee      string    `json:"assignee,omitempty"`
	Resolution    string    `json:"resolution,omitempty"`
	LastInboundAt time.Time `json:"last_inbound_at"`
	// WindowOpen is whether a free-form reply may be sent now (Meta's
	// 24-hour customer service window); otherwise only templates.
	WindowOpen bool      `json:"window_open"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// MessageView is one message of a conversation's history.
type MessageView struct {
	ID        string    `json:"id"`
	Direction string    `json:"direction"`
	At        time.Time `json:"at"`
	Type      string    `json:"type"`
	Text      string    `json:"text,omitempty"`
	Status    string    `json:"status,omitempty"`
	Error     string    `json:"error,omitempty"`
	// ErrorCode is "window_closed" when the provider refused the message
	// outside the customer's 24-hour window (only a template can reach
	// them), "send_failed" for any other failure.
	ErrorCode string `json:"error_code,omitempty"`
}

func (a *API) registerConversations(authed *echo.Group) {
	authed.GET("/conversations", a.listConversations)
	authed.GET("/conversations/:id", a.getConversation, checkIDs)
	authed.GET("/conversations/:id/messages", a.listMessages, checkIDs)
	authed.POST("/conversations/:id/messages", a.reply, a.require(auth.PermReply))
	authed.POST("/conversations/:id/claim", a.claim, a.require(auth.PermSelfAssign))
	authed.POST("/conversations/:id/return", a.returnToPool, a.require(auth.PermReturn))
	authed.POST("/conversations/:id/transfer", a.transfer, a.require(auth.PermTransfer))
	authed.POST("/conversations/:id/close", a.closeConversation, a.require(auth.PermClose))
	authed.PUT("/me/presence", a.setPresence)
	authed.GET("/events", a.events)
}

// settingsNow returns the routing settings in force, or nil if none.
func (a *API) settingsNow(ctx context.Context) *settings.Compiled {
	if a.settings == nil {
		return nil
	}
	c, _ := a.settings.Current(ctx)
	return c
}

// serves reports whether u serves query type typ, by their account or
// by the routing settings.
func serves(u *accounts.User, comp *settings.Compiled, typ string) bool {
	if typ == "" {
		return false
	}
	if slices.Contains(u.QueryTypes, typ) {
		return true
	}
	if comp != nil {
		if t := comp.Routing.Type(typ); t != nil && slices.Contains(t.Operators, u.ID) {
			return true
		}
	}
	return false
}

// visible says whether u may see a query: their own, the pools of the
// types they serve, or everything with conversations.view_all. A query
// one may not see does not exist for one: every refusal is a 404.
func (a *API) visible(ctx context.Context, u *accounts.User, st *store.RoutingState, comp *settings.Compiled) (bool, error) {
	all, err := a.roles.Can(ctx, u, auth.PermViewAll)
	if err != nil {
		return false, err
	}
	return sees(u, all, comp, st.Query.State, st.Query.Assignee, st.Query.Type), nil
}

// sees is visible's rule on a query's state, assignee and type, with the
// view_all permission already looked up: event streams decide it in memory
// from the event.
func sees(u *accounts.User, viewAll bool, comp *settings.Compiled, state, assignee, typ string) bool {
	if viewAll {
		return true
	}
	if assignee == u.ID && state == routing.StateAssigned {
		return true
	}
	if state == routing.StatePending || state == routing.StateInactive {
		return serves(u, comp, typ)
	}
	return false
}

var errHidden = errors.New("not visible")

// loadToClaim reads a query the caller may see or may have just lost to a
// colleague: one who serves its type learns it was taken (409), as the
// loser of a race for a pool query should, instead of a bare 404.
func (a *API) loadToClaim(c echo.Context) (*store.RoutingState, error) {
	st, err := a.load(c)
	if !errors.Is(err, errHidden) {
		return st, err
	}
	ctx := c.Request().Context()
	st, rerr := a.store.RoutingState(ctx, c.Param("id"))
	if rerr == nil && st.Query.State == routing.StateAssigned && serves(caller(c), a.settingsNow(ctx), st.Query.Type) {
		return nil, routing.ErrAssignedToOther
	}
	return nil, err
}

// load reads a query the caller may see.
func (a *API) load(c echo.Context) (*store.RoutingState, error) {
	ctx := c.Request().Context()
	st, err := a.store.RoutingState(ctx, c.Param("id"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errHidden
	}
	if err != nil {
		return nil, err
	}
	ok, err := a.visible(ctx, caller(c), st, a.settingsNow(ctx))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errHidden
	}
	return st, nil
}

func (a *API) loadError(c echo.Context, err error) error {
	if errors.Is(err, errHidden) {
		return httperror.Write(c, http.StatusNotFound, "not_found", "no such conversation")
	}
	return a.actionError(c, err)
}

func (a *API) view(ctx context.Context, st *store.RoutingState) (Conversation, error) {
	q, err := a.store.Query(ctx, st.Query.ID)
	if err != nil {
		return Conversation{}, err
	}
	contact, err := a.store.Contact(ctx, q.ContactID)
	if err != nil {
		return Conversation{}, err
	}
	state := st.Query.State
	if state == "" {
		state = q.State
	}
	return Conversation{
		ID: q.ID, ContactID: q.ContactID, ContactName: contact.ProfileName, ContactPhone: contact.ExternalID,
		Channel: q.Channel, State: state, QueryType: st.Query.Type, Assignee: st.Query.Assignee,
		Resolution: st.Query.Resolution, LastInboundAt: q.LastInboundAt.UTC(),
		WindowOpen: routing.WindowOpen(q.LastInboundAt, a.clock.Now()), UpdatedAt: q.UpdatedAt.UTC(),
	}, nil
}

// listConversations pages through what the caller may see, newest activity
// first, filtered by state, query_type and assignee.
func (a *API) listConversations(c echo.Context) error {
	ctx := c.Request().Context()
	u := caller(c)
	comp := a.settingsNow(ctx)
	state, typ, assignee := c.QueryParam("state"), c.QueryParam("query_type"), c.QueryParam("assignee")
	search := routing.Fold(c.QueryParam("q"))
	cursor := c.QueryParam("cursor")
	const pageSize, scanLimit = 50, 2000
	out := []Conversation{}
	scanned := 0
	for len(out) < pageSize && scanned < scanLimit {
		page, err := a.store.RecentQueries(ctx, cursor, 200)
		if errors.Is(err, store.ErrNotFound) {
			return httperror.Write(c, http.StatusBadRequest, "bad_request", "invalid cursor")
		}
		if err != nil {
			return a.internal(c, err)
		}
		for _, id := range page.IDs {
			scanned++
			// A query that vanished between the index and its load is
			// skipped; any other failure fails the page, since a page that
			// silently lacks rows misleads whoever reads it.
			st, err := a.store.RoutingState(ctx, id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return a.internal(c, err)
			}
			ok, err := a.visible(ctx, u, st, comp)
			if err != nil {
				return a.internal(c, err)
			}
			if !ok {
				continue
			}
			cv, err := a.view(ctx, st)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return a.internal(c, err)
			}
			if (state != "" && cv.State != state) || (typ != "" && cv.QueryType != typ) || (assignee != "" && cv.Assignee != assignee) {
				continue
			}
			if search != "" && !strings.Contains(routing.Fold(cv.ContactName+" "+cv.ContactPhone), search) {
				continue
			}
			out = append(out, cv)
		}
		cursor = page.Next
		if cursor == "" {
			break
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"conversations": out, "next_cursor": cursor})
}

func (a *API) getConversation(c echo.Context) error {
	st, err := a.load(c)
	if err != nil {
		return a.loadError(c, err)
	}
	cv, err := a.view(c.Request().Context(), st)
	if err != nil {
		return a.internal(c, err)
	}
	return c.JSON(http.StatusOK, cv)
}

func (a *API) listMessages(c echo.Context) error {
	st, err := a.load(c)
	if err != nil {
		return a.loadError(c, err)
	}
	hist, err := a.store.History(c.Request().Context(), st.Query.ID)
	if err != nil {
		return a.internal(c, err)
	}
	out := make([]MessageView, 0, len(hist))
	for _, m := range hist {
		v := MessageView{ID: m.ID, Direction: m.Direction, At: m.At.UTC(), Text: m.Text, Type: "text", Status: m.Status}
		if m.Inbound != nil {
			v.Type, v.Text = m.Inbound.Type, m.Inbound.Text
		}
		if m.Error != nil {
			v.Error, v.ErrorCode = m.Error.Message, "send_failed"
			if m.Error.Title == channels.WindowClosedTitle {
				v.ErrorCode = channels.WindowClosedTitle
			}
		}
		out = append(out, v)
	}
	return c.JSON(http.StatusOK, map[string]any{"messages": out})
}

// change applies an operator action to a query atomically: it retries when
// routing changed the query meanwhile, and fails with the action's error.
func (a *API) change(ctx context.Context, queryID string, action func(q routing.Query) (routing.Query, error)) (routing.Query, error) {
	for range 5 {
		st, err := a.store.RoutingState(ctx, queryID)
		if err != nil {
			return routing.Query{}, err
		}
		q, err := action(st.Query)
		if err != nil {
			return st.Query, err
		}
		if q == st.Query {
			return q, nil
		}
		err = a.store.ApplyRouting(ctx, q, st.Version, 1<<30, a.clock.Now())
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return q, err
	}
	return routing.Query{}, store.ErrConflict
}

func (a *API) actionError(c echo.Context, err error) error {
	switch {
	case errors.Is(err, errNotHolder):
		return httperror.Write(c, http.StatusForbidden, "forbidden", err.Error())
	case errors.Is(err, routing.ErrAssignedToOther):
		return httperror.Write(c, http.StatusConflict, "assigned_to_other", "another operator has this conversation")
	case errors.Is(err, routing.ErrClosed):
		return httperror.Write(c, http.StatusConflict, "closed", "the conversation is closed")
	case errors.Is(err, routing.ErrNotAssigned), errors.Is(err, routing.ErrNotInPool):
		return httperror.Write(c, http.StatusConflict, "invalid_state", err.Error())
	case errors.Is(err, store.ErrConflict):
		return httperror.Write(c, http.StatusConflict, "conflict", "the conversation changed; try again")
	}
	return a.internal(c, err)
}

type replyRequest struct {
	Text string `json:"text"`
}

// reply sends a free-form message. Inside the customer service window
// only; a reply to a pooled conversation claims it, atomically.
func (a *API) reply(c echo.Context) error {
	var req replyRequest
	if err := c.Bind(&req); err != nil || req.Text == "" || len(req.Text) > 4096 {
		return bad(c, "body must be {\"text\": \"...\"} with 1 to 4096 characters")
	}
	st, err := a.loadToClaim(c)
	if err != nil {
		return a.loadError(c, err)
	}
	if !routing.WindowOpen(st.LastInboundAt, a.clock.Now()) {
		a.metrics.WindowRejections.Inc()
		return httperror.Write(c, http.StatusUnprocessableEntity, "window_closed",
			"more than 24 hours since the customer's last message: only a template may be sent")
	}
	return a.send(c, st, func(ctx context.Context) (string, error) {
		return a.store.RecordOutbound(ctx, st.Query.ID, req.Text)
	})
}

// send claims the query for the caller (a send to a pool query claims it),
// records the message with record, and queues its send.
func (a *API) send(c echo.Context, st *store.RoutingState, record func(ctx context.Context) (string, error)) error {
	ctx := c.Request().Context()
	me := caller(c).ID
	if _, err := a.change(ctx, st.Query.ID, func(q routing.Query) (routing.Query, error) { return routing.Claim(q, me) }); err != nil {
		return a.actionError(c, err)
	}
	msgID, err := record(ctx)
	if err != nil {
		return a.internal(c, err)
	}
	q, err := a.store.Query(ctx, st.Query.ID)
	if err != nil {
		return a.internal(c, err)
	}
	if err := a.queue.EnqueueOutbound(ctx, queue.Outbound{Channel: q.Channel, QueryID: q.ID, MessageID: msgID}); err != nil {
		return a.internal(c, err)
	}
	return c.JSON(http.StatusAccepted, map[string]string{"message_id": msgID, "status": "queued"})
}

func (a *API) claim(c echo.Context) error {
	st, err := a.loadToClaim(c)
	if err != nil {
		return a.loadError(c, err)
	}
	me := caller(c).ID
	q, err := a.change(c.Request().Context(), st.Query.ID, func(q routing.Query) (routing.Query, error) { return routing.Claim(q, me) })
	if err != nil {
		return a.actionError(c, err)
	}
	return c.JSON(http.StatusOK, map[string]string{"state": q.State, "assignee": q.Assignee})
}

// errNotHolder refuses an action on a query the caller does not hold.
var errNotHolder = errors.New("only the assignee, or someone who may refer conversations, can do that")

// loadHeld reads a query the caller may see and act on: one they hold, or
// any with conversations.refer.
func (a *API) loadHeld(c echo.Context) (*store.RoutingState, error) {
	st, err := a.load(c)
	if err != nil {
		return nil, err
	}
	ok, err := a.mayAct(c, st)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errNotHolder
	}
	return st, nil
}

// mayAct reports whether the caller may act on a query they do not hold:
// only with conversations.refer.
func (a *API) mayAct(c echo.Context, st *store.RoutingState) (bool, error) {
	if st.Query.Assignee == caller(c).ID {
		return true, nil
	}
	return a.roles.Can(c.Request().Context(), caller(c), auth.PermRefer)
}

func (a *API) returnToPool(c echo.Context) error {
	st, err := a.loadHeld(c)
	if err != nil {
		return a.loadError(c, err)
	}
	q, err := a.change(c.Request().Context(), st.Query.ID, routing.Return)
	if err != nil {
		return a.actionError(c, err)
	}
	return c.JSON(http.StatusOK, map[string]string{"state": q.State})
}

type transferRequest struct {
	To string `json:"to"`
}

// transfer hands a conversation to a colleague who serves its type; with
// conversations.refer, to anyone.
func (a *API) transfer(c echo.Context) error {
	ctx := c.Request().Context()
	var req transferRequest
	if err := c.Bind(&req); err != nil || req.To == "" {
		return bad(c, "body must be {\"to\": \"<user id>\"}")
	}
	st, err := a.loadHeld(c)
	if err != nil {
		return a.loadError(c, err)
	}
	target, err := a.users.Get(ctx, req.To)
	if err != nil && !errors.Is(err, accounts.ErrNotFound) {
		return a.internal(c, err)
	}
	if err != nil || target.Status != accounts.StatusActive {
		return httperror.Write(c, http.StatusUnprocessableEntity, "invalid_target", "no active user with that id")
	}
	if !serves(target, a.settingsNow(ctx), st.Query.Type) {
		force, err := a.roles.Can(ctx, caller(c), auth.PermRefer)
		if err != nil {
			return a.internal(c, err)
		}
		if !force {
			return httperror.Write(c, http.StatusUnprocessableEntity, "target_not_serving", "that operator does not serve this query type")
		}
	}
	q, err := a.change(ctx, st.Query.ID, func(q routing.Query) (routing.Query, error) { return routing.Transfer(q, target.ID) })
	if err != nil {
		return a.actionError(c, err)
	}
	a.audit.Record(ctx, auth.Entry{Actor: caller(c).ID, Action: "conversation.transfer", Target: q.ID, IP: c.RealIP()})
	return c.JSON(http.StatusOK, map[string]string{"state": q.State, "assignee": q.Assignee})
}

type closeRequest struct {
	Reason string `json:"reason"`
}

func (a *API) closeConversation(c echo.Context) error {
	ctx := c.Request().Context()
	var req closeRequest
	if err := c.Bind(&req); err != nil {
		return bad(c, "body must be {\"reason\": \"<resolution reason id>\"}")
	}
	comp := a.settingsNow(ctx)
	if comp == nil || comp.Reasons[req.Reason] == "" {
		return httperror.Write(c, http.StatusUnprocessableEntity, "invalid_reason", "reason must be one of the configured resolution_reasons")
	}
	st, err := a.loadHeld(c)
	if err != nil {
		return a.loadError(c, err)
	}
	q, err := a.change(ctx, st.Query.ID, func(q routing.Query) (routing.Query, error) { return routing.Close(q, req.Reason) })
	if err != nil {
		return a.actionError(c, err)
	}
	return c.JSON(http.StatusOK, map[string]string{"state": q.State, "resolution": q.Resolution})
}

type presenceRequest struct {
	Presence string `json:"presence"`
}

// setPresence sets the caller's presence; coming online pulls waiting
// pool queries to them.
func (a *API) setPresence(c echo.Context) error {
	ctx := c.Request().Context()
	var req presenceRequest
	if err := c.Bind(&req); err != nil {
		return bad(c, "body must be {\"presence\": \"online|away|offline\"}")
	}
	switch req.Presence {
	case routing.PresenceOnline, routing.PresenceAway, routing.PresenceOffline:
	default:
		return httperror.Write(c, http.StatusUnprocessableEntity, "invalid_presence", "presence must be online, away or offline")
	}
	me := caller(c)
	if err := a.store.SetPresence(ctx, me.ID, req.Presence); err != nil {
		return a.internal(c, err)
	}
	if req.Presence == routing.PresenceOnline {
		if err := a.queue.EnqueueDispatch(ctx, me.ID); err != nil {
			return a.internal(c, err)
		}
	}
	return c.JSON(http.StatusOK, map[string]string{"presence": req.Presence})
}
