package routing

import "time"

// Strategy is how a query type hands its queries to operators.
type Strategy string

// Assignment strategies.
const (
	// StrategyClaim leaves a query in the type's pool, visible to every
	// eligible operator, until one replies and so claims it.
	StrategyClaim Strategy = "claim"
	// StrategyRoundRobin assigns at once to the next eligible operator in
	// turn who is online and under capacity.
	StrategyRoundRobin Strategy = "round_robin"
	// StrategyLeastLoaded assigns at once to the eligible online operator
	// with the fewest active queries, relative to capacity.
	StrategyLeastLoaded Strategy = "least_loaded"
)

// Settings are the compiled routing rules: checked when loaded, read-only
// afterwards, so a worker can share one value across goroutines. The YAML
// shape lives in package settings, which compiles into this.
type Settings struct {
	// Version increases with every applied change; it identifies what a
	// decision was made under.
	Version int64
	// Hours are the opening hours (never nil: the zero spec is 24/7): of
	// every query type without its own, and of a query whose type is not
	// chosen yet.
	Hours *Hours
	// OutOfHoursReply is the template sent once per closed period per
	// query; empty means none. A type may have its own.
	OutOfHoursReply string
	// QueueUntilOpen pools an out-of-hours query for when service opens;
	// false leaves it not referred. A type may have its own.
	QueueUntilOpen bool
	// SessionWindow and FreeEntryWindow are the routing session lengths
	// from the customer's last message: normally 24h, and 72h when the
	// query began at a free entry point (a click-to-WhatsApp ad).
	SessionWindow   time.Duration
	FreeEntryWindow time.Duration
	Menu            Menu
	// DefaultType is the query type when no rule picks one.
	DefaultType string
	// Types are the query types in the order they were configured, which
	// is the order keyword rules are tried in.
	Types []*QueryType
	// Operators are the accounts routing may assign, by id, filled in by
	// WithStaff; empty in the compiled settings.
	Operators map[string]*OperatorSettings

	byID map[string]*QueryType
}

// Menu asks the customer to choose a query type.
type Menu struct {
	Enabled bool
	// Prompt is the template sent to ask.
	Prompt string
	// MaxAttempts is how many unmatched answers are re-prompted before the
	// default type is taken.
	MaxAttempts int
}

// QueryType is a query origin: payments, claims, follow-up, ...
type QueryType struct {
	ID   string
	Name string
	// MenuKey is what the customer answers (or taps) to choose this type.
	MenuKey string
	// Keywords are matched in the first message of a cycle, already
	// folded (lower case, no accents).
	Keywords    []string
	EntryPoints []EntryPoint
	// Groups and Accounts are the agent groups and the accounts the
	// settings name as serving the type, besides the accounts that list
	// the type themselves.
	Groups   []string
	Accounts []string
	// Operators are the ids of everyone who serves the type, filled in
	// from the accounts by WithStaff; empty in the compiled settings.
	Operators []string
	Strategy  Strategy
	// NoReplyTimeout returns an assigned query nobody answered to the pool
	// (0: never).
	NoReplyTimeout time.Duration
	// Hours, when not nil, are the type's own opening hours, which its
	// queries are served in instead of Settings.Hours.
	Hours *Hours
	// OutOfHoursReply and QueueUntilOpen, when not nil, replace the
	// settings' for the type's queries (a reply of "" sends none). See
	// Settings.ScheduleFor.
	OutOfHoursReply *string
	QueueUntilOpen  *bool
}

// EntryPoint is a rule that a query arriving through it has a type. Every
// non-empty field must match.
type EntryPoint struct {
	// Channel is the channel id the customer wrote on.
	Channel string
	// ReferralSourceID is Meta's referral.source_id (the ad or post id).
	ReferralSourceID string
	// CTWAClickID matches a click-to-WhatsApp click id prefix.
	CTWAClickID string
	// Text is the prefilled text of a deep link (wa.me/...?text=): the
	// folded first message must start with it.
	Text string
}

// OperatorSettings is what an operator's account says routing needs; live
// state (presence, load) comes with each decision in the Roster.
type OperatorSettings struct {
	ID       string
	Name     string
	Capacity int
	// Channels, if set, limits the channels the operator serves.
	Channels []string
	Disabled bool
}

// Type returns the query type with that id, or nil.
func (s *Settings) Type(id string) *QueryType {
	if s.byID == nil {
		s.index()
	}
	return s.byID[id]
}

// index builds the lookup table. Called by NewSettings; Settings built by
// hand in tests get it lazily.
func (s *Settings) index() {
	s.byID = make(map[string]*QueryType, len(s.Types))
	for _, t := range s.Types {
		s.byID[t.ID] = t
	}
}

// Finish prepares hand-built or compiled settings for use: it indexes the
// types and fills the zero-value defaults (24/7 hours, 24h and 72h windows).
func (s *Settings) Finish() *Settings {
	if s.Hours == nil {
		s.Hours = AlwaysOpen()
	}
	if s.SessionWindow == 0 {
		s.SessionWindow = 24 * time.Hour
	}
	if s.FreeEntryWindow == 0 {
		s.FreeEntryWindow = 72 * time.Hour
	}
	if s.Operators == nil {
		s.Operators = map[string]*OperatorSettings{}
	}
	s.index()
	return s
}
