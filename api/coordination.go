package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/conversations"
	"switchboard/httperror"
	"switchboard/routing"
	"switchboard/settings"
	"switchboard/templates"
)

func (a *API) registerCoordination(authed *echo.Group) {
	authed.GET("/settings", a.getSettings, a.require(auth.PermSettings))
	authed.PUT("/settings", a.putSettings, a.require(auth.PermSettings))
	authed.GET("/canned-responses", a.cannedResponses)
	authed.POST("/conversations/:id/templates", a.sendTemplate, a.require(auth.PermReply))
	authed.POST("/derivations", a.derive, a.require(auth.PermDeriveBulk))
}

// settingsDoc is the settings document over the API: the same YAML, schema
// and validation as `switchboard apply`. Answers carry it both as YAML and
// as a JSON object (document); a change may be given as either.
type settingsDoc struct {
	Version  int64           `json:"version"`
	YAML     string          `json:"yaml"`
	Document json.RawMessage `json:"document,omitempty"`
}

// answerSettings answers version v of the document y, as YAML and JSON.
func (a *API) answerSettings(c echo.Context, v int64, y []byte) error {
	doc, err := yamlToJSON(y)
	if err != nil {
		return a.internal(c, err)
	}
	return c.JSON(http.StatusOK, settingsDoc{Version: v, YAML: string(y), Document: doc})
}

func (a *API) getSettings(c echo.Context) error {
	st, err := settings.Load(c.Request().Context(), a.versions)
	if errors.Is(err, settings.ErrNone) {
		return a.answerSettings(c, 0, nil)
	}
	if err != nil {
		return a.internal(c, err)
	}
	return a.answerSettings(c, st.Version, st.YAML)
}

// putSettings applies a new version, given as yaml or as document (a
// JSON object, converted to YAML first and then treated exactly alike).
// version must be the one the change was made from, so two coordinators
// cannot overwrite each other unseen.
func (a *API) putSettings(c echo.Context) error {
	var req settingsDoc
	if err := c.Bind(&req); err != nil {
		return bad(c, "body must be {\"version\": N, \"yaml\": \"...\"} or {\"version\": N, \"document\": {...}}")
	}
	fromJSON := len(req.Document) > 0 && string(bytes.TrimSpace(req.Document)) != "null"
	switch {
	case fromJSON && req.YAML != "":
		return bad(c, "give yaml or document, not both")
	case fromJSON:
		y, err := jsonToYAML(req.Document)
		if err != nil {
			return bad(c, err.Error())
		}
		req.YAML = string(y)
	case req.YAML == "":
		return bad(c, "body must be {\"version\": N, \"yaml\": \"...\"} or {\"version\": N, \"document\": {...}}")
	}
	invalid := func(err error) error {
		msg := err.Error()
		if fromJSON {
			msg = yamlLines.ReplaceAllString(msg, "")
		}
		return httperror.Write(c, http.StatusUnprocessableEntity, "invalid_settings", msg)
	}
	// Validated here, apart from storing, so a document's mistakes are 422
	// and a failure to store it is a 5xx (Apply returns both alike).
	if _, err := settings.Parse([]byte(req.YAML)); err != nil {
		return invalid(err)
	}
	v, err := settings.Apply(c.Request().Context(), a.versions, []byte(req.YAML), a.clock.Now(), req.Version, caller(c).ID)
	switch {
	case errors.Is(err, settings.ErrConflict):
		return httperror.Write(c, http.StatusConflict, "conflict", settings.ErrConflict.Error())
	case errors.Is(err, settings.ErrUnknownStaff):
		return invalid(err)
	case err != nil:
		return a.internal(c, err)
	}
	a.audit.Record(c.Request().Context(), auth.Entry{Actor: caller(c).ID, Action: "settings.apply", Target: "version " + itoa(v), IP: c.RealIP()})
	a.changedStaff(c.Request().Context()) // a type may name other groups or accounts now
	return a.answerSettings(c, v, []byte(req.YAML))
}

// cannedResponses searches the knowledge base by shortcut and text.
func (a *API) cannedResponses(c echo.Context) error {
	comp := a.settingsNow(c.Request().Context())
	out := []settings.CannedResponse{}
	if comp == nil {
		return c.JSON(http.StatusOK, map[string]any{"canned_responses": out})
	}
	q := routing.Fold(c.QueryParam("q"))
	for _, cr := range comp.Canned {
		if q == "" || strings.Contains(routing.Fold(cr.Shortcut), q) || strings.Contains(routing.Fold(cr.Text), q) {
			out = append(out, cr)
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"canned_responses": out})
}

type templateRequest struct {
	Template string   `json:"template"`
	Language string   `json:"language"`
	Params   []string `json:"params"`
}

// sendTemplate sends an approved template, inside or outside the customer
// service window; the parameter count must match the template's.
func (a *API) sendTemplate(c echo.Context) error {
	if isMultipart(c.Request()) {
		return a.templateWithFile(c)
	}
	ctx := c.Request().Context()
	var req templateRequest
	if err := c.Bind(&req); err != nil || req.Template == "" || req.Language == "" {
		return bad(c, "body must be {\"template\": \"...\", \"language\": \"es\", \"params\": [...]}")
	}
	text, ref, ok, err := a.resolveTemplate(c, req.Template, req.Language, req.Params)
	if !ok {
		return err
	}
	st, err := a.loadToClaim(c)
	if err != nil {
		return a.loadError(c, err)
	}
	id, err := a.conv.SendTemplate(ctx, st.Query.ID, caller(c).ID, text, ref)
	if err != nil {
		return a.actionError(c, err)
	}
	return queued(c, id)
}

// resolveTemplate finds the approved template name in language and
// renders it with params. When there is no such template or the params
// do not fit it, ok is false and the refusal is answered: err is the
// answer's.
func (a *API) resolveTemplate(c echo.Context, name, language string, params []string) (text string, ref conversations.TemplateRef, ok bool, err error) {
	comp := a.settingsNow(c.Request().Context())
	var h *templates.HSM
	if comp != nil {
		h = comp.HSM[name][language]
	}
	if h == nil {
		return "", ref, false, httperror.Write(c, http.StatusUnprocessableEntity, "unknown_template", "no approved template "+name+" in "+language)
	}
	text, rerr := h.Render(params)
	if rerr != nil {
		return "", ref, false, httperror.Write(c, http.StatusUnprocessableEntity, "template_params", rerr.Error())
	}
	return text, conversations.TemplateRef{Name: h.ProviderName, Language: h.Language, Params: params}, true, nil
}

type derivationRequest struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Group string `json:"group"`
}

// derive moves every active query of one operator (an absent one, say) to
// another operator, or spreads them over a group, least loaded first. It
// is safe to repeat: a second call finds nothing left to move.
func (a *API) derive(c echo.Context) error {
	ctx := c.Request().Context()
	var req derivationRequest
	if err := c.Bind(&req); err != nil || !accounts.ValidID(req.From) || (req.To == "") == (req.Group == "") {
		// from becomes part of a key: a malformed one is refused here.
		return bad(c, "body must be {\"from\": user id, \"to\": user id} or {\"from\": user id, \"group\": id}")
	}
	var targets []string
	if req.To != "" {
		targets = []string{req.To}
	} else {
		users, err := a.users.List(ctx)
		if err != nil {
			return a.internal(c, err)
		}
		for _, u := range users {
			if u.ID != req.From && u.Status == accounts.StatusActive && slices.Contains(u.Groups, req.Group) {
				targets = append(targets, u.ID)
			}
		}
	}
	var answering []string
	for _, t := range targets {
		u, err := a.users.Get(ctx, t)
		if err != nil && !errors.Is(err, accounts.ErrNotFound) {
			return a.internal(c, err)
		}
		if err != nil || u.Status != accounts.StatusActive {
			return httperror.Write(c, http.StatusUnprocessableEntity, "invalid_target", "no active user "+t)
		}
		ok, err := a.roles.Can(ctx, u, auth.PermReply)
		if err != nil {
			return a.internal(c, err)
		}
		// The customers would wait on someone who can never reply: one
		// named is refused; a group's such members (collaborators in the
		// team, say) are passed over, so the rest still take the load.
		if !ok && req.To != "" {
			return a.cannotAnswer(c, nil)
		}
		if ok {
			answering = append(answering, t)
		}
	}
	targets = answering
	if len(targets) == 0 {
		return httperror.Write(c, http.StatusUnprocessableEntity, "invalid_target", "no operators to move the queries to")
	}
	moved, err := a.conv.Derive(ctx, req.From, targets)
	if err != nil {
		return a.actionError(c, err)
	}
	a.audit.Record(ctx, auth.Entry{Actor: caller(c).ID, Action: "derivation", Target: req.From, Outcome: "moved " + itoa(int64(moved)), IP: c.RealIP()})
	return c.JSON(http.StatusOK, map[string]int{"moved": moved})
}
