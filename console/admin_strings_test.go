package console_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"switchboard/console"
)

// stringKey finds the keys the administration screens name literally: in
// t('...') calls and as a field's label, title, intro, hint or addLabel.
var stringKey = regexp.MustCompile(`(?:\bt\(|\b(?:label|title|intro|hint|addLabel|add): )'([a-z_]+\.[a-zA-Z0-9_.-]+)'`)

// TestAdminScreensNameOnlyKnownStrings fails when a screen names a string
// no strings/*.json defines: the console would show the raw key.
func TestAdminScreensNameOnlyKnownStrings(t *testing.T) {
	tr, err := console.LoadStrings()
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"static/js/forms.js", "static/js/views.js", "static/js/monitor.js", "static/js/reports.js", "static/js/csat.js"}
	admin, _ := filepath.Glob("static/js/admin/*.js")
	files = append(files, admin...)
	seen := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			t.Fatal(err)
		}
		for _, m := range stringKey.FindAllStringSubmatch(string(b), -1) {
			seen++
			if _, ok := tr["en"][m[1]]; !ok && !strings.HasSuffix(m[1], ".js") {
				t.Errorf("%s names string %q, which no strings file defines", f, m[1])
			}
		}
	}
	if seen < 100 {
		t.Errorf("found only %d string keys in the admin screens: is the pattern still right?", seen)
	}
}
