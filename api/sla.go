package api

import (
	"time"

	"switchboard/conversations"
	"switchboard/routing"
)

// SLAView is a conversation's service-level targets as the API shows
// them: each with its due time and whether it was missed. Absent for a
// conversation whose type had no targets when it entered service.
type SLAView struct {
	FirstResponse *SLATargetView `json:"first_response,omitempty"`
	Resolution    *SLATargetView `json:"resolution,omitempty"`
}

// SLATargetView is one target of a conversation.
type SLATargetView struct {
	Due time.Time `json:"due"`
	// Met is true once a person answered (first_response) or the
	// conversation closed (resolution), in time or not.
	Met bool `json:"met"`
	// Breached is true once the target was recorded missed.
	Breached bool `json:"breached"`
}

// slaView shows q's targets; nil when it has none.
func slaView(q *conversations.Query) *SLAView {
	s := q.SLA
	if !s.Active() {
		return nil
	}
	v := &SLAView{}
	if !s.FirstResponseDue.IsZero() || !s.FirstResponseBreachedAt.IsZero() {
		v.FirstResponse = &SLATargetView{Due: s.FirstResponseDue.UTC(), Met: !s.FirstResponseAt.IsZero(), Breached: !s.FirstResponseBreachedAt.IsZero()}
	}
	if !s.ResolutionDue.IsZero() || !s.ResolutionBreachedAt.IsZero() {
		v.Resolution = &SLATargetView{Due: s.ResolutionDue.UTC(), Met: q.State == routing.StateClosed, Breached: !s.ResolutionBreachedAt.IsZero()}
	}
	if v.FirstResponse == nil && v.Resolution == nil {
		return nil
	}
	return v
}
