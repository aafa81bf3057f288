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
