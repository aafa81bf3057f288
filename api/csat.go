package api

import (
	"time"

	"switchboard/conversations"
)

// CSATView is a conversation's satisfaction survey as the API shows it.
type CSATView struct {
	RequestedAt time.Time `json:"requested_at"`
	// Until is the last moment a rating is taken.
	Until time.Time `json:"until"`
	// Score is the rating, 1 to 5; null while unanswered.
	Score      *int       `json:"score"`
	AnsweredAt *time.Time `json:"answered_at"`
}

// csatView is c as the API shows it; nil for nil.
func csatView(c *conversations.CSAT) *CSATView {
	if c == nil {
		return nil
	}
	v := &CSATView{RequestedAt: c.RequestedAt.UTC(), Until: c.Until.UTC()}
	if c.Score > 0 {
		score, at := c.Score, c.AnsweredAt.UTC()
		v.Score, v.AnsweredAt = &score, &at
	}
	return v
}
