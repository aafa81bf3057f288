package conversations

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"switchboard/channels"
	"switchboard/routing"
	"switchboard/settings"
)

// CSAT is a conversation's satisfaction survey (issue 15, item 7): asked
// when an operator closed it, answered with a score of 1 to 5.
type CSAT struct {
	// RequestedAt is when the question was recorded; Until is the last
	// moment an answer is taken.
	RequestedAt, Until time.Time
	// Score is the customer's rating, 0 while unanswered.
	Score int
	// AnsweredAt is when the rating was stored; zero while unanswered.
	AnsweredAt time.Time
}

// CSATRequest is a survey to record on a closed conversation, with the
// outbound message that asks it: a question with choices (inside the
// customer's window) or a template (outside it).
type CSATRequest struct {
	QueryID   string
	MessageID string
	// Text is the message's text for the history: the question, or the
	// template's rendering.
	Text     string
	Question *channels.Question
	Template *TemplateRef
	Now      time.Time
	Until    time.Time
}

// CSATAnswer is what an inbound message did to its contact's survey: it
// is the rating of QueryID (a closed conversation), so it opened no
// conversation and is not routed.
type CSATAnswer struct {
	QueryID string
	Score   int
	// Recorded is true when this message set the score; false for a
	// second answer to a survey answered already, which changes nothing.
	Recorded bool
}

// CSATStore is the part of the Repository that keeps surveys.
type CSATStore interface {
	// RequestCSAT marks the closed conversation surveyed and records the
	// outbound message that asks, as queued, in one transaction. created
	// is false, changing nothing, when the conversation was surveyed
	// already.
	RequestCSAT(ctx context.Context, r CSATRequest) (created bool, ev *Event, err error)
}

// CSATChoiceID is the reply id of the choice that rates score.
func CSATChoiceID(score int) string { return "csat:" + strconv.Itoa(score) }

// CSATChoices are the survey's five choices, 1 (worst) to 5.
func CSATChoices() []channels.Choice {
	out := make([]channels.Choice, 5)
	for i := range out {
		out[i] = channels.Choice{ID: CSATChoiceID(i + 1), Title: strconv.Itoa(i+1) + " " + strings.Repeat("★", i+1)}
	}
	return out
}

// CSATScore reads a rating from an inbound message: a tapped choice
// ("csat:4"), a template quick-reply button whose payload is "csat:N" or
// whose payload or title starts with the digit ("5 - Excellent"), or a
// text that is a bare digit 1 to 5. false for anything else.
func CSATScore(m *channels.Inbound) (int, bool) {
	if r := m.Reply; r != nil {
		if n, ok := strings.CutPrefix(r.ID, "csat:"); ok {
			return digit(n)
		}
		if r.Kind == "button" { // a template's quick reply
			for _, s := range []string{r.ID, r.Title} {
				if n, ok := leadingDigit(s); ok {
					return n, true
				}
			}
		}
		return 0, false
	}
	if m.Type != channels.TypeText {
		return 0, false
	}
	return digit(strings.TrimSpace(m.Text))
}

// digit is s as a score when s is one digit 1 to 5.
func digit(s string) (int, bool) {
	if len(s) != 1 || s[0] < '1' || s[0] > '5' {
		return 0, false
	}
	return int(s[0] - '0'), true
}

// leadingDigit is the score s starts with: a digit 1 to 5 not followed
// by another digit.
func leadingDigit(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	if len(s) > 1 && s[1] >= '0' && s[1] <= '9' {
		return 0, false
	}
	return digit(s[:1])
}

// csatMessageID is the id of the question of a conversation's survey;
// csatThanksID the id of its thanks. One of each per conversation, so
// recording either again changes nothing.
func csatMessageID(queryID string) string { return "sb-csat-" + queryID }
func csatThanksID(queryID string) string  { return "sb-csat-thanks-" + queryID }

// askCSAT surveys a conversation an operator just closed, when the
// settings ask its type: inside the customer's window the question with
// five choices, outside it the configured template, or nothing without
// one. The question is recorded as an automatic outbound message and its
// send queued like any other.
func (s *Service) askCSAT(ctx context.Context, q routing.Query) error {
	comp, err := s.Current(ctx)
	if err != nil || comp == nil || !comp.CSAT.Asks(q.Type) {
		return err
	}
	c := comp.CSAT
	st, err := s.repo.RoutingState(ctx, q.ID)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	req := CSATRequest{QueryID: q.ID, MessageID: csatMessageID(q.ID), Now: now, Until: now.Add(c.AnswerWithin)}
	if routing.WindowOpen(st.LastInboundAt, now) {
		text, err := s.csatText(ctx, comp, c.Question, st, q.Type)
		if err != nil {
			return err
		}
		req.Text, req.Question = text, &channels.Question{Text: text, Button: c.Button, Choices: CSATChoices()}
	} else if t := c.Template; t != nil {
		h := comp.HSM[t.Name][t.Language]
		if h == nil {
			return fmt.Errorf("csat template %s in %s is not in hsm_templates", t.Name, t.Language)
		}
		name := h.ProviderName
		if name == "" {
			name = h.Name
		}
		req.Text, req.Template = h.Body, &TemplateRef{Name: name, Language: h.Language, Params: []string{}}
	} else {
		return nil
	}
	created, ev, err := s.repo.RequestCSAT(ctx, req)
	if err != nil {
		return err
	}
	s.publish(ctx, ev)
	if !created {
		// Surveyed before: an earlier attempt may have recorded the
		// question and failed to queue its send.
		if m, err := s.repo.Message(ctx, q.ID, req.MessageID); errors.Is(err, ErrNotFound) {
			return nil
		} else if err != nil {
			return fmt.Errorf("read the survey of %s: %w", q.ID, err)
		} else if m.Status != channels.StatusQueued {
			return nil // sent or failed already: never again
		}
	}
	if err := s.tasks.EnqueueSend(ctx, q.Channel, q.ID, req.MessageID); err != nil {
		// Recorded: the outbox sweep queues it (RequeueUnsent).
		s.logger.WarnContext(ctx, "survey not queued; the outbox sweep queues it", "query", q.ID, "err", err)
	}
	return nil
}

// TimerCSAT asks a closed conversation's survey again when asking it on
// the close failed; its key is the closed cycle.
const TimerCSAT = "csat"

// AskCSAT, a TimerCSAT firing, surveys a conversation whose close could
// not: it does nothing unless the conversation is still closed, and
// asking again queues the question at most once. An error is retried.
func (s *Service) AskCSAT(ctx context.Context, queryID string) error {
	st, err := s.repo.RoutingState(ctx, queryID)
	if errors.Is(err, ErrNotFound) {
		return nil // erased meanwhile
	}
	if err != nil {
		return err
	}
	if st.Query.State != routing.StateClosed {
		return nil
	}
	// A customer who wrote since is in another conversation: a late
	// question about this one would be taken for part of it, and a
	// rating could not reach it (only the latest conversation is rated).
	k, err := s.repo.Contact(ctx, st.ContactID)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("read the contact of %s: %w", queryID, err)
	}
	if k == nil || k.OpenQuery != "" {
		return nil
	}
	if err := s.askCSAT(ctx, st.Query); err != nil {
		return fmt.Errorf("ask the survey of %s: %w", queryID, err)
	}
	return nil
}

// csatText renders one of the survey's texts for the conversation's
// customer, as an auto-reply is rendered: in the language the menu's
// prompt would be, with {{contact_name}} and {{query_type}}.
func (s *Service) csatText(ctx context.Context, comp *settings.Compiled, id string, st *RoutingState, queryType string) (string, error) {
	return s.renderReply(ctx, comp, st, &routing.Decision{Type: queryType}, routing.Reply{Template: id})
}

// thankCSAT sends the thanks text for a rating that this message stored,
// when the settings have one; a redelivered answer queues it again only
// while it waits unsent.
func (s *Service) thankCSAT(ctx context.Context, a *CSATAnswer) error {
	if !a.Recorded {
		return nil
	}
	comp, err := s.Current(ctx)
	if err != nil || comp == nil || comp.CSAT == nil || comp.CSAT.Thanks == "" {
		return err
	}
	st, err := s.repo.RoutingState(ctx, a.QueryID)
	if err != nil {
		return err
	}
	text, err := s.csatText(ctx, comp, comp.CSAT.Thanks, st, st.Query.Type)
	if err != nil {
		return err
	}
	id := csatThanksID(a.QueryID)
	created, ev, err := s.repo.RecordOutbound(ctx, a.QueryID, id, "", text, nil, s.clock.Now())
	if err != nil {
		return fmt.Errorf("record the survey's thanks: %w", err)
	}
	s.publish(ctx, ev)
	if !created {
		if m, err := s.repo.Message(ctx, a.QueryID, id); err != nil {
			return fmt.Errorf("read the survey's thanks: %w", err)
		} else if m.Status != channels.StatusQueued {
			return nil // sent or failed already: never again
		}
	}
	if err := s.tasks.EnqueueSend(ctx, st.Query.Channel, a.QueryID, id); err != nil {
		return fmt.Errorf("queue the survey's thanks: %w", err)
	}
	return nil
}
