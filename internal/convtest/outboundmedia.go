package convtest

import (
	"context"
	"time"

	"switchboard/conversations"
)

// RecordOutboundMedia calls the wrapped repository unless a rule fails it.
func (f *Faulty) RecordOutboundMedia(ctx context.Context, queryID, msgID, author, text string, tmpl *conversations.TemplateRef, m *conversations.Media, now time.Time) (bool, *conversations.Event, error) {
	if err := f.fault("RecordOutboundMedia", false); err != nil {
		return false, nil, err
	}
	created, ev, err := f.Repository.RecordOutboundMedia(ctx, queryID, msgID, author, text, tmpl, m, now)
	if err == nil {
		err = f.fault("RecordOutboundMedia", true)
	}
	return created, ev, err
}
