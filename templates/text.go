// Package templates knows how message texts are written and rendered:
// auto-reply texts with named variables ({{next_open}}), per language,
// checked when settings are applied so a typo in a variable fails the apply
// instead of reaching a customer. Provider-approved HSM templates join it
// with the operator API.
package templates

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Variables an auto-reply text may use.
const (
	VarNextOpen    = "next_open"    // when the query's type (its own hours, or the global ones) opens next, in the settings' timezone
	VarContactName = "contact_name" // the customer's profile name
	VarQueryType   = "query_type"   // the query type's name
)

// Known is every variable a text may use.
var Known = []string{VarNextOpen, VarContactName, VarQueryType}

// Text is a parsed text: literal parts and variables, alternating.
type Text struct {
	parts []part
}

type part struct {
	literal  string
	variable string // set for a variable part
}

// Parse parses text, where {{name}} is a variable (spaces inside the braces
// are allowed). Unknown variables and unclosed braces are errors.
func Parse(text string) (*Text, error) {
	t := &Text{}
	rest := text
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			t.parts = append(t.parts, part{literal: rest})
			return t, nil
		}
		t.parts = append(t.parts, part{literal: rest[:i]})
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("unclosed {{ at %q", abbreviate(rest[i:]))
		}
		name := strings.TrimSpace(rest[i+2 : i+2+j])
		if !slices.Contains(Known, name) {
			return nil, fmt.Errorf("unknown variable {{%s}} (known: %s)", name, strings.Join(Known, ", "))
		}
		t.parts = append(t.parts, part{variable: name})
		rest = rest[i+2+j+2:]
	}
}

// Variables lists the variables the text uses.
func (t *Text) Variables() []string {
	var vs []string
	for _, p := range t.parts {
		if p.variable != "" && !slices.Contains(vs, p.variable) {
			vs = append(vs, p.variable)
		}
	}
	return vs
}

// ErrMissingVariable means Render was not given a variable the text uses.
var ErrMissingVariable = errors.New("missing variable")

// Render fills the text's variables from vars.
func (t *Text) Render(vars map[string]string) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		if p.variable == "" {
			b.WriteString(p.literal)
			continue
		}
		v, ok := vars[p.variable]
		if !ok {
			return "", fmt.Errorf("{{%s}}: %w", p.variable, ErrMissingVariable)
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

func abbreviate(s string) string {
	if len(s) > 24 {
		return s[:24] + "..."
	}
	return s
}

// Set holds texts by id and language.
type Set struct {
	texts           map[string]map[string]*Text
	defaultLanguage string
}

// NewSet returns an empty set whose fallback language is defaultLanguage.
func NewSet(defaultLanguage string) *Set {
	return &Set{texts: map[string]map[string]*Text{}, defaultLanguage: defaultLanguage}
}

// Add parses and adds a text. Adding one id and language twice is an error.
func (s *Set) Add(id, language, text string) error {
	t, err := Parse(text)
	if err != nil {
		return err
	}
	if s.texts[id] == nil {
		s.texts[id] = map[string]*Text{}
	}
	if _, dup := s.texts[id][language]; dup {
		return fmt.Errorf("template %q has two texts for language %q", id, language)
	}
	s.texts[id][language] = t
	return nil
}

// Has reports whether any text has that id.
func (s *Set) Has(id string) bool { return len(s.texts[id]) > 0 }

// Pick returns the text for id in language, else in the default language,
// else the only one there is. It returns nil when id has no usable text.
func (s *Set) Pick(id, language string) *Text {
	byLang := s.texts[id]
	if t := byLang[language]; t != nil {
		return t
	}
	if t := byLang[s.defaultLanguage]; t != nil {
		return t
	}
	if len(byLang) == 1 {
		for _, t := range byLang {
			return t
		}
	}
	return nil
}
