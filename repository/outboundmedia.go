package repository

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"switchboard/conversations"
)

// RecordOutboundMedia records an outbound message carrying m, text its
// caption (or, for a template send whose header is m, its rendering), and
// m's row, in one transaction: a message is never recorded without its
// file, nor a file without its message. Recording msgID again changes
// nothing and reports created false.
func (c *Conversations) RecordOutboundMedia(ctx context.Context, queryID, msgID, author, text string, tmpl *conversations.TemplateRef, m *conversations.Media, now time.Time) (bool, *conversations.Event, error) {
	if m == nil || m.ID == "" || m.MessageID != msgID {
		return false, nil, errors.New("record outbound media: the file's row must name the message")
	}
	return c.recordOutbound(ctx, queryID, msgID, author, text, tmpl, now, func(tx *sql.Tx, contactID string) error {
		row := *m
		row.ContactID = contactID
		return insertMedia(ctx, tx, &row)
	})
}
