package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/conversations"
	"switchboard/httperror"
	"switchboard/routing"
)

// View is a saved view as the API shows it: a user's named list filter
// and how many conversations it matches now among those they may see.
type View struct {
	ID        string                   `json:"id"`
	Name      string                   `json:"name"`
	Filter    conversations.ViewFilter `json:"filter"`
	Count     int                      `json:"count"`
	CreatedAt time.Time                `json:"created_at"`
}

type viewRequest struct {
	Name   string          `json:"name"`
	Filter json.RawMessage `json:"filter"`
}

// maxViews bounds one user's saved views: each is counted on every read
// of the list.
const maxViews = 30

var viewIDFormat = regexp.MustCompile(`^v_[0-9a-f]{16}$`)

func (a *API) registerViews(authed *echo.Group) {
	authed.GET("/me/views", a.listViews, a.require(auth.PermViews))
	authed.POST("/me/views", a.createView, a.require(auth.PermViews))
	authed.DELETE("/me/views/:id", a.deleteView, a.require(auth.PermViews))
}

// restrict limits f to what u may see, as every list does: without
// conversations.view_all, to their own and the pools of the types they serve.
func (a *API) restrict(ctx context.Context, u *accounts.User, f *conversations.Filter) error {
	all, err := a.roles.Can(ctx, u, auth.PermViewAll)
	if err != nil {
		return err
	}
	if !all {
		f.Viewer = &conversations.Viewer{ID: u.ID, Types: servedTypes(u, a.settingsNow(ctx))}
	}
	return nil
}

// viewOf shows v with its count for u now.
func (a *API) viewOf(ctx context.Context, u *accounts.User, v conversations.SavedView) (View, error) {
	f := v.Filter.Filter(a.clock.Now())
	if err := a.restrict(ctx, u, &f); err != nil {
		return View{}, err
	}
	n, err := a.conv.Count(ctx, f)
	if err != nil {
		return View{}, err
	}
	return View{ID: v.ID, Name: v.Name, Filter: v.Filter, Count: n, CreatedAt: v.CreatedAt.UTC()}, nil
}

// listViews lists the caller's saved views, oldest first, each with the
// number of conversations it matches that the caller may see.
func (a *API) listViews(c echo.Context) error {
	ctx := c.Request().Context()
	u := caller(c)
	vs, err := a.conv.SavedViews(ctx, u.ID)
	if err != nil {
		return a.internal(c, err)
	}
	out := make([]View, 0, len(vs))
	for _, v := range vs {
		view, err := a.viewOf(ctx, u, v)
		if err != nil {
			return a.internal(c, err)
		}
		out = append(out, view)
	}
	return c.JSON(http.StatusOK, map[string]any{"views": out})
}

// invalidView refuses a view, naming the field at fault.
func invalidView(c echo.Context, field, msg string) error {
	return httperror.Write(c, http.StatusUnprocessableEntity, "invalid_view", field+": "+msg)
}

// createView saves a named filter for the caller. Every field is checked
// and a refusal names it: the filter's keys are the list's own
// parameters, and one the list does not know is refused rather than
// kept and ignored.
func (a *API) createView(c echo.Context) error {
	ctx := c.Request().Context()
	u := caller(c)
	var req viewRequest
	if err := json.NewDecoder(c.Request().Body).Decode(&req); err != nil {
		return bad(c, `body must be {"name": "...", "filter": {...}}`)
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" || utf8.RuneCountInString(req.Name) > 60 {
		return invalidView(c, "name", "want 1 to 60 characters")
	}
	var f conversations.ViewFilter
	if len(req.Filter) > 0 && string(req.Filter) != "null" {
		dec := json.NewDecoder(strings.NewReader(string(req.Filter)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			var typeErr *json.UnmarshalTypeError
			switch {
			case errors.As(err, &typeErr) && typeErr.Field != "":
				return invalidView(c, "filter."+typeErr.Field, "want a string")
			case strings.HasPrefix(err.Error(), "json: unknown field "):
				return invalidView(c, "filter."+strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), "not a filter of the conversation list")
			}
			return invalidView(c, "filter", "want an object of the list's filters")
		}
	}
	if field, msg, err := a.checkViewFilter(ctx, f); err != nil {
		return a.internal(c, err)
	} else if field != "" {
		return invalidView(c, field, msg)
	}
	vs, err := a.conv.SavedViews(ctx, u.ID)
	if err != nil {
		return a.internal(c, err)
	}
	if len(vs) >= maxViews {
		return httperror.Write(c, http.StatusUnprocessableEntity, "too_many_views", fmt.Sprintf("at most %d saved views per user: delete one first", maxViews))
	}
	v, err := a.conv.SaveView(ctx, u.ID, req.Name, f)
	if err != nil {
		return a.internal(c, err)
	}
	view, err := a.viewOf(ctx, u, v)
	if err != nil {
		return a.internal(c, err)
	}
	return c.JSON(http.StatusCreated, view)
}

// checkViewFilter returns the field of f at fault and why ("" when f is
// good), or the error that kept it from checking.
func (a *API) checkViewFilter(ctx context.Context, f conversations.ViewFilter) (string, string, error) {
	if f.State != "" && !slices.Contains([]string{routing.StatePending, routing.StateAssigned, routing.StateInactive, routing.StateClosed}, f.State) {
		return "filter.state", "want pending, assigned, inactive or closed", nil
	}
	if f.QueryType != "" {
		comp := a.settingsNow(ctx)
		if comp == nil || comp.Routing.Type(f.QueryType) == nil {
			return "filter.query_type", "no query type " + quoted(f.QueryType) + " in the settings", nil
		}
	}
	if f.Channel != "" && len(a.channels) > 0 && !slices.ContainsFunc(a.channels, func(ch Channel) bool { return ch.ID == f.Channel }) {
		return "filter.channel", "no channel " + quoted(f.Channel), nil
	}
	if f.Assignee != "" {
		if !accounts.ValidID(f.Assignee) {
			return "filter.assignee", "no such user", nil
		}
		if _, err := a.users.Get(ctx, f.Assignee); errors.Is(err, accounts.ErrNotFound) {
			return "filter.assignee", "no such user", nil
		} else if err != nil {
			return "", "", err
		}
	}
	if f.Tag != "" {
		comp := a.settingsNow(ctx)
		if comp == nil || comp.Tags[f.Tag].ID == "" {
			return "filter.tag", "no tag " + quoted(f.Tag) + " in the settings", nil
		}
	}
	if f.WaitingLongerThan != "" {
		if d, err := time.ParseDuration(f.WaitingLongerThan); err != nil || d <= 0 {
			return "filter.waiting_longer_than", "want a positive duration, like 30m or 2h", nil
		}
	}
	return "", "", nil
}

// quoted shows a value a caller gave in a message, cut short.
func quoted(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// deleteView deletes one of the caller's saved views; another user's is
// not found.
func (a *API) deleteView(c echo.Context) error {
	err := a.conv.DeleteView(c.Request().Context(), caller(c).ID, c.Param("id"))
	if errors.Is(err, conversations.ErrNotFound) {
		return httperror.Write(c, http.StatusNotFound, "not_found", "no such view")
	}
	if err != nil {
		return a.internal(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}
