package settings_test

import (
	"strings"
	"testing"
	"time"

	"switchboard/settings"
)

// slaDoc is a document whose types have targets as given.
func slaDoc(targets string) []byte {
	return []byte("default_query_type: sales\nquery_types:\n  - id: sales\n    targets: " + targets +
		"\n  - id: billing\n")
}

func TestTargetsParse(t *testing.T) {
	for _, tc := range []struct {
		targets string
		want    settings.SLA
	}{
		{"{first_response: 5m, resolution: 8h}", settings.SLA{FirstResponse: 5 * time.Minute, Resolution: 8 * time.Hour}},
		{"{first_response: 90s, on_breach: reassign}", settings.SLA{FirstResponse: 90 * time.Second, Reassign: true}},
		{"{resolution: 1h30m, on_breach: notify}", settings.SLA{Resolution: 90 * time.Minute}},
	} {
		c, err := settings.Parse(slaDoc(tc.targets))
		if err != nil {
			t.Fatalf("targets %s: %v", tc.targets, err)
		}
		if got := c.Targets("sales"); got != tc.want {
			t.Errorf("targets %s compiled to %+v, want %+v", tc.targets, got, tc.want)
		}
		if got := c.Targets("billing"); got.Any() {
			t.Errorf("billing, without targets, has %+v", got)
		}
	}
}

func TestTargetsErrorsNameKeys(t *testing.T) {
	for _, tc := range []struct{ targets, want string }{
		{"{first_response: 0s}", "query_types[0].targets.first_response: must be a positive duration like 5m or 8h, got 0s"},
		{"{resolution: -1h}", "query_types[0].targets.resolution: must be a positive duration like 5m or 8h, got -1h0m0s"},
		{"{first_response: soon}", "query_types[0].targets.first_response: cannot unmarshal"},
		{"{first_response: 5m, on_breach: escalate}", `query_types[0].targets.on_breach: must be notify or reassign, got "escalate"`},
		{"{resolution: 8h, on_breach: reassign}", "query_types[0].targets.on_breach: reassign acts on a missed first_response target, and there is none"},
		{"{first_respons: 5m}", "query_types[0].targets.first_respons: unknown key"},
	} {
		_, err := settings.Parse(slaDoc(tc.targets))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("targets %s: error %v, want it to contain %q", tc.targets, err, tc.want)
		}
	}
}
