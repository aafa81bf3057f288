package settings_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"switchboard/internal/redistest"
	"switchboard/routing"
	"switchboard/settings"
)

func good(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseGood(t *testing.T) {
	c, err := settings.Parse(good(t))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Routing
	p := s.Type("payments")
	if p == nil || p.Strategy != routing.StrategyRoundRobin || p.NoReplyTimeout != 15*time.Minute ||
		strings.Join(p.Operators, ",") != "ana,bruno" || p.EntryPoints[0].ReferralSourceID != "120000000000001" {
		t.Fatalf("payments = %+v", p)
	}
	if s.Type("general").Strategy != routing.StrategyClaim || s.DefaultType != "general" || !s.QueueUntilOpen ||
		s.FreeEntryWindow != 72*time.Hour || s.Operators["bruno"].Capacity != 3 || s.Hours.Location().String() != "America/Sao_Paulo" {
		t.Fatalf("settings = %+v", s)
	}
	txt := c.Templates.Pick("out_of_hours", "es")
	if txt == nil || strings.Join(txt.Variables(), ",") != "next_open" {
		t.Fatalf("out_of_hours text: %+v", txt)
	}
}

func TestErrorsNameKeys(t *testing.T) {
	tests := []struct {
		name, edit, want string
	}{
		{"unknown key", "default_query_type: general", "default_query_typ: general\ndefault_query_type: general"},
		{"unknown nested key", "strategy: round_robin", "stratgy: round_robin"},
		{"mistyped value", "max_attempts: 2", "max_attempts: two"},
		{"unknown strategy", "strategy: round_robin", "strategy: random"},
		{"unknown operator", "operators: [ana]\n", "operators: [anna]\n"},
		{"unknown group", "groups: [billing]", "groups: [biling]"},
		{"unknown default", "default_query_type: general", "default_query_type: nope"},
		{"bad interval", `"14:00-18:00"`, `"14:00-1800"`},
		{"unknown template variable", "{{next_open}}", "{{next_opne}}"},
		{"missing reply template", "reply: out_of_hours", "reply: closed_text"},
		{"duplicate menu key", `menu_key: "2"`, `menu_key: "1"`},
		{"bad timezone", "timezone: America/Sao_Paulo", "timezone: America/Sao_Paolo"},
	}
	wants := map[string]string{
		"unknown key":               "default_query_typ: unknown key (line 19)",
		"unknown nested key":        "query_types[0].stratgy: unknown key (line 28)",
		"mistyped value":            "menu.max_attempts: cannot unmarshal !!str `two` into int (line 18)",
		"unknown strategy":          `query_types[0].strategy: must be claim, round_robin or least_loaded, got "random"`,
		"unknown operator":          `query_types[0].operators[0]: unknown operator "anna"`,
		"unknown group":             `query_types[0].groups[0]: unknown group "biling"`,
		"unknown default":           `default_query_type: unknown query type "nope"`,
		"bad interval":              `opening_hours.weekly.mon[1]: "14:00-1800" is not HH:MM-HH:MM`,
		"unknown template variable": "templates[0].text: unknown variable {{next_opne}}",
		"missing reply template":    `opening_hours.out_of_hours.reply: no template has id "closed_text"`,
		"duplicate menu key":        `query_types[1].menu_key: "1" is already the key of payments`,
		"bad timezone":              `timezone: unknown time zone "America/Sao_Paolo"`,
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(string(good(t)), tc.edit, tc.want, 1)
			if doc == string(good(t)) {
				t.Fatalf("edit %q did not apply", tc.edit)
			}
			_, err := settings.Parse([]byte(doc))
			if err == nil || !strings.Contains(err.Error(), wants[tc.name]) {
				t.Fatalf("error = %v, want it to contain %q", err, wants[tc.name])
			}
			if strings.Contains(err.Error(), "not found in type") || strings.Contains(err.Error(), "settings.") {
				t.Fatalf("error = %v names a Go type, not a key", err)
			}
		})
	}
}

// One run reports every mistake of a document: unknown keys and invalid
// values together.
func TestEveryMistakeAtOnce(t *testing.T) {
	doc := strings.NewReplacer("default_query_type: general", "default_query_typ: general",
		"strategy: round_robin", "strategy: random", "max_attempts: 2", "max_attemps: 2").Replace(string(good(t)))
	_, err := settings.Parse([]byte(doc))
	for _, want := range []string{"default_query_typ: unknown key (line 19)", "menu.max_attemps: unknown key (line 18)", "query_types[0].strategy: must be"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error = %v, want it to contain %q", err, want)
		}
	}
}

func TestApplyIsVersionedAndWatched(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	w := settings.NewWatcher(rdb, 0)
	if _, err := w.Current(ctx); !errors.Is(err, settings.ErrNone) {
		t.Fatalf("before any apply: %v, want ErrNone", err)
	}
	if _, err := settings.Apply(ctx, rdb, []byte("query_types: []"), time.Now(), 0); err == nil {
		t.Fatal("invalid settings applied")
	}
	if _, err := settings.Load(ctx, rdb); !errors.Is(err, settings.ErrNone) {
		t.Fatalf("an invalid apply left something in Redis: %v", err)
	}
	v1, err := settings.Apply(ctx, rdb, good(t), time.Now(), 0)
	if err != nil || v1 != 1 {
		t.Fatalf("first apply: %d, %v", v1, err)
	}
	c, err := w.Current(ctx)
	if err != nil || c.Routing.Version != 1 || c.Routing.Type("payments").NoReplyTimeout != 15*time.Minute {
		t.Fatalf("watcher after v1: %v", err)
	}
	changed := strings.Replace(string(good(t)), "no_reply_timeout: 15m", "no_reply_timeout: 5m", 1)
	// Applying against a stale version is refused.
	if _, err := settings.Apply(ctx, rdb, []byte(changed), time.Now(), 0); !errors.Is(err, settings.ErrConflict) {
		t.Fatalf("stale apply: %v, want ErrConflict", err)
	}
	v2, err := settings.Apply(ctx, rdb, []byte(changed), time.Now(), v1)
	if err != nil || v2 != 2 {
		t.Fatalf("second apply: %d, %v", v2, err)
	}
	c, err = w.Current(ctx)
	if err != nil || c.Routing.Version != 2 || c.Routing.Type("payments").NoReplyTimeout != 5*time.Minute {
		t.Fatalf("watcher did not pick up v2: %+v, %v", c.Routing.Type("payments"), err)
	}
}

func TestDiff(t *testing.T) {
	old := "a: 1\nb: 2\nc: 3\nd: 4\ne: 5\nf: 6\ng: 7\nh: 8\n"
	new := "a: 1\nb: 2\nc: 3\nd: 40\ne: 5\nf: 6\ng: 7\nh: 8\ni: 9\n"
	want := "  a: 1\n  b: 2\n  c: 3\n- d: 4\n+ d: 40\n  e: 5\n  f: 6\n  g: 7\n  h: 8\n+ i: 9\n"
	if got := settings.Diff(old, new, 3); got != want {
		t.Fatalf("Diff =\n%s\nwant\n%s", got, want)
	}
	if got := settings.Diff(old, old, 3); got != "" {
		t.Fatalf("no change: %q", got)
	}
	if got := settings.Diff("", "x: 1\n", 3); got != "+ x: 1\n" {
		t.Fatalf("from nothing: %q", got)
	}
}

func TestShippedExampleIsValid(t *testing.T) {
	b, err := os.ReadFile("../deploy/settings.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := settings.Parse(b); err != nil {
		t.Fatalf("deploy/settings.example.yaml does not validate: %v", err)
	}
}

// Without settings, a watcher asks Redis once per interval, not per call.
func TestWatcherRemembersNoSettings(t *testing.T) {
	rdb := redistest.Client(t)
	ctx := context.Background()
	w := settings.NewWatcher(rdb, time.Hour)
	if _, err := w.Current(ctx); !errors.Is(err, settings.ErrNone) {
		t.Fatalf("first call: %v", err)
	}
	if _, err := settings.Apply(ctx, rdb, good(t), time.Now(), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Current(ctx); !errors.Is(err, settings.ErrNone) {
		t.Fatalf("within the interval the watcher asked Redis again: %v", err)
	}
	if c, err := settings.NewWatcher(rdb, time.Hour).Current(ctx); err != nil || c.Routing.Version != 1 {
		t.Fatalf("a new watcher does not see the applied settings: %v", err)
	}
}
