package blobs_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"docket/blobs"
	"docket/blobs/blobstest"
)

// benchSize is the blob the benchmarks move.
const benchSize = 50 << 20

// heapPeak samples the heap while a benchmark runs, every half
// millisecond, and stop reports two metrics, each the peak over its value
// at start (after a GC):
//
//   - peak-heap-B: the heap's objects, live and garbage not yet swept;
//     garbage makes it grow with the allocation rate and the GC's pacing
//     (GOGC), so it is an upper bound;
//   - peak-live-B: the live heap as of the last GC, which is what is
//     retained: flat means the reader does not buffer.
type heapPeak struct {
	base, peak [2]uint64
	stopc      chan struct{}
	wg         sync.WaitGroup
}

func heapSample() [2]uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return [2]uint64{s[0].Value.Uint64(), s[1].Value.Uint64()}
}

func startHeapPeak() *heapPeak {
	runtime.GC()
	h := &heapPeak{base: heapSample(), stopc: make(chan struct{})}
	h.peak = h.base
	h.wg.Go(func() {
		tick := time.NewTicker(500 * time.Microsecond)
		defer tick.Stop()
		for {
			select {
			case <-h.stopc:
				return
			case <-tick.C:
				v := heapSample()
				h.peak[0], h.peak[1] = max(h.peak[0], v[0]), max(h.peak[1], v[1])
			}
		}
	})
	return h
}

func (h *heapPeak) stop(b *testing.B) {
	close(h.stopc)
	h.wg.Wait()
	b.ReportMetric(float64(h.peak[0]-h.base[0]), "peak-heap-B")
	b.ReportMetric(float64(h.peak[1]-h.base[1]), "peak-live-B")
}

func benchObjectStore(b *testing.B) *blobs.ObjectStore {
	s, err := blobs.NewObjectStore(context.Background(), newJetStream(b), blobs.ObjectStoreOptions{TempDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func benchDiskStore(b *testing.B) *blobs.DiskStore {
	s, err := blobs.NewDiskStore(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkObjectStorePut(b *testing.B)  { benchPut(b, benchObjectStore(b)) }
func BenchmarkDiskStorePut(b *testing.B)    { benchPut(b, benchDiskStore(b)) }
func BenchmarkObjectStoreRead(b *testing.B) { benchRead(b, benchObjectStore(b), 0) }
func BenchmarkDiskStoreRead(b *testing.B)   { benchRead(b, benchDiskStore(b), 0) }

// BenchmarkObjectStoreReadSlow reads 32 KiB a millisecond (about 30
// MB/s): the heap stays flat. (Its peak-live-B is mostly the embedded
// server's file store cache; TestObjectStoreReadHeapFlat tells the two
// apart: the client holds about 1 MiB.)
func BenchmarkObjectStoreReadSlow(b *testing.B) { benchRead(b, benchObjectStore(b), time.Millisecond) }

// benchPut stores a new 50 MiB blob each time, from a reader that makes
// it up (so that no copy of it sits in the heap).
func benchPut(b *testing.B, s blobs.Store) {
	ctx := context.Background()
	b.SetBytes(benchSize)
	h := startHeapPeak()
	var seed uint64
	for b.Loop() {
		seed++
		r := io.LimitReader(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)}), benchSize)
		if _, err := s.Put(ctx, r, 0); err != nil {
			b.Fatal(err)
		}
	}
	h.stop(b)
}

// benchRead opens and reads a 50 MiB blob, 32 KiB at a time, pausing
// between reads.
func benchRead(b *testing.B, s blobs.Store, pause time.Duration) {
	ctx := context.Background()
	info, err := s.Put(ctx, bytes.NewReader(blobstest.Random(2, benchSize)), 0)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchSize)
	h := startHeapPeak()
	for b.Loop() {
		blob, err := s.Open(ctx, info.Hash)
		if err != nil {
			b.Fatal(err)
		}
		if n := readSlowly(b, blob, pause); n != benchSize {
			b.Fatalf("read %d bytes", n)
		}
		blob.Close()
	}
	h.stop(b)
}

func readSlowly(b *testing.B, r io.Reader, pause time.Duration) int64 {
	buf := make([]byte, 32<<10)
	var n int64
	for {
		m, err := r.Read(buf)
		n += int64(m)
		if err == io.EOF {
			return n
		}
		if err != nil {
			b.Fatal(err)
		}
		if pause > 0 {
			time.Sleep(pause)
		}
	}
}

// BenchmarkJetStreamGetSlow is the reader ObjectStore.Open replaces:
// nats.go's ObjectStore.Get, read as slowly. The server pushes chunks
// ahead of the reader, and the client holds them: tens of MiB more than
// BenchmarkObjectStoreReadSlow, growing with the object up to the
// subscription's pending limit (64 MiB).
func BenchmarkJetStreamGetSlow(b *testing.B) {
	ctx := context.Background()
	js := newJetStream(b)
	obs, err := js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{Bucket: "get"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := obs.PutBytes(ctx, "blob", blobstest.Random(3, benchSize)); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(benchSize)
	h := startHeapPeak()
	for b.Loop() {
		r, err := obs.Get(ctx, "blob")
		if err != nil {
			b.Fatal(err)
		}
		if n := readSlowly(b, r, time.Millisecond); n != benchSize {
			b.Fatalf("read %d bytes", n)
		}
		r.Close()
	}
	h.stop(b)
}
