package api

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/conversations"
)

// MonitorOperator is one operator's row of the monitoring table.
type MonitorOperator struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Presence string `json:"presence"`
	// Assigned is how many conversations they hold now, of Capacity.
	Assigned int `json:"assigned"`
	Capacity int `json:"capacity"`
	// HandledToday counts the conversations that closed today (since
	// the last midnight in the settings' timezone) while assigned to them.
	HandledToday int `json:"handled_today"`
	// MedianFirstResponseSeconds is the median, over the conversations
	// handled today that a person answered, of the time from the
	// conversation's opening to the first message a person sent in it;
	// MedianResolutionSeconds the median, over all handled today, of the
	// time from opening to closing. null when there is none.
	MedianFirstResponseSeconds *float64 `json:"median_first_response_seconds"`
	MedianResolutionSeconds    *float64 `json:"median_resolution_seconds"`
	// LongestWaiting is their assigned conversation whose customer has
	// waited longest for an answer; null when no customer waits.
	LongestWaiting *MonitorWait `json:"longest_waiting"`
	// SLAMissedToday counts the service-level targets recorded missed
	// today (a target's timer found it missed) of the conversations they
	// hold now or held last: once per conversation and kind, so one that
	// missed both its first response and its resolution counts 2, however
	// long ago it opened. A miss does not record who held the
	// conversation then, so one reassigned after its miss (on_breach:
	// reassign) counts for whoever holds it now; one returned to its pool
	// for whoever held it last.
	SLAMissedToday int `json:"sla_missed_today"`
	// CSATToday is the satisfaction survey's answers stored today of the
	// conversations they closed, whenever those closed.
	CSATToday MonitorCSAT `json:"csat_today"`
}

// MonitorCSAT is the survey's answers stored today: how many, and their
// mean score, 1 to 5 (absent when none was).
type MonitorCSAT struct {
	Answered int      `json:"answered"`
	Average  *float64 `json:"average,omitempty"`
}

// MonitorWait is a conversation whose customer waits for an answer: since
// their first message after the newest outbound one.
type MonitorWait struct {
	ConversationID string    `json:"conversation_id"`
	Since          time.Time `json:"since"`
	WaitSeconds    float64   `json:"wait_seconds"`
}

// MonitorPool is one query type's pool.
type MonitorPool struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// Size is how many conversations wait in it; OldestSince when the
	// longest-waiting one entered it (null when empty), OldestWaitSeconds
	// how long ago that is (0 when empty).
	Size              int        `json:"pool_size"`
	OldestSince       *time.Time `json:"oldest_since"`
	OldestWaitSeconds float64    `json:"oldest_wait_seconds"`
	// SLAMissedToday and CSATToday are MonitorOperator's, over the
	// type's conversations (by the type they have now), whoever holds
	// or closed them, nobody included.
	SLAMissedToday int         `json:"sla_missed_today"`
	CSATToday      MonitorCSAT `json:"csat_today"`
}

// Monitor is the monitoring table.
type Monitor struct {
	Now time.Time `json:"now"`
	// TodaySince is the last midnight in Timezone: where "today" begins.
	TodaySince time.Time         `json:"today_since"`
	Timezone   string            `json:"timezone"`
	Operators  []MonitorOperator `json:"operators"`
	QueryTypes []MonitorPool     `json:"query_types"`
}

func (a *API) registerMonitor(authed *echo.Group) {
	authed.GET("/reports/operators", a.monitor, a.require(auth.PermReports))
}

// seconds is d in seconds, nil for none.
func seconds(d *time.Duration) *float64 {
	if d == nil {
		return nil
	}
	s := d.Seconds()
	return &s
}

// monitor answers the monitoring table: every active account that may
// answer customers, by name, and every query type's pool.
func (a *API) monitor(c echo.Context) error {
	ctx := c.Request().Context()
	users, err := a.users.List(ctx)
	if err != nil {
		return a.internal(c, err)
	}
	var ops []*accounts.User
	for _, u := range users {
		if u.Status != accounts.StatusActive {
			continue
		}
		ok, err := a.roles.Can(ctx, u, auth.PermReply)
		if err != nil {
			return a.internal(c, err)
		}
		if ok {
			ops = append(ops, u)
		}
	}
	slices.SortFunc(ops, func(x, y *accounts.User) int {
		if n := strings.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name)); n != 0 {
			return n
		}
		return strings.Compare(x.ID, y.ID)
	})
	monitored := make([]conversations.Monitored, len(ops))
	for i, u := range ops {
		monitored[i] = conversations.Monitored{ID: u.ID, Capacity: u.Capacity}
	}
	tz, loc := "UTC", time.UTC
	var types []string
	names := map[string]string{}
	if comp := a.settingsNow(ctx); comp != nil {
		if comp.Document.Timezone != "" {
			if l, err := time.LoadLocation(comp.Document.Timezone); err == nil {
				tz, loc = comp.Document.Timezone, l
			}
		}
		for _, t := range comp.Routing.Types {
			types = append(types, t.ID)
			names[t.ID] = t.Name
		}
	}
	m, err := a.conv.Monitor(ctx, monitored, types, loc)
	if err != nil {
		return a.internal(c, err)
	}
	out := Monitor{Now: m.Now, TodaySince: m.Since, Timezone: tz, Operators: []MonitorOperator{}, QueryTypes: []MonitorPool{}}
	for i, o := range m.Operators {
		row := MonitorOperator{ID: o.ID, Name: ops[i].Name, Presence: o.Presence, Assigned: o.Assigned, Capacity: o.Capacity,
			HandledToday: o.Handled, MedianFirstResponseSeconds: seconds(o.MedianFirstResponse),
			MedianResolutionSeconds: seconds(o.MedianResolution), SLAMissedToday: o.TargetsMissed, CSATToday: MonitorCSAT(o.CSAT)}
		if w := o.LongestWaiting; w != nil {
			row.LongestWaiting = &MonitorWait{ConversationID: w.ID, Since: w.Since.UTC(), WaitSeconds: max(0, m.Now.Sub(w.Since).Seconds())}
		}
		out.Operators = append(out.Operators, row)
	}
	for _, p := range m.Pools {
		row := MonitorPool{ID: p.QueryType, Name: names[p.QueryType], Size: p.Size, SLAMissedToday: p.TargetsMissed,
			CSATToday: MonitorCSAT(p.CSAT)}
		if row.Name == "" {
			row.Name = p.QueryType
		}
		if !p.Oldest.IsZero() {
			since := p.Oldest.UTC()
			row.OldestSince, row.OldestWaitSeconds = &since, max(0, m.Now.Sub(p.Oldest).Seconds())
		}
		out.QueryTypes = append(out.QueryTypes, row)
	}
	return c.JSON(http.StatusOK, out)
}
