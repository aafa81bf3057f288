package console

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The console's scripts that hold session logic, run in node against a
// fake EventSource and fetch (testdata/*.test.mjs); without node the test
// is skipped. live.test.mjs: the live stream recovers from what
// EventSource does not (its reconnect answered with anything but a
// stream, a 401 at the session's end or a proxy's 502 during a restart,
// closes it for good). api.test.mjs: a logout the server did not carry
// out is not reported as one. i18n.test.mjs: a team time zone the
// browser does not know leaves dates in the browser's zone.
func TestConsoleScripts(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("SWITCHBOARD_TEST_NODE") == "require" {
			t.Fatal("node is not installed, and SWITCHBOARD_TEST_NODE=require (CI) says these tests must run")
		}
		t.Skip("node is not installed")
	}
	dir := t.TempDir()
	for _, f := range []string{"static/js/live.js", "static/js/api.js", "static/js/i18n.js", "testdata/live.test.mjs", "testdata/api.test.mjs", "testdata/i18n.test.mjs"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The console's scripts are ES modules, as the page loads them.
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"type": "module"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "--test", "live.test.mjs", "api.test.mjs", "i18n.test.mjs")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
}
