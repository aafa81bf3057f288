package events

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/redis/go-redis/v9"

	"switchboard/conversations"
)

// Channel is the Redis pub/sub channel events are announced on: small JSON
// events naming the conversation, never texts or phone numbers.
const Channel = "{sb}:events"

// Publisher announces conversations' events to every process's Hub.
type Publisher struct {
	rdb redis.UniversalClient
}

// NewPublisher returns a Publisher on rdb.
func NewPublisher(rdb redis.UniversalClient) *Publisher { return &Publisher{rdb: rdb} }

// Publish announces ev.
func (p *Publisher) Publish(ctx context.Context, ev conversations.Event) error {
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	if err := p.rdb.Publish(ctx, Channel, b).Err(); err != nil {
		return fmt.Errorf("publish event: %w", err)
	}
	return nil
}
