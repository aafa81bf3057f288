package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/conversations"
	"switchboard/events"
	"switchboard/httperror"
	"switchboard/routing"
	"switchboard/settings"
)

const (
	// heartbeat keeps idle streams open through proxies.
	heartbeat = 15 * time.Second
	// DefaultStreamRecheck is how often an open stream re-checks its token
	// when no revocation signal came: the backstop for a signal lost while
	// the subscription reconnected, and for tokens that simply expire. It
	// also picks up changed permissions and settings.
	DefaultStreamRecheck = 10 * time.Second
	// streamWriteTimeout bounds one write to a client: a client that stops
	// reading ends its stream instead of holding it forever.
	streamWriteTimeout = 10 * time.Second
	// DefaultPresenceRenew is how often an open stream renews its
	// presence lease (see conversations.Service.StreamAlive).
	DefaultPresenceRenew = 15 * time.Second
)

// streamView is what deciding an event's visibility needs about the
// stream's user, read when the stream opens and at every re-check, so
// each event is decided in memory.
type streamView struct {
	user    *accounts.User
	viewAll bool
	comp    *settings.Compiled
}

func (a *API) newStreamView(ctx context.Context, u *accounts.User) (streamView, error) {
	all, err := a.roles.Can(ctx, u, auth.PermViewAll)
	if err != nil {
		return streamView{}, fmt.Errorf("event stream permissions: %w", err)
	}
	return streamView{user: u, viewAll: all, comp: a.settingsNow(ctx)}, nil
}

// sees reports whether the view's user may be told about ev: what they may
// see by the query's state in the event (the same rule as visible), or a
// query that just left them: their own, or one leaving a pool they see
// (claimed by someone else, assigned, closed).
func (v streamView) sees(ev *events.Event) bool {
	if ev.PreviousAssignee != "" && ev.PreviousAssignee == v.user.ID {
		return true
	}
	if leftPool(ev) && sees(v.user, v.viewAll, v.comp, ev.PreviousState, "", ev.QueryType) {
		return true
	}
	return sees(v.user, v.viewAll, v.comp, ev.State, ev.Assignee, ev.QueryType)
}

// leftPool reports whether ev is a conversation leaving a pool.
func leftPool(ev *events.Event) bool {
	return (ev.PreviousState == routing.StatePending || ev.PreviousState == routing.StateInactive) && ev.State != ev.PreviousState
}

// streamSees is view.sees, except for an event without the query's state:
// one published by an older Switchboard during a rolling upgrade, decided
// as before by reading the query.
//
// A note event is for one account (To): shown to them only, and only if
// they may see the conversation by its state in the event.
func (a *API) streamSees(ctx context.Context, view streamView, ev *events.Event) bool {
	if ev.Type == conversations.EventNote {
		return ev.To == view.user.ID && ev.State != "" &&
			sees(view.user, view.viewAll, view.comp, ev.State, ev.Assignee, ev.QueryType)
	}
	if ev.State != "" || (ev.PreviousAssignee != "" && ev.PreviousAssignee == view.user.ID) {
		return view.sees(ev)
	}
	st, err := a.conv.State(ctx, ev.QueryID)
	if err != nil {
		return false
	}
	return sees(view.user, view.viewAll, view.comp, st.Query.State, st.Query.Assignee, st.Query.Type)
}

// events streams Server-Sent Events of new messages, assignments, state
// changes and delivery statuses, each only if the caller may see the
// conversation (or it just left them). Events carry ids and states; the
// console fetches what it needs to show. A stream ends when its token stops
// being valid (logout, the user disabled or deleted, expiry), when it falls
// too far behind, and when the server shuts down; the console reconnects.
func (a *API) events(c echo.Context) error {
	ctx := c.Request().Context()
	u := caller(c)
	// Re-checked with whichever credential opened the stream: a browser's
	// EventSource sends the session cookie and cannot set headers.
	token := credentialOf(c).token
	sub, err := a.hub.Subscribe(ctx, u.ID)
	switch {
	case errors.Is(err, events.ErrTooManyStreams):
		return httperror.Write(c, http.StatusTooManyRequests, "too_many_streams",
			"at most "+strconv.Itoa(a.maxStreams)+" event streams may be open per user; close one first")
	case errors.Is(err, events.ErrClosed):
		return httperror.Write(c, http.StatusServiceUnavailable, "shutting_down", "the server is shutting down")
	case err != nil:
		return a.internal(c, err)
	}
	defer sub.Close()
	view, err := a.newStreamView(ctx, u)
	if err != nil {
		return a.internal(c, err)
	}
	renew, closed := a.presenceLease(ctx, u.ID)
	defer closed()

	rc := http.NewResponseController(c.Response().Writer)
	w := c.Response()
	// Each write gets its own deadline: a stream outlives the server's
	// write timeout, which is for requests, but a client that stops reading
	// must not hold its stream forever.
	send := func(format string, args ...any) error {
		if err := rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout)); err != nil {
			a.logger.DebugContext(ctx, "cannot set the write deadline of an event stream", "err", err)
		}
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return err
		}
		return rc.Flush()
	}
	w.Header().Set(echo.HeaderContentType, "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if err := send(": connected\n\n"); err != nil {
		return nil
	}

	ping := time.NewTicker(heartbeat)
	defer ping.Stop()
	lease := time.NewTicker(a.presenceRenew)
	defer lease.Stop()
	recheck := time.NewTicker(a.streamRecheck)
	defer recheck.Stop()
	check := func() bool {
		u, err := a.login.Authenticate(ctx, token)
		if errors.Is(err, auth.ErrInvalidToken) {
			a.logger.DebugContext(ctx, "event stream ended: its token is no longer valid", "user", view.user.ID)
			return false
		}
		if err != nil {
			// Keep streaming on a Redis error: the next check decides.
			a.logger.WarnContext(ctx, "event stream token check failed", "user", view.user.ID, "err", err)
			return true
		}
		if v, err := a.newStreamView(ctx, u); err == nil {
			view = v
		}
		return true
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-a.closing:
			return nil // the console reconnects to another replica
		case <-sub.Done():
			if sub.Dropped() {
				a.logger.InfoContext(ctx, "event stream ended: the client fell behind", "user", view.user.ID)
			}
			return nil
		case <-sub.Recheck():
			if !check() {
				return nil
			}
		case <-recheck.C:
			if !check() {
				return nil
			}
		case <-ping.C:
			if err := send(": ping\n\n"); err != nil {
				return nil
			}
		case <-lease.C:
			renew()
		case ev := <-sub.Events():
			if !a.streamSees(ctx, view, ev) {
				continue
			}
			if err := send("event: %s\ndata: %s\n\n", ev.Type, ev.Data); err != nil {
				return nil
			}
		}
	}
}

// presenceLease gives a stream of account its presence lease: renew,
// called when the stream opens (here) and then periodically, and closed,
// called when it ends. A lease that cannot be written is logged: the next
// renewal tries again, and a close that is lost only lets the lease lapse
// by itself, which the presence check notices as it would a dead server's.
func (a *API) presenceLease(ctx context.Context, account string) (renew, closed func()) {
	var rnd [12]byte
	_, _ = rand.Read(rnd[:]) // crypto/rand.Read never fails
	stream := hex.EncodeToString(rnd[:])
	renew = func() {
		if err := a.conv.StreamAlive(ctx, account, stream, 3*a.presenceRenew); err != nil {
			a.logger.WarnContext(ctx, "event stream presence lease not renewed; the next renewal tries again", "user", account, "err", err)
		}
	}
	closed = func() {
		// The request's context is done when the client went away.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := a.conv.StreamClosed(cctx, account, stream); err != nil {
			a.logger.WarnContext(ctx, "event stream close not recorded; its presence lease lapses by itself", "user", account, "err", err)
		}
	}
	renew()
	return renew, closed
}
