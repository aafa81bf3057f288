package simulator

import (
	"context"
	"sync"
	"time"

	chansim "switchboard/channels/simulator"
)

// Bounds of what the demo keeps in memory: it is a demo, and a page left
// open (or a script) must not grow the process without limit.
const (
	// MaxEntries is how many messages, both ways, one customer's view keeps;
	// older ones fall off.
	MaxEntries = 100
	// MaxCustomers is how many simulated customers are kept; the one
	// quiet the longest is forgotten first.
	MaxCustomers = 50
)

// Who wrote an entry of a customer's view.
const (
	FromCustomer = "customer"
	FromTeam     = "team"
)

// Entry is one message in a simulated customer's view.
type Entry struct {
	ID   string    `json:"id"`
	From string    `json:"from"` // FromCustomer or FromTeam
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// thread is one customer's bounded view: a ring of the latest entries.
type thread struct {
	entries []Entry // at most MaxEntries, oldest first
	active  time.Time
}

// Box keeps each simulated customer's conversation as the simulator page
// shows it: what they wrote and what the channel delivered to them. It is
// the channel's Outbox. The zero Box is not usable; use NewBox.
type Box struct {
	mu      sync.Mutex
	threads map[string]*thread
	now     func() time.Time
}

var _ chansim.Outbox = (*Box)(nil)

// NewBox returns an empty Box; now stamps activity (nil: time.Now).
func NewBox(now func() time.Time) *Box {
	if now == nil {
		now = time.Now
	}
	return &Box{threads: map[string]*thread{}, now: now}
}

// Deliver keeps a message the team sent to customer m.To. A retried
// delivery of the same message is kept once.
func (b *Box) Deliver(_ context.Context, m chansim.Outbound) error {
	b.add(m.To, Entry{ID: m.ID, From: FromTeam, Text: m.Text, At: m.At})
	return nil
}

// Wrote keeps a message customer wrote.
func (b *Box) Wrote(customer string, e Entry) {
	e.From = FromCustomer
	b.add(customer, e)
}

func (b *Box) add(customer string, e Entry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.threads[customer]
	if t == nil {
		if len(b.threads) >= MaxCustomers {
			b.forgetQuietest()
		}
		t = &thread{}
		b.threads[customer] = t
	}
	for _, old := range t.entries {
		if old.ID == e.ID {
			return
		}
	}
	if len(t.entries) >= MaxEntries {
		t.entries = append(t.entries[:0], t.entries[len(t.entries)-MaxEntries+1:]...)
	}
	t.entries = append(t.entries, e)
	t.active = b.now()
}

// forgetQuietest drops the customer quiet the longest; b.mu is held.
func (b *Box) forgetQuietest() {
	var oldest string
	var at time.Time
	for id, t := range b.threads {
		if oldest == "" || t.active.Before(at) {
			oldest, at = id, t.active
		}
	}
	delete(b.threads, oldest)
}

// View returns a copy of customer's entries, oldest first.
func (b *Box) View(customer string) []Entry {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.threads[customer]
	if t == nil {
		return []Entry{}
	}
	return append([]Entry{}, t.entries...)
}
