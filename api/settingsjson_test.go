package api

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"switchboard/settings"
)

// Every key of the example settings, and of the settings package's good
// document, survives YAML to JSON and back: the document decoded from the
// round trip equals the original's, strings that look like numbers or
// dates ("1", "2026-12-25", "120000000000001") included.
func TestSettingsJSONRoundTripKeepsEveryKey(t *testing.T) {
	for _, path := range []string{"../deploy/settings.example.yaml", "../settings/testdata/good.yaml"} {
		y, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		want, err := settings.Parse(y)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		doc, err := yamlToJSON(y)
		if err != nil {
			t.Fatalf("%s to JSON: %v", path, err)
		}
		if !json.Valid(doc) {
			t.Fatalf("%s: invalid JSON %s", path, doc)
		}
		back, err := jsonToYAML(doc)
		if err != nil {
			t.Fatalf("%s back to YAML: %v", path, err)
		}
		got, err := settings.Parse(back)
		if err != nil {
			t.Fatalf("%s after the round trip: %v\n%s", path, err, back)
		}
		if !reflect.DeepEqual(got.Document, want.Document) {
			t.Fatalf("%s: the round trip changed the document:\n%+v\nwant\n%+v", path, got.Document, want.Document)
		}
		again, err := yamlToJSON(back)
		if err != nil || string(again) != string(doc) {
			t.Fatalf("%s: JSON of the round trip differs:\n%s\nwant\n%s", path, again, doc)
		}
	}
	if !strings.Contains(mustJSON(t, "menu_key: \"1\"\nwindow: 24h\n"), `{"menu_key":"1","window":"24h"}`) {
		t.Fatal("quoted numbers or durations did not stay strings")
	}
}

func mustJSON(t *testing.T, y string) string {
	t.Helper()
	doc, err := yamlToJSON([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return string(doc)
}

// A document using YAML merge keys (as a shared base for query types, say)
// is shown as JSON with the merges applied, as the strict decoder reads
// them, and saves back: before, "<<" came back as a key of that name and
// the coordinator's next save from a JSON screen was refused.
func TestSettingsJSONAppliesMergeKeys(t *testing.T) {
	y, err := os.ReadFile("../deploy/settings.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(y), "query_types:\n  - id: payments\n", "query_types:\n  - &payments\n    id: payments\n", 1)
	s = strings.Replace(s, "  - id: claims\n    name: Claims\n", "  - <<: *payments\n    id: claims\n    name: Claims\n", 1)
	if s == string(y) {
		t.Fatal("the example settings changed; adjust the test's edit")
	}
	want, err := settings.Parse([]byte(s))
	if err != nil {
		t.Fatalf("the merged document: %v", err)
	}
	doc, err := yamlToJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(doc), `"<<"`) {
		t.Fatalf("the JSON carries a merge key: %s", doc)
	}
	back, err := jsonToYAML(doc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := settings.Parse(back)
	if err != nil {
		t.Fatalf("after the round trip: %v\n%s", err, back)
	}
	if !reflect.DeepEqual(got.Document, want.Document) {
		t.Fatalf("the round trip changed the document:\n%+v\nwant\n%+v", got.Document, want.Document)
	}
	// Explicit keys win over merged ones, the first merged mapping over
	// later ones; merged keys stand where the merge key did.
	if got := mustJSON(t, "a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc: {<<: [*a, *b], x: 3}\n"); !strings.Contains(got, `"c":{"y":1,"z":2,"x":3}`) {
		t.Fatalf("merge order: %s", got)
	}
}
