package telegram

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"switchboard/channels"
)

var _ channels.MediaSender = (*Channel)(nil)

// mediaMethod is the Bot API method that sends a kind of file, and the
// name of the form field that carries the file.
func mediaMethod(m channels.OutboundMedia) (method, field string, ok bool) {
	switch m.Kind {
	case channels.TypeImage:
		return "sendPhoto", "photo", true
	case channels.TypeVideo:
		return "sendVideo", "video", true
	case channels.TypeAudio:
		// An Ogg/Opus file is a voice note, which Telegram plays inline;
		// anything else is a track for its music player.
		if strings.HasPrefix(m.MimeType, "audio/ogg") || strings.HasPrefix(m.MimeType, "audio/opus") {
			return "sendVoice", "voice", true
		}
		return "sendAudio", "audio", true
	case channels.TypeDocument:
		return "sendDocument", "document", true
	}
	return "", "", false
}

// SendMedia uploads m's file to the chat `to` with sendPhoto, sendVideo,
// sendAudio, sendVoice or sendDocument, as multipart/form-data with
// chat_id, the caption and the file, and returns
// "<chat_id>:<message_id>". Failures are classified as SendText's are.
func (c *Channel) SendMedia(ctx context.Context, to string, m channels.OutboundMedia) (string, error) {
	method, field, ok := mediaMethod(m)
	if !ok {
		return "", &channels.SendError{Message: fmt.Sprintf("telegram cannot send media of kind %q", m.Kind)}
	}
	f, err := channels.OpenMedia(ctx, m)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fields := []channels.Field{{Name: "chat_id", Value: to}}
	if m.Caption != "" {
		fields = append(fields, channels.Field{Name: "caption", Value: m.Caption})
	}
	filename := m.Filename
	if filename == "" {
		filename = field
	}
	up, err := channels.NewMultipartUpload(fields, field, filename, m.MimeType, f, m.Size)
	if err != nil {
		return "", &channels.SendError{Message: "encode upload", Err: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.methodBase+method, up.Body)
	if err != nil {
		// url.Parse's errors quote the URL, and with it the token.
		return "", &channels.SendError{Message: "build request: invalid URL"}
	}
	req.ContentLength = up.Length
	req.Header.Set("Content-Type", up.ContentType)
	var sent sentMessage
	if e := c.do(method, req, &sent); e != nil {
		return "", e.sendError()
	}
	return sent.id()
}
