// Package store keeps Switchboard's conversation state in Redis: contacts,
// their queries (conversations) and every message of a query, inbound and
// outbound, with delivery statuses. docs/redis-keys.md documents the keys.
//
// Every write that must be all-or-nothing is one Lua script, so a worker
// killed mid-task leaves either the whole change or none of it, and two
// workers racing on one contact are serialized by Redis itself.
package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"switchboard/channels"
	"switchboard/clock"
	"switchboard/routing"
)

// Prefix starts every key Switchboard writes, apart from asynq's own. Its
// hash tag puts all of them in one Redis Cluster slot: a routing decision
// changes a contact's conversation and the shared rosters and pools in one
// script, and scripts may only touch keys of one slot. On Cluster, asynq's
// queues (tagged by queue name) are what spreads across the shards.
const Prefix = "{sb}:"

// EventsChannel is the Redis pub/sub channel state changes are announced
// on: small JSON events naming the query, never texts or phone numbers.
const EventsChannel = Prefix + "events"

// ErrNotFound means the contact, query or message does not exist.
var ErrNotFound = errors.New("not found")

// providerIndexTTL bounds how long a provider's message id can be mapped
// back to the outbound message; providers report statuses within days.
const providerIndexTTL = 30 * 24 * time.Hour

// Store reads and writes conversation state.
type Store struct {
	rdb   redis.UniversalClient
	clock clock.Clock
}

// New returns a store on rdb. clk stamps created/updated times.
func New(rdb redis.UniversalClient, clk clock.Clock) *Store {
	return &Store{rdb: rdb, clock: clk}
}

// Redis returns the client, for packages that keep their own keys beside
// the store's (settings).
func (s *Store) Redis() redis.UniversalClient { return s.rdb }

// ContactID derives a contact's id from its channel and its id there. It is
// deterministic, so the inbound path needs no lookup, and it keeps the
// phone number out of ids, URLs and logs.
func ContactID(channel, externalID string) string {
	h := sha256.New()
	h.Write([]byte("switchboard/contact/v1\x00"))
	h.Write([]byte(channel))
	h.Write([]byte{0})
	h.Write([]byte(externalID))
	return hex.EncodeToString(h.Sum(nil)[:10])
}

// contactPrefix is the key prefix of one contact's keys.
func contactPrefix(contactID string) string { return Prefix + "c:" + contactID }

// splitQueryID returns the contact id a query id starts with.
func splitQueryID(queryID string) (contactID string, err error) {
	i := strings.LastIndexByte(queryID, '-')
	if i <= 0 || i == len(queryID)-1 {
		return "", fmt.Errorf("query %q: %w", queryID, ErrNotFound)
	}
	if _, err := strconv.ParseUint(queryID[i+1:], 10, 64); err != nil {
		return "", fmt.Errorf("query %q: %w", queryID, ErrNotFound)
	}
	return queryID[:i], nil
}

// historyMember orders messages that share a score (a provider timestamp in
// whole seconds) by arrival, and names the message.
func historyMember(arrival int64, msgID string) string {
	return fmt.Sprintf("%019d:%s", arrival, msgID)
}

var (
	//go:embed lua/apply_inbound.lua
	applyInboundSrc string
	applyInbound    = redis.NewScript(applyInboundSrc)

	//go:embed lua/record_outbound.lua
	recordOutboundSrc string
	recordOutbound    = redis.NewScript(recordOutboundSrc)

	//go:embed lua/set_status.lua
	setStatusSrc string
	setStatus    = redis.NewScript(setStatusSrc)
)

// InboundResult says what ApplyInbound did.
type InboundResult struct {
	ContactID string
	QueryID   string
	// Duplicate is true when the message had been applied before; nothing changed.
	Duplicate bool
	// NewQuery is true when the message opened a new query.
	NewQuery bool
	// Late is true when a message the provider sent later had already been
	// applied: it is placed in history by its timestamp, and the contact's
	// last-message time and profile name keep the newer values.
	Late bool
	// Routed is true, for a duplicate, when a routing decision applied
	// with ApplyDecision has consumed the message. A redelivery whose
	// routing failed sees false and routes it, whatever the query's
	// routing version says.
	Routed bool
}

// ApplyInbound records one inbound message atomically: it upserts the
// contact, finds or creates the contact's open query, appends the message to
// the query's history in provider order, advances the customer's
// last-message time and the query's place in the activity index. body is the message's JSON as queued. Applying the same
// message again changes nothing and reports Duplicate.
func (s *Store) ApplyInbound(ctx context.Context, m *channels.Inbound, body []byte) (InboundResult, error) {
	cid := ContactID(m.Channel, m.From)
	score := m.Timestamp.UnixMilli()
	res, err := applyInbound.Run(ctx, s.rdb, []string{contactPrefix(cid), keyActivity},
		cid, m.Channel, m.From, m.ID, score, historyMember(m.Arrival, m.ID), body,
		m.ProfileName, s.clock.Now().UnixMilli(), routing.StatePending, EventsChannel).Slice()
	if err != nil {
		return InboundResult{}, fmt.Errorf("apply inbound message: %w", err)
	}
	if len(res) != 5 {
		return InboundResult{}, fmt.Errorf("apply inbound message: unexpected script result %v", res)
	}
	qid, _ := res[1].(string)
	return InboundResult{
		ContactID: cid,
		QueryID:   qid,
		Duplicate: res[0].(int64) == 0,
		NewQuery:  res[2].(int64) == 1,
		Late:      res[3].(int64) == 1,
		Routed:    res[4].(int64) == 1,
	}, nil
}

// Contact is a customer on one channel.
type Contact struct {
	ID          string
	Channel     string
	ExternalID  string
	ProfileName string
	// OpenQuery is the id of the contact's open query, empty if none.
	OpenQuery string
	// PortfolioOwner is the operator whose portfolio holds the contact.
	PortfolioOwner string
	// DisplayName and Notes are what CS staff keep about the customer.
	DisplayName   string
	Notes         string
	CreatedAt     time.Time
	LastInboundAt time.Time
}

// Contact reads a contact.
func (s *Store) Contact(ctx context.Context, id string) (*Contact, error) {
	h, err := s.rdb.HGetAll(ctx, contactPrefix(id)+":contact").Result()
	if err != nil {
		return nil, fmt.Errorf("read contact: %w", err)
	}
	if len(h) == 0 {
		return nil, fmt.Errorf("contact %s: %w", id, ErrNotFound)
	}
	return &Contact{
		ID:             h["id"],
		Channel:        h["channel"],
		ExternalID:     h["external_id"],
		ProfileName:    h["profile_name"],
		OpenQuery:      h["open_query"],
		PortfolioOwner: h["portfolio_owner"],
		DisplayName:    h["display_name"],
		Notes:          h["notes"],
		CreatedAt:      millis(h["created_at"]),
		LastInboundAt:  millis(h["last_inbound_at"]),
	}, nil
}

// EditContact sets the staff's display name and notes of a contact.
func (s *Store) EditContact(ctx context.Context, contactID, displayName, notes string) error {
	key := contactPrefix(contactID) + ":contact"
	n, err := s.rdb.Exists(ctx, key).Result()
	if err != nil {
		return fmt.Errorf("edit contact: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("contact %s: %w", contactID, ErrNotFound)
	}
	if err := s.rdb.HSet(ctx, key, "display_name", displayName, "notes", notes).Err(); err != nil {
		return fmt.Errorf("edit contact: %w", err)
	}
	return nil
}

// SetPortfolioOwner puts the contact in operator's portfolio ("" removes it).
func (s *Store) SetPortfolioOwner(ctx context.Context, contactID, operator string) error {
	key := contactPrefix(contactID) + ":contact"
	n, err := s.rdb.Exists(ctx, key).Result()
	if err != nil {
		return fmt.Errorf("set portfolio owner: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("contact %s: %w", contactID, ErrNotFound)
	}
	if operator == "" {
		err = s.rdb.HDel(ctx, key, "portfolio_owner").Err()
	} else {
		err = s.rdb.HSet(ctx, key, "portfolio_owner", operator).Err()
	}
	if err != nil {
		return fmt.Errorf("set portfolio owner: %w", err)
	}
	return nil
}

// Query is one customer's thread on one channel.
type Query struct {
	ID        string
	ContactID string
	Channel   string
	State     string
	CreatedAt time.Time
	UpdatedAt time.Time
	// LastInboundAt is the provider time of the customer's newest message:
	// the customer service window runs from it.
	LastInboundAt time.Time
	InboundCount  int
	OutboundCount int
}

// Query reads a query.
func (s *Store) Query(ctx context.Context, id string) (*Query, error) {
	cid, err := splitQueryID(id)
	if err != nil {
		return nil, err
	}
	h, err := s.rdb.HGetAll(ctx, contactPrefix(cid)+":q:"+id).Result()
	if err != nil {
		return nil, fmt.Errorf("read query: %w", err)
	}
	if len(h) == 0 {
		return nil, fmt.Errorf("query %s: %w", id, ErrNotFound)
	}
	in, _ := strconv.Atoi(h["inbound_count"])
	out, _ := strconv.Atoi(h["outbound_count"])
	return &Query{
		ID:            h["id"],
		ContactID:     h["contact_id"],
		Channel:       h["channel"],
		State:         h["state"],
		CreatedAt:     millis(h["created_at"]),
		UpdatedAt:     millis(h["updated_at"]),
		LastInboundAt: millis(h["last_inbound_at"]),
		InboundCount:  in,
		OutboundCount: out,
	}, nil
}

// Message directions.
const (
	DirectionInbound  = "inbound"
	DirectionOutbound = "outbound"
)

// Message is one message of a query's history.
type Message struct {
	ID        string
	QueryID   string
	Direction string
	// At is the provider's time for inbound messages, the time Switchboard
	// accepted it for outbound ones.
	At time.Time
	// Inbound is the message as the customer sent it (inbound only).
	Inbound *channels.Inbound
	// Text is the text sent (outbound only); for a template, its rendering.
	Text string
	// Template is set when the outbound message is a template send.
	Template *TemplateRef
	// Delivery, for outbound messages.
	Status     string
	StatusAt   time.Time
	ProviderID string
	Error      *channels.StatusError
}

// History returns a query's messages oldest first, in provider order.
func (s *Store) History(ctx context.Context, queryID string) ([]Message, error) {
	cid, err := splitQueryID(queryID)
	if err != nil {
		return nil, err
	}
	p := contactPrefix(cid)
	members, err := s.rdb.ZRange(ctx, p+":q:"+queryID+":hist", 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.MapStringStringCmd, len(members))
	for i, mem := range members {
		_, id, _ := strings.Cut(mem, ":")
		cmds[i] = pipe.HGetAll(ctx, p+":m:"+id)
	}
	if len(members) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("read history messages: %w", err)
		}
	}
	msgs := make([]Message, 0, len(members))
	for i, mem := range members {
		_, id, _ := strings.Cut(mem, ":")
		m, err := decodeMessage(id, cmds[i].Val())
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, *m)
	}
	return msgs, nil
}

// Message reads one message of a query.
func (s *Store) Message(ctx context.Context, queryID, msgID string) (*Message, error) {
	cid, err := splitQueryID(queryID)
	if err != nil {
		return nil, err
	}
	h, err := s.rdb.HGetAll(ctx, contactPrefix(cid)+":m:"+msgID).Result()
	if err != nil {
		return nil, fmt.Errorf("read message: %w", err)
	}
	if len(h) == 0 || h["query"] != queryID {
		return nil, fmt.Errorf("message %s: %w", msgID, ErrNotFound)
	}
	return decodeMessage(msgID, h)
}

func decodeMessage(id string, h map[string]string) (*Message, error) {
	m := &Message{
		ID:         id,
		QueryID:    h["query"],
		At:         millis(h["at"]),
		Status:     h["status"],
		StatusAt:   millis(h["status_at"]),
		ProviderID: h["provider_id"],
	}
	switch h["dir"] {
	case "in":
		m.Direction = DirectionInbound
		m.Inbound = &channels.Inbound{}
		if err := json.Unmarshal([]byte(h["body"]), m.Inbound); err != nil {
			return nil, fmt.Errorf("decode message %s: %w", id, err)
		}
	case "out":
		m.Direction = DirectionOutbound
		var body outboundBody
		if err := json.Unmarshal([]byte(h["body"]), &body); err != nil {
			return nil, fmt.Errorf("decode message %s: %w", id, err)
		}
		m.Text, m.Template = body.Text, body.Template
	default:
		return nil, fmt.Errorf("message %s: %w", id, ErrNotFound)
	}
	if h["error"] != "" {
		m.Error = &channels.StatusError{}
		if err := json.Unmarshal([]byte(h["error"]), m.Error); err != nil {
			return nil, fmt.Errorf("decode message %s error: %w", id, err)
		}
	}
	return m, nil
}

type outboundBody struct {
	Text     string       `json:"text"`
	Template *TemplateRef `json:"template,omitempty"`
}

// TemplateRef says an outbound message is a provider template send.
type TemplateRef struct {
	// Name is the provider's template name.
	Name     string   `json:"name"`
	Language string   `json:"language"`
	Params   []string `json:"params"`
}

// RecordOutbound adds an outbound text to a query's history as queued and
// returns its id. The send itself is the outbound task's job.
func (s *Store) RecordOutbound(ctx context.Context, queryID, text string) (string, error) {
	id, _, err := s.recordOutbound(ctx, queryID, "", outboundBody{Text: text})
	return id, err
}

// RecordAutoReply adds an automatic reply under msgID, a "sb-" id derived
// from the decision that made it, so carrying a decision out again records
// it once. It reports whether this call recorded it.
func (s *Store) RecordAutoReply(ctx context.Context, queryID, msgID, text string) (bool, error) {
	_, created, err := s.recordOutbound(ctx, queryID, msgID, outboundBody{Text: text})
	return created, err
}

// RecordTemplate adds an outbound template send to a query's history as
// queued; text is the template rendered, for people reading the history.
func (s *Store) RecordTemplate(ctx context.Context, queryID, text string, t TemplateRef) (string, error) {
	id, _, err := s.recordOutbound(ctx, queryID, "", outboundBody{Text: text, Template: &t})
	return id, err
}

// recordOutbound records ob under msgID, or a fresh id when msgID is "".
// It reports false when a message with that id was already recorded.
func (s *Store) recordOutbound(ctx context.Context, queryID, msgID string, ob outboundBody) (string, bool, error) {
	cid, err := splitQueryID(queryID)
	if err != nil {
		return "", false, err
	}
	if msgID == "" {
		var rnd [12]byte
		if _, err := rand.Read(rnd[:]); err != nil {
			return "", false, fmt.Errorf("message id: %w", err)
		}
		msgID = "sb-" + hex.EncodeToString(rnd[:])
	}
	body, err := json.Marshal(ob)
	if err != nil {
		return "", false, fmt.Errorf("encode outbound message: %w", err)
	}
	now := s.clock.Now()
	n, err := recordOutbound.Run(ctx, s.rdb, []string{contactPrefix(cid)},
		queryID, msgID, now.UnixMilli(), historyMember(now.UnixNano(), msgID), body,
		channels.StatusQueued, statusRank[channels.StatusQueued], EventsChannel).Int()
	if err != nil {
		return "", false, fmt.Errorf("record outbound message: %w", err)
	}
	switch n {
	case 0:
		return "", false, fmt.Errorf("record outbound message: query %s: %w", queryID, ErrNotFound)
	case 2:
		return msgID, false, nil
	}
	if err := s.Touch(ctx, queryID, now); err != nil {
		return "", false, err
	}
	return msgID, true, nil
}

// statusRank orders delivery statuses so a late report never moves a message
// backwards: a "delivered" arriving after "read" changes nothing. A failure
// outranks sent and delivered; read proves delivery and outranks a failure.
var statusRank = map[string]int{
	channels.StatusQueued:    0,
	channels.StatusSent:      1,
	channels.StatusDelivered: 2,
	channels.StatusFailed:    3,
	channels.StatusRead:      4,
}

// MarkSent records that the provider accepted an outbound message under
// providerID, and indexes providerID so status reports find the message.
func (s *Store) MarkSent(ctx context.Context, channel, queryID, msgID, providerID string) error {
	cid, err := splitQueryID(queryID)
	if err != nil {
		return err
	}
	// Index first: a status report that races ahead of the mark still
	// finds the message and is applied by rank.
	if err := s.rdb.Set(ctx, providerIndexKey(channel, providerID), queryID+" "+msgID, providerIndexTTL).Err(); err != nil {
		return fmt.Errorf("index provider message id: %w", err)
	}
	_, err = s.setStatus(ctx, cid, msgID, channels.StatusSent, s.clock.Now(), providerID, nil)
	return err
}

// MarkFailed records that an outbound message could not be sent.
func (s *Store) MarkFailed(ctx context.Context, queryID, msgID string, cause channels.StatusError) error {
	cid, err := splitQueryID(queryID)
	if err != nil {
		return err
	}
	_, err = s.setStatus(ctx, cid, msgID, channels.StatusFailed, s.clock.Now(), "", &cause)
	return err
}

// StatusResult says what ApplyStatus did.
type StatusResult struct {
	// Found is false when no outbound message has that provider id.
	Found bool
	// Changed is false when the message already had this or a later status.
	Changed   bool
	QueryID   string
	MessageID string
}

// ApplyStatus applies a provider's delivery report to the outbound message
// it names. Statuses never move a message backwards.
func (s *Store) ApplyStatus(ctx context.Context, st *channels.Status) (StatusResult, error) {
	ref, err := s.rdb.Get(ctx, providerIndexKey(st.Channel, st.MessageID)).Result()
	if errors.Is(err, redis.Nil) {
		return StatusResult{}, nil
	}
	if err != nil {
		return StatusResult{}, fmt.Errorf("look up provider message id: %w", err)
	}
	queryID, msgID, ok := strings.Cut(ref, " ")
	if !ok {
		return StatusResult{}, fmt.Errorf("corrupt provider index entry for channel %s", st.Channel)
	}
	cid, err := splitQueryID(queryID)
	if err != nil {
		return StatusResult{}, err
	}
	var cause *channels.StatusError
	if len(st.Errors) > 0 {
		cause = &st.Errors[0]
	}
	changed, err := s.setStatus(ctx, cid, msgID, st.Status, st.Timestamp, "", cause)
	if err != nil {
		return StatusResult{}, err
	}
	return StatusResult{Found: true, Changed: changed, QueryID: queryID, MessageID: msgID}, nil
}

func (s *Store) setStatus(ctx context.Context, cid, msgID, status string, at time.Time, providerID string, cause *channels.StatusError) (bool, error) {
	rank, known := statusRank[status]
	if !known {
		// Statuses Switchboard does not model are recorded with their time
		// but never change the message's status.
		rank = -1
	}
	var errJSON []byte
	if cause != nil {
		var err error
		if errJSON, err = json.Marshal(cause); err != nil {
			return false, fmt.Errorf("encode status error: %w", err)
		}
	}
	n, err := setStatus.Run(ctx, s.rdb, []string{contactPrefix(cid) + ":m:" + msgID, contactPrefix(cid)},
		status, rank, at.UnixMilli(), providerID, errJSON, EventsChannel, msgID).Int()
	if err != nil {
		return false, fmt.Errorf("set message status: %w", err)
	}
	if n < 0 {
		return false, fmt.Errorf("message %s: %w", msgID, ErrNotFound)
	}
	return n == 1, nil
}

func providerIndexKey(channel, providerID string) string {
	return Prefix + "pmid:" + channel + ":" + providerID
}

func millis(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n)
}
