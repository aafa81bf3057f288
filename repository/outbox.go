package repository

import (
	"context"
	"fmt"
	"time"

	"switchboard/channels"
	"switchboard/conversations"
)

// UnsentOutbound returns up to limit outbound messages still queued that
// were accepted between from and to, oldest first: those whose send task
// may never have been queued.
func (c *Conversations) UnsentOutbound(ctx context.Context, from, to time.Time, limit int) ([]conversations.Unsent, error) {
	rows, err := c.d.db.QueryContext(ctx, `SELECT conversation_id, id, channel FROM messages
		WHERE direction = 'out' AND status = $1 AND at >= $2 AND at < $3
		ORDER BY at LIMIT $4`, channels.StatusQueued, ms(from), ms(to), limit)
	if err != nil {
		return nil, fmt.Errorf("read unsent messages: %w", err)
	}
	defer rows.Close()
	var out []conversations.Unsent
	for rows.Next() {
		var u conversations.Unsent
		if err := rows.Scan(&u.QueryID, &u.MessageID, &u.Channel); err != nil {
			return nil, fmt.Errorf("read unsent messages: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read unsent messages: %w", err)
	}
	return out, nil
}
