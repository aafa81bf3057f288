package routing

import "time"

// Schedule is the opening hours a query is served in and what happens to
// it outside them: the settings' own, or its query type's where the type
// has its own (a department's schedule: claims closes at 18:00 while
// payments runs 24/7).
type Schedule struct {
	// Hours are the opening hours (never nil).
	Hours *Hours
	// OutOfHoursReply is the template sent once per closed period per
	// query; empty means none.
	OutOfHoursReply string
	// QueueUntilOpen pools an out-of-hours query for when these hours
	// open; false leaves it not referred.
	QueueUntilOpen bool
}

// ScheduleFor returns the schedule of queries of type id, field by field:
// the type's own hours, out-of-hours reply and queueing where it sets
// them, the settings' for the rest, and the settings' alone for an unknown
// type or "" (no type chosen yet).
func (s *Settings) ScheduleFor(id string) Schedule {
	sc := Schedule{Hours: s.Hours, OutOfHoursReply: s.OutOfHoursReply, QueueUntilOpen: s.QueueUntilOpen}
	if sc.Hours == nil {
		sc.Hours = AlwaysOpen()
	}
	t := s.Type(id)
	if t == nil {
		return sc
	}
	if t.Hours != nil {
		sc.Hours = t.Hours
	}
	if t.OutOfHoursReply != nil {
		sc.OutOfHoursReply = *t.OutOfHoursReply
	}
	if t.QueueUntilOpen != nil {
		sc.QueueUntilOpen = *t.QueueUntilOpen
	}
	return sc
}

// menuOpen reports whether any type the menu offers (one with a menu key)
// is open at now by its own schedule: only then is the menu worth sending,
// as someone can act on the choice.
func (s *Settings) menuOpen(now time.Time) bool {
	for _, t := range s.Types {
		if t.MenuKey != "" && s.ScheduleFor(t.ID).Hours.IsOpen(now) {
			return true
		}
	}
	return false
}
