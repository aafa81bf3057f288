package telegram

import (
	"context"

	"switchboard/channels"
)

// choicesRequest is sendMessage's parameters with an inline keyboard
// (https://core.telegram.org/bots/api#inlinekeyboardmarkup): a tap
// arrives as a callback_query whose data is the button's callback_data,
// which Parse reads as a reply.
type choicesRequest struct {
	sendMessageRequest
	ReplyMarkup inlineKeyboard `json:"reply_markup"`
}

type inlineKeyboard struct {
	// InlineKeyboard is rows of buttons.
	InlineKeyboard [][]inlineButton `json:"inline_keyboard"`
}

type inlineButton struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data"`
}

var _ channels.ChoiceSender = (*Channel)(nil)

// SendChoices sends q's text with its choices as one row of inline
// keyboard buttons; a choice's ID is its callback_data (at most 64
// bytes, which a survey's "csat:N" is well under).
func (c *Channel) SendChoices(ctx context.Context, to string, q channels.Question) (string, error) {
	row := make([]inlineButton, 0, len(q.Choices))
	for _, ch := range q.Choices {
		row = append(row, inlineButton{Text: ch.Title, CallbackData: ch.ID})
	}
	return c.sendMessage(ctx, choicesRequest{sendMessageRequest: c.textRequest(to, q.Text),
		ReplyMarkup: inlineKeyboard{InlineKeyboard: [][]inlineButton{row}}})
}
