package console

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The console's live stream (static/js/live.js) recovers from what
// EventSource does not: its reconnect answered with anything but a stream
// (a 401 at the session's end, a proxy's 502 during a restart) closes it
// for good. The script is run in node against a fake EventSource and
// fetch (testdata/live.test.mjs); without node the test is skipped.
func TestLiveStreamReopens(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed")
	}
	dir := t.TempDir()
	for _, f := range []string{"static/js/live.js", "static/js/api.js", "testdata/live.test.mjs"} {
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
	cmd := exec.Command(node, "--test", "live.test.mjs")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
}
