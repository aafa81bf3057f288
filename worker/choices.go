package worker

import (
	"context"
	"errors"

	"switchboard/channels"
)

// errCannotSend means the channel can send neither choices nor text.
var errCannotSend = errors.New("channel cannot send")

// sendQuestion sends a question with choices (a satisfaction survey):
// as buttons or a list where the channel has them (ChoiceSender), else as
// its numbered text, answered with the number.
func (w *Worker) sendQuestion(ctx context.Context, channel, to string, q channels.Question) (string, error) {
	if cs, ok := w.channels[channel].(channels.ChoiceSender); ok {
		return cs.SendChoices(ctx, to, q)
	}
	ts, ok := w.channels[channel].(channels.TextSender)
	if !ok {
		return "", errCannotSend
	}
	return ts.SendText(ctx, to, channels.QuestionText(q))
}
