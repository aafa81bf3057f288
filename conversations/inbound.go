package conversations

import (
	"context"
	"errors"
	"fmt"

	"switchboard/channels"
)

// ApplyInbound applies one customer message and routes its conversation.
// body is the message as queued. Applying a message again changes
// nothing; a redelivery whose routing had failed routes it then, and one
// whose decision left effects pending carries them out, so a worker that
// died at any point loses nothing.
func (s *Service) ApplyInbound(ctx context.Context, m *channels.Inbound, body []byte) (InboundResult, error) {
	res, err := s.repo.ApplyInbound(ctx, m, body, s.clock.Now())
	if err != nil {
		return res, err
	}
	// A file is fetched by a task of its own, queued before the message
	// is acknowledged: a redelivery (a worker that died here) queues it
	// again, and the task does nothing for a file already kept.
	if HasMedia(m) {
		if err := s.tasks.EnqueueMediaFetch(ctx, m.Channel, MediaID(res.ContactID, m.ID)); err != nil {
			return res, fmt.Errorf("queue media fetch: %w", err)
		}
	}
	if res.Duplicate {
		s.metrics.DuplicateMessages.WithLabelValues(m.Channel, m.Kind).Inc()
		s.logger.DebugContext(ctx, "duplicate inbound message dropped", "channel", m.Channel, "query", res.QueryID)
		// Whether the message was routed is recorded on it by the
		// decision that routed it: the conversation's routing version
		// cannot tell, since an earlier message may have routed it.
		if !res.Routed {
			return res, s.routeInbound(ctx, res, m)
		}
		st, err := s.repo.RoutingState(ctx, res.QueryID)
		if err != nil {
			// Acknowledging now could lose the decision's pending effects.
			return res, fmt.Errorf("read routing state of a redelivered message's conversation: %w", err)
		}
		return res, s.carryOutPending(ctx, st)
	}
	s.publish(ctx, res.Event)
	s.metrics.InboundMessages.WithLabelValues(m.Channel, m.Kind, m.Type).Inc()
	s.logger.DebugContext(ctx, "inbound message applied", "channel", m.Channel, "type", m.Type,
		"contact", res.ContactID, "query", res.QueryID, "new_query", res.NewQuery, "late", res.Late)
	return res, s.routeInbound(ctx, res, m)
}

// ApplyStatus applies a provider's delivery report to the outbound
// message it names.
func (s *Service) ApplyStatus(ctx context.Context, st *channels.Status) (StatusResult, error) {
	res, err := s.repo.ApplyStatus(ctx, st)
	if err != nil {
		return res, err
	}
	s.publish(ctx, res.Event)
	return res, nil
}

// MarkSent records that the provider accepted an outbound message.
func (s *Service) MarkSent(ctx context.Context, queryID, msgID, providerID string) error {
	ev, err := s.repo.MarkSent(ctx, queryID, msgID, providerID, s.clock.Now())
	if err != nil {
		return err
	}
	s.publish(ctx, ev)
	return nil
}

// MarkFailed records that an outbound message could not be sent.
func (s *Service) MarkFailed(ctx context.Context, queryID, msgID string, cause channels.StatusError) error {
	ev, err := s.repo.MarkFailed(ctx, queryID, msgID, cause, s.clock.Now())
	if err != nil {
		return err
	}
	s.publish(ctx, ev)
	return nil
}

// HasWritten reports whether the customer externalID has ever written on
// channel: channels limit sends to strangers more strictly.
func (s *Service) HasWritten(ctx context.Context, channel, externalID string) (bool, error) {
	c, err := s.repo.Contact(ctx, ContactID(channel, externalID))
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return !c.LastInboundAt.IsZero(), nil
}
