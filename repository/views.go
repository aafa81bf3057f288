package repository

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"switchboard/conversations"
)

// SavedViews returns a user's saved views, oldest first
// (saved_views_user).
func (c *Conversations) SavedViews(ctx context.Context, userID string) ([]conversations.SavedView, error) {
	rows, err := c.d.db.QueryContext(ctx, `SELECT id, name, filter, created_at FROM saved_views
		WHERE user_id = $1 ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, fmt.Errorf("read saved views: %w", err)
	}
	defer rows.Close()
	out := []conversations.SavedView{}
	for rows.Next() {
		v := conversations.SavedView{UserID: userID}
		var raw string
		var at int64
		if err := rows.Scan(&v.ID, &v.Name, &raw, &at); err != nil {
			return nil, fmt.Errorf("read saved views: %w", err)
		}
		if err := json.Unmarshal([]byte(raw), &v.Filter); err != nil {
			return nil, fmt.Errorf("read saved view %s: %w", v.ID, err)
		}
		v.CreatedAt = fromMS(at)
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read saved views: %w", err)
	}
	return out, nil
}

// CreateView stores a saved view; its user must exist (the foreign key
// refuses one deleted meanwhile).
func (c *Conversations) CreateView(ctx context.Context, v conversations.SavedView) error {
	raw, err := json.Marshal(v.Filter)
	if err != nil {
		return fmt.Errorf("save view: %w", err)
	}
	return c.d.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO saved_views (id, user_id, name, filter, created_at) VALUES ($1, $2, $3, $4, $5)`,
			v.ID, v.UserID, v.Name, string(raw), ms(v.CreatedAt)); err != nil {
			return fmt.Errorf("save view: %w", err)
		}
		return nil
	})
}

// DeleteView deletes userID's view id: another user's view is not found.
func (c *Conversations) DeleteView(ctx context.Context, userID, id string) error {
	return c.d.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM saved_views WHERE id = $1 AND user_id = $2`, id, userID)
		if err != nil {
			return fmt.Errorf("delete view: %w", err)
		}
		return affectedOne(res, fmt.Errorf("view %s: %w", id, conversations.ErrNotFound), "delete view")
	})
}
