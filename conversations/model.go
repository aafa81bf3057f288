package conversations

import (
	"context"
	"errors"
	"time"

	"switchboard/channels"
	"switchboard/routing"
)

// Errors callers tell apart.
var (
	// ErrNotFound means the contact, conversation or message does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the conversation's routing state changed since it
	// was read; decide again on the new state.
	ErrConflict = errors.New("routing state changed concurrently")
	// ErrAtCapacity means the chosen operator filled up meanwhile.
	ErrAtCapacity = errors.New("operator at capacity")
	// ErrBadCursor means a list or history cursor is not one this
	// service gave out.
	ErrBadCursor = errors.New("invalid cursor")
)

// Contact is a customer on one channel.
type Contact struct {
	ID          string
	Channel     string
	ExternalID  string
	ProfileName string
	// OpenQuery is the id of the contact's open conversation, "" if none.
	OpenQuery string
	// PortfolioOwner is the operator whose portfolio holds the contact.
	PortfolioOwner string
	// DisplayName and Notes are what CS staff keep about the customer.
	DisplayName   string
	Notes         string
	CreatedAt     time.Time
	LastInboundAt time.Time
}

// Query is one customer's conversation on one channel, with its routing
// fields as the list and the API show them.
type Query struct {
	ID        string
	ContactID string
	Channel   string
	// State is pending until routed, then the routing state.
	State      string
	QueryType  string
	Assignee   string
	Resolution string
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// LastInboundAt is the provider time of the customer's newest message:
	// the customer-service window runs from it.
	LastInboundAt time.Time
	// ActivityAt is the newest message's time, in or out: the list order.
	ActivityAt    time.Time
	InboundCount  int
	OutboundCount int
	// Tags are the ids of the settings' tags put on it, sorted.
	Tags []string
	// SLA is its service-level clock (zero: its type had no targets).
	SLA SLA
	// CSAT is its satisfaction survey; nil when it was never surveyed.
	CSAT *CSAT
}

// Note is an internal note on a conversation: staff's remark, never sent
// to the customer.
type Note struct {
	ID      string
	QueryID string
	// Author is the account that wrote it; AuthorName its name now (""
	// once the account is deleted).
	Author     string
	AuthorName string
	At         time.Time
	Text       string
	// Mentions are the accounts the note names; each who may see the
	// conversation is sent a note event.
	Mentions []string
}

// Summary is one row of a conversation list: the conversation and what
// the list shows of its contact.
type Summary struct {
	Query
	ContactName  string
	ContactPhone string
}

// Message directions.
const (
	DirectionInbound  = "inbound"
	DirectionOutbound = "outbound"
)

// Message is one message of a conversation's history.
type Message struct {
	ID        string
	QueryID   string
	Direction string
	// At is the provider's time for inbound messages, the time Switchboard
	// accepted it for outbound ones.
	At time.Time
	// Seq orders messages of one At: arrival order.
	Seq int64
	// Inbound is the message as the customer sent it (inbound only); nil
	// once retention removed the body.
	Inbound *channels.Inbound
	// Text is the text sent (outbound only); for a template, its rendering.
	Text string
	// Template is set when the outbound message is a template send.
	Template *TemplateRef
	// Question is set when the outbound message asks with choices (a
	// satisfaction survey); Text is then its question.
	Question *channels.Question
	// Delivery, for outbound messages.
	Status     string
	StatusAt   time.Time
	ProviderID string
	Error      *channels.StatusError
	// Purged is true when retention removed the message's body.
	Purged bool
	// Media is the message's file, if it carries one.
	Media *Media
}

// TemplateRef says an outbound message is a provider template send.
type TemplateRef struct {
	// Name is the provider's template name.
	Name     string   `json:"name"`
	Language string   `json:"language"`
	Params   []string `json:"params"`
}

// InboundResult says what applying an inbound message did.
type InboundResult struct {
	ContactID string
	QueryID   string
	// Duplicate is true when the message had been applied before; nothing changed.
	Duplicate bool
	// NewQuery is true when the message opened a new conversation.
	NewQuery bool
	// Late is true when a message the provider sent later had already been
	// applied: it is placed in history by its timestamp, and the contact's
	// last-message time and profile name keep the newer values.
	Late bool
	// Routed is true, for a duplicate, when a stored routing decision has
	// consumed the message.
	Routed bool
	// Event is what to announce once applied; nil for a duplicate.
	Event *Event
	// PortfolioOwner is the contact's portfolio owner as the message found
	// it ("" for none).
	PortfolioOwner string
	// Routing is the conversation's routing state as the message left it,
	// what RoutingState would read right after: routing's first decision
	// on the message starts from it instead of reading it again (a
	// decision stored meanwhile makes that one fail with ErrConflict, and
	// the next attempt reads). nil for a duplicate.
	Routing *RoutingState
	// CSAT is set when the message answered its contact's satisfaction
	// survey: it is stored with the closed conversation QueryID names,
	// opens none and is not routed. Set for a duplicate too.
	CSAT *CSATAnswer
}

// StatusResult says what applying a delivery report did.
type StatusResult struct {
	// Found is false when no outbound message has that provider id.
	Found bool
	// Changed is false when the message already had this or a later status.
	Changed   bool
	QueryID   string
	MessageID string
	// Event is what to announce; nil unless Changed.
	Event *Event
}

// RoutingState is a conversation's routing state and what is needed to
// change it.
type RoutingState struct {
	Query routing.Query
	// Version increases with every routing change (optimistic locking).
	Version int64
	// AnsweredSinceAssignment is true when an outbound message was
	// recorded after the current assignment.
	AnsweredSinceAssignment bool
	// LastInboundAt is the customer's newest message time.
	LastInboundAt time.Time
	ContactID     string
	// Effects are the pending effects (auto-replies, timers) of a stored
	// decision not yet carried out, as written; "" when none.
	Effects string
}

// Decision is a routing change to store.
type Decision struct {
	Query routing.Query
	// ExpectVersion is the version the decision was made from; the
	// change is refused with ErrConflict if it moved on.
	ExpectVersion int64
	// Capacity is the new assignee's; a new assignee at it refuses the
	// change with ErrAtCapacity.
	Capacity int
	// Effects are kept with the decision until ClearEffects ("" clears).
	Effects string
	// Inbound, when not "", is the provider id of the customer message
	// the decision routes: it is marked routed in the same transaction.
	Inbound string
	Now     time.Time
	// SLA, when not nil, starts the conversation's targets with these
	// times, unless they started already.
	SLA *SLA
}

// OperatorLoad is an operator's routing bookkeeping.
type OperatorLoad struct {
	// Assigned counts the conversations assigned to them now.
	Assigned     int
	LastAssigned time.Time
}

// Cursor is a place in a list: the activity time and id of the last row
// seen. Rows are ordered by (activity, id), newest first, so no row is
// skipped or repeated across pages whatever ties there are.
type Cursor struct {
	At time.Time
	ID string
}

// Viewer limits a list to what one operator may see: the conversations
// assigned to them, and the pending and inactive ones of the query types
// they serve.
type Viewer struct {
	ID    string
	Types []string
}

// Filter selects conversations for a list. Zero fields do not filter.
type Filter struct {
	// Viewer, when not nil, limits the list to what that operator sees.
	Viewer    *Viewer
	State     string
	QueryType string
	Channel   string
	Assignee  string
	// UpdatedFrom and UpdatedTo bound the activity time [from, to).
	UpdatedFrom time.Time
	UpdatedTo   time.Time
	// Tag keeps the conversations carrying this tag.
	Tag string
	// InboundBefore, when set, keeps the conversations whose customer's
	// newest message is older than it: "waiting longer than" a duration
	// is InboundBefore = now - duration.
	InboundBefore time.Time
	// Search matches the contact's names by the start of any word and
	// the contact's phone by any 4 or more consecutive digits; every word
	// of it must match. A search of digits and phone punctuation
	// ("+55 11 9123-4567") is one number. One without letters or digits
	// does not filter.
	Search string
	// After continues a list from a cursor; nil starts at the newest.
	After *Cursor
	// Limit caps the rows (1..200).
	Limit int
}

// Page is one page of a list.
type Page struct {
	Items []Summary
	// Next continues the list; nil at its end.
	Next *Cursor
}

// HistoryRange selects part of a conversation's history, oldest first.
type HistoryRange struct {
	// Before and After are message ids; the messages strictly before
	// (older) or after (newer) it are returned. Both empty: the newest.
	// Both set: the messages between them, oldest first from After. An id
	// not in the conversation is ErrBadCursor.
	Before string
	After  string
	// Limit caps the messages (1..500).
	Limit int
}

// HistoryPage is a part of a conversation's history, oldest first.
type HistoryPage struct {
	Messages []Message
	// More says whether older (for Before or the newest page) or newer
	// (for After, up to Before when both are set) messages remain.
	More bool
}

// Unsent is an outbound message recorded as queued: its send task may
// never have been queued (see Service.RequeueUnsent).
type Unsent struct {
	QueryID, MessageID, Channel string
}

// Erased says what erasing a contact removed.
type Erased struct {
	Conversations int
	Messages      int
}

// Repository is the system of record the service needs. It is implemented
// by package repository on PostgreSQL and SQLite; tests inject faults by
// wrapping it.
type Repository interface {
	CSATStore
	// ApplyInbound records one inbound message atomically: it upserts the
	// contact, finds or creates the contact's one open conversation,
	// adds the message to history in provider order and moves the
	// times forward. Applying a message again changes nothing and reports
	// Duplicate. The result carries the contact's portfolio owner and,
	// unless a duplicate, the conversation's routing state after the
	// message, so routing it needs neither read again.
	ApplyInbound(ctx context.Context, m *channels.Inbound, body []byte, now time.Time) (InboundResult, error)
	Contact(ctx context.Context, id string) (*Contact, error)
	// EditContact sets the staff's display name and notes.
	EditContact(ctx context.Context, id, displayName, notes string) error
	// SetPortfolioOwner puts the contact in operator's portfolio ("" removes it).
	SetPortfolioOwner(ctx context.Context, contactID, operator string) error
	Query(ctx context.Context, id string) (*Query, error)
	// List pages through conversations by activity, newest first.
	List(ctx context.Context, f Filter) (Page, error)
	// History returns part of a conversation's history, oldest first.
	History(ctx context.Context, queryID string, r HistoryRange) (HistoryPage, error)
	Message(ctx context.Context, queryID, msgID string) (*Message, error)
	// RecordOutbound adds an outbound message as queued under msgID,
	// sent by author (an account id; "" for an automatic message). It
	// reports created false, changing nothing, when msgID is recorded
	// already (an auto-reply carried out again), and ErrNotFound for no
	// such conversation. The returned event is nil when not created.
	RecordOutbound(ctx context.Context, queryID, msgID, author, text string, tmpl *TemplateRef, now time.Time) (created bool, ev *Event, err error)
	// MarkSent records that the provider accepted the message under
	// providerID, so its delivery reports find it.
	MarkSent(ctx context.Context, queryID, msgID, providerID string, now time.Time) (*Event, error)
	// MarkFailed records that the message could not be sent.
	MarkFailed(ctx context.Context, queryID, msgID string, cause channels.StatusError, now time.Time) (*Event, error)
	// ApplyStatus applies a delivery report to the outbound message whose
	// provider id it names. Statuses never move a message backwards.
	ApplyStatus(ctx context.Context, st *channels.Status) (StatusResult, error)
	RoutingState(ctx context.Context, queryID string) (*RoutingState, error)
	// ApplyDecision stores a routing decision if the conversation is
	// still at d.ExpectVersion (else ErrConflict) and a new assignee has
	// room (else ErrAtCapacity), in one transaction with the effects and
	// the inbound message's routed mark. The event is nil when neither
	// state nor assignee changed.
	ApplyDecision(ctx context.Context, d Decision) (*Event, error)
	// ClearEffects drops pending effects if they are still these.
	ClearEffects(ctx context.Context, queryID, effects string) error
	// Loads returns the given operators' bookkeeping.
	Loads(ctx context.Context, operators []string) (map[string]OperatorLoad, error)
	// Pool returns up to n pending conversation ids of a type, longest waiting first.
	Pool(ctx context.Context, queryType string, n int) ([]string, error)
	// PoolOldest returns when the longest-waiting of a type began
	// waiting; false when the pool is empty.
	PoolOldest(ctx context.Context, queryType string) (time.Time, bool, error)
	// QueryCounts counts routed conversations by open state (pending,
	// assigned, inactive): closed ones are history, and counting them on
	// every scrape would cost more as history grows.
	QueryCounts(ctx context.Context) (map[string]int, error)
	// AssignedTo returns the ids of the conversations assigned to operator.
	AssignedTo(ctx context.Context, operator string) ([]string, error)
	// UnsentOutbound returns up to limit outbound messages still queued,
	// accepted between from and to, oldest first.
	UnsentOutbound(ctx context.Context, from, to time.Time, limit int) ([]Unsent, error)
	// Assignees returns everyone some conversation is assigned to now.
	Assignees(ctx context.Context) ([]string, error)
	// PurgeMessages empties the bodies of up to batch messages of closed
	// conversations whose newest message is older than before, and
	// reports how many it purged.
	PurgeMessages(ctx context.Context, before time.Time, batch int) (int, error)
	// EraseContact deletes a contact with its conversations, messages,
	// tags, notes and search terms.
	EraseContact(ctx context.Context, contactID string) (Erased, error)
	// SetTags replaces a conversation's tags, in one transaction, and
	// reports the tags it added and removed (sorted). The event is nil
	// when nothing changed.
	SetTags(ctx context.Context, queryID string, tags []string) (added, removed []string, ev *Event, err error)
	// AddNote stores a note on its conversation (ErrNotFound for none);
	// the event, of type note, names the note and carries the
	// conversation's routing fields.
	AddNote(ctx context.Context, n Note) (*Event, error)
	// Notes returns a conversation's notes, oldest first.
	Notes(ctx context.Context, queryID string) ([]Note, error)
	// Count counts the conversations List returns for f over all its
	// pages, from the same conditions (f.After and f.Limit aside).
	Count(ctx context.Context, f Filter) (int, error)
	// SavedViews returns a user's saved views, oldest first.
	SavedViews(ctx context.Context, userID string) ([]SavedView, error)
	// CreateView stores a saved view.
	CreateView(ctx context.Context, v SavedView) error
	// DeleteView deletes a user's saved view; ErrNotFound when that user
	// has no view with that id.
	DeleteView(ctx context.Context, userID, id string) error
	// Closed returns the conversations that closed at or after since
	// while assigned to one of operators.
	Closed(ctx context.Context, operators []string, since time.Time) ([]ClosedQuery, error)
	// Waiting returns, of the conversations assigned to operators whose
	// customer waits for an answer, since when they wait.
	Waiting(ctx context.Context, operators []string) ([]WaitingQuery, error)
	// Pools returns the size and oldest entry of each non-empty pool.
	Pools(ctx context.Context) (map[string]PoolStats, error)
	// TargetsMissed counts the targets recorded missed at or after
	// since, per operator who holds or last held the conversation and
	// per its query type.
	TargetsMissed(ctx context.Context, since time.Time) ([]MissedCount, error)
	// Rated sums the survey answers stored at or after since, per
	// operator who closed the conversation and per its query type.
	Rated(ctx context.Context, since time.Time) ([]RatedSum, error)
	SLAStore
	MediaRepository
	OutboundMediaRecorder
}

// Event is a state change announced to event streams: small, naming the
// conversation, never texts or phone numbers. It carries the
// conversation's routing fields after the change (State, Assignee,
// QueryType, Channel), so who may see it is decided from the event alone.
type Event struct {
	Type      string `json:"type"` // message, state, status, tags, note or sla
	QueryID   string `json:"query_id"`
	MessageID string `json:"message_id,omitempty"`
	// NoteID (note events) names the note, never its text.
	NoteID string `json:"note_id,omitempty"`
	// To (note events) is the one account told: a note mentioning
	// several is one event for each, and a stream shows it only to that
	// account, and only if they may see the conversation.
	To        string `json:"to,omitempty"`
	Direction string `json:"direction,omitempty"`
	State     string `json:"state,omitempty"`
	Assignee  string `json:"assignee,omitempty"`
	// PreviousAssignee lets the operator a conversation left be told.
	PreviousAssignee string `json:"previous_assignee,omitempty"`
	// PreviousState (state events) is the state the change left: a
	// conversation leaving a pool (pending or inactive: claimed, assigned,
	// closed) is announced to everyone who saw it there, so it leaves
	// their pool view at once.
	PreviousState string `json:"previous_state,omitempty"`
	Status        string `json:"status,omitempty"`
	// Kind (sla events) is the target missed: first_response or resolution.
	Kind      string `json:"kind,omitempty"`
	QueryType string `json:"query_type,omitempty"`
	Channel   string `json:"channel,omitempty"`
}

// Event types.
const (
	EventMessage = "message"
	EventState   = "state"
	EventStatus  = "status"
	// EventTags is a change of a conversation's tags, told to whoever
	// may see it.
	EventTags = "tags"
	// EventNote is a new note that mentions someone: one event to each
	// mentioned account (To), shown if they may see the conversation.
	EventNote = "note"
)
