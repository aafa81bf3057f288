package main

import "testing"

// inScratchDir moves the test into a directory of its own and returns
// it: the commands open their placeholder database (switchboard.db) in
// the working directory, which must be neither the source tree nor
// another test's.
func inScratchDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	return dir
}
