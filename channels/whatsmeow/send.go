package whatsmeow

import (
	"context"
	"errors"
	"net"
	"strings"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"

	"switchboard/channels"
)

// errNotHeld means this process does not hold the channel's connection.
// Sends go to the channel's own queue, which only the holder consumes, so
// this is the brief moment around a reconnect or a handover.
var errNotHeld = errors.New("the linked device is not connected in this process")

// SendText sends a text message to the contact `to` (a phone number
// without "+", or a full JID) and returns WhatsApp's message id.
func (c *Channel) SendText(ctx context.Context, to, text string) (string, error) {
	return c.send(ctx, to, &waE2E.Message{Conversation: proto.String(text)})
}

// SendAuthCode sends a login code as plain text: a linked number has no
// templates. template and language are unused.
func (c *Channel) SendAuthCode(ctx context.Context, to, code, _, _ string) (string, error) {
	return c.SendText(ctx, to, "*"+code+"* is your Switchboard login code. Do not share it with anyone.")
}

func (c *Channel) send(ctx context.Context, to string, msg *waE2E.Message) (string, error) {
	box := c.client.Load()
	if box == nil || !box.s.IsConnected() {
		return "", &channels.SendError{Retryable: true, Message: errNotHeld.Error(), Err: errNotHeld}
	}
	jid, err := recipient(to)
	if err != nil {
		return "", &channels.SendError{Message: "recipient is not a WhatsApp id", Err: err}
	}
	resp, err := box.s.SendMessage(ctx, jid, msg)
	if err != nil {
		return "", classify(err)
	}
	return resp.ID, nil
}

// permanent are whatsmeow's errors that no retry can fix.
var permanent = []error{
	wm.ErrUnknownServer, wm.ErrRecipientADJID, wm.ErrBroadcastListUnsupported,
	wm.ErrNotLoggedIn, wm.ErrClientIsNil,
}

// classify turns a whatsmeow send error into a *channels.SendError. The
// connection-level failures (not connected, timeouts, the network) are
// retryable; an error WhatsApp's server returned is retryable too, as it
// names no reason a client could act on, and the retry limit bounds it.
//
// whatsmeow's messages name the recipient's JID, a phone number, so the
// Message kept (and logged) has digit runs masked.
func classify(err error) *channels.SendError {
	se := &channels.SendError{Retryable: true, Message: scrub(err.Error()), Err: err}
	for _, p := range permanent {
		if errors.Is(err, p) {
			se.Retryable = false
			return se
		}
	}
	var netErr net.Error
	switch {
	case errors.Is(err, wm.ErrNotConnected), errors.Is(err, wm.ErrIQTimedOut), errors.Is(err, wm.ErrMessageTimedOut),
		errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr):
		se.Message = "whatsapp unreachable: " + se.Message
	}
	return se
}

// scrub masks every run of six or more digits: phone numbers and the
// JIDs built from them.
func scrub(s string) string {
	var b strings.Builder
	run := 0
	flush := func(i int) {
		if run >= 6 {
			b.WriteString("…")
		} else {
			b.WriteString(s[i-run : i])
		}
		run = 0
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			run++
			continue
		}
		flush(i)
		b.WriteByte(s[i])
	}
	flush(len(s))
	return b.String()
}
