package blobs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"docket/blobs"
	"docket/eventlog/eventlogtest"
)

// TestClusterReadsWhatAnotherNodeStored stores blobs through one node of
// a three-node cluster (an R3 bucket) and reads each through the others
// the moment Put returned: a replica that lags must not make a stored
// file "not found".
func TestClusterReadsWhatAnotherNodeStored(t *testing.T) {
	ctx := context.Background()
	envs := eventlogtest.StartCluster(t, 3)
	var stores []blobs.Store
	for _, e := range envs {
		s, err := blobs.NewObjectStore(ctx, e.Log.JetStream(), blobs.ObjectStoreOptions{
			Replicas: 3, TempDir: t.TempDir(), ChunkSize: 1 << 10})
		if err != nil {
			t.Fatal(err)
		}
		stores = append(stores, s)
	}
	st, err := envs[0].Log.JetStream().Stream(ctx, "OBJ_docket_files")
	if err != nil || st.CachedInfo().Config.Replicas != 3 {
		t.Fatalf("bucket stream: %v %v", st, err)
	}
	for i := range 60 {
		content := bytes.Repeat([]byte(fmt.Sprintf("blob %d;", i)), 500) // a few chunks
		info, err := stores[i%3].Put(ctx, bytes.NewReader(content), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for _, other := range []blobs.Store{stores[(i+1)%3], stores[(i+2)%3]} {
			b, err := other.Open(ctx, info.Hash)
			if err != nil {
				t.Fatalf("blob %d through another node: %v", i, err)
			}
			got, err := io.ReadAll(b)
			b.Close()
			if err != nil || !bytes.Equal(got, content) {
				t.Fatalf("blob %d through another node: %d bytes, %v", i, len(got), err)
			}
		}
	}
	if _, err := stores[1].Stat(ctx, strings.Repeat("ab", 32)); !errors.Is(err, blobs.ErrNotFound) {
		t.Fatalf("stat of a missing blob: %v", err)
	}
}
