package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/conversations"
	"switchboard/httperror"
)

func (a *API) registerContacts(authed *echo.Group) {
	authed.PUT("/contacts/:id", a.editContact, a.require(auth.PermEditContacts))
	authed.PUT("/contacts/:id/portfolio", a.setPortfolio, a.require(auth.PermPortfolio))
	authed.DELETE("/contacts/:id/portfolio", a.clearPortfolio, a.require(auth.PermPortfolio))
	authed.POST("/contacts/:id/erase", a.eraseContact, a.require(auth.PermErase))
}

// ContactView is a contact as the API shows it.
type ContactView struct {
	ID             string `json:"id"`
	Channel        string `json:"channel"`
	Phone          string `json:"phone"`
	ProfileName    string `json:"profile_name"`
	DisplayName    string `json:"display_name,omitempty"`
	Notes          string `json:"notes,omitempty"`
	PortfolioOwner string `json:"portfolio_owner,omitempty"`
}

func (a *API) contactView(c echo.Context) error {
	ct, err := a.conv.Contact(c.Request().Context(), c.Param("id"))
	if err != nil {
		return a.contactError(c, err)
	}
	return c.JSON(http.StatusOK, ContactView{ID: ct.ID, Channel: ct.Channel, Phone: ct.ExternalID, ProfileName: ct.ProfileName,
		DisplayName: ct.DisplayName, Notes: ct.Notes, PortfolioOwner: ct.PortfolioOwner})
}

func (a *API) contactError(c echo.Context, err error) error {
	if errors.Is(err, conversations.ErrNotFound) {
		return httperror.Write(c, http.StatusNotFound, "not_found", "no such contact")
	}
	return a.internal(c, err)
}

type contactEdit struct {
	DisplayName string `json:"display_name"`
	Notes       string `json:"notes"`
}

func (a *API) editContact(c echo.Context) error {
	var req contactEdit
	if err := c.Bind(&req); err != nil || len(req.DisplayName) > 200 || len(req.Notes) > 4000 {
		return bad(c, "body must be {\"display_name\": \"...\", \"notes\": \"...\"} (200 and 4000 characters at most)")
	}
	if err := a.conv.EditContact(c.Request().Context(), c.Param("id"), req.DisplayName, req.Notes); err != nil {
		return a.contactError(c, err)
	}
	a.audit.Record(c.Request().Context(), auth.Entry{Actor: caller(c).ID, Action: "contact.edit", Target: c.Param("id"), IP: c.RealIP()})
	return a.contactView(c)
}

type portfolioRequest struct {
	Operator string `json:"operator"`
}

// setPortfolio puts a contact in an operator's portfolio: routing then
// gives that operator the customer's queries first.
func (a *API) setPortfolio(c echo.Context) error {
	ctx := c.Request().Context()
	var req portfolioRequest
	if err := c.Bind(&req); err != nil || req.Operator == "" {
		return bad(c, "body must be {\"operator\": \"<user id>\"}")
	}
	u, err := a.users.Get(ctx, req.Operator)
	if err != nil && !errors.Is(err, accounts.ErrNotFound) {
		return a.internal(c, err)
	}
	if err != nil || u.Status != accounts.StatusActive {
		return httperror.Write(c, http.StatusUnprocessableEntity, "invalid_target", "no active user with that id")
	}
	if err := a.conv.SetPortfolioOwner(ctx, c.Param("id"), req.Operator); err != nil {
		return a.contactError(c, err)
	}
	a.audit.Record(ctx, auth.Entry{Actor: caller(c).ID, Action: "portfolio.add", Target: c.Param("id"), IP: c.RealIP()})
	return a.contactView(c)
}

func (a *API) clearPortfolio(c echo.Context) error {
	if err := a.conv.SetPortfolioOwner(c.Request().Context(), c.Param("id"), ""); err != nil {
		return a.contactError(c, err)
	}
	a.audit.Record(c.Request().Context(), auth.Entry{Actor: caller(c).ID, Action: "portfolio.remove", Target: c.Param("id"), IP: c.RealIP()})
	return a.contactView(c)
}

// erasedView says what an erasure removed.
type erasedView struct {
	Conversations int `json:"conversations"`
	Messages      int `json:"messages"`
}

// eraseContact erases a customer's data from the system of record, at
// their request: the contact, every conversation and message of theirs,
// and their search terms, all at once or (on failure) none. It cannot be
// undone; the audit log keeps who did it and how much went.
func (a *API) eraseContact(c echo.Context) error {
	ctx := c.Request().Context()
	id := c.Param("id")
	e, err := a.conv.EraseContact(ctx, id)
	if err != nil {
		return a.contactError(c, err)
	}
	a.audit.Record(ctx, auth.Entry{Actor: caller(c).ID, Action: "contact.erase", Target: id,
		Outcome: fmt.Sprintf("erased %d conversations, %d messages", e.Conversations, e.Messages), IP: c.RealIP()})
	return c.JSON(http.StatusOK, erasedView{Conversations: e.Conversations, Messages: e.Messages})
}
