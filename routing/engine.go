package routing

import (
	"cmp"
	"slices"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Outcome is what a routing decision did with a query; the values are the
// outcome label of switchboard_routing_decisions_total.
type Outcome string

// Outcomes.
const (
	OutcomeAssigned        Outcome = "assigned"
	OutcomePooled          Outcome = "pooled"
	OutcomeQueuedUntilOpen Outcome = "queued_until_open"
	OutcomeNotReferred     Outcome = "not_referred"
	OutcomeMenuPrompted    Outcome = "menu_prompted"
	// OutcomeContinued: the message joined a query already routed in
	// this cycle; only its session was re-armed.
	OutcomeContinued Outcome = "continued"
)

// Origin says which rule chose the query type.
type Origin string

// Origins, in the order they are tried.
const (
	OriginPortfolio  Origin = "portfolio"
	OriginEntryPoint Origin = "entry_point"
	OriginMenu       Origin = "menu"
	OriginKeyword    Origin = "keyword"
	OriginDefault    Origin = "default"
)

// Presence values of an operator.
const (
	PresenceOnline  = "online"
	PresenceAway    = "away"
	PresenceOffline = "offline"
)

// Message is what routing reads of an inbound message.
type Message struct {
	Channel string
	// Text is the text, a caption, or a tapped reply's title.
	Text string
	// ReplyID is the id of a tapped list row or button, if any.
	ReplyID          string
	ReferralSourceID string
	CTWAClickID      string
	// At is when the customer sent it (provider time).
	At time.Time
}

// Query is the routing state of a query, as stored between decisions.
type Query struct {
	ID string
	// State is "" for a query never routed, else one of the State* values.
	State    string
	Channel  string
	Type     string
	Origin   Origin
	Assignee string
	// Cycle counts routing cycles; a customer writing to an inactive query
	// starts a new one.
	Cycle int
	// FreeEntry is set when the cycle began at a free entry point (an ad
	// referral): the session lasts FreeEntryWindow.
	FreeEntry bool
	// AwaitingMenu is set while the customer has been prompted with the menu.
	AwaitingMenu bool
	MenuAttempts int
	// OutOfHoursNotified is the start of the closed period the out-of-hours
	// reply was last sent for, so it goes once per closed period.
	OutOfHoursNotified time.Time
	// QueuedUntilOpen is set while the query waits for opening time.
	QueuedUntilOpen bool
	// PreviousAssignee is who last let the query time out unanswered, so
	// the retry goes to someone else when anyone else can take it.
	PreviousAssignee string
	// Resolution is the reason a closed query was closed with.
	Resolution string `json:",omitempty"`
	// Referred is set while the assignee was chosen by a person (a
	// transfer or a derivation), not by routing: a staff change does not
	// take such a query back while its assignee may still answer, though
	// they may not serve its type.
	Referred bool `json:",omitempty"`
	// OpenedOutOfHours is set when the query's first message came while
	// its hours were closed: its type's, or the settings' when that
	// message chose no type (a menu prompt). Decided once, on the first
	// decision, and kept through later cycles; reports filter on it.
	OpenedOutOfHours bool `json:",omitempty"`
}

// Contact is what routing reads of the customer.
type Contact struct {
	// PortfolioOwner is the operator whose portfolio holds the contact.
	PortfolioOwner string
}

// OperatorState is an operator's live state.
type OperatorState struct {
	Presence string
	// Load is the number of queries assigned to the operator now.
	Load int
	// LastAssigned is when the operator last got a query; round robin
	// gives the next one to whoever waited longest.
	LastAssigned time.Time
}

// Roster is every operator's live state by id. Operators missing from it
// are offline with no load.
type Roster map[string]OperatorState

// Reply is an automatic message to send to the customer.
type Reply struct {
	// Template is the id of the text template to render.
	Template string
	// Vars are the variables routing knows; the sender adds the rest.
	Vars map[string]string
	// Reason is why it is sent (ReplyOutOfHours, ReplyMenu), the reason
	// label of switchboard_auto_replies_total.
	Reason string
}

// Reasons of automatic replies.
const (
	ReplyOutOfHours = "out_of_hours"
	ReplyMenu       = "menu"
)

// Decision is what to do with a query. The worker applies it atomically.
type Decision struct {
	Outcome  Outcome
	Type     string
	Strategy Strategy
	// Query is the routing state to store.
	Query   Query
	Replies []Reply
	// SessionExpiresAt is when the routing session ends unless the
	// customer writes again (zero: leave the timer as it is).
	SessionExpiresAt time.Time
	// ReleaseAt is when a query queued until open is to be routed again.
	ReleaseAt time.Time
	// NoReplyAt is when an assigned query goes back to the pool if its
	// operator has not answered.
	NoReplyAt time.Time
}

// Continues reports whether a customer's message on q joins its current
// routing (its pool or its operator): then OnMessage decides from q and
// the settings alone, consulting neither the contact nor the roster, so a
// caller may pass it an empty Roster.
func Continues(q Query) bool {
	if newCycle(q) {
		return false
	}
	return q.Type != "" && !q.AwaitingMenu
}

// newCycle reports whether a message on q starts a new routing cycle.
func newCycle(q Query) bool {
	return q.State == "" || q.State == StateInactive || q.State == StateClosed
}

// OnMessage decides what a customer's message does to its query.
func OnMessage(s *Settings, q Query, c Contact, r Roster, m Message) Decision {
	now := m.At
	if q.Channel == "" {
		q.Channel = m.Channel
	}
	routed := Continues(q)
	opening := q.State == "" && q.Cycle == 0
	if newCycle(q) {
		// A new cycle: routing starts afresh; only the portfolio brings
		// the old operator back.
		q = Query{
			ID: q.ID, Channel: q.Channel, Cycle: q.Cycle + 1,
			FreeEntry:          m.ReferralSourceID != "" || m.CTWAClickID != "",
			OutOfHoursNotified: q.OutOfHoursNotified,
			OpenedOutOfHours:   q.OpenedOutOfHours,
			State:              StatePending,
		}
	}
	d := Decision{Query: q, SessionExpiresAt: now.Add(s.window(q))}
	if routed {
		// Already in a pool or with an operator: the message joins it.
		d.Outcome, d.Type = OutcomeContinued, q.Type
		if t := s.Type(q.Type); t != nil {
			d.Strategy = t.Strategy
		}
		if sc := s.ScheduleFor(q.Type); q.QueuedUntilOpen && !sc.Hours.IsOpen(now) {
			s.outOfHours(&d, sc, now)
		}
		return d
	}

	typ, origin, prompt := s.chooseType(&d.Query, c, m)
	if opening {
		id := ""
		if !prompt {
			id = typ.ID
		}
		d.Query.OpenedOutOfHours = !s.ScheduleFor(id).Hours.IsOpen(now)
	}
	if prompt {
		d.Outcome = OutcomeMenuPrompted
		d.Replies = append(d.Replies, Reply{Template: s.Menu.Prompt, Reason: ReplyMenu})
		return d
	}
	d.Query.Type, d.Query.Origin = typ.ID, origin
	d.Type, d.Strategy = typ.ID, typ.Strategy
	// Once the type is known, its hours decide (its own, or the
	// settings' for a type without).
	if sc := s.ScheduleFor(typ.ID); !sc.Hours.IsOpen(now) {
		s.outOfHours(&d, sc, now)
		return d
	}
	s.assign(&d, typ, c, r, now)
	return d
}

// OnRelease routes a query again: when its type's hours open for a query
// queued until open, or when an operator frees capacity or comes online
// for a pooled one.
func OnRelease(s *Settings, q Query, c Contact, r Roster, now time.Time) Decision {
	d := Decision{Query: q, Type: q.Type}
	typ := s.Type(q.Type)
	if typ == nil {
		typ = s.Type(s.DefaultType)
	}
	if typ == nil || q.State == StateClosed || q.State == StateInactive || q.State == StateAssigned {
		d.Outcome = OutcomeContinued
		return d
	}
	d.Type, d.Strategy = typ.ID, typ.Strategy
	if sc := s.ScheduleFor(typ.ID); !sc.Hours.IsOpen(now) {
		s.outOfHours(&d, sc, now)
		return d
	}
	d.Query.QueuedUntilOpen = false
	s.assign(&d, typ, c, r, now)
	return d
}

// OnNoReply returns an assigned query nobody answered to its pool and
// routes it to the next operator (not the one who let it time out, while
// anyone else can take it).
func OnNoReply(s *Settings, q Query, c Contact, r Roster, now time.Time) Decision {
	if q.State != StateAssigned {
		return Decision{Outcome: OutcomeContinued, Query: q, Type: q.Type}
	}
	q.PreviousAssignee, q.Assignee, q.State, q.Referred = q.Assignee, "", StatePending, false
	return OnRelease(s, q, Contact{}, r, now)
}

// OnSessionEnd ends a query's routing session: an assigned or pooled query
// becomes inactive, unassigned and visible to every eligible operator.
func OnSessionEnd(q Query) Query {
	if q.State == StateAssigned || q.State == StatePending {
		q.State, q.Assignee, q.QueuedUntilOpen, q.Referred = StateInactive, "", false, false
	}
	return q
}

// SessionEnd is when q's routing session ends: the window of its cycle
// (24h, or 72h from a free entry point) after the customer's last message.
// The session has ended at exactly that instant.
func SessionEnd(s *Settings, q Query, lastInbound time.Time) time.Time {
	return lastInbound.Add(s.window(q))
}

// window is the routing session length of q's cycle.
func (s *Settings) window(q Query) time.Duration {
	if q.FreeEntry {
		return s.FreeEntryWindow
	}
	return s.SessionWindow
}

// chooseType applies the query-origin rules in order: portfolio, entry
// point, menu, keywords, default. It reports prompt=true when the menu is
// to be sent (again); q's menu state is updated.
//
// This is the one rule that reads opening hours before a type is chosen:
// the menu is sent only while at least one type it offers is open, by
// that type's own hours or the settings'.
func (s *Settings) chooseType(q *Query, c Contact, m Message) (*QueryType, Origin, bool) {
	def := s.Type(s.DefaultType)
	if s.portfolioOwner(c, q.Channel) != "" {
		return def, OriginPortfolio, false
	}
	if !q.AwaitingMenu {
		if t := s.entryPoint(m); t != nil {
			return t, OriginEntryPoint, false
		}
	}
	if s.Menu.Enabled {
		if t := s.menuChoice(m); t != nil {
			q.AwaitingMenu, q.MenuAttempts = false, 0
			return t, OriginMenu, false
		}
		// With every type it offers closed, nobody can act on the choice
		// now: the keyword and default rules decide, and nobody is kept
		// waiting on a menu.
		if s.menuOpen(m.At) {
			if !q.AwaitingMenu || q.MenuAttempts < s.Menu.MaxAttempts {
				if q.AwaitingMenu {
					q.MenuAttempts++
				}
				q.AwaitingMenu = true
				return nil, "", true
			}
			q.AwaitingMenu = false
			return def, OriginDefault, false
		}
		q.AwaitingMenu = false
	}
	if t := s.keyword(m.Text); t != nil {
		return t, OriginKeyword, false
	}
	return def, OriginDefault, false
}

// portfolioOwner returns the contact's owner when the owner may take it.
func (s *Settings) portfolioOwner(c Contact, channel string) string {
	op := s.Operators[c.PortfolioOwner]
	if op == nil || op.Disabled || !op.Serves(channel) {
		return ""
	}
	return op.ID
}

// Serves reports whether the operator serves customers of channel.
func (o *OperatorSettings) Serves(channel string) bool {
	return len(o.Channels) == 0 || slices.Contains(o.Channels, channel)
}

func (s *Settings) entryPoint(m Message) *QueryType {
	text := Fold(m.Text)
	for _, t := range s.Types {
		for _, ep := range t.EntryPoints {
			if ep.Channel != "" && ep.Channel != m.Channel {
				continue
			}
			if ep.ReferralSourceID != "" && ep.ReferralSourceID != m.ReferralSourceID {
				continue
			}
			if ep.CTWAClickID != "" && !strings.HasPrefix(m.CTWAClickID, ep.CTWAClickID) {
				continue
			}
			if ep.Text != "" && !strings.HasPrefix(text, ep.Text) {
				continue
			}
			return t
		}
	}
	return nil
}

// menuChoice reads a menu answer: a tapped item's id, or the typed key.
func (s *Settings) menuChoice(m Message) *QueryType {
	answer := strings.TrimSpace(m.ReplyID)
	if answer == "" {
		answer = strings.TrimRight(strings.TrimSpace(m.Text), ".)")
	}
	if answer == "" {
		return nil
	}
	for _, t := range s.Types {
		if t.MenuKey != "" && (strings.EqualFold(answer, t.MenuKey) || answer == t.ID) {
			return t
		}
	}
	return nil
}

// keyword returns the first type (in configured order) one of whose
// keywords appears as a whole word, or phrase, in text.
func (s *Settings) keyword(text string) *QueryType {
	folded := " " + strings.Join(strings.FieldsFunc(Fold(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	}), " ") + " "
	for _, t := range s.Types {
		for _, k := range t.Keywords {
			if strings.Contains(folded, " "+k+" ") {
				return t
			}
		}
	}
	return nil
}

// outOfHours pools the query for the opening of sc's hours (or leaves it
// not referred) and sends sc's out-of-hours reply once per closed period
// of those hours.
func (s *Settings) outOfHours(d *Decision, sc Schedule, now time.Time) {
	next, willOpen := sc.Hours.NextOpen(now)
	if period, ok := sc.Hours.ClosedPeriodStart(now); ok && sc.OutOfHoursReply != "" && !d.Query.OutOfHoursNotified.Equal(period) {
		vars := map[string]string{}
		if willOpen {
			vars["next_open"] = next.In(sc.Hours.Location()).Format("Mon 02/01 15:04")
		}
		d.Replies = append(d.Replies, Reply{Template: sc.OutOfHoursReply, Vars: vars, Reason: ReplyOutOfHours})
		d.Query.OutOfHoursNotified = period
	}
	if d.Outcome == OutcomeContinued {
		return
	}
	d.Query.State, d.Query.Assignee = StatePending, ""
	if sc.QueueUntilOpen && willOpen {
		d.Outcome = OutcomeQueuedUntilOpen
		d.Query.QueuedUntilOpen = true
		d.ReleaseAt = next
		return
	}
	d.Outcome = OutcomeNotReferred
	d.Query.QueuedUntilOpen = false
}

// assign hands the query to an operator by the type's strategy, or pools it.
func (s *Settings) assign(d *Decision, t *QueryType, c Contact, r Roster, now time.Time) {
	d.Query.QueuedUntilOpen = false
	if owner := s.portfolioOwner(c, d.Query.Channel); owner != "" && d.Query.Origin == OriginPortfolio {
		// The portfolio is sticky: the owner gets the customer whatever
		// their load; an admin moves queries of an absent owner.
		s.assignTo(d, t, owner, now)
		return
	}
	if t.Strategy == StrategyClaim {
		d.Outcome, d.Query.State, d.Query.Assignee = OutcomePooled, StatePending, ""
		return
	}
	if op := s.pick(t, d.Query, r); op != "" {
		s.assignTo(d, t, op, now)
		return
	}
	d.Outcome, d.Query.State, d.Query.Assignee = OutcomePooled, StatePending, ""
}

func (s *Settings) assignTo(d *Decision, t *QueryType, op string, now time.Time) {
	d.Outcome, d.Query.State, d.Query.Assignee, d.Query.Referred = OutcomeAssigned, StateAssigned, op, false
	if t.NoReplyTimeout > 0 {
		d.NoReplyAt = now.Add(t.NoReplyTimeout)
	}
}

// pick chooses an eligible operator (serves the type and channel, enabled,
// online, under capacity) by the type's strategy, or returns "".
func (s *Settings) pick(t *QueryType, q Query, r Roster) string {
	type candidate struct {
		id    string
		state OperatorState
		cap   int
	}
	var eligible []candidate
	for _, id := range t.Operators {
		op := s.Operators[id]
		st := r[id]
		if op == nil || op.Disabled || !op.Serves(q.Channel) || st.Presence != PresenceOnline || st.Load >= op.Capacity {
			continue
		}
		eligible = append(eligible, candidate{id, st, op.Capacity})
	}
	if len(eligible) > 1 && q.PreviousAssignee != "" {
		eligible = slices.DeleteFunc(eligible, func(c candidate) bool { return c.id == q.PreviousAssignee })
	}
	if len(eligible) == 0 {
		return ""
	}
	byTurn := func(a, b candidate) int {
		return cmp.Or(a.state.LastAssigned.Compare(b.state.LastAssigned), cmp.Compare(a.id, b.id))
	}
	switch t.Strategy {
	case StrategyLeastLoaded:
		return slices.MinFunc(eligible, func(a, b candidate) int {
			// Compare load/capacity without division: a.load*b.cap vs b.load*a.cap.
			return cmp.Or(cmp.Compare(a.state.Load*b.cap, b.state.Load*a.cap), byTurn(a, b))
		}).id
	default: // round robin: whoever has waited longest for a query
		return slices.MinFunc(eligible, byTurn).id
	}
}

// Fold lower-cases text and strips accents, so "Pagamento" matches
// "pagamento" and "Reclamação" matches "reclamacao".
func Fold(text string) string {
	var b strings.Builder
	b.Grow(len(text))
	for _, r := range norm.NFD.String(text) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return strings.TrimSpace(b.String())
}
