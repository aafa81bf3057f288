package console_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"switchboard/console"
)

// stringKey finds the keys a script names literally: in t('...') calls
// and as a field's label, title, intro, hint or addLabel.
var stringKey = regexp.MustCompile(`(?:\bt\(|\b(?:label|title|intro|hint|addLabel|add): )["']([a-z_]+\.[a-zA-Z0-9_.-]+)["']`)

// htmlKey finds the keys a page names in its data-i18n attributes.
var htmlKey = regexp.MustCompile(`\bdata-i18n="([^"]*)"`)

// TestAdminScreensNameOnlyKnownStrings fails when a screen names a string
// no strings/*.json defines: the console would show the raw key.
func TestAdminScreensNameOnlyKnownStrings(t *testing.T) {
	files := []string{"static/js/forms.js", "static/js/views.js", "static/js/monitor.js", "static/js/reports.js", "static/js/csat.js"}
	admin, _ := filepath.Glob("static/js/admin/*.js")
	files = append(files, admin...)
	if seen := checkKeys(t, files); seen < 100 {
		t.Errorf("found only %d string keys in the admin screens: is the pattern still right?", seen)
	}
}

// TestSimulatorNamesOnlyKnownStrings is the same for the demo's customer
// simulator page, which shows these strings too: in its script and in its
// HTML's data-i18n attributes.
func TestSimulatorNamesOnlyKnownStrings(t *testing.T) {
	if seen := checkKeys(t, []string{"../simulator/assets/app.js", "../simulator/assets/index.html"}); seen < 15 {
		t.Errorf("found only %d string keys in the simulator's page: is the pattern still right?", seen)
	}
}

// checkKeys fails t for each key files name that no strings file
// defines, and returns how many keys it found.
func checkKeys(t *testing.T, files []string) int {
	t.Helper()
	tr, err := console.LoadStrings()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			t.Fatal(err)
		}
		re := stringKey
		if strings.HasSuffix(f, ".html") {
			re = htmlKey
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			seen++
			if _, ok := tr["en"][m[1]]; !ok && !strings.HasSuffix(m[1], ".js") {
				t.Errorf("%s names string %q, which no strings file defines", f, m[1])
			}
		}
	}
	return seen
}
