package strictyaml_test

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"switchboard/internal/strictyaml"
)

type rate struct {
	Count int           `yaml:"count"`
	Per   time.Duration `yaml:"per"`
}

type doc struct {
	HTTP struct {
		Addr         string `yaml:"addr"`
		MaxBodyBytes int64  `yaml:"max_body_bytes"`
	} `yaml:"http"`
	Channels []struct {
		ID       string `yaml:"id"`
		SendRate rate   `yaml:"send_rate"`
	} `yaml:"channels"`
}

func TestProblemsNameTheKeyPath(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"good", "http:\n  addr: x\nchannels:\n  - id: a\n    send_rate: {count: 1, per: 1s}\n", nil},
		{"unknown nested key", "http:\n  addr: x\n  max_body_byte: 10\n", []string{"http.max_body_byte: unknown key (line 3)"}},
		{"unknown top-level key", "\n\nhtpp:\n  addr: x\n", []string{"htpp: unknown key (line 3)"}},
		{"every unknown key at once", "http:\n  adr: x\n  max_body_byte: 1\nchannels:\n  - id: a\n    sendrate: {}\n  - id: b\n    send_rate: {count: 1, burts: 2}\n",
			[]string{"http.adr: unknown key (line 2)", "http.max_body_byte: unknown key (line 3)", "channels[0].sendrate: unknown key (line 6)", "channels[1].send_rate.burts: unknown key (line 8)"}},
		{"same key twice on a line", "channels: [{id: a, idd: 1}, {id: b, idd: 2}]\n", []string{"channels[0].idd: unknown key (line 1)", "channels[1].idd: unknown key (line 1)"}},
		{"mistyped value", "http:\n  max_body_bytes: lots\n", []string{"http.max_body_bytes: cannot unmarshal !!str `lots` into int64 (line 2)"}},
		{"mistyped value in a flow mapping", "channels:\n  - send_rate: {count: many, per: 1s}\n", []string{"channels[0].send_rate.count: cannot unmarshal"}},
		{"mistyped value after a good one on its line", "channels:\n  - send_rate: {count: 5, per: 1s}\n  - send_rate: {per: 1s, count: x}\n", []string{"channels[1].send_rate.count: cannot unmarshal !!str `x`"}},
		{"mistyped long value, quoted cut short", "channels:\n  - send_rate: {per: 1s, count: averylongvalue}\n", []string{"channels[0].send_rate.count: cannot unmarshal !!str `averylo...`"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n yaml.Node
			if err := yaml.Unmarshal([]byte(tc.yaml), &n); err != nil {
				t.Fatal(err)
			}
			var d doc
			problems, err := strictyaml.Decode(&n, &d)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range problems {
				got = append(got, p.Error())
			}
			if len(got) != len(tc.want) {
				t.Fatalf("problems = %q, want %q", got, tc.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("problem %d = %q, want %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// Lines come from the tree given, not from its re-encoding: a tree whose
// values changed after parsing still points at the file's lines.
func TestLinesAreTheOriginalDocuments(t *testing.T) {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("# a comment\n\n\nhttp:   # another\n\n  addr: x\n\n\n  maxbody: 1\n"), &n); err != nil {
		t.Fatal(err)
	}
	var d doc
	problems, _ := strictyaml.Decode(&n, &d)
	if len(problems) != 1 || problems[0].Error() != "http.maxbody: unknown key (line 9)" {
		t.Fatalf("problems = %v", problems)
	}
}
