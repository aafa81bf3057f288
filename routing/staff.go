package routing

import (
	"slices"
	"strings"
)

// Member is a CS account as routing sees it: who may be assigned what.
// The accounts are the roster; the settings only say which groups and
// accounts serve each query type.
type Member struct {
	ID       string
	Name     string
	Capacity int
	// Channels, if set, limits the channels the member serves.
	Channels []string
	// QueryTypes are the types the member's account serves itself.
	QueryTypes []string
	// Groups are the agent groups the member belongs to.
	Groups []string
	// Disabled members (a disabled account, or a role that may not
	// answer customers) are never assigned.
	Disabled bool
}

// ServedBy reports whether m serves t: t is among m's own query types, a
// group of m's serves t, or t names m's account.
func (t *QueryType) ServedBy(m Member) bool {
	if slices.Contains(m.QueryTypes, t.ID) || slices.Contains(t.Accounts, m.ID) {
		return true
	}
	for _, g := range m.Groups {
		if slices.Contains(t.Groups, g) {
			return true
		}
	}
	return false
}

// WithStaff returns the settings with their operators filled in from
// members: Operators holds every member, and each type's Operators the
// members who serve it, in id order. s itself is left as it was, so one
// compiled Settings serves every roster.
func (s *Settings) WithStaff(members []Member) *Settings {
	out := *s
	out.Operators = make(map[string]*OperatorSettings, len(members))
	sorted := slices.SortedFunc(slices.Values(members), func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	for _, m := range sorted {
		out.Operators[m.ID] = &OperatorSettings{ID: m.ID, Name: m.Name, Capacity: m.Capacity, Channels: m.Channels, Disabled: m.Disabled}
	}
	out.Types = make([]*QueryType, len(s.Types))
	for i, t := range s.Types {
		c := *t
		c.Operators = nil
		for _, m := range sorted {
			if t.ServedBy(m) {
				c.Operators = append(c.Operators, m.ID)
			}
		}
		out.Types[i] = &c
	}
	out.byID = nil
	return out.Finish()
}
