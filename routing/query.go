package routing

// Query states, as ../shared/SPEC.md defines them.
const (
	// StatePending: in a pool, visible to every eligible operator, nobody assigned.
	StatePending = "pending"
	// StateAssigned: referred to one operator, hidden from the others.
	StateAssigned = "assigned"
	// StateInactive: the session window ended; unassigned and visible to all
	// eligible operators again; only templates may be sent.
	StateInactive = "inactive"
	// StateClosed: ended with a resolution reason.
	StateClosed = "closed"
)
