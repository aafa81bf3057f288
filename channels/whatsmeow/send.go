package whatsmeow

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"strings"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"

	"switchboard/channels"
)

// Ready reports whether the device is connected in this process. Sends go
// to the channel's own queue, which only the holder consumes, so false is
// the moment around a reconnect or a handover.
func (c *Channel) Ready() bool {
	box := c.client.Load()
	return box != nil && box.s.IsConnected()
}

// messageID names a WhatsApp message after the stored message it sends, as
// whatsmeow's own ids look, so every retry of one send carries one id and
// the recipient's phone shows it once.
func messageID(outboundID string) types.MessageID {
	sum := sha256.Sum256([]byte("switchboard/whatsmeow/v1\x00" + outboundID))
	return types.MessageID(wm.WebMessageIDPrefix + strings.ToUpper(hex.EncodeToString(sum[:9])))
}

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
		return "", &channels.SendError{Retryable: true, Message: channels.ErrNotConnected.Error(), Err: channels.ErrNotConnected}
	}
	jid, err := recipient(to)
	if err != nil {
		return "", &channels.SendError{Message: "recipient is not a WhatsApp id", Err: err}
	}
	var extra []wm.SendRequestExtra
	if id := channels.OutboundID(ctx); id != "" {
		extra = append(extra, wm.SendRequestExtra{ID: messageID(id)})
	}
	resp, err := box.s.SendMessage(ctx, jid, msg, extra...)
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
	se := &channels.SendError{Retryable: true, Message: channels.MaskDigits(err.Error()), Err: err}
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
