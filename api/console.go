package api

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/routing"
)

// What the console shows every member of staff, operators included, who
// hold no settings permission: the parts of the settings a person needs to
// work (the names of query types, resolution reasons, the templates they
// may send) and the colleagues they may hand a conversation to. Nothing
// here is a secret or a rule of routing's.

// Channel is a configured channel as staff see it: its id (as in a
// conversation's channel) and its provider kind.
type Channel struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
}

func (a *API) registerConsole(authed *echo.Group) {
	authed.GET("/team", a.team)
	authed.GET("/conversations/:id/transfer-targets", a.transferTargets, a.require(auth.PermTransfer))
}

// Team is the answer of GET /team.
type Team struct {
	// Timezone is the settings' (opening hours, reports); UTC when none.
	Timezone          string          `json:"timezone"`
	QueryTypes        []TeamQueryType `json:"query_types"`
	ResolutionReasons []TeamReason    `json:"resolution_reasons"`
	Tags              []TeamTag       `json:"tags"`
	Templates         []TeamTemplate  `json:"templates"`
	Channels          []Channel       `json:"channels"`
}

// TeamQueryType is a query type by id and name (its id when the settings
// give it no name).
type TeamQueryType struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// TeamReason is a resolution reason, what closing a conversation takes.
type TeamReason struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// TeamTag is a tag conversations may carry, as the console shows it.
type TeamTag struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Color string `json:"color"`
}

// TeamTemplate is an approved template POST
// /conversations/{id}/templates sends, with the number of parameters its
// body takes ({{1}} ... {{params}}).
type TeamTemplate struct {
	Name     string `json:"name"`
	Language string `json:"language"`
	Category string `json:"category"`
	Params   int    `json:"params"`
	Body     string `json:"body"`
}

// team answers what the settings in force say staff need to work; empty
// lists when none are applied.
func (a *API) team(c echo.Context) error {
	out := Team{Timezone: "UTC", QueryTypes: []TeamQueryType{}, ResolutionReasons: []TeamReason{}, Tags: []TeamTag{},
		Templates: []TeamTemplate{}, Channels: slices.Clone(a.channels)}
	if out.Channels == nil {
		out.Channels = []Channel{}
	}
	comp := a.settingsNow(c.Request().Context())
	if comp == nil {
		return c.JSON(http.StatusOK, out)
	}
	if comp.Document.Timezone != "" {
		out.Timezone = comp.Document.Timezone
	}
	for _, t := range comp.Routing.Types {
		out.QueryTypes = append(out.QueryTypes, TeamQueryType{ID: t.ID, Name: cmp.Or(t.Name, t.ID)})
	}
	for _, r := range comp.Document.ResolutionReasons {
		out.ResolutionReasons = append(out.ResolutionReasons, TeamReason{ID: r.ID, Name: cmp.Or(r.Name, r.ID)})
	}
	for _, t := range comp.Document.Tags {
		out.Tags = append(out.Tags, TeamTag{ID: t.ID, Name: cmp.Or(t.Name, t.ID), Color: t.Color})
	}
	for _, byLang := range comp.HSM {
		for _, h := range byLang {
			out.Templates = append(out.Templates, TeamTemplate{Name: h.Name, Language: h.Language, Category: h.Category, Params: h.Params, Body: h.Body})
		}
	}
	// The compiled templates are in maps: sorted, so the console's list
	// does not reshuffle between loads.
	slices.SortFunc(out.Templates, func(x, y TeamTemplate) int {
		return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.Language, y.Language))
	})
	return c.JSON(http.StatusOK, out)
}

// TransferTarget is a colleague a conversation may be handed to.
type TransferTarget struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Presence is online, away or offline; Load is how many conversations
	// they hold now, out of Capacity.
	Presence string `json:"presence"`
	Load     int    `json:"load"`
	Capacity int    `json:"capacity"`
	// ServesType is whether they serve the conversation's query type.
	// Only a caller with conversations.refer is shown those who do not,
	// since only they may hand a conversation to them.
	ServesType bool `json:"serves_type"`
}

// transferTargets lists whom POST /conversations/{id}/transfer would
// accept from the caller, by the same rules: an active account that may
// answer customers and serves the conversation's type (with
// conversations.refer, any such account), except its assignee. Those who
// serve the type come first, then by name.
func (a *API) transferTargets(c echo.Context) error {
	ctx := c.Request().Context()
	st, err := a.loadHeld(c)
	if err != nil {
		return a.loadError(c, err)
	}
	force, err := a.roles.Can(ctx, caller(c), auth.PermRefer)
	if err != nil {
		return a.internal(c, err)
	}
	users, err := a.users.List(ctx)
	if err != nil {
		return a.internal(c, err)
	}
	comp := a.settingsNow(ctx)
	var chosen []*accounts.User
	out := []TransferTarget{}
	for _, u := range users {
		if u.ID == st.Query.Assignee || u.Status != accounts.StatusActive {
			continue
		}
		serving := serves(u, comp, st.Query.Type)
		if !serving && !force {
			continue
		}
		ok, err := a.roles.Can(ctx, u, auth.PermReply)
		if err != nil {
			return a.internal(c, err)
		}
		if !ok {
			continue
		}
		chosen = append(chosen, u)
		out = append(out, TransferTarget{ID: u.ID, Name: u.Name, Capacity: u.Capacity, ServesType: serving, Presence: routing.PresenceOffline})
	}
	ids := make([]string, len(chosen))
	for i, u := range chosen {
		ids[i] = u.ID
	}
	live, err := a.conv.OperatorStates(ctx, ids)
	if err != nil {
		return a.internal(c, err)
	}
	for i := range out {
		if s, ok := live[out[i].ID]; ok {
			out[i].Presence, out[i].Load = s.Presence, s.Load
		}
	}
	// Stable: users.List is by name already.
	slices.SortStableFunc(out, func(x, y TransferTarget) int {
		switch {
		case x.ServesType == y.ServesType:
			return 0
		case x.ServesType:
			return -1
		}
		return 1
	})
	return c.JSON(http.StatusOK, map[string]any{"targets": out})
}
