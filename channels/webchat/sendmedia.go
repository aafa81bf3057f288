package webchat

import (
	"context"

	"switchboard/channels"
)

var _ channels.MediaSender = (*Channel)(nil)

// replyMedia is a file in a reply: the site fetches it from URL, a
// short-lived signed link, and shows it to the visitor.
type replyMedia struct {
	// Kind is image, audio, video or document.
	Kind     string `json:"kind"`
	URL      string `json:"url"`
	MimeType string `json:"mime_type"`
	Filename string `json:"filename,omitempty"`
	Size     int64  `json:"size,omitempty"`
}

// SendMedia POSTs a reply carrying m as a link the site fetches (its
// caption as the reply's text), signed as SendText's replies are. The
// site must fetch the file within minutes: the link expires. Without
// media.public_url there is no link to give, and the send fails
// permanently, saying so.
func (c *Channel) SendMedia(ctx context.Context, to string, m channels.OutboundMedia) (string, error) {
	if m.PublicURL == "" {
		return "", &channels.SendError{Message: "the web chat site fetches media from a link: set media.public_url to the address at which the site reaches this server"}
	}
	size := m.Size
	if size < 0 {
		size = 0
	}
	return c.deliver(ctx, reply{SessionID: to, Text: m.Caption, Media: &replyMedia{
		Kind: m.Kind, URL: m.PublicURL, MimeType: m.MimeType, Filename: m.Filename, Size: size,
	}})
}
