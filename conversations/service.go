package conversations

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"switchboard/clock"
	"switchboard/metrics"
	"switchboard/routing"
	"switchboard/settings"
)

// Publisher announces events to the event streams. Events are hints for
// live views, which refetch what they show, so a failure to publish is
// logged and the change it announces stands.
type Publisher interface {
	Publish(ctx context.Context, ev Event) error
}

// Timer kinds a Scheduler schedules.
const (
	// TimerSessionEnd ends a routing session when its window passes.
	TimerSessionEnd = "session_end"
	// TimerNoReply returns an unanswered assignment to the pool.
	TimerNoReply = "no_reply"
	// TimerRelease routes a conversation that waited for opening time.
	TimerRelease = "release"
)

// Scheduler queues the work a change causes: outbound sends, routing
// timers and dispatches. Each call is idempotent where its arguments say
// so: a send of one message is queued once, a timer of one kind, query
// and key is scheduled once.
type Scheduler interface {
	// EnqueueSend queues the send of a recorded outbound message.
	EnqueueSend(ctx context.Context, channel, queryID, msgID string) error
	// RequeueSend is EnqueueSend reporting whether the send was queued
	// now (false: its task was there already).
	RequeueSend(ctx context.Context, channel, queryID, msgID string) (bool, error)
	// ScheduleTimer schedules a routing timer for at.
	ScheduleTimer(ctx context.Context, kind, queryID, key string, at time.Time) error
	// CancelTimer drops a scheduled timer that can no longer matter (its
	// conversation closed); one already gone is not an error.
	CancelTimer(ctx context.Context, kind, queryID, key string) error
	// EnqueueDispatch asks the workers to give operator the
	// longest-waiting conversations they can take.
	EnqueueDispatch(ctx context.Context, operator string) error
	// EnqueueReturn asks the workers to return the unanswered queries of
	// an operator who went away or offline (see ReturnUnanswered).
	EnqueueReturn(ctx context.Context, operator string) error
	// EnqueueRecheck asks the workers to re-check the assignments (see
	// ReleaseUnserved), once per settings version and staff version.
	EnqueueRecheck(ctx context.Context, settingsVersion, staffVersion int64) error
	// SchedulePresenceCheck schedules a PresenceCheck of account for at;
	// one account's check of one second is scheduled once.
	SchedulePresenceCheck(ctx context.Context, account string, at time.Time) error
	// EnqueueMediaFetch queues the fetch of an inbound file from its
	// provider; one file is queued once while its task is kept.
	EnqueueMediaFetch(ctx context.Context, channel, mediaID string) error
}

// Presence keeps operators' presence, which is in-flight state.
type Presence interface {
	// Presence returns the presence of each operator (offline when unknown).
	Presence(ctx context.Context, operators []string) (map[string]string, error)
	SetPresence(ctx context.Context, operator, presence string) error
	// Lease records that one of account's event streams is alive until
	// ends, forgetting leases that ended more than keep before.
	Lease(ctx context.Context, account, stream string, ends time.Time, keep time.Duration) error
	// LastLease returns when the latest stream lease of account ends;
	// false when none is remembered.
	LastLease(ctx context.Context, account string) (time.Time, bool, error)
}

// Settings gives the routing settings in force; settings.ErrNone when
// none were applied.
type Settings interface {
	Current(ctx context.Context) (*settings.Compiled, error)
}

// Service owns conversations' lives. Its methods are safe for concurrent
// use by many goroutines, processes and replicas: every rule that must
// hold under concurrency holds in the repository's transactions.
type Service struct {
	repo     Repository
	events   Publisher
	tasks    Scheduler
	presence Presence
	settings Settings
	staff    Staff
	blobs    Blobs
	clock    clock.Clock
	metrics  *metrics.Metrics
	logger   *slog.Logger

	staffCache staffCache
	// awayAfter is presence.away_after (see PresenceCheck).
	awayAfter time.Duration
}

// Options are a Service's dependencies.
type Options struct {
	Repository Repository
	Events     Publisher
	Tasks      Scheduler
	Presence   Presence
	// Settings are the routing settings; nil (or none applied) leaves
	// conversations pending, unrouted.
	Settings Settings
	// Staff are the accounts routing assigns; nil assigns nobody (every
	// query waits in its pool).
	Staff Staff
	// Blobs keeps media files' bytes; nil keeps none (inbound files stay
	// pending, and asking for one fails).
	Blobs Blobs
	Clock clock.Clock
	// Metrics receives the service's metrics; nil keeps them private.
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	// AwayAfter is how long an online operator may have no event stream
	// alive before they turn away (DefaultAwayAfter if 0).
	AwayAfter time.Duration
}

// New returns a Service.
func New(o Options) *Service {
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New(prometheus.NewRegistry())
	}
	if o.AwayAfter <= 0 {
		o.AwayAfter = DefaultAwayAfter
	}
	return &Service{repo: o.Repository, events: o.Events, tasks: o.Tasks, presence: o.Presence,
		settings: o.Settings, staff: o.Staff, blobs: o.Blobs, clock: o.Clock, metrics: o.Metrics, logger: o.Logger, awayAfter: o.AwayAfter}
}

// publish announces ev if there is one.
func (s *Service) publish(ctx context.Context, ev *Event) {
	if ev == nil || s.events == nil {
		return
	}
	if err := s.events.Publish(ctx, *ev); err != nil {
		s.logger.WarnContext(ctx, "event not published; live views catch up on their next read", "query", ev.QueryID, "type", ev.Type, "err", err)
	}
}

// Current returns the settings in force, or nil when routing is not
// configured (no settings applied). A stored version that fails to
// compile is logged, and the previous good version stays in force.
func (s *Service) Current(ctx context.Context) (*settings.Compiled, error) {
	if s.settings == nil {
		return nil, nil
	}
	c, err := s.settings.Current(ctx)
	if errors.Is(err, settings.ErrNone) {
		return nil, nil
	}
	if err != nil && c == nil {
		return nil, err
	}
	if err != nil {
		s.logger.WarnContext(ctx, "settings problem", "err", err)
	}
	return c, nil
}

// Contact reads a contact.
func (s *Service) Contact(ctx context.Context, id string) (*Contact, error) {
	return s.repo.Contact(ctx, id)
}

// EditContact sets the staff's display name and notes of a contact.
func (s *Service) EditContact(ctx context.Context, id, displayName, notes string) error {
	return s.repo.EditContact(ctx, id, displayName, notes)
}

// SetPortfolioOwner puts a contact in an operator's portfolio ("" removes it).
func (s *Service) SetPortfolioOwner(ctx context.Context, contactID, operator string) error {
	return s.repo.SetPortfolioOwner(ctx, contactID, operator)
}

// EraseContact erases one customer's data from the system of record:
// the contact, their conversations, messages and search terms. What the
// queue still holds of them (tasks in flight) expires with the tasks.
func (s *Service) EraseContact(ctx context.Context, contactID string) (Erased, error) {
	e, err := s.repo.EraseContact(ctx, contactID)
	if err != nil {
		return e, err
	}
	s.metrics.ContactErasures.Inc()
	// The files go now if the store answers; the erasure queued them, so
	// what fails here the next retention run deletes.
	if _, err := s.DeleteQueuedMedia(ctx); err != nil {
		s.logger.WarnContext(ctx, "erased contact's files not all deleted yet; retention retries", "err", err)
	}
	return e, nil
}

// State reads a conversation's routing state.
func (s *Service) State(ctx context.Context, queryID string) (*RoutingState, error) {
	return s.repo.RoutingState(ctx, queryID)
}

// Query reads a conversation.
func (s *Service) Query(ctx context.Context, queryID string) (*Query, error) {
	return s.repo.Query(ctx, queryID)
}

// List pages through conversations, newest activity first.
func (s *Service) List(ctx context.Context, f Filter) (Page, error) {
	return s.repo.List(ctx, f)
}

// History returns part of a conversation's history, oldest first.
func (s *Service) History(ctx context.Context, queryID string, r HistoryRange) (HistoryPage, error) {
	return s.repo.History(ctx, queryID, r)
}

// Message reads one message of a conversation.
func (s *Service) Message(ctx context.Context, queryID, msgID string) (*Message, error) {
	return s.repo.Message(ctx, queryID, msgID)
}

// QueryCounts counts routed conversations by state, for metrics.
func (s *Service) QueryCounts(ctx context.Context) (map[string]int, error) {
	return s.repo.QueryCounts(ctx)
}

// PoolOldest returns when the longest-waiting conversation of a type
// began waiting; false when its pool is empty.
func (s *Service) PoolOldest(ctx context.Context, queryType string) (time.Time, bool, error) {
	return s.repo.PoolOldest(ctx, queryType)
}

// OperatorLoad returns how many conversations are assigned to operator now.
func (s *Service) OperatorLoad(ctx context.Context, operator string) (int, error) {
	l, err := s.repo.Loads(ctx, []string{operator})
	if err != nil {
		return 0, err
	}
	return l[operator].Assigned, nil
}

// OperatorStates returns the presence and load of each of operators
// (offline with no load when unknown), as routing sees them: what a
// person choosing whom to hand a conversation to needs to know.
func (s *Service) OperatorStates(ctx context.Context, operators []string) (routing.Roster, error) {
	return s.roster(ctx, operators)
}

// roster reads the live state of the given operators.
func (s *Service) roster(ctx context.Context, operators []string) (routing.Roster, error) {
	r := routing.Roster{}
	if len(operators) == 0 {
		return r, nil
	}
	pres, err := s.presence.Presence(ctx, operators)
	if err != nil {
		return nil, fmt.Errorf("read presence: %w", err)
	}
	loads, err := s.repo.Loads(ctx, operators)
	if err != nil {
		return nil, err
	}
	for _, id := range operators {
		p := pres[id]
		if p == "" {
			p = routing.PresenceOffline
		}
		r[id] = routing.OperatorState{Presence: p, Load: loads[id].Assigned, LastAssigned: loads[id].LastAssigned}
	}
	return r, nil
}

// SetPresence records an operator's presence; coming online pulls the
// conversations waiting for them, going away or offline returns their
// unanswered ones (see ReturnUnanswered).
func (s *Service) SetPresence(ctx context.Context, operator, presence string) error {
	switch presence {
	case routing.PresenceOnline, routing.PresenceAway, routing.PresenceOffline:
	default:
		return fmt.Errorf("presence %q: want online, away or offline", presence)
	}
	if err := s.presence.SetPresence(ctx, operator, presence); err != nil {
		return fmt.Errorf("set presence: %w", err)
	}
	if presence == routing.PresenceOnline {
		if err := s.tasks.EnqueueDispatch(ctx, operator); err != nil {
			return fmt.Errorf("dispatch to %s: %w", operator, err)
		}
		return nil
	}
	return s.queueReturn(ctx, operator)
}
