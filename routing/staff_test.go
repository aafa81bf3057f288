package routing_test

import (
	"slices"
	"testing"

	"switchboard/routing"
)

// A type is served by the accounts that list it, the members of the
// groups it lists and the accounts it names; filling the staff in leaves
// the compiled settings as they were, for the next roster.
func TestWithStaffFillsEachTypeFromTheAccounts(t *testing.T) {
	base := (&routing.Settings{Types: []*routing.QueryType{
		{ID: "payments", Groups: []string{"billing"}, Strategy: routing.StrategyRoundRobin},
		{ID: "claims", Accounts: []string{"u_00000000000000c1"}, Strategy: routing.StrategyLeastLoaded},
		{ID: "general", Strategy: routing.StrategyClaim},
	}}).Finish()
	members := []routing.Member{
		{ID: "u_00000000000000c1", Capacity: 4},
		{ID: "u_00000000000000b2", Capacity: 2, Groups: []string{"billing"}},
		{ID: "u_00000000000000a3", Capacity: 3, QueryTypes: []string{"payments", "general"}},
		{ID: "u_00000000000000d4", Capacity: 1, Groups: []string{"billing"}, Disabled: true},
	}
	rs := base.WithStaff(members)
	for typ, want := range map[string][]string{
		"payments": {"u_00000000000000a3", "u_00000000000000b2", "u_00000000000000d4"},
		"claims":   {"u_00000000000000c1"},
		"general":  {"u_00000000000000a3"},
	} {
		if got := rs.Type(typ).Operators; !slices.Equal(got, want) {
			t.Errorf("%s served by %v, want %v", typ, got, want)
		}
	}
	if op := rs.Operators["u_00000000000000d4"]; op == nil || !op.Disabled || rs.Operators["u_00000000000000c1"].Capacity != 4 {
		t.Errorf("operators %+v: want every member, the disabled one marked", rs.Operators)
	}
	if len(base.Operators) != 0 || len(base.Type("payments").Operators) != 0 {
		t.Errorf("the compiled settings changed: %+v, %v", base.Operators, base.Type("payments").Operators)
	}
	// The disabled member is never picked, even online with room: with
	// the others full, the query waits.
	rs.DefaultType = "payments"
	roster := routing.Roster{
		"u_00000000000000a3": {Presence: routing.PresenceOnline, Load: 3},
		"u_00000000000000b2": {Presence: routing.PresenceOnline, Load: 2},
		"u_00000000000000d4": {Presence: routing.PresenceOnline},
	}
	d := routing.OnMessage(rs, routing.Query{ID: "q", Channel: "wa"}, routing.Contact{}, roster, routing.Message{Channel: "wa", Text: "hi"})
	if d.Query.Type != "payments" || d.Query.Assignee != "" || d.Query.State != routing.StatePending {
		t.Errorf("decision %+v: want payments, pending, unassigned", d.Query)
	}
	roster["u_00000000000000b2"] = routing.OperatorState{Presence: routing.PresenceOnline, Load: 1}
	if d := routing.OnMessage(rs, routing.Query{ID: "q", Channel: "wa"}, routing.Contact{}, roster, routing.Message{Channel: "wa", Text: "hi"}); d.Query.Assignee != "u_00000000000000b2" {
		t.Errorf("assigned to %q, want the member with room", d.Query.Assignee)
	}
}
