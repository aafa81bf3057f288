package api

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/channels"
	"switchboard/conversations"
	"switchboard/httperror"
	"switchboard/routing"
	"switchboard/settings"
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
	// AssigneeName, PortfolioOwner and PortfolioOwnerName are shown for
	// one conversation (GET /conversations/{id}), not in lists: the
	// contact panel names the people, a list row needs none of them.
	AssigneeName       string `json:"assignee_name,omitempty"`
	PortfolioOwner     string `json:"portfolio_owner,omitempty"`
	PortfolioOwnerName string `json:"portfolio_owner_name,omitempty"`
	// ContactNotes are what staff keep about the customer (PUT
	// /contacts/{id}), also only for one conversation.
	ContactNotes string `json:"contact_notes,omitempty"`
	// CSAT is its satisfaction survey, only for one conversation; absent
	// when it was never surveyed.
	CSAT *CSATView `json:"csat,omitempty"`
	// Tags are the ids of the settings' tags it carries (PUT
	// /conversations/{id}/tags), sorted.
	Tags []string `json:"tags"`
	// SLA are its type's first-response and resolution targets (nil:
	// none).
	SLA *SLAView `json:"sla,omitempty"`
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
	// Purged is true when retention removed the message's content.
	Purged bool `json:"purged,omitempty"`
	// Media is the message's file (media.go).
	Media *MediaView `json:"media,omitempty"`
	// Location, Contacts and Reaction are what an inbound message of
	// those types carried.
	Location *channels.Location       `json:"location,omitempty"`
	Contacts []channels.SharedContact `json:"contacts,omitempty"`
	Reaction *channels.Reaction       `json:"reaction,omitempty"`
}

func (a *API) registerConversations(authed *echo.Group) {
	authed.GET("/conversations", a.listConversations)
	authed.GET("/conversations/:id", a.getConversation, checkIDs)
	authed.GET("/conversations/:id/messages", a.listMessages, checkIDs)
	authed.GET("/media/:id", a.getMedia, checkIDs)
	authed.HEAD("/media/:id", a.getMedia, checkIDs)
	authed.POST("/conversations/:id/messages", a.reply, a.require(auth.PermReply))
	authed.POST("/conversations/:id/claim", a.claim, a.require(auth.PermSelfAssign))
	authed.POST("/conversations/:id/return", a.returnToPool, a.require(auth.PermReturn))
	authed.POST("/conversations/:id/transfer", a.transfer, a.require(auth.PermTransfer))
	authed.POST("/conversations/:id/close", a.closeConversation, a.require(auth.PermClose))
	a.registerAnnotations(authed)
	authed.PUT("/me/presence", a.setPresence)
	authed.GET("/events", a.events)
	a.registerViews(authed)
	a.registerMonitor(authed)
}

// settingsNow returns the routing settings in force, or nil if none.
func (a *API) settingsNow(ctx context.Context) *settings.Compiled {
	c, _ := a.conv.Current(ctx)
	return c
}

// serves reports whether u serves query type typ: by their account's own
// types, their groups, or the settings naming them.
func serves(u *accounts.User, comp *settings.Compiled, typ string) bool {
	if typ == "" {
		return false
	}
	if slices.Contains(u.QueryTypes, typ) {
		return true
	}
	if comp != nil {
		if t := comp.Routing.Type(typ); t != nil && t.ServedBy(member(u)) {
			return true
		}
	}
	return false
}

// member is u as routing.QueryType.ServedBy reads it.
func member(u *accounts.User) routing.Member {
	return routing.Member{ID: u.ID, QueryTypes: u.QueryTypes, Groups: u.Groups}
}

// visible says whether u may see a query: their own, the pools of the
// types they serve, or everything with conversations.view_all. A query
// one may not see does not exist for one: every refusal is a 404.
func (a *API) visible(ctx context.Context, u *accounts.User, st *conversations.RoutingState, comp *settings.Compiled) (bool, error) {
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
func (a *API) loadToClaim(c echo.Context) (*conversations.RoutingState, error) {
	st, err := a.load(c)
	if !errors.Is(err, errHidden) {
		return st, err
	}
	ctx := c.Request().Context()
	st, rerr := a.conv.State(ctx, c.Param("id"))
	if rerr == nil && st.Query.State == routing.StateAssigned && serves(caller(c), a.settingsNow(ctx), st.Query.Type) {
		return nil, routing.ErrAssignedToOther
	}
	return nil, err
}

// load reads a query the caller may see.
func (a *API) load(c echo.Context) (*conversations.RoutingState, error) {
	ctx := c.Request().Context()
	st, err := a.conv.State(ctx, c.Param("id"))
	if errors.Is(err, conversations.ErrNotFound) {
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

// view shows one conversation.
func (a *API) view(ctx context.Context, st *conversations.RoutingState) (Conversation, error) {
	q, err := a.conv.Query(ctx, st.Query.ID)
	if err != nil {
		return Conversation{}, err
	}
	contact, err := a.conv.Contact(ctx, q.ContactID)
	if err != nil {
		return Conversation{}, err
	}
	name := contact.DisplayName
	if name == "" {
		name = contact.ProfileName
	}
	cv := a.summaryView(conversations.Summary{Query: *q, ContactName: name, ContactPhone: contact.ExternalID})
	cv.PortfolioOwner, cv.ContactNotes = contact.PortfolioOwner, contact.Notes
	cv.CSAT = csatView(q.CSAT)
	if cv.AssigneeName, err = a.userName(ctx, cv.Assignee); err != nil {
		return Conversation{}, err
	}
	if cv.PortfolioOwnerName, err = a.userName(ctx, cv.PortfolioOwner); err != nil {
		return Conversation{}, err
	}
	return cv, nil
}

// userName names an account; "" for none or one deleted since.
func (a *API) userName(ctx context.Context, id string) (string, error) {
	if id == "" {
		return "", nil
	}
	u, err := a.users.Get(ctx, id)
	if errors.Is(err, accounts.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("name account %s: %w", id, err)
	}
	return u.Name, nil
}

// summaryView shows a conversation as listed.
func (a *API) summaryView(s conversations.Summary) Conversation {
	return Conversation{
		ID: s.ID, ContactID: s.ContactID, ContactName: s.ContactName, ContactPhone: s.ContactPhone,
		Channel: s.Channel, State: s.State, QueryType: s.QueryType, Assignee: s.Assignee,
		Resolution: s.Resolution, LastInboundAt: s.LastInboundAt.UTC(),
		WindowOpen: routing.WindowOpen(s.LastInboundAt, a.clock.Now()), UpdatedAt: s.ActivityAt.UTC(),
		Tags: nonNil(s.Tags), SLA: slaView(&s.Query),
	}
}

// servedTypes lists the query types u serves, by their account, their
// groups or the settings naming them.
func servedTypes(u *accounts.User, comp *settings.Compiled) []string {
	types := slices.Clone(u.QueryTypes)
	if comp != nil {
		for _, t := range comp.Routing.Types {
			if t.ServedBy(member(u)) && !slices.Contains(types, t.ID) {
				types = append(types, t.ID)
			}
		}
	}
	return types
}

// Page sizes of lists.
const (
	defaultPage = 50
	maxPage     = 200
)

// listConversations pages through what the caller may see, newest activity
// first, filtered by state, query_type, channel, assignee, tag, an activity
// range (updated_from, updated_to), how long the customer's newest
// message is past (waiting_longer_than, a duration) and a search (q) by
// the contact's name or phone. Every page is complete: the database answers the filters by
// index, and a cursor continues exactly after the last row.
func (a *API) listConversations(c echo.Context) error {
	ctx := c.Request().Context()
	u := caller(c)
	f := conversations.Filter{
		State: c.QueryParam("state"), QueryType: c.QueryParam("query_type"), Channel: c.QueryParam("channel"),
		Assignee: c.QueryParam("assignee"), Tag: c.QueryParam("tag"), Search: strings.TrimSpace(c.QueryParam("q")), Limit: defaultPage,
	}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPage {
			return bad(c, "limit must be 1 to "+strconv.Itoa(maxPage))
		}
		f.Limit = n
	}
	if msg := parseTimes(c, timeParam{"updated_from", &f.UpdatedFrom}, timeParam{"updated_to", &f.UpdatedTo}); msg != "" {
		return bad(c, msg)
	}
	if v := c.QueryParam("waiting_longer_than"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return bad(c, "waiting_longer_than must be a positive duration, like 30m or 2h")
		}
		f.InboundBefore = a.clock.Now().Add(-d)
	}
	if v := c.QueryParam("cursor"); v != "" {
		cur, err := decodeCursor(v)
		if err != nil {
			return httperror.Write(c, http.StatusBadRequest, "bad_request", "invalid cursor")
		}
		f.After = &cur
	}
	if err := a.restrict(ctx, u, &f); err != nil {
		return a.internal(c, err)
	}
	page, err := a.conv.List(ctx, f)
	if errors.Is(err, conversations.ErrBadCursor) {
		return httperror.Write(c, http.StatusBadRequest, "bad_request", "invalid cursor")
	}
	if err != nil {
		return a.internal(c, err)
	}
	out := make([]Conversation, 0, len(page.Items))
	for _, s := range page.Items {
		out = append(out, a.summaryView(s))
	}
	next := ""
	if page.Next != nil {
		next = encodeCursor(*page.Next)
	}
	return c.JSON(http.StatusOK, map[string]any{"conversations": out, "next_cursor": next})
}

// encodeCursor makes an opaque cursor of a list position.
func encodeCursor(c conversations.Cursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.At.UnixMilli(), 10) + "." + c.ID))
}

// decodeCursor reads a cursor encodeCursor made.
func decodeCursor(s string) (conversations.Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return conversations.Cursor{}, conversations.ErrBadCursor
	}
	ms, id, ok := strings.Cut(string(b), ".")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || !queryIDFormat.MatchString(id) {
		return conversations.Cursor{}, conversations.ErrBadCursor
	}
	return conversations.Cursor{At: time.UnixMilli(n), ID: id}, nil
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

// listMessages returns a page of a conversation's history, oldest first:
// the newest messages, or those before or after a message id, so a client
// pages upward through a long history.
func (a *API) listMessages(c echo.Context) error {
	st, err := a.load(c)
	if err != nil {
		return a.loadError(c, err)
	}
	r := conversations.HistoryRange{Before: c.QueryParam("before"), After: c.QueryParam("after"), Limit: 100}
	if r.Before != "" && r.After != "" {
		return bad(c, "give before or after, not both")
	}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return bad(c, "limit must be 1 to 500")
		}
		r.Limit = n
	}
	hist, err := a.conv.History(c.Request().Context(), st.Query.ID, r)
	if errors.Is(err, conversations.ErrBadCursor) {
		return bad(c, "before/after must name a message of this conversation")
	}
	if err != nil {
		return a.internal(c, err)
	}
	out := make([]MessageView, 0, len(hist.Messages))
	for _, m := range hist.Messages {
		v := MessageView{ID: m.ID, Direction: m.Direction, At: m.At.UTC(), Text: m.Text, Type: "text", Status: m.Status, Purged: m.Purged}
		if m.Inbound != nil {
			v.Type, v.Text = m.Inbound.Type, m.Inbound.Text
			inboundFields(&v, m.Inbound)
		} else if m.Media != nil {
			// An operator's file: the text is its caption.
			v.Type = m.Media.Kind
		}
		v.Media = mediaView(m.Media)
		if m.Error != nil {
			v.Error, v.ErrorCode = m.Error.Message, "send_failed"
			if m.Error.Title == channels.WindowClosedTitle {
				v.ErrorCode = channels.WindowClosedTitle
			}
		}
		out = append(out, v)
	}
	return c.JSON(http.StatusOK, map[string]any{"messages": out, "has_more": hist.More})
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
	case errors.Is(err, conversations.ErrWindowClosed):
		return httperror.Write(c, http.StatusUnprocessableEntity, "window_closed", err.Error())
	case errors.Is(err, conversations.ErrConflict):
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
	if isMultipart(c.Request()) {
		return a.replyWithFile(c)
	}
	var req replyRequest
	if err := c.Bind(&req); err != nil || req.Text == "" || len(req.Text) > 4096 {
		return bad(c, "body must be {\"text\": \"...\"} with 1 to 4096 characters")
	}
	st, err := a.loadToClaim(c)
	if err != nil {
		return a.loadError(c, err)
	}
	id, err := a.conv.Reply(c.Request().Context(), st.Query.ID, caller(c).ID, req.Text)
	if err != nil {
		return a.actionError(c, err)
	}
	return queued(c, id)
}

// queued answers a send that was recorded and queued.
func queued(c echo.Context, msgID string) error {
	return c.JSON(http.StatusAccepted, map[string]string{"message_id": msgID, "status": "queued"})
}

func (a *API) claim(c echo.Context) error {
	st, err := a.loadToClaim(c)
	if err != nil {
		return a.loadError(c, err)
	}
	q, err := a.conv.Claim(c.Request().Context(), st.Query.ID, caller(c).ID)
	if err != nil {
		return a.actionError(c, err)
	}
	return c.JSON(http.StatusOK, map[string]string{"state": q.State, "assignee": q.Assignee})
}

// errNotHolder refuses an action on a query the caller does not hold.
var errNotHolder = errors.New("only the assignee, or someone who may refer conversations, can do that")

// loadHeld reads a query the caller may see and act on: one they hold, or
// any with conversations.refer.
func (a *API) loadHeld(c echo.Context) (*conversations.RoutingState, error) {
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
func (a *API) mayAct(c echo.Context, st *conversations.RoutingState) (bool, error) {
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
	q, err := a.conv.Return(c.Request().Context(), st.Query.ID)
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
	if ok, err := a.roles.Can(ctx, target, auth.PermReply); err != nil || !ok {
		return a.cannotAnswer(c, err)
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
	q, err := a.conv.Transfer(ctx, st.Query.ID, target.ID)
	if err != nil {
		return a.actionError(c, err)
	}
	a.audit.Record(ctx, auth.Entry{Actor: caller(c).ID, Action: "conversation.transfer", Target: q.ID, IP: c.RealIP()})
	return c.JSON(http.StatusOK, map[string]string{"state": q.State, "assignee": q.Assignee})
}

// cannotAnswer refuses to hand conversations to a user who may not
// answer customers (a collaborator, say): the customer would wait on
// someone who can never reply. err is the failure to find out, if any.
func (a *API) cannotAnswer(c echo.Context, err error) error {
	if err != nil {
		return a.internal(c, err)
	}
	return httperror.Write(c, http.StatusUnprocessableEntity, "invalid_target", "that user may not answer customers ("+string(auth.PermReply)+")")
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
	q, err := a.conv.Close(ctx, st.Query.ID, req.Reason)
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
	if err := a.conv.SetPresence(ctx, caller(c).ID, req.Presence); err != nil {
		return a.internal(c, err)
	}
	return c.JSON(http.StatusOK, map[string]string{"presence": req.Presence})
}
