package settings

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"switchboard/accounts"
	"switchboard/internal/strictyaml"
	"switchboard/routing"
	"switchboard/templates"
)

// Compiled is a validated settings document ready for use.
type Compiled struct {
	Document  *Document
	Routing   *routing.Settings
	Templates *templates.Set
	// Reasons are the resolution reasons by id.
	Reasons map[string]string
	// Tags are the conversation tags by id.
	Tags map[string]Tag
	// Canned is the knowledge base.
	Canned []CannedResponse
	// HSM are the approved templates by name, then language.
	HSM map[string]map[string]*templates.HSM
	// SLA are the targets of the query types that have any, by type id.
	SLA map[string]SLA
	// CSAT is the satisfaction survey; nil when it is off.
	CSAT *CSAT
}

// Parse decodes and validates a settings document. Unknown and mistyped
// keys are errors named by their path and line
// ("query_types[0].stratgy: unknown key (line 12)"), and every validation
// error names its key; all of them are reported at once.
func Parse(data []byte) (*Compiled, error) {
	var doc Document
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, fmt.Errorf("settings: parse yaml: %w", err)
	}
	var errs []error
	if root.Kind != 0 { // an empty document decodes to the zero Document
		problems, err := strictyaml.Decode(&root, &doc)
		if err != nil {
			return nil, fmt.Errorf("settings: %w", err)
		}
		for _, p := range problems {
			if p.Msg == "unknown key" {
				if why, ok := moved(p.Path); ok {
					p.Msg = why
				}
			}
			errs = append(errs, p)
		}
	}
	c, err := Compile(&doc)
	if err != nil || len(errs) > 0 {
		return nil, errors.Join(append(errs, err)...)
	}
	return c, nil
}

// moved says where a key of an older document lives now, for the error
// that refuses it.
func moved(path string) (string, bool) {
	switch {
	case path == "operators":
		return "removed: operators are accounts now; create them with `switchboard users create --query-types T --capacity N` " +
			"or POST /api/v1/users, and list account ids under query_types[].accounts", true
	case path == "groups":
		return "removed: agent groups are managed with `switchboard groups` or /api/v1/groups; list their ids under query_types[].groups", true
	case strings.HasPrefix(path, "query_types[") && strings.HasSuffix(path, "].operators"):
		return "removed: list account ids under accounts (operators are accounts now)", true
	}
	return "", false
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// colorPattern is a tag's color: #rrggbb.
var colorPattern = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// Compile validates doc and builds the runtime settings.
func Compile(doc *Document) (*Compiled, error) {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	s := &routing.Settings{
		OutOfHoursReply: deref(doc.OpeningHours.OutOfHours.Reply),
		QueueUntilOpen:  doc.OpeningHours.OutOfHours.QueueUntilOpen == nil || *doc.OpeningHours.OutOfHours.QueueUntilOpen,
		SessionWindow:   doc.Session.Window,
		FreeEntryWindow: doc.Session.FreeEntryPointWindow,
		Menu:            routing.Menu{Enabled: doc.Menu.Enabled, Prompt: doc.Menu.Prompt, MaxAttempts: doc.Menu.MaxAttempts},
		DefaultType:     doc.DefaultType,
	}

	// Opening hours.
	spec := routing.HoursSpec{Timezone: doc.Timezone, Weekly: doc.OpeningHours.Weekly}
	for _, sd := range doc.OpeningHours.Special {
		spec.Special = append(spec.Special, routing.SpecialDay{Date: sd.Date, Closed: sd.Closed, Hours: sd.Hours})
	}
	if doc.Timezone == "" && (len(spec.Weekly) > 0 || len(spec.Special) > 0) {
		bad("timezone", "required with opening_hours")
	}
	if doc.Timezone == "Local" {
		// Go reads "Local" as the server's own zone: the team's hours
		// would move with the machine a replica runs on, and browsers
		// showing the console do not know the name.
		bad("timezone", `"Local" is the server's zone, not the team's: name it, like America/Sao_Paulo`)
	}
	hours, err := routing.CompileHours(spec, "opening_hours")
	if err != nil {
		errs = append(errs, err)
	}
	s.Hours = hours

	// Session windows.
	if s.SessionWindow == 0 {
		s.SessionWindow = 24 * time.Hour
	}
	if s.FreeEntryWindow == 0 {
		s.FreeEntryWindow = 72 * time.Hour
	}
	if s.SessionWindow < time.Minute || s.SessionWindow > 30*24*time.Hour {
		bad("session.window", "must be between 1m and 720h, got %s", s.SessionWindow)
	}
	if s.FreeEntryWindow < s.SessionWindow {
		bad("session.free_entry_point_window", "must not be shorter than session.window (%s), got %s", s.SessionWindow, s.FreeEntryWindow)
	}

	// Query types.
	menuKeys := map[string]string{}
	for i, qt := range doc.QueryTypes {
		key := fmt.Sprintf("query_types[%d]", i)
		t := &routing.QueryType{ID: qt.ID, Name: qt.Name, MenuKey: qt.MenuKey, Strategy: routing.Strategy(qt.Strategy), NoReplyTimeout: qt.NoReplyTimeout}
		if !idPattern.MatchString(qt.ID) {
			bad(key+".id", "want lower-case letters, digits, '-' or '_', got %q", qt.ID)
		} else if s.Type(qt.ID) != nil {
			bad(key+".id", "%q is defined twice", qt.ID)
		}
		if t.Name == "" {
			t.Name = qt.ID
		}
		switch t.Strategy {
		case routing.StrategyClaim, routing.StrategyRoundRobin, routing.StrategyLeastLoaded:
		case "":
			t.Strategy = routing.StrategyClaim
		default:
			bad(key+".strategy", "must be claim, round_robin or least_loaded, got %q", qt.Strategy)
		}
		if qt.NoReplyTimeout < 0 {
			bad(key+".no_reply_timeout", "must not be negative")
		}
		if qt.MenuKey != "" {
			if other, dup := menuKeys[strings.ToLower(qt.MenuKey)]; dup {
				bad(key+".menu_key", "%q is already the key of %s", qt.MenuKey, other)
			}
			menuKeys[strings.ToLower(qt.MenuKey)] = qt.ID
		}
		for j, k := range qt.Keywords {
			f := strings.Join(strings.Fields(routing.Fold(k)), " ")
			if f == "" {
				bad(fmt.Sprintf("%s.keywords[%d]", key, j), "empty keyword")
				continue
			}
			t.Keywords = append(t.Keywords, f)
		}
		for j, ep := range qt.EntryPoints {
			if ep == (EntryPoint{}) {
				bad(fmt.Sprintf("%s.entry_points[%d]", key, j), "needs at least one of channel, referral_source_id, ctwa_clid, text")
			}
			t.EntryPoints = append(t.EntryPoints, routing.EntryPoint{Channel: ep.Channel, ReferralSourceID: ep.ReferralSourceID, CTWAClickID: ep.CTWAClickID, Text: routing.Fold(ep.Text)})
		}
		for j, g := range qt.Groups {
			if !idPattern.MatchString(g) {
				bad(fmt.Sprintf("%s.groups[%d]", key, j), "want a group id (`switchboard groups list`), got %q", g)
			} else if !slices.Contains(t.Groups, g) {
				t.Groups = append(t.Groups, g)
			}
		}
		for j, a := range qt.Accounts {
			if !accounts.ValidID(a) {
				bad(fmt.Sprintf("%s.accounts[%d]", key, j), "want an account id like u_0123456789abcdef (`switchboard users list`), got %q", a)
			} else if !slices.Contains(t.Accounts, a) {
				t.Accounts = append(t.Accounts, a)
			}
		}
		s.Types = append(s.Types, t)
		s.Finish() // re-index so duplicates are caught
	}
	if len(doc.QueryTypes) == 0 {
		bad("query_types", "at least one query type is required")
	}
	if doc.DefaultType == "" {
		bad("default_query_type", "required")
	} else if s.Type(doc.DefaultType) == nil {
		bad("default_query_type", "unknown query type %q", doc.DefaultType)
	}

	// Texts.
	texts := templates.NewSet(doc.DefaultLanguage)
	for i, t := range doc.Templates {
		key := fmt.Sprintf("templates[%d]", i)
		if !idPattern.MatchString(t.ID) {
			bad(key+".id", "want lower-case letters, digits, '-' or '_', got %q", t.ID)
		}
		if strings.TrimSpace(t.Text) == "" {
			bad(key+".text", "required")
		}
		if err := texts.Add(t.ID, t.Language, t.Text); err != nil {
			bad(key+".text", "%v", err)
		}
	}
	if s.OutOfHoursReply != "" && !texts.Has(s.OutOfHoursReply) {
		bad("opening_hours.out_of_hours.reply", "no template has id %q", s.OutOfHoursReply)
	}
	errs = append(errs, typeHours(doc, s, texts)...)
	if s.Menu.Enabled {
		if s.Menu.Prompt == "" {
			bad("menu.prompt", "required when the menu is enabled")
		} else if !texts.Has(s.Menu.Prompt) {
			bad("menu.prompt", "no template has id %q", s.Menu.Prompt)
		}
		if s.Menu.MaxAttempts < 0 || s.Menu.MaxAttempts > 10 {
			bad("menu.max_attempts", "must be between 0 and 10, got %d", s.Menu.MaxAttempts)
		}
		if len(menuKeys) == 0 {
			bad("menu", "enabled, but no query type has a menu_key")
		}
	}
	reasons := map[string]string{}
	for i, r := range doc.ResolutionReasons {
		key := fmt.Sprintf("resolution_reasons[%d]", i)
		if !idPattern.MatchString(r.ID) {
			bad(key+".id", "want lower-case letters, digits, '-' or '_', got %q", r.ID)
		} else if _, dup := reasons[r.ID]; dup {
			bad(key+".id", "%q is defined twice", r.ID)
		}
		if r.Name == "" {
			r.Name = r.ID
		}
		reasons[r.ID] = r.Name
	}
	tags := map[string]Tag{}
	for i, tg := range doc.Tags {
		key := fmt.Sprintf("tags[%d]", i)
		if !idPattern.MatchString(tg.ID) {
			bad(key+".id", "want lower-case letters, digits, '-' or '_', got %q", tg.ID)
		} else if _, dup := tags[tg.ID]; dup {
			bad(key+".id", "%q is defined twice", tg.ID)
		}
		if !colorPattern.MatchString(tg.Color) {
			bad(key+".color", "want a color as #rrggbb, got %q", tg.Color)
		}
		if tg.Name == "" {
			tg.Name = tg.ID
		}
		tags[tg.ID] = tg
	}
	shortcuts := map[string]bool{}
	for i, cr := range doc.CannedResponses {
		key := fmt.Sprintf("canned_responses[%d]", i)
		if cr.Shortcut == "" || strings.ContainsAny(cr.Shortcut, " \t\n") {
			bad(key+".shortcut", "required, without spaces")
		} else if shortcuts[cr.Shortcut] {
			bad(key+".shortcut", "%q is defined twice", cr.Shortcut)
		}
		shortcuts[cr.Shortcut] = true
		if strings.TrimSpace(cr.Text) == "" {
			bad(key+".text", "required")
		}
		for j, qt := range cr.QueryTypes {
			if s.Type(qt) == nil {
				bad(fmt.Sprintf("%s.query_types[%d]", key, j), "unknown query type %q", qt)
			}
		}
	}
	hsm := map[string]map[string]*templates.HSM{}
	for i, ht := range doc.HSMTemplates {
		key := fmt.Sprintf("hsm_templates[%d]", i)
		if !idPattern.MatchString(ht.Name) {
			bad(key+".name", "want lower-case letters, digits, '-' or '_', got %q", ht.Name)
		}
		if ht.Language == "" {
			bad(key+".language", "required, e.g. es or pt_BR")
		}
		h, err := templates.ParseHSM(templates.HSM{Name: ht.Name, Language: ht.Language, Category: ht.Category, Body: ht.Body, ProviderName: ht.ProviderName})
		if err != nil {
			bad(key, "%v", err)
			continue
		}
		if hsm[ht.Name] == nil {
			hsm[ht.Name] = map[string]*templates.HSM{}
		}
		if hsm[ht.Name][ht.Language] != nil {
			bad(key, "%s in %s is defined twice", ht.Name, ht.Language)
		}
		hsm[ht.Name][ht.Language] = h
	}
	sla, slaErrs := compileSLA(doc)
	errs = append(errs, slaErrs...)
	csat := compileCSAT(doc, texts, hsm, bad)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Compiled{Document: doc, Routing: s.Finish(), Templates: texts, Reasons: reasons, Tags: tags, Canned: doc.CannedResponses, HSM: hsm, SLA: sla, CSAT: csat}, nil
}
