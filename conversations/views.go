package conversations

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"
)

// ViewFilter is what a saved view keeps of a list's filter: the fields a
// person chooses, as the list's query parameters name them. Zero fields
// do not filter. It is stored as JSON, so a field added later (a tag)
// leaves views saved before it as they were.
type ViewFilter struct {
	State     string `json:"state,omitempty"`
	QueryType string `json:"query_type,omitempty"`
	Channel   string `json:"channel,omitempty"`
	Assignee  string `json:"assignee,omitempty"`
	// Tag keeps the conversations carrying this tag.
	Tag string `json:"tag,omitempty"`
	// WaitingLongerThan keeps the conversations whose customer's newest
	// message is older than it (a Go duration: "30m", "2h").
	WaitingLongerThan string `json:"waiting_longer_than,omitempty"`
}

// Filter is the list filter f stands for at now; the duration must have
// been validated.
func (f ViewFilter) Filter(now time.Time) Filter {
	out := Filter{State: f.State, QueryType: f.QueryType, Channel: f.Channel, Assignee: f.Assignee, Tag: f.Tag}
	if d, err := time.ParseDuration(f.WaitingLongerThan); err == nil && d > 0 {
		out.InboundBefore = now.Add(-d)
	}
	return out
}

// SavedView is one of a user's named list filters.
type SavedView struct {
	ID        string
	UserID    string
	Name      string
	Filter    ViewFilter
	CreatedAt time.Time
}

// SavedViews returns a user's saved views, oldest first.
func (s *Service) SavedViews(ctx context.Context, userID string) ([]SavedView, error) {
	return s.repo.SavedViews(ctx, userID)
}

// SaveView stores a new saved view of userID and returns it; name and
// filter must have been validated.
func (s *Service) SaveView(ctx context.Context, userID, name string, f ViewFilter) (SavedView, error) {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return SavedView{}, fmt.Errorf("view id: %w", err)
	}
	v := SavedView{ID: "v_" + hex.EncodeToString(rnd[:]), UserID: userID, Name: name, Filter: f,
		CreatedAt: s.clock.Now().UTC().Truncate(time.Millisecond)}
	if err := s.repo.CreateView(ctx, v); err != nil {
		return SavedView{}, err
	}
	return v, nil
}

// DeleteView deletes one of userID's saved views; ErrNotFound when they
// have none with that id (another user's view included).
func (s *Service) DeleteView(ctx context.Context, userID, id string) error {
	return s.repo.DeleteView(ctx, userID, id)
}

// Count counts the conversations List would return for f over all its pages.
func (s *Service) Count(ctx context.Context, f Filter) (int, error) {
	return s.repo.Count(ctx, f)
}
