package conversations

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of tags and notes.
const (
	// MaxTags is how many tags one conversation may carry.
	MaxTags = 20
	// MaxNoteText is the longest note, in characters.
	MaxNoteText = 4000
	// MaxMentions is how many colleagues one note may mention.
	MaxMentions = 20
)

// UnknownTagError refuses a tag the settings do not define.
type UnknownTagError struct {
	Tag string
}

func (e *UnknownTagError) Error() string {
	return fmt.Sprintf("unknown tag %q: tags must be ids of the settings' tags", e.Tag)
}

// ErrTooManyTags refuses more than MaxTags tags on a conversation.
var ErrTooManyTags = fmt.Errorf("a conversation carries at most %d tags", MaxTags)

// ErrNoteText refuses an empty note or one longer than MaxNoteText.
var ErrNoteText = fmt.Errorf("a note's text must have 1 to %d characters", MaxNoteText)

// SetTags replaces a conversation's tags with tags, each the id of one of
// the settings' tags in force (else an *UnknownTagError naming it) or one
// it carries already: a tag removed from the settings stays where it is
// until taken off, and keeping it does not refuse the rest of a change.
// Repeats count once. It announces the change (a tags event, with the
// conversation's routing fields) and returns what it added and removed.
func (s *Service) SetTags(ctx context.Context, queryID string, tags []string) (added, removed []string, err error) {
	tags = slices.Clone(tags)
	slices.Sort(tags)
	tags = slices.Compact(tags)
	if len(tags) > MaxTags {
		return nil, nil, ErrTooManyTags
	}
	if len(tags) > 0 {
		comp, err := s.Current(ctx)
		if err != nil {
			return nil, nil, err
		}
		var carried []string // read only if a tag is not the settings'
		for _, t := range tags {
			if comp != nil {
				if _, ok := comp.Tags[t]; ok {
					continue
				}
			}
			if carried == nil {
				q, err := s.repo.Query(ctx, queryID)
				if err != nil {
					return nil, nil, err
				}
				carried = append([]string{}, q.Tags...)
			}
			if !slices.Contains(carried, t) {
				return nil, nil, &UnknownTagError{Tag: t}
			}
		}
	}
	added, removed, ev, err := s.repo.SetTags(ctx, queryID, tags)
	if err != nil {
		return nil, nil, err
	}
	s.publish(ctx, ev)
	return added, removed, nil
}

// AddNote stores an internal note by author on a conversation, never sent
// to the customer, and tells each mentioned account that may see the
// conversation (a note event naming the note, not its text). The caller
// checks that mentions are active accounts; repeats count once.
func (s *Service) AddNote(ctx context.Context, queryID, author, text string, mentions []string) (Note, error) {
	if strings.TrimSpace(text) == "" || utf8.RuneCountInString(text) > MaxNoteText {
		return Note{}, ErrNoteText
	}
	mentions = slices.Clone(mentions)
	slices.Sort(mentions)
	mentions = slices.Compact(mentions)
	if len(mentions) > MaxMentions {
		return Note{}, fmt.Errorf("a note mentions at most %d colleagues", MaxMentions)
	}
	id, err := newNoteID()
	if err != nil {
		return Note{}, err
	}
	n := Note{ID: id, QueryID: queryID, Author: author, At: s.clock.Now().UTC().Truncate(time.Millisecond), Text: text, Mentions: mentions}
	ev, err := s.repo.AddNote(ctx, n)
	if err != nil {
		return Note{}, err
	}
	for _, m := range mentions {
		if m == author {
			continue
		}
		to := *ev
		to.To = m
		s.publish(ctx, &to)
	}
	return n, nil
}

// Notes returns a conversation's notes, oldest first.
func (s *Service) Notes(ctx context.Context, queryID string) ([]Note, error) {
	return s.repo.Notes(ctx, queryID)
}

// newNoteID makes a note's id: "n_" and 16 random hex digits.
func newNoteID() (string, error) {
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", errors.Join(errors.New("note id"), err)
	}
	return "n_" + hex.EncodeToString(rnd[:]), nil
}
