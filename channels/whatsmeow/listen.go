package whatsmeow

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types/events"

	"switchboard/channels"
)

// session is what Listen needs of a whatsmeow client; tests fake it to
// drive reconnects, logouts and silences without WhatsApp's servers.
type session interface {
	sender
	ConnectContext(ctx context.Context) error
	Disconnect()
}

// Reconnect backoff bounds. WhatsApp rate-limits logins too, so a flapping
// connection must slow down rather than hammer it.
const (
	minBackoff = time.Second
	maxBackoff = 2 * time.Minute
	// keepAliveLimit is how many keepalive pings in a row may fail before
	// the connection is assumed dead; whatsmeow itself only reports them.
	keepAliveLimit = 3
)

// Listen connects the linked device and feeds sink until ctx ends. It
// returns ErrNotLinked or ErrLoggedOut when the number must be linked
// again, and an error for other states a reconnect cannot fix (another
// process took the session, a ban, an outdated client).
//
// Messages are acknowledged to WhatsApp only after sink has queued them, so
// a message that could not be queued is delivered again on reconnect.
func (c *Channel) Listen(ctx context.Context, sink channels.Sink) error {
	dev, err := c.device(ctx)
	if err != nil {
		return err
	}
	if dev.ID == nil {
		c.health.set(StateNotLinked)
		return ErrNotLinked
	}
	cli := wm.NewClient(dev, waLogger(c.logger.With("component", "whatsmeow")))
	cli.SynchronousAck = true
	// Listen reconnects itself: with a capped exponential backoff, and
	// with every reconnect counted for the metrics.
	cli.EnableAutoReconnect = false
	l := c.newListener(cli, sink)
	cli.AddEventHandlerWithSuccessStatus(func(evt any) bool { return l.handle(ctx, evt) })
	return l.run(ctx)
}

// listener is one Listen call's state.
type listener struct {
	c       *Channel
	conn    session
	sink    channels.Sink
	control chan any
	now     func() time.Time
	// checkEvery is how often silence and the connection are checked.
	checkEvery time.Duration
	silence    time.Duration
	// sleep waits between reconnects; tests shorten it.
	sleep func(ctx context.Context, attempt int) error
}

func (c *Channel) newListener(conn session, sink channels.Sink) *listener {
	return &listener{
		c: c, conn: conn, sink: sink,
		control:    make(chan any, 64),
		now:        time.Now,
		checkEvery: 15 * time.Second,
		silence:    *c.cfg.SilenceTimeout,
		sleep:      backoffSleep,
	}
}

// backoffSleep waits about 2^attempt seconds, capped, with jitter so a
// fleet of gateways does not reconnect in step.
func backoffSleep(ctx context.Context, attempt int) error {
	d := min(minBackoff<<min(attempt, 10), maxBackoff)
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// run keeps the session connected until ctx ends or a permanent
// disconnect, then disconnects it.
func (l *listener) run(ctx context.Context) error {
	c := l.c
	c.client.Store(&senderBox{l.conn})
	defer func() {
		c.client.Store(nil)
		l.conn.Disconnect()
		if st := c.health.get(); st == StateConnected || st == StateConnecting {
			c.health.set(StateDisconnected)
		}
	}()
	tick := time.NewTicker(l.checkEvery)
	defer tick.Stop()
	failures := 0
	for {
		if !l.conn.IsConnected() {
			c.health.set(StateConnecting)
			if err := l.conn.ConnectContext(ctx); err != nil && !errors.Is(err, wm.ErrAlreadyConnected) {
				if ctx.Err() != nil {
					return nil
				}
				c.health.set(StateDisconnected)
				c.logger.Warn("whatsmeow connect failed; retrying", "attempt", failures+1, "err", err)
				if err := l.sleep(ctx, failures); err != nil {
					return nil
				}
				failures++
				continue
			}
			c.health.touch(l.now())
		}
		select {
		case <-ctx.Done():
			return nil
		case evt := <-l.control:
			switch e := evt.(type) {
			case *events.Connected:
				failures = 0
				c.health.set(StateConnected)
				c.logger.Info("whatsmeow connected")
			case *events.Disconnected:
				c.health.set(StateDisconnected)
				c.health.reconnects.Add(1)
				c.logger.Warn("whatsmeow connection lost; reconnecting")
				if err := l.sleep(ctx, failures); err != nil {
					return nil
				}
				failures++
			case *events.KeepAliveTimeout:
				c.logger.Warn("whatsmeow keepalive failing; forcing a reconnect", "failed_pings", e.ErrorCount)
				l.reconnect()
			case *events.LoggedOut:
				c.health.set(StateLoggedOut)
				c.logger.Error("WhatsApp logged the device out: link the number again with `switchboard whatsapp pair`", "reason", e.Reason.String())
				return ErrLoggedOut
			case *events.ConnectFailure:
				if e.Reason.IsLoggedOut() {
					c.health.set(StateLoggedOut)
					return ErrLoggedOut
				}
				c.health.set(StateDisconnected)
				return fmt.Errorf("whatsmeow: connect failure: %s", e.Reason)
			case *events.StreamReplaced:
				c.health.set(StateDisconnected)
				return errors.New("whatsmeow: another client connected with this device's keys (two processes holding the channel?)")
			case *events.ClientOutdated:
				c.health.set(StateDisconnected)
				return errors.New("whatsmeow: WhatsApp rejected this client version; upgrade go.mau.fi/whatsmeow and redeploy")
			case *events.TemporaryBan:
				c.health.set(StateDisconnected)
				return fmt.Errorf("whatsmeow: number temporarily banned: %s", e)
			}
		case <-tick.C:
			l.check()
		}
	}
}

// check catches what no event reports: a connection that went quiet.
func (l *listener) check() {
	c := l.c
	h := c.health.snapshot()
	if h.State != StateConnected || l.silence <= 0 {
		return
	}
	if quiet := l.now().Sub(h.LastEvent); quiet > l.silence {
		c.logger.Warn("whatsmeow connected but silent; reconnecting", "silent_for", quiet.Round(time.Second).String())
		l.reconnect()
	}
}

// reconnect drops the connection; run connects again on its next turn.
func (l *listener) reconnect() {
	l.c.health.reconnects.Add(1)
	l.c.health.set(StateDisconnected)
	l.conn.Disconnect()
}

// handle is the whatsmeow event handler. It returns false when a message
// could not be queued, which keeps whatsmeow from acknowledging it.
func (l *listener) handle(ctx context.Context, evt any) bool {
	c := l.c
	now := l.now()
	c.health.touch(now)
	switch e := evt.(type) {
	case *events.Message:
		in, ok := Inbound(c.id, e, now)
		if !ok {
			return true
		}
		if err := l.sink.Inbound(ctx, &in); err != nil {
			c.logger.Error("whatsmeow message not queued; WhatsApp will deliver it again", "message", in.ID, "err", err)
			return false
		}
	case *events.Receipt:
		for _, s := range Statuses(c.id, e) {
			if err := l.sink.Status(ctx, &s); err != nil {
				c.logger.Error("whatsmeow receipt not queued", "message", s.MessageID, "err", err)
				return false
			}
		}
	case *events.KeepAliveTimeout:
		if e.ErrorCount >= keepAliveLimit {
			l.signal(e)
		}
	case *events.Connected, *events.Disconnected, *events.LoggedOut, *events.StreamReplaced,
		*events.ClientOutdated, *events.TemporaryBan, *events.ConnectFailure:
		l.signal(e)
	}
	return true
}

// signal hands a connection event to run without blocking whatsmeow's
// event loop; run also polls the connection, so a dropped signal delays a
// reaction, it does not lose one.
func (l *listener) signal(evt any) {
	select {
	case l.control <- evt:
	default:
	}
}
