// Package settings is the routing configuration as coordinators write it:
// one YAML document (opening hours, query types and who serves them, menu,
// auto-reply texts) applied with `switchboard apply -f`. It is decoded
// strictly, validated with errors that name the bad key, and compiled into
// routing.Settings; the YAML shape stays here and the runtime rules stay in
// routing, so either can change without the other.
package settings

import (
	"time"
)

// Document is the settings file.
type Document struct {
	Timezone     string       `yaml:"timezone"`
	OpeningHours OpeningHours `yaml:"opening_hours"`
	Session      Session      `yaml:"session"`
	Menu         Menu         `yaml:"menu"`
	DefaultType  string       `yaml:"default_query_type"`
	QueryTypes   []QueryType  `yaml:"query_types"`
	Templates    []Template   `yaml:"templates"`
	// CannedResponses are the knowledge base operators reuse in a chat.
	CannedResponses []CannedResponse `yaml:"canned_responses"`
	// HSMTemplates are the provider-approved templates that may be sent
	// outside the customer service window.
	HSMTemplates []HSMTemplate `yaml:"hsm_templates"`
	// ResolutionReasons are what an operator picks from when closing a query.
	ResolutionReasons []Reason `yaml:"resolution_reasons"`
	// Tags are the labels staff with tags.update put on conversations.
	Tags []Tag `yaml:"tags"`
	// DefaultLanguage picks a template's language when the contact's is unknown.
	DefaultLanguage string `yaml:"default_language"`
	// CSAT is the satisfaction survey sent when an operator closes a
	// conversation.
	CSAT CSATSection `yaml:"csat"`
}

// OpeningHours is when service is open: the document's, and a query
// type's own in the same shape. In a query type, each part it leaves out
// is the document's: without weekly and special it keeps the document's
// plan; without out_of_hours.reply or out_of_hours.queue_until_open, the
// document's behaviour. A type's plan replaces the document's whole (its
// special dates too) and is in the document's timezone.
type OpeningHours struct {
	Weekly     map[string][]string `yaml:"weekly"`
	Special    []SpecialDay        `yaml:"special"`
	OutOfHours OutOfHours          `yaml:"out_of_hours"`
}

// SpecialDay overrides the weekly plan on one local date.
type SpecialDay struct {
	Date   string   `yaml:"date"`
	Closed bool     `yaml:"closed"`
	Hours  []string `yaml:"hours"`
}

// OutOfHours is what happens to a message outside opening hours. A nil
// field is not set: the default (no reply; queue until open) in the
// document, the document's value in a query type.
type OutOfHours struct {
	// Reply is the id of the template sent once per closed period; ""
	// sends none.
	Reply          *string `yaml:"reply"`
	QueueUntilOpen *bool   `yaml:"queue_until_open"`
}

// Session is the routing session length.
type Session struct {
	Window               time.Duration `yaml:"window"`
	FreeEntryPointWindow time.Duration `yaml:"free_entry_point_window"`
}

// Menu lets the customer choose the query type.
type Menu struct {
	Enabled     bool   `yaml:"enabled"`
	Prompt      string `yaml:"prompt"`
	MaxAttempts int    `yaml:"max_attempts"`
}

// QueryType is one query origin.
type QueryType struct {
	ID          string       `yaml:"id"`
	Name        string       `yaml:"name"`
	MenuKey     string       `yaml:"menu_key"`
	Keywords    []string     `yaml:"keywords"`
	EntryPoints []EntryPoint `yaml:"entry_points"`
	// Groups and Accounts serve the type besides the accounts that list
	// it themselves: agent group ids (`switchboard groups list`) and
	// account ids (`switchboard users list`).
	Groups         []string      `yaml:"groups"`
	Accounts       []string      `yaml:"accounts"`
	Strategy       string        `yaml:"strategy"`
	NoReplyTimeout time.Duration `yaml:"no_reply_timeout"`
	// OpeningHours are the type's own, if it has them (see OpeningHours).
	OpeningHours *OpeningHours `yaml:"opening_hours"`
	// Targets are the type's first-response and resolution targets, if any.
	Targets *Targets `yaml:"targets"`
	// CSAT false keeps the type's conversations out of the satisfaction
	// survey; unset, they are surveyed when csat is enabled.
	CSAT *bool `yaml:"csat"`
}

// EntryPoint is a rule that gives a type to queries arriving through it.
type EntryPoint struct {
	Channel          string `yaml:"channel"`
	ReferralSourceID string `yaml:"referral_source_id"`
	CTWAClickID      string `yaml:"ctwa_clid"`
	Text             string `yaml:"text"`
}

// Template is an auto-reply text.
type Template struct {
	ID       string `yaml:"id"`
	Language string `yaml:"language"`
	Text     string `yaml:"text"`
}

// Reason is a resolution reason.
type Reason struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
}

// Tag is a label for conversations ("urgent", "billing"): its id is what
// conversations carry and lists filter by, its name and color what the
// console shows.
type Tag struct {
	ID    string `yaml:"id"`
	Name  string `yaml:"name"`
	Color string `yaml:"color"`
}

// CannedResponse is a knowledge-base entry.
type CannedResponse struct {
	Shortcut   string   `yaml:"shortcut" json:"shortcut"`
	Text       string   `yaml:"text" json:"text"`
	QueryTypes []string `yaml:"query_types" json:"query_types,omitempty"`
}

// HSMTemplate is an approved provider template.
type HSMTemplate struct {
	Name         string `yaml:"name"`
	Language     string `yaml:"language"`
	Category     string `yaml:"category"`
	Body         string `yaml:"body"`
	ProviderName string `yaml:"provider_name"`
}
