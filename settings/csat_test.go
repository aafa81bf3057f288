package settings_test

import (
	"strings"
	"testing"
	"time"

	"switchboard/settings"
)

// csatDoc is a small document with the survey on; edits replace parts of it.
const csatDoc = `
default_query_type: general
query_types:
  - {id: general}
  - {id: spam, csat: false}
templates:
  - {id: rate, language: es, text: "¿Cómo te atendimos, {{contact_name}}?"}
  - {id: thanks, language: es, text: "¡Gracias!"}
hsm_templates:
  - {name: csat_survey, language: es, category: utility, body: "¿Cómo te atendimos?", provider_name: csat_v1}
csat:
  enabled: true
  question: rate
  thanks: thanks
  template: {name: csat_survey, language: es}
`

func TestCSATCompiles(t *testing.T) {
	c, err := settings.Parse([]byte(csatDoc))
	if err != nil {
		t.Fatal(err)
	}
	s := c.CSAT
	if s == nil || s.Question != "rate" || s.Thanks != "thanks" || s.Button != "Rate" ||
		s.AnswerWithin != 24*time.Hour || s.Template == nil || s.Template.Name != "csat_survey" {
		t.Fatalf("csat = %+v", s)
	}
	if !s.Asks("general") || s.Asks("spam") {
		t.Fatalf("asks general %v, spam %v: want true, false", s.Asks("general"), s.Asks("spam"))
	}
	off, err := settings.Parse([]byte(strings.Replace(strings.Replace(csatDoc, "enabled: true", "enabled: false", 1), ", csat: false", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if off.CSAT != nil || off.CSAT.Asks("general") {
		t.Fatalf("csat off = %+v, want nil asking nobody", off.CSAT)
	}
}

func TestCSATErrors(t *testing.T) {
	tests := []struct{ name, edit, want, err string }{
		{"no question", "  question: rate\n", "", "csat.question: required when csat is enabled"},
		{"unknown question", "question: rate", "question: rat", `csat.question: no template has id "rat"`},
		{"unknown thanks", "thanks: thanks", "thanks: thank", `csat.thanks: no template has id "thank"`},
		{"unknown template", "{name: csat_survey, language: es}", "{name: csat_survey, language: pt}", "csat.template: no hsm_templates entry is csat_survey in pt"},
		{"template without name", "{name: csat_survey, language: es}", "{language: es}", "csat.template.name: required"},
		{"short window", "  enabled: true\n", "  enabled: true\n  answer_within: 30s\n", "csat.answer_within: must be between 1m and 720h, got 30s"},
		{"negative window", "  enabled: true\n", "  enabled: true\n  answer_within: -1h\n", "csat.answer_within: must be between 1m and 720h, got -1h0m0s"},
		{"long button", "  enabled: true\n", "  enabled: true\n  button: Rate our service today\n", "csat.button: at most 20 characters"},
		{"unknown key", "  enabled: true\n", "  enabled: true\n  qestion: x\n", "csat.qestion: unknown key"},
		{"question variable", "¿Cómo te atendimos, {{contact_name}}?", "Abrimos {{next_open}}", "csat.question: template \"rate\" uses {{next_open}}"},
		{"template with parameters", `body: "¿Cómo te atendimos?"`, `body: "¿Cómo te atendimos, {{1}}?"`, "csat.template: csat_survey in es takes parameters"},
		{"opt-out without survey", "enabled: true", "enabled: false", "query_types[1].csat: set, but csat is not enabled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(csatDoc, tc.edit, tc.want, 1)
			if doc == csatDoc {
				t.Fatalf("edit %q did not apply", tc.edit)
			}
			_, err := settings.Parse([]byte(doc))
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error = %v, want it to contain %q", err, tc.err)
			}
		})
	}
}
