package settings_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchboard/accounts"
	"switchboard/internal/dbtest"
	"switchboard/repository"
	"switchboard/routing"
	"switchboard/settings"
)

// t0 is the tests' fixed time: never the day they run.
var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

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
		strings.Join(p.Groups, ",") != "billing" || strings.Join(p.Accounts, ",") != "u_00000000000000a1" ||
		len(p.Operators) != 0 || p.EntryPoints[0].ReferralSourceID != "120000000000001" {
		t.Fatalf("payments = %+v", p)
	}
	if s.Type("general").Strategy != routing.StrategyClaim || s.DefaultType != "general" || !s.QueueUntilOpen ||
		s.FreeEntryWindow != 72*time.Hour || s.Hours.Location().String() != "America/Sao_Paulo" {
		t.Fatalf("settings = %+v", s)
	}
	if tg := c.Tags["urgent"]; len(c.Tags) != 2 || tg.Name != "Urgent" || tg.Color != "#d93025" {
		t.Fatalf("tags = %+v", c.Tags)
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
		{"operators section", "templates:\n", "operators:\n  - {id: ana, capacity: 5}\ntemplates:\n"},
		{"groups section", "templates:\n", "groups:\n  - {id: billing, operators: [ana]}\ntemplates:\n"},
		{"operators of a type", "accounts: [u_00000000000000a1]", "operators: [ana]"},
		{"bad account id", "accounts: [u_00000000000000a1]", "accounts: [ana]"},
		{"bad group id", "groups: [billing]", "groups: [Billing]"},
		{"unknown default", "default_query_type: general", "default_query_type: nope"},
		{"bad interval", `"14:00-18:00"`, `"14:00-1800"`},
		{"unknown template variable", "{{next_open}}", "{{next_opne}}"},
		{"missing reply template", "reply: out_of_hours", "reply: closed_text"},
		{"duplicate menu key", `menu_key: "2"`, `menu_key: "1"`},
		{"bad timezone", "timezone: America/Sao_Paulo", "timezone: America/Sao_Paolo"},
		{"server's timezone", "timezone: America/Sao_Paulo", "timezone: Local"},
		{"duplicate tag", "{id: billing, name: Billing", "{id: urgent, name: Billing"},
		{"bad tag color", `color: "#1a73e8"`, `color: blue`},
		{"bad tag id", "{id: billing, name: Billing", "{id: Billing!, name: Billing"},
	}
	wants := map[string]string{
		"unknown key":               "default_query_typ: unknown key (line 19)",
		"unknown nested key":        "query_types[0].stratgy: unknown key (line 28)",
		"mistyped value":            "menu.max_attempts: cannot unmarshal !!str `two` into int (line 18)",
		"unknown strategy":          `query_types[0].strategy: must be claim, round_robin or least_loaded, got "random"`,
		"operators section":         "operators: removed: operators are accounts now; create them with `switchboard users create",
		"groups section":            "groups: removed: agent groups are managed with `switchboard groups` or /api/v1/groups",
		"operators of a type":       "query_types[0].operators: removed: list account ids under accounts (operators are accounts now) (line 26)",
		"bad account id":            `query_types[0].accounts[0]: want an account id like u_0123456789abcdef`,
		"bad group id":              "query_types[0].groups[0]: want a group id (`switchboard groups list`), got \"Billing\"",
		"unknown default":           `default_query_type: unknown query type "nope"`,
		"bad interval":              `opening_hours.weekly.mon[1]: "14:00-1800" is not HH:MM-HH:MM`,
		"unknown template variable": "templates[0].text: unknown variable {{next_opne}}",
		"missing reply template":    `opening_hours.out_of_hours.reply: no template has id "closed_text"`,
		"duplicate menu key":        `query_types[1].menu_key: "1" is already the key of payments`,
		"bad timezone":              `timezone: unknown time zone "America/Sao_Paolo"`,
		"server's timezone":         `timezone: "Local" is the server's zone, not the team's`,
		"duplicate tag":             `tags[1].id: "urgent" is defined twice`,
		"bad tag color":             `tags[1].color: want a color as #rrggbb, got "blue"`,
		"bad tag id":                `tags[1].id: want lower-case letters, digits, '-' or '_', got "Billing!"`,
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

// seedStaff creates the group and the account good.yaml names, as a
// coordinator does before naming them in the settings.
func seedStaff(t *testing.T, db *repository.DB) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.SQL().ExecContext(ctx, `INSERT INTO agent_groups (id, name, created_at, updated_at) VALUES ('billing', 'Billing', 0, 0)`); err != nil {
		t.Fatal(err)
	}
	u := &accounts.User{ID: "u_00000000000000a1", Name: "Ana", Phone: "+5511912340001", Role: "operator", Status: accounts.StatusActive,
		Capacity: 5, CreatedAt: t0, UpdatedAt: t0}
	if err := db.Accounts().Insert(ctx, u); err != nil {
		t.Fatal(err)
	}
}

// A document naming a group or an account that does not exist is refused
// with the keys that name them, and nothing is stored; once they exist it
// applies.
func TestApplyRefusesUnknownGroupsAndAccounts(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		repo := db.Settings()
		ctx := context.Background()
		_, err := settings.Apply(ctx, repo, good(t), t0, 0, "cli")
		for _, want := range []string{`query_types[0].groups[0]: no agent group "billing"`, `query_types[0].accounts[0]: no account "u_00000000000000a1"`} {
			if !errors.Is(err, settings.ErrUnknownStaff) || !strings.Contains(err.Error(), want) {
				t.Fatalf("apply = %v, want ErrUnknownStaff naming %q", err, want)
			}
		}
		if _, err := settings.Load(ctx, repo); !errors.Is(err, settings.ErrNone) {
			t.Fatalf("a refused apply left something stored: %v", err)
		}
		seedStaff(t, db)
		if v, err := settings.Apply(ctx, repo, good(t), t0, 0, "cli"); err != nil || v != 1 {
			t.Fatalf("apply with the staff created: %d, %v", v, err)
		}
	})
}

func TestApplyIsVersionedAndWatched(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		seedStaff(t, db)
		repo := db.Settings()
		ctx := context.Background()
		w := settings.NewWatcher(repo, 0)
		if _, err := w.Current(ctx); !errors.Is(err, settings.ErrNone) {
			t.Fatalf("before any apply: %v, want ErrNone", err)
		}
		if _, err := settings.Apply(ctx, repo, []byte("query_types: []"), t0, 0, "cli"); err == nil {
			t.Fatal("invalid settings applied")
		}
		if _, err := settings.Load(ctx, repo); !errors.Is(err, settings.ErrNone) {
			t.Fatalf("an invalid apply left something stored: %v", err)
		}
		v1, err := settings.Apply(ctx, repo, good(t), t0, 0, "cli")
		if err != nil || v1 != 1 {
			t.Fatalf("first apply: %d, %v", v1, err)
		}
		c, err := w.Current(ctx)
		if err != nil || c.Routing.Version != 1 || c.Routing.Type("payments").NoReplyTimeout != 15*time.Minute {
			t.Fatalf("watcher after v1: %v", err)
		}
		changed := strings.Replace(string(good(t)), "no_reply_timeout: 15m", "no_reply_timeout: 5m", 1)
		// Applying against a stale version is refused, and so is applying
		// against a version that was never applied.
		for _, stale := range []int64{0, 7} {
			if _, err := settings.Apply(ctx, repo, []byte(changed), t0, stale, "u_0000000000000001"); !errors.Is(err, settings.ErrConflict) {
				t.Fatalf("apply against version %d: %v, want ErrConflict", stale, err)
			}
		}
		v2, err := settings.Apply(ctx, repo, []byte(changed), t0.Add(time.Minute), v1, "u_0000000000000001")
		if err != nil || v2 != 2 {
			t.Fatalf("second apply: %d, %v", v2, err)
		}
		c, err = w.Current(ctx)
		if err != nil || c.Routing.Version != 2 || c.Routing.Type("payments").NoReplyTimeout != 5*time.Minute {
			t.Fatalf("watcher did not pick up v2: %+v, %v", c.Routing.Type("payments"), err)
		}
		st, err := settings.Load(ctx, repo)
		if err != nil || st.Version != 2 || string(st.YAML) != changed || !st.AppliedAt.Equal(t0.Add(time.Minute)) || st.AppliedBy != "u_0000000000000001" {
			t.Fatalf("Load = %+v, %v; want version 2 as applied by u_0000000000000001", st, err)
		}
		// Without a version check, it applies over whatever is there.
		if v, err := settings.Apply(ctx, repo, good(t), t0, -1, "cli"); err != nil || v != 3 {
			t.Fatalf("unchecked apply: %d, %v", v, err)
		}
	})
}

// Coordinators applying from one reviewed version at once: exactly one
// applies, the others are told someone else did, on both engines.
func TestConcurrentAppliesFromOneVersionApplyOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, db *repository.DB) {
		seedStaff(t, db)
		repo := db.Settings()
		ctx := context.Background()
		if _, err := settings.Apply(ctx, repo, good(t), t0, 0, "cli"); err != nil {
			t.Fatal(err)
		}
		const n = 6
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				doc := strings.Replace(string(good(t)), "no_reply_timeout: 15m", fmt.Sprintf("no_reply_timeout: %dm", i+1), 1)
				_, errs[i] = settings.Apply(ctx, repo, []byte(doc), t0, 1, fmt.Sprintf("coordinator-%d", i))
			})
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("coordinators %d and %d both applied version 2", winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, settings.ErrConflict):
				t.Errorf("apply %d: %v, want ErrConflict", i, err)
			}
		}
		st, err := settings.Load(ctx, repo)
		if winner < 0 || err != nil || st.Version != 2 || st.AppliedBy != fmt.Sprintf("coordinator-%d", winner) ||
			!strings.Contains(string(st.YAML), fmt.Sprintf("no_reply_timeout: %dm", winner+1)) {
			t.Fatalf("after the race: %+v, %v; winner %d", st, err, winner)
		}
	})
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

// countingSettings counts the version checks made through it.
type countingSettings struct {
	settings.Repository
	checks atomic.Int32
}

func (c *countingSettings) LatestVersion(ctx context.Context) (int64, error) {
	c.checks.Add(1)
	return c.Repository.LatestVersion(ctx)
}

// Without settings, a watcher asks the database once per interval, not
// per call; with settings, it asks for the version number only, once per
// interval too.
func TestWatcherAsksOncePerInterval(t *testing.T) {
	db := dbtest.Open(t)
	seedStaff(t, db)
	repo := &countingSettings{Repository: db.Settings()}
	ctx := context.Background()
	w := settings.NewWatcher(repo, time.Hour)
	if _, err := w.Current(ctx); !errors.Is(err, settings.ErrNone) {
		t.Fatalf("first call: %v", err)
	}
	if _, err := settings.Apply(ctx, db.Settings(), good(t), t0, 0, "cli"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Current(ctx); !errors.Is(err, settings.ErrNone) {
		t.Fatalf("within the interval the watcher asked the database again: %v", err)
	}
	if n := repo.checks.Load(); n != 1 {
		t.Fatalf("%d version checks in one interval, want 1", n)
	}
	fresh := settings.NewWatcher(repo, time.Hour)
	for range 3 {
		if c, err := fresh.Current(ctx); err != nil || c.Routing.Version != 1 {
			t.Fatalf("a new watcher does not see the applied settings: %v", err)
		}
	}
	if n := repo.checks.Load(); n != 2 {
		t.Fatalf("%d version checks, want 2 (one per watcher and interval)", n)
	}
}
