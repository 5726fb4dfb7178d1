package blobs_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"docket/blobs"
)

// NewDiskStore removes the spool files a crash left behind, and only
// those.
func TestDiskStoreRemovesStaleSpools(t *testing.T) {
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o750); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"put-old", "put-new", "other"} {
		if err := os.WriteFile(filepath.Join(tmp, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-48 * time.Hour)
	for _, name := range []string{"put-old", "other"} {
		if err := os.Chtimes(filepath.Join(tmp, name), old, old); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := blobs.NewDiskStore(dir); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"put-old": false, "put-new": true, "other": true} {
		if _, err := os.Stat(filepath.Join(tmp, name)); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", name, err == nil, want)
		}
	}
}
