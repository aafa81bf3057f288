package api

import (
	"cmp"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"switchboard/accounts"
	"switchboard/auth"
	"switchboard/conversations"
	"switchboard/httperror"
)

// NoteView is an internal note as the API shows it. Notes are staff's
// own: never sent to the customer.
type NoteView struct {
	ID         string    `json:"id"`
	Author     string    `json:"author"`
	AuthorName string    `json:"author_name"`
	At         time.Time `json:"at"`
	Text       string    `json:"text"`
	Mentions   []string  `json:"mentions"`
	// Purged is true when retention removed the note's text.
	Purged bool `json:"purged,omitempty"`
}

func (a *API) registerAnnotations(authed *echo.Group) {
	authed.PUT("/conversations/:id/tags", a.setTags, a.require(auth.PermTags))
	authed.GET("/conversations/:id/notes", a.listNotes, checkIDs)
	authed.POST("/conversations/:id/notes", a.addNote, a.require(auth.PermNotes))
	authed.GET("/conversations/:id/mention-targets", a.mentionTargets, a.require(auth.PermNotes))
}

// Colleague is an account another may mention in a note: no phone, no
// role.
type Colleague struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// mentionTargets lists the active colleagues, other than the caller, who
// may see a conversation the caller may see: those a mention reaches.
func (a *API) mentionTargets(c echo.Context) error {
	ctx := c.Request().Context()
	st, err := a.load(c)
	if err != nil {
		return a.loadError(c, err)
	}
	users, err := a.users.List(ctx)
	if err != nil {
		return a.internal(c, err)
	}
	comp := a.settingsNow(ctx)
	out := []Colleague{}
	for _, u := range users {
		if u.Status != accounts.StatusActive || u.ID == caller(c).ID {
			continue
		}
		ok, err := a.visible(ctx, u, st, comp)
		if err != nil {
			return a.internal(c, err)
		}
		if ok {
			out = append(out, Colleague{ID: u.ID, Name: u.Name})
		}
	}
	slices.SortFunc(out, func(x, y Colleague) int { return cmp.Or(cmp.Compare(x.Name, y.Name), cmp.Compare(x.ID, y.ID)) })
	return c.JSON(http.StatusOK, map[string]any{"colleagues": out})
}

type tagsRequest struct {
	Tags []string `json:"tags"`
}

// setTags replaces the tags of a conversation the caller may see with
// the settings' tags named, and answers the tags it now carries.
func (a *API) setTags(c echo.Context) error {
	ctx := c.Request().Context()
	var req tagsRequest
	if err := c.Bind(&req); err != nil || req.Tags == nil {
		return bad(c, "body must be {\"tags\": [\"<tag id>\", ...]}")
	}
	st, err := a.load(c)
	if err != nil {
		return a.loadError(c, err)
	}
	added, removed, err := a.conv.SetTags(ctx, st.Query.ID, req.Tags)
	var unknown *conversations.UnknownTagError
	switch {
	case errors.As(err, &unknown):
		return httperror.Write(c, http.StatusUnprocessableEntity, "unknown_tag", "tags: no tag \""+unknown.Tag+"\" in the settings")
	case errors.Is(err, conversations.ErrTooManyTags):
		return httperror.Write(c, http.StatusUnprocessableEntity, "too_many_tags", err.Error())
	case err != nil:
		return a.actionError(c, err)
	}
	if len(added) > 0 || len(removed) > 0 {
		a.audit.Record(ctx, auth.Entry{Actor: caller(c).ID, Action: "tags.update", Target: st.Query.ID, IP: c.RealIP(),
			Outcome: "added [" + strings.Join(added, " ") + "] removed [" + strings.Join(removed, " ") + "]"})
	}
	q, err := a.conv.Query(ctx, st.Query.ID)
	if err != nil {
		return a.internal(c, err)
	}
	return c.JSON(http.StatusOK, map[string]any{"tags": nonNil(q.Tags), "added": nonNil(added), "removed": nonNil(removed)})
}

// nonNil is s, or an empty list for JSON.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// listNotes returns the notes of a conversation the caller may see,
// oldest first.
func (a *API) listNotes(c echo.Context) error {
	st, err := a.load(c)
	if err != nil {
		return a.loadError(c, err)
	}
	notes, err := a.conv.Notes(c.Request().Context(), st.Query.ID)
	if err != nil {
		return a.internal(c, err)
	}
	out := make([]NoteView, 0, len(notes))
	for _, n := range notes {
		out = append(out, noteView(n))
	}
	return c.JSON(http.StatusOK, map[string]any{"notes": out})
}

func noteView(n conversations.Note) NoteView {
	return NoteView{ID: n.ID, Author: n.Author, AuthorName: n.AuthorName, At: n.At.UTC(), Text: n.Text,
		Mentions: nonNil(n.Mentions), Purged: n.Text == ""}
}

type noteRequest struct {
	Text     string   `json:"text"`
	Mentions []string `json:"mentions"`
}

// addNote writes an internal note on a conversation the caller may see.
// Each mentioned colleague (an active account) who may see the
// conversation is sent a note event; one who may not is not told.
func (a *API) addNote(c echo.Context) error {
	ctx := c.Request().Context()
	var req noteRequest
	if err := c.Bind(&req); err != nil || strings.TrimSpace(req.Text) == "" || len([]rune(req.Text)) > conversations.MaxNoteText {
		return bad(c, "body must be {\"text\": \"...\", \"mentions\": [\"<user id>\", ...]} with 1 to 4000 characters of text")
	}
	if len(req.Mentions) > conversations.MaxMentions {
		return httperror.Write(c, http.StatusUnprocessableEntity, "invalid_mention", "mentions: at most 20 colleagues")
	}
	st, err := a.load(c)
	if err != nil {
		return a.loadError(c, err)
	}
	for _, id := range req.Mentions {
		u, err := a.users.Get(ctx, id)
		if err != nil && !errors.Is(err, accounts.ErrNotFound) {
			return a.internal(c, err)
		}
		if err != nil || u.Status != accounts.StatusActive {
			return httperror.Write(c, http.StatusUnprocessableEntity, "invalid_mention", "mentions: no active user \""+id+"\"")
		}
	}
	n, err := a.conv.AddNote(ctx, st.Query.ID, caller(c).ID, req.Text, req.Mentions)
	if errors.Is(err, conversations.ErrNoteText) {
		return bad(c, err.Error())
	}
	if err != nil {
		return a.actionError(c, err)
	}
	outcome := n.ID
	if len(n.Mentions) > 0 {
		outcome += " mentions [" + strings.Join(n.Mentions, " ") + "]"
	}
	a.audit.Record(ctx, auth.Entry{Actor: caller(c).ID, Action: "notes.write", Target: st.Query.ID, Outcome: outcome, IP: c.RealIP()})
	n.AuthorName = caller(c).Name
	return c.JSON(http.StatusCreated, noteView(n))
}
