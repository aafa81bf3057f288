package twilio

import (
	"context"

	"switchboard/channels"
)

var _ channels.MediaSender = (*Channel)(nil)

// ErrNoPublicURL is the reason a file cannot go out through Twilio:
// Twilio fetches a message's media from a URL itself, and without
// media.public_url Switchboard has none to give it.
const ErrNoPublicURL = "twilio fetches media from a link: set media.public_url to the address at which Twilio reaches this server"

// SendMedia sends m as a Messages API request whose MediaUrl is m's
// short-lived public link and whose Body is the caption. Twilio fetches
// the file itself, so without a link the send fails permanently, saying
// what to configure. Failures are classified as SendText's are.
func (c *Channel) SendMedia(ctx context.Context, to string, m channels.OutboundMedia) (string, error) {
	if m.PublicURL == "" {
		return "", &channels.SendError{Message: ErrNoPublicURL}
	}
	form := c.message(to)
	form.Set("MediaUrl", m.PublicURL)
	if m.Caption != "" {
		form.Set("Body", m.Caption)
	}
	// The link is a credential to the file until it expires.
	return c.send(ctx, form, m.Caption, m.PublicURL)
}
