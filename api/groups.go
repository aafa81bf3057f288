package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/httperror"
)

// registerGroups adds the agent group routes (groups.manage).
func (a *API) registerGroups(authed *echo.Group) {
	authed.GET("/groups", a.listGroups, a.require(auth.PermGroups))
	authed.POST("/groups", a.createGroup, a.require(auth.PermGroups))
	authed.GET("/groups/:id", a.getGroup, a.require(auth.PermGroups))
	authed.PATCH("/groups/:id", a.updateGroup, a.require(auth.PermGroups))
	authed.DELETE("/groups/:id", a.deleteGroup, a.require(auth.PermGroups))
}

// groupInput is the body of POST and PATCH /groups: POST needs a name,
// PATCH changes what it is given.
type groupInput struct {
	// ID, on create only, is the readable id the settings name the group
	// by; absent, one is generated.
	ID      *string   `json:"id"`
	Name    *string   `json:"name"`
	Members *[]string `json:"members"`
}

// groupError answers a groups error: the caller's mistakes by what they
// were, the rest as internal.
func (a *API) groupError(c echo.Context, err error) error {
	switch {
	case errors.Is(err, accounts.ErrGroupNotFound):
		return httperror.Write(c, http.StatusNotFound, "not_found", "no such group")
	case errors.Is(err, accounts.ErrGroupNameTaken):
		return httperror.Write(c, http.StatusConflict, "group_name_taken", accounts.ErrGroupNameTaken.Error())
	case errors.Is(err, accounts.ErrGroupIDTaken):
		return httperror.Write(c, http.StatusConflict, "group_id_taken", accounts.ErrGroupIDTaken.Error())
	case errors.Is(err, accounts.ErrInvalidGroup):
		return httperror.Write(c, http.StatusUnprocessableEntity, "invalid_group", err.Error())
	}
	return a.internal(c, err)
}

// changedStaff runs the staffChanged hook after a group write and logs
// its failure: the write is committed by then, so the request succeeded.
// It runs to the end even if the caller hangs up.
func (a *API) changedStaff(ctx context.Context) {
	if a.staffChanged == nil {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if err := a.staffChanged(ctx); err != nil {
		a.logger.ErrorContext(ctx, "re-check routing's assignments after a staff change", "err", err)
	}
}

func (a *API) listGroups(c echo.Context) error {
	groups, err := a.groups.List(c.Request().Context())
	if err != nil {
		return a.internal(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"groups": groups})
}

func (a *API) getGroup(c echo.Context) error {
	g, err := a.groups.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return a.groupError(c, err)
	}
	return c.JSON(http.StatusOK, g)
}

func (a *API) createGroup(c echo.Context) error {
	var in groupInput
	if err := c.Bind(&in); err != nil {
		return bad(c, `body must be {"name": "...", "members": ["u_..."]}`)
	}
	var id, name string
	var members []string
	if in.ID != nil {
		id = *in.ID
	}
	if in.Name != nil {
		name = *in.Name
	}
	if in.Members != nil {
		members = *in.Members
	}
	ctx := c.Request().Context()
	g, err := a.groups.CreateWithID(ctx, id, name, members)
	if err != nil {
		return a.groupError(c, err)
	}
	a.audit.Record(ctx, auth.Entry{Actor: caller(c).ID, Action: "group.create", Target: g.ID, IP: c.RealIP()})
	a.changedStaff(ctx)
	return c.JSON(http.StatusCreated, g)
}

func (a *API) updateGroup(c echo.Context) error {
	var in groupInput
	if err := c.Bind(&in); err != nil {
		return bad(c, `body must be {"name": "...", "members": ["u_..."]}, either or both`)
	}
	ctx := c.Request().Context()
	g, err := a.groups.Update(ctx, c.Param("id"), accounts.GroupChange{Name: in.Name, Members: in.Members})
	if err != nil {
		return a.groupError(c, err)
	}
	if in.Name != nil {
		a.audit.Record(ctx, auth.Entry{Actor: caller(c).ID, Action: "group.rename", Target: g.ID, IP: c.RealIP()})
	}
	if in.Members != nil {
		a.audit.Record(ctx, auth.Entry{Actor: caller(c).ID, Action: "group.set_members", Target: g.ID, IP: c.RealIP()})
	}
	a.changedStaff(ctx)
	return c.JSON(http.StatusOK, g)
}

func (a *API) deleteGroup(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	if err := a.groups.Delete(ctx, id); err != nil {
		return a.groupError(c, err)
	}
	a.audit.Record(ctx, auth.Entry{Actor: caller(c).ID, Action: "group.delete", Target: id, IP: c.RealIP()})
	a.changedStaff(ctx)
	return c.NoContent(http.StatusNoContent)
}
