package settings

import (
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"switchboard/templates"
)

// CSATSection is the satisfaction survey (issue 15, item 7): when an
// operator closes a conversation the customer is asked to rate it 1 to 5.
// Inside the customer's 24-hour window the question goes with five
// choices (buttons or a list where the channel has them, a numbered
// question elsewhere); outside it, the approved template, or nothing when
// none is named.
type CSATSection struct {
	Enabled bool `yaml:"enabled"`
	// Question is the id of the text (templates[]) asking for the
	// rating, picked in the contact's language as the menu's prompt is.
	Question string `yaml:"question"`
	// Button labels the list that holds the choices on channels that
	// show one (WhatsApp: at most 20 characters); "Rate" when unset.
	Button string `yaml:"button"`
	// Template is the approved provider template (hsm_templates[]) sent
	// outside the window; its quick-reply buttons answer with "csat:N"
	// or a title starting with the digit.
	Template *CSATTemplate `yaml:"template"`
	// Thanks is the id of the text sent once the rating is stored; ""
	// sends none.
	Thanks string `yaml:"thanks"`
	// AnswerWithin is how long after the close a rating is taken
	// (24h when unset).
	AnswerWithin time.Duration `yaml:"answer_within"`
}

// CSATTemplate names an approved template of hsm_templates.
type CSATTemplate struct {
	Name     string `yaml:"name"`
	Language string `yaml:"language"`
}

// CSAT is the compiled survey; a nil *CSAT asks nobody.
type CSAT struct {
	// Question and Thanks are text ids (Thanks may be "").
	Question, Thanks string
	// Button labels the list of choices.
	Button string
	// Template is the provider's template and language for outside the
	// window; nil sends nothing there.
	Template *CSATTemplate
	// AnswerWithin is how long after the close a rating is taken.
	AnswerWithin time.Duration
	// optOut are the query types that ask nothing.
	optOut map[string]bool
}

// Asks reports whether a conversation of queryType closed by an
// operator is to be surveyed.
func (c *CSAT) Asks(queryType string) bool { return c != nil && !c.optOut[queryType] }

// DefaultCSATAnswerWithin is csat.answer_within when unset.
const DefaultCSATAnswerWithin = 24 * time.Hour

// maxCSATButton is WhatsApp's limit on a list's button label.
const maxCSATButton = 20

// compileCSAT checks doc's csat section against the texts and templates
// compiled before it; nil when the survey is off.
func compileCSAT(doc *Document, texts *templates.Set, hsm map[string]map[string]*templates.HSM,
	bad func(key, format string, args ...any)) *CSAT {
	cs := doc.CSAT
	c := &CSAT{Question: cs.Question, Thanks: cs.Thanks, Button: cs.Button, AnswerWithin: cs.AnswerWithin, optOut: map[string]bool{}}
	if c.Button == "" {
		c.Button = "Rate"
	}
	if c.AnswerWithin == 0 {
		c.AnswerWithin = DefaultCSATAnswerWithin
	}
	if cs.AnswerWithin < 0 || c.AnswerWithin < time.Minute || c.AnswerWithin > 30*24*time.Hour {
		bad("csat.answer_within", "must be between 1m and 720h, got %s", cs.AnswerWithin)
	}
	if n := utf8.RuneCountInString(c.Button); n > maxCSATButton {
		bad("csat.button", "at most %d characters (WhatsApp's limit on a list's button), got %d", maxCSATButton, n)
	}
	if cs.Enabled && cs.Question == "" {
		bad("csat.question", "required when csat is enabled: the id of a text in templates")
	} else if cs.Question != "" {
		checkCSATText(doc, texts, "csat.question", cs.Question, bad)
	}
	if cs.Thanks != "" {
		checkCSATText(doc, texts, "csat.thanks", cs.Thanks, bad)
	}
	if t := cs.Template; t != nil {
		switch {
		case t.Name == "":
			bad("csat.template.name", "required: the name of one of hsm_templates")
		case t.Language == "":
			bad("csat.template.language", "required, e.g. es or pt_BR")
		case hsm[t.Name][t.Language] == nil:
			bad("csat.template", "no hsm_templates entry is %s in %s", t.Name, t.Language)
		case hsm[t.Name][t.Language].Params > 0:
			bad("csat.template", "%s in %s takes parameters; the survey sends none", t.Name, t.Language)
		}
		c.Template = t
	}
	for i, qt := range doc.QueryTypes {
		if qt.CSAT != nil && !*qt.CSAT {
			c.optOut[qt.ID] = true
		}
		if qt.CSAT != nil && !cs.Enabled {
			bad(fmt.Sprintf("query_types[%d].csat", i), "set, but csat is not enabled")
		}
	}
	if !cs.Enabled {
		return nil
	}
	return c
}

// CSATVariables are the variables the survey's texts may use.
var CSATVariables = []string{"contact_name", "query_type"}

// checkCSATText checks that the text id exists and uses only
// CSATVariables, in every language.
func checkCSATText(doc *Document, texts *templates.Set, key, id string, bad func(key, format string, args ...any)) {
	if !texts.Has(id) {
		bad(key, "no template has id %q", id)
		return
	}
	for _, dt := range doc.Templates {
		t, err := templates.Parse(dt.Text)
		if dt.ID != id || err != nil { // a text that does not parse is refused under templates[]
			continue
		}
		for _, v := range t.Variables() {
			if !slices.Contains(CSATVariables, v) {
				bad(key, "template %q uses {{%s}}; the survey's texts may use {{contact_name}} and {{query_type}}", id, v)
			}
		}
	}
}
