package channels

import (
	"context"
	"strconv"
	"strings"
)

// Choice is one answer a customer can tap: ID comes back in the
// Inbound's Reply when they do, Title is what they see.
type Choice struct {
	ID    string `json:"id"`
	Title string `json:"title"`
}

// Question is a text with choices to answer it: a satisfaction survey.
type Question struct {
	Text string `json:"text"`
	// Button labels the list the choices are in, on channels that put
	// them behind one (a WhatsApp list message).
	Button  string   `json:"button,omitempty"`
	Choices []Choice `json:"choices"`
}

// ChoiceSender is a channel that can send a question with tappable
// choices (WhatsApp's interactive list, Telegram's inline keyboard). A
// tapped choice arrives as an Inbound with Reply.ID the Choice's ID.
// Channels without it get the question as text (QuestionText).
type ChoiceSender interface {
	Channel
	// SendChoices sends q to the customer `to` and returns the
	// provider's message id; failures are *SendError, as SendText's.
	SendChoices(ctx context.Context, to string, q Question) (providerID string, err error)
}

// QuestionText is q as plain text for a channel without choices: the
// question, then one line per choice numbered from 1 ("1. ..."), so the
// customer answers with the number.
func QuestionText(q Question) string {
	var b strings.Builder
	b.WriteString(q.Text)
	for i, c := range q.Choices {
		b.WriteByte('\n')
		b.WriteString(strconv.Itoa(i + 1))
		b.WriteString(". ")
		b.WriteString(c.Title)
	}
	return b.String()
}
