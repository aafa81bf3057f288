package blob_test

import (
	"os"
	"path/filepath"
	"testing"

	"switchboard/blob"
	"switchboard/blob/blobtest"
)

func TestDir(t *testing.T) {
	dir := t.TempDir()
	s, err := blob.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	blobtest.Run(t, s)
	// Nothing of the failed write is left in the directory.
	var stray []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, _ error) error {
		if !d.IsDir() {
			stray = append(stray, p)
		}
		return nil
	})
	if len(stray) != 0 {
		t.Fatalf("files left behind: %v", stray)
	}
}
