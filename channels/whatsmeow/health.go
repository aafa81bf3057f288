package whatsmeow

import (
	"sync/atomic"
	"time"
)

// States of a channel in this process, as /readyz and the metrics show them.
const (
	// StateStandby: another process holds the channel, or none has yet.
	StateStandby = "standby"
	// StateConnecting: this process holds the channel and is connecting.
	StateConnecting = "connecting"
	// StateConnected: connected and logged in.
	StateConnected = "connected"
	// StateDisconnected: the connection dropped; reconnecting with backoff.
	StateDisconnected = "disconnected"
	// StateNotLinked: the device store holds no linked number.
	StateNotLinked = "not_linked"
	// StateLoggedOut: WhatsApp ended the link; pair the number again.
	StateLoggedOut = "logged_out"
)

// Health is a snapshot of a channel's connection in this process.
type Health struct {
	State string
	// Held is true while this process holds the channel's lease.
	Held bool
	// LastEvent is when anything last arrived from WhatsApp (or the
	// connection was made): a connected channel whose LastEvent is old
	// is the silent disconnect users of linked devices dread.
	LastEvent time.Time
	// Reconnects counts connections lost and made again.
	Reconnects uint64
}

// Connected reports whether the channel is connected in this process.
func (h Health) Connected() bool { return h.State == StateConnected }

// health is the lock-free live version of Health.
type health struct {
	state      atomic.Value // string
	held       atomic.Bool
	lastEvent  atomic.Int64 // unix nanoseconds
	reconnects atomic.Uint64
}

func (h *health) set(state string) { h.state.Store(state) }

func (h *health) get() string {
	s, _ := h.state.Load().(string)
	return s
}

func (h *health) touch(t time.Time) { h.lastEvent.Store(t.UnixNano()) }

func (h *health) snapshot() Health {
	out := Health{State: h.get(), Held: h.held.Load(), Reconnects: h.reconnects.Load()}
	if n := h.lastEvent.Load(); n != 0 {
		out.LastEvent = time.Unix(0, n)
	}
	return out
}

// Health returns the channel's connection health in this process.
func (c *Channel) Health() Health { return c.health.snapshot() }

// SetHeld records whether this process holds the channel's lease; the
// lease holder calls it.
//
// Letting go keeps not_linked and logged_out: they describe the device,
// not this process, and are what an SRE must see.
func (c *Channel) SetHeld(held bool) {
	c.health.held.Store(held)
	if st := c.health.get(); !held && st != StateNotLinked && st != StateLoggedOut {
		c.health.set(StateStandby)
	}
}
