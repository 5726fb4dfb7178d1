package blobs_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"docket/blobs"
	"docket/blobs/blobstest"
	"docket/eventlog/eventlogtest"
)

// newJetStream starts an embedded NATS server with JetStream storing in a
// temporary directory, for the test and its subtests.
func newJetStream(t testing.TB) jetstream.JetStream {
	t.Helper()
	env := eventlogtest.Start(t, "")
	js, err := jetstream.New(env.Conn)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// wantNoFiles fails t if dir holds files when the test ends: uploads'
// temporary files must always be removed.
func wantNoFiles(t *testing.T, dir string) {
	t.Cleanup(func() {
		es, err := os.ReadDir(dir)
		if err != nil {
			t.Error(err)
		}
		for _, e := range es {
			t.Errorf("temporary file left: %s", filepath.Join(dir, e.Name()))
		}
	})
}

func TestObjectStore(t *testing.T) {
	js := newJetStream(t)
	var n atomic.Int64
	blobstest.Conformance(t, func(t *testing.T) blobs.Store {
		tmp := t.TempDir()
		wantNoFiles(t, tmp)
		s, err := blobs.NewObjectStore(context.Background(), js, blobs.ObjectStoreOptions{
			Bucket:  fmt.Sprintf("test_%d", n.Add(1)),
			TempDir: tmp,
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestDiskStore(t *testing.T) {
	blobstest.Conformance(t, func(t *testing.T) blobs.Store {
		dir := t.TempDir()
		s, err := blobs.NewDiskStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		wantNoFiles(t, filepath.Join(dir, "tmp"))
		return s
	})
}
