package whatsmeow

import (
	"context"
	"fmt"
	"io"
	"strings"

	wm "go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"google.golang.org/protobuf/proto"

	"switchboard/channels"
)

var (
	_ channels.MediaSender = (*Channel)(nil)
	_ uploader             = (*wm.Client)(nil)
)

// uploader is what the channel needs of a connected whatsmeow client to
// send a file; *whatsmeow.Client has it. It is apart from sender so a
// session that only sends text stays a sender.
type uploader interface {
	Upload(ctx context.Context, plaintext []byte, appInfo wm.MediaType) (wm.UploadResponse, error)
}

// SendMedia encrypts and uploads m's file to WhatsApp's media servers,
// then sends the image, audio, video or document message that points to
// it, with its caption (an Ogg/Opus audio goes as a voice note). Each
// attempt uploads again under the same message id, so a retry after a
// lost answer still shows once. Failures are classified as SendText's.
func (c *Channel) SendMedia(ctx context.Context, to string, m channels.OutboundMedia) (string, error) {
	kind, ok := mediaTypes[m.Kind]
	if !ok {
		return "", &channels.SendError{Message: fmt.Sprintf("whatsapp cannot send media of kind %q", m.Kind)}
	}
	if m.Kind == channels.TypeAudio && m.Caption != "" {
		// Refused as the Cloud API channel refuses it, rather than sent
		// without the operator's words.
		return "", &channels.SendError{Message: "whatsapp audio messages carry no caption: send the text as its own message"}
	}
	box := c.client.Load()
	if box == nil || !box.s.IsConnected() {
		return "", &channels.SendError{Retryable: true, Message: channels.ErrNotConnected.Error(), Err: channels.ErrNotConnected}
	}
	up, ok := box.s.(uploader)
	if !ok {
		return "", &channels.SendError{Message: "this whatsapp session cannot upload media"}
	}
	f, err := channels.OpenMedia(ctx, m)
	if err != nil {
		return "", err
	}
	// whatsmeow encrypts the whole file in memory; the API capped its
	// size per kind when the operator attached it.
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return "", &channels.SendError{Retryable: true, Message: "read media file: " + err.Error(), Err: err}
	}
	r, err := up.Upload(ctx, data, kind)
	if err != nil {
		return "", classify(err)
	}
	return c.send(ctx, to, mediaMessage(m, r))
}

// mediaTypes are whatsmeow's upload kinds, which pick the keys the file
// is encrypted with, by Switchboard kind.
var mediaTypes = map[string]wm.MediaType{
	channels.TypeImage:    wm.MediaImage,
	channels.TypeAudio:    wm.MediaAudio,
	channels.TypeVideo:    wm.MediaVideo,
	channels.TypeDocument: wm.MediaDocument,
}

// mediaMessage is the message pointing to an uploaded file.
func mediaMessage(m channels.OutboundMedia, r wm.UploadResponse) *waE2E.Message {
	var caption *string
	if m.Caption != "" {
		caption = proto.String(m.Caption)
	}
	mimeType := proto.String(m.MimeType)
	switch m.Kind {
	case channels.TypeImage:
		return &waE2E.Message{ImageMessage: &waE2E.ImageMessage{
			Caption: caption, Mimetype: mimeType,
			URL: proto.String(r.URL), DirectPath: proto.String(r.DirectPath), MediaKey: r.MediaKey,
			FileEncSHA256: r.FileEncSHA256, FileSHA256: r.FileSHA256, FileLength: proto.Uint64(r.FileLength),
		}}
	case channels.TypeVideo:
		return &waE2E.Message{VideoMessage: &waE2E.VideoMessage{
			Caption: caption, Mimetype: mimeType,
			URL: proto.String(r.URL), DirectPath: proto.String(r.DirectPath), MediaKey: r.MediaKey,
			FileEncSHA256: r.FileEncSHA256, FileSHA256: r.FileSHA256, FileLength: proto.Uint64(r.FileLength),
		}}
	case channels.TypeAudio:
		// A voice note is what an Ogg/Opus recording is shown as.
		return &waE2E.Message{AudioMessage: &waE2E.AudioMessage{
			Mimetype: mimeType, PTT: proto.Bool(strings.HasPrefix(m.MimeType, "audio/ogg")),
			URL: proto.String(r.URL), DirectPath: proto.String(r.DirectPath), MediaKey: r.MediaKey,
			FileEncSHA256: r.FileEncSHA256, FileSHA256: r.FileSHA256, FileLength: proto.Uint64(r.FileLength),
		}}
	default:
		return &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{
			Caption: caption, Mimetype: mimeType, FileName: proto.String(m.Filename), Title: proto.String(m.Filename),
			URL: proto.String(r.URL), DirectPath: proto.String(r.DirectPath), MediaKey: r.MediaKey,
			FileEncSHA256: r.FileEncSHA256, FileSHA256: r.FileSHA256, FileLength: proto.Uint64(r.FileLength),
		}}
	}
}
