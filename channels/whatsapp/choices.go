package whatsapp

import (
	"context"

	"switchboard/channels"
)

// Reply buttons hold at most three choices, so a question goes as an
// interactive list message (up to ten rows), in the shape Meta documents
// (developers.facebook.com, "Interactive list messages"): a tapped row
// comes back as an interactive list_reply with the row's id.

// listRequest is the Graph API's interactive list message request.
type listRequest struct {
	MessagingProduct string `json:"messaging_product"`
	RecipientType    string `json:"recipient_type"`
	address
	Type        string      `json:"type"`
	Interactive listMessage `json:"interactive"`
}

type listMessage struct {
	Type   string          `json:"type"`
	Body   interactiveBody `json:"body"`
	Action listAction      `json:"action"`
}

type interactiveBody struct {
	Text string `json:"text"`
}

type listAction struct {
	// Button opens the list (at most 20 characters).
	Button   string        `json:"button"`
	Sections []listSection `json:"sections"`
}

type listSection struct {
	Title string    `json:"title"`
	Rows  []listRow `json:"rows"`
}

type listRow struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

var _ channels.ChoiceSender = (*Channel)(nil)

// SendChoices sends q as a list message of one section, titled as its
// button, with a row per choice. Failures are classified as SendText's.
func (c *Channel) SendChoices(ctx context.Context, to string, q channels.Question) (string, error) {
	rows := make([]listRow, 0, len(q.Choices))
	for _, ch := range q.Choices {
		rows = append(rows, listRow{ID: ch.ID, Title: ch.Title})
	}
	return c.send(ctx, listRequest{
		MessagingProduct: "whatsapp",
		RecipientType:    "individual",
		address:          addressTo(to),
		Type:             "interactive",
		Interactive: listMessage{Type: "list", Body: interactiveBody{Text: q.Text},
			Action: listAction{Button: q.Button, Sections: []listSection{{Title: q.Button, Rows: rows}}}},
	})
}
