package worker

import (
	"context"
	"errors"
	"fmt"
	"io"

	"switchboard/blob"
	"switchboard/channels"
	"switchboard/conversations"
)

// MediaLinks makes the short-lived public link to an outbound file that
// providers fetching files themselves (Twilio, a web chat site) need: ""
// when no media.public_url is configured.
type MediaLinks func(mediaID string) string

// outboundMedia is msg's file as a channel sends it: opened from the blob
// store on each attempt, with a fresh signed link.
func (w *Worker) outboundMedia(msg *conversations.Message) channels.OutboundMedia {
	m := msg.Media
	out := channels.OutboundMedia{
		Kind: m.Kind, MimeType: m.MimeType, Filename: m.Filename, Caption: msg.Text, Size: m.Size,
		Open: func(ctx context.Context) (io.ReadCloser, error) {
			if w.blobs == nil {
				return nil, errors.New("no media store is configured")
			}
			f, err := w.blobs.Open(ctx, m.BlobKey)
			if errors.Is(err, blob.ErrNotFound) {
				return nil, fmt.Errorf("file %s: %w", m.ID, channels.ErrNoMediaFile)
			}
			return f, err
		},
	}
	if w.links != nil {
		out.PublicURL = w.links(m.ID)
	}
	return out
}

// sendMedia sends msg's file through the channel, as a template's header
// when msg is a template send. A cause means it cannot be sent at all
// (the channel cannot send files, the file is gone): the message fails
// without a try.
func (w *Worker) sendMedia(ctx context.Context, channel, to string, msg *conversations.Message) (providerID string, cause *channels.StatusError, err error) {
	if msg.Media.State != conversations.MediaStored {
		// Erased or purged between the reply and its send.
		return "", &channels.StatusError{Title: "send failed", Message: "the file is no longer kept"}, nil
	}
	m := w.outboundMedia(msg)
	if tpl := msg.Template; tpl != nil {
		sender, ok := w.channels[channel].(channels.MediaTemplateSender)
		if !ok {
			return "", &channels.StatusError{Title: "channel cannot send", Message: "channel " + channel + " is not configured or has no templates with a media header"}, nil
		}
		providerID, err = sender.SendMediaTemplate(ctx, to, tpl.Name, tpl.Language, tpl.Params, m)
		w.countHSM(err)
		return providerID, nil, err
	}
	sender, ok := w.channels[channel].(channels.MediaSender)
	if !ok {
		return "", &channels.StatusError{Title: "channel cannot send", Message: "channel " + channel + " is not configured or cannot send files"}, nil
	}
	providerID, err = sender.SendMedia(ctx, to, m)
	return providerID, nil, err
}
