package whatsapp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"switchboard/channels"
)

var (
	_ channels.MediaSender         = (*Channel)(nil)
	_ channels.MediaTemplateSender = (*Channel)(nil)
)

// mediaRequest is the Graph API's media message request: the object under
// the key named by Type (image, audio, video, document) names an
// uploaded file.
type mediaRequest struct {
	MessagingProduct string `json:"messaging_product"`
	RecipientType    string `json:"recipient_type"`
	address
	Type string `json:"type"`
	mediaSlots
}

// mediaSlots are the keys a file goes under, one per kind, in a message
// and in a template header's parameter alike.
type mediaSlots struct {
	Image    *mediaObject `json:"image,omitempty"`
	Audio    *mediaObject `json:"audio,omitempty"`
	Video    *mediaObject `json:"video,omitempty"`
	Document *mediaObject `json:"document,omitempty"`
}

// put sets the slot of kind to obj, and reports whether kind has one.
func (s *mediaSlots) put(kind string, obj *mediaObject) bool {
	switch kind {
	case channels.TypeImage:
		s.Image = obj
	case channels.TypeAudio:
		s.Audio = obj
	case channels.TypeVideo:
		s.Video = obj
	case channels.TypeDocument:
		s.Document = obj
	default:
		return false
	}
	return true
}

// mediaObject names an uploaded file by its media id.
type mediaObject struct {
	ID       string `json:"id"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// mediaHeaderComponent is a template's header holding a file.
type mediaHeaderComponent struct {
	Type       string                 `json:"type"`
	Parameters []mediaHeaderParameter `json:"parameters"`
}

type mediaHeaderParameter struct {
	Type string `json:"type"`
	mediaSlots
}

// uploadResponse is the answer to a media upload.
type uploadResponse struct {
	ID string `json:"id"`
}

// SendMedia uploads m's file to the phone number's media endpoint and
// sends it as an image, audio, video or document message with its caption
// (a document also with its filename). Every attempt uploads again: an
// upload that succeeded before a failed send costs only storage at Meta,
// which drops unused media after 30 days. Failures are classified as
// SendText's are; WhatsApp's audio messages have no caption, so audio with
// one is refused before anything is sent rather than sent without it.
func (c *Channel) SendMedia(ctx context.Context, to string, m channels.OutboundMedia) (string, error) {
	if m.Kind == channels.TypeAudio && m.Caption != "" {
		return "", &channels.SendError{Message: "whatsapp audio messages carry no caption: send the text as its own message"}
	}
	req := mediaRequest{MessagingProduct: "whatsapp", RecipientType: "individual", address: addressTo(to), Type: m.Kind}
	obj := &mediaObject{Caption: m.Caption}
	if !req.put(m.Kind, obj) {
		return "", &channels.SendError{Message: fmt.Sprintf("whatsapp cannot send media of kind %q", m.Kind)}
	}
	if err := c.uploadAs(ctx, m, obj); err != nil {
		return "", err
	}
	return c.send(ctx, req)
}

// SendMediaTemplate sends an approved template whose header is header's
// file (an image, a video or a document), uploaded first, and whose body
// takes params. A caption has no place in a template and is ignored.
func (c *Channel) SendMediaTemplate(ctx context.Context, to, template, language string, params []string, header channels.OutboundMedia) (string, error) {
	obj := &mediaObject{}
	p := mediaHeaderParameter{Type: header.Kind}
	if header.Kind == channels.TypeAudio || !p.put(header.Kind, obj) {
		return "", &channels.SendError{Message: fmt.Sprintf("a whatsapp template header cannot hold media of kind %q", header.Kind)}
	}
	if err := c.uploadAs(ctx, header, obj); err != nil {
		return "", err
	}
	return c.sendTemplate(ctx, to, template, language,
		mediaHeaderComponent{Type: "header", Parameters: []mediaHeaderParameter{p}},
		bodyComponent(params))
}

// uploadAs uploads m's file and names it in obj, with its filename when
// it is a document.
func (c *Channel) uploadAs(ctx context.Context, m channels.OutboundMedia, obj *mediaObject) error {
	id, err := c.upload(ctx, m)
	if err != nil {
		return err
	}
	obj.ID = id
	if m.Kind == channels.TypeDocument {
		obj.Filename = m.Filename
	}
	return nil
}

// upload posts m's file to POST /{phone-number-id}/media as Meta
// documents it (multipart: messaging_product, type as the MIME type, and
// the file) and answers the media id.
func (c *Channel) upload(ctx context.Context, m channels.OutboundMedia) (string, error) {
	f, err := channels.OpenMedia(ctx, m)
	if err != nil {
		return "", err
	}
	defer f.Close()
	mimeType := m.MimeType
	if mimeType == "" {
		mimeType = "application/octet-stream"
	}
	filename := m.Filename
	if filename == "" {
		filename = "file"
	}
	up, err := channels.NewMultipartUpload([]channels.Field{
		{Name: "messaging_product", Value: "whatsapp"},
		{Name: "type", Value: mimeType},
	}, "file", filename, mimeType, f, m.Size)
	if err != nil {
		return "", &channels.SendError{Message: "encode upload", Err: err}
	}
	status, raw, err := c.post(ctx, strings.TrimSuffix(c.sendTo, "/messages")+"/media", up.ContentType, up.Body, up.Length)
	if err != nil {
		return "", err
	}
	var ok uploadResponse
	if err := json.Unmarshal(raw, &ok); err != nil || ok.ID == "" {
		// Nothing was sent to the customer yet, so uploading again is safe.
		return "", &channels.SendError{Retryable: true, HTTPStatus: status, Message: "graph api answered a media upload without an id"}
	}
	return ok.ID, nil
}
