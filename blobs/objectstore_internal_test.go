package blobs

// Tests of the ObjectStore's own mechanics, beyond the conformance suite
// (store_test.go): how many chunks reads transfer, interleaved chunks,
// what failures leave in the stream, and its memory.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/nats-io/nats.go/jetstream"

	"docket/eventlog/eventlogtest"
)

func startJetStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(eventlogtest.Start(t, "").Conn)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func newTestObjectStore(t *testing.T, js jetstream.JetStream, opts ObjectStoreOptions) *ObjectStore {
	t.Helper()
	if opts.TempDir == "" {
		opts.TempDir = t.TempDir()
	}
	s, err := NewObjectStore(context.Background(), js, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func random(seed uint64, n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed)}).Read(b)
	return b
}

func hashOf(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// streamMsgs counts the messages in the bucket's stream: chunks and metas.
func streamMsgs(t *testing.T, s *ObjectStore) uint64 {
	t.Helper()
	si, err := s.stream.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return si.State.Msgs
}

func mustPut(t *testing.T, s *ObjectStore, content []byte) Info {
	t.Helper()
	info, err := s.Put(context.Background(), bytes.NewReader(content), 0)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func openObject(t *testing.T, s *ObjectStore, hash string) *objectBlob {
	t.Helper()
	b, err := s.Open(context.Background(), hash)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b.(*objectBlob)
}

// readAt seeks b to off and reads n bytes (fewer at the end), checking
// them against content.
func readAt(t *testing.T, b *objectBlob, content []byte, off int64, n int) {
	t.Helper()
	if _, err := b.Seek(off, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	p := make([]byte, n)
	m, err := io.ReadFull(b, p)
	want := content[off:min(off+int64(n), int64(len(content)))]
	if !bytes.Equal(p[:m], want) || (m < n && err != io.ErrUnexpectedEOF && err != io.EOF) {
		t.Fatalf("read %d at %d: %d bytes (%v), differ from content", n, off, m, err)
	}
}

// Reads transfer only the chunks they need: a seek skips chunks without
// fetching them, and reading on fetches each chunk once.
func TestObjectStoreReadTransfers(t *testing.T) {
	s := newTestObjectStore(t, startJetStream(t), ObjectStoreOptions{ChunkSize: 1000})
	s.readAhead = 4000 // 4 chunks a fetch
	content := random(1, 100_500)
	info := mustPut(t, s, content)
	const chunks = 101

	b := openObject(t, s, info.Hash)
	if got, err := io.ReadAll(b); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("ReadAll: %d bytes, %v", len(got), err)
	}
	if b.fetched != chunks {
		t.Errorf("reading it all fetched %d chunks, want %d", b.fetched, chunks)
	}

	for k := int64(0); k < chunks; k += 9 {
		b := openObject(t, s, info.Hash)
		readAt(t, b, content, k*1000+123, 10)
		if want := min(4, chunks-int(k)); b.fetched != want {
			t.Errorf("seek to chunk %d: fetched %d chunks, want %d", k, b.fetched, want)
		}
		// Back to an earlier chunk: one fetch, found from the buffered
		// chunks' sequences.
		readAt(t, b, content, k/2*1000+999, 2)
		if want := min(4, chunks-int(k)) + min(4, chunks-int(k/2)); k > 0 && b.fetched != want {
			t.Errorf("seek back from chunk %d to %d: fetched %d chunks in all, want %d", k, k/2, b.fetched, want)
		}
	}
}

// noisyReader gives nats.go's ObjectStore.Put full chunks and, before
// each after the first, publishes other messages to the stream, so that
// the object's chunks are not contiguous. (Put publishes a chunk before
// reading the next, on the same connection: the order is deterministic.)
type noisyReader struct {
	r     io.Reader
	js    jetstream.JetStream
	noise string
	i     int
}

func (n *noisyReader) Read(p []byte) (int, error) {
	if n.i > 0 {
		for j := range n.i * 7 % 5 {
			if _, err := n.js.Publish(context.Background(), n.noise, []byte{byte(j)}); err != nil {
				return 0, err
			}
		}
	}
	n.i++
	m, err := io.ReadFull(n.r, p)
	if err == io.ErrUnexpectedEOF {
		err = nil
	}
	return m, err
}

// Seeks find chunks among other objects' by bisection: a few chunks
// transferred, never those skipped. The object is written by nats.go, so
// this also reads what another client wrote.
func TestObjectStoreReadInterleaved(t *testing.T) {
	ctx := context.Background()
	js := startJetStream(t)
	s := newTestObjectStore(t, js, ObjectStoreOptions{})
	s.readAhead = 4000
	const chunks = 60
	content := random(2, chunks*1000-300)
	hash := hashOf(content)
	r := &noisyReader{r: bytes.NewReader(content), js: js, noise: chunkSubject(s.bucket, "noise")}
	if _, err := s.obs.Put(ctx, jetstream.ObjectMeta{Name: hash, Opts: &jetstream.ObjectMetaOptions{ChunkSize: 1000}}, r); err != nil {
		t.Fatal(err)
	}
	b := openObject(t, s, hash)
	if b.chunks != chunks || b.metaSeq < 2*chunks {
		t.Fatalf("object has %d chunks, meta at %d: not interleaved", b.chunks, b.metaSeq)
	}
	// Seeking to any chunk costs at most a first batch, a bisection,
	// then the batch read on.
	bound := 4 + bits.Len64(b.metaSeq) + 4
	worst := 0
	for k := range int64(chunks) {
		b := openObject(t, s, hash)
		readAt(t, b, content, k*1000+k, 1500)
		worst = max(worst, b.fetched)
	}
	t.Logf("%d chunks among %d messages: at most %d chunks fetched for a seek and a read of 1500 bytes (bound %d)", chunks, b.metaSeq, worst, bound)
	if worst > bound {
		t.Errorf("a seek fetched %d chunks, want at most %d", worst, bound)
	}
	// Random seeks in one blob; then the whole of it.
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		readAt(t, b, content, rnd.Int64N(int64(len(content))), rnd.IntN(3000)+1)
	}
	if _, err := b.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(b); err != nil || !bytes.Equal(got, content) {
		t.Fatalf("ReadAll: %d bytes, %v", len(got), err)
	}
}

func TestObjectStoreDeleteWhileReading(t *testing.T) {
	s := newTestObjectStore(t, startJetStream(t), ObjectStoreOptions{ChunkSize: 1000})
	s.readAhead = 4000
	content := random(3, 20_000)
	info := mustPut(t, s, content)
	b := openObject(t, s, info.Hash)
	readAt(t, b, content, 0, 10)
	if err := s.Delete(context.Background(), info.Hash); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(b)
	if !errors.Is(err, ErrNotFound) || len(got) != 4000-10 {
		t.Errorf("read on after Delete: %d bytes, %v; want the 3990 buffered, then ErrNotFound", len(got), err)
	}
}

// shortFirst returns one byte less than asked the first time.
type shortFirst struct {
	r    io.Reader
	done bool
}

func (s *shortFirst) Read(p []byte) (int, error) {
	if !s.done {
		s.done = true
		p = p[:len(p)-1]
	}
	return s.r.Read(p)
}

// Objects of chunks of varying sizes (written by other clients from
// short reads) cannot be read by position: they are refused, never read
// wrong.
func TestObjectStoreIrregularChunks(t *testing.T) {
	ctx := context.Background()
	s := newTestObjectStore(t, startJetStream(t), ObjectStoreOptions{})
	meta := func(hash string) jetstream.ObjectMeta {
		return jetstream.ObjectMeta{Name: hash, Opts: &jetstream.ObjectMetaOptions{ChunkSize: 1000}}
	}
	content := random(9, 10_500)
	if _, err := s.obs.Put(ctx, meta(hashOf(content)), iotest.HalfReader(bytes.NewReader(content))); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, hashOf(content)); !errors.Is(err, errIrregular) {
		t.Errorf("Open of an object in 500-byte chunks = %v, want errIrregular", err)
	}
	content = random(10, 10_500) // 999, 9 × 1000, 501 bytes: 11 chunks, as if regular
	if _, err := s.obs.Put(ctx, meta(hashOf(content)), &shortFirst{r: bytes.NewReader(content)}); err != nil {
		t.Fatal(err)
	}
	b := openObject(t, s, hashOf(content))
	if _, err := io.ReadAll(b); !errors.Is(err, errIrregular) {
		t.Errorf("reading an object with a short first chunk = %v, want errIrregular", err)
	}
}

// cancelAfter reads from r and cancels its context after n reads.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.n--; c.n == 0 {
		c.cancel()
	}
	return c.r.Read(p)
}

// Failed uploads leave no message in the stream: their chunks are purged.
func TestObjectStoreFailuresLeaveNothing(t *testing.T) {
	ctx := context.Background()
	js := startJetStream(t)
	s := newTestObjectStore(t, js, ObjectStoreOptions{ChunkSize: 1000})
	content := random(4, 50_500)

	// Cancelled half-way through the upload (after spooling).
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := &cancelAfter{r: bytes.NewReader(content), n: 20, cancel: cancel}
	if err := s.upload(cctx, r, hashOf(content), int64(len(content)), 0); !errors.Is(err, context.Canceled) {
		t.Errorf("upload cancelled half-way = %v, want context.Canceled", err)
	}
	if n := streamMsgs(t, s); n != 0 {
		t.Errorf("cancelled upload left %d messages", n)
	}
	// A content that is not what spooling hashed is not stored.
	if err := s.upload(ctx, bytes.NewReader(content), hashOf([]byte("other")), int64(len(content)), 0); err == nil {
		t.Errorf("upload under another hash succeeded")
	}
	if n := streamMsgs(t, s); n != 0 {
		t.Errorf("refused upload left %d messages", n)
	}

	// A bucket that is full refuses the upload part-way.
	full := newTestObjectStore(t, js, ObjectStoreOptions{Bucket: "full", MaxBytes: 30_000, ChunkSize: 1000})
	if _, err := full.Put(ctx, bytes.NewReader(content), 0); err == nil || errors.Is(err, ErrTooLarge) {
		t.Errorf("Put into a full bucket = %v, want a JetStream error", err)
	}
	if n := streamMsgs(t, full); n != 0 {
		t.Errorf("upload into a full bucket left %d messages", n)
	}
	if _, err := full.Put(ctx, bytes.NewReader(content[:10_000]), 0); err != nil {
		t.Errorf("Put of what fits: %v", err)
	}
}

// A content is stored once, even by concurrent Puts in two processes
// (here two ObjectStores on one bucket, which share no lock).
func TestObjectStoreStoredOnceAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	js := startJetStream(t)
	a := newTestObjectStore(t, js, ObjectStoreOptions{ChunkSize: 1000})
	b := newTestObjectStore(t, js, ObjectStoreOptions{ChunkSize: 1000})
	content := random(5, 30_000) // 30 chunks

	var wg sync.WaitGroup
	infos := make([]Info, 16)
	for i := range infos {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			var err error
			if infos[i], err = s.Put(ctx, bytes.NewReader(content), 0); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i := range infos {
		if infos[i] != infos[0] {
			t.Errorf("Put %d = %+v, want %+v", i, infos[i], infos[0])
		}
	}
	if n := streamMsgs(t, a); n != 30+1 {
		t.Errorf("stream holds %d messages, want 30 chunks and a meta", n)
	}

	// The loser of a race purges its chunks and reports it.
	if err := a.upload(ctx, bytes.NewReader(content), infos[0].Hash, int64(len(content)), 0); !errors.Is(err, errStoredMeanwhile) {
		t.Errorf("upload over a stored content = %v, want errStoredMeanwhile", err)
	}
	if n := streamMsgs(t, a); n != 30+1 {
		t.Errorf("after a lost race the stream holds %d messages, want 31", n)
	}

	// Deleted by one, stored again by the other (over the deletion marker).
	if err := b.Delete(ctx, infos[0].Hash); err != nil {
		t.Fatal(err)
	}
	again := mustPut(t, a, content)
	if got, err := io.ReadAll(openObject(t, b, again.Hash)); err != nil || !bytes.Equal(got, content) {
		t.Errorf("read after Delete and Put: %d bytes, %v", len(got), err)
	}
}

// Objects this store writes are ordinary objects: nats.go reads them and
// verifies their digest.
func TestObjectStoreInterop(t *testing.T) {
	ctx := context.Background()
	s := newTestObjectStore(t, startJetStream(t), ObjectStoreOptions{})
	content := random(6, 3*DefaultChunkSize+17)
	info := mustPut(t, s, content)
	got, err := s.obs.GetBytes(ctx, info.Hash)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("nats.go GetBytes: %d bytes, %v", len(got), err)
	}
	oi, err := s.obs.GetInfo(ctx, info.Hash)
	if err != nil || oi.Size != uint64(len(content)) || oi.Chunks != 4 || !oi.ModTime.Equal(info.Created) {
		t.Fatalf("nats.go GetInfo = %+v, %v", oi, err)
	}
}

// heapProfileRate samples allocations for clientHeap: every allocation
// of a chunk (tens of KiB and more) is sampled.
const heapProfileRate = 4 << 10

// clientHeap forces a GC and returns the heap in use as the heap profile
// sees it: all of it, and the part not allocated by the embedded NATS
// server (whose file store keeps recently used 8 MiB blocks in memory,
// a few of them whatever the blobs' sizes), i.e. this client's.
func clientHeap(fromServer map[[32]uintptr]bool) (client, total float64) {
	runtime.GC()
	n, _ := runtime.MemProfile(nil, false)
	recs := make([]runtime.MemProfileRecord, n+100)
	n, ok := runtime.MemProfile(recs, false)
	if !ok {
		return clientHeap(fromServer)
	}
	for _, r := range recs[:n] {
		if r.InUseObjects() == 0 {
			continue
		}
		// Scale the samples as pprof does.
		avg := float64(r.AllocBytes) / float64(r.AllocObjects)
		b := float64(r.InUseBytes()) / (1 - math.Exp(-avg/heapProfileRate))
		total += b
		srv, seen := fromServer[r.Stack0]
		if !seen {
			frames := runtime.CallersFrames(r.Stack())
			for f, more := frames.Next(); more || f.Function != ""; f, more = frames.Next() {
				if strings.Contains(f.Function, "nats-server/v2/server.") {
					srv = true
					break
				}
				if !more {
					break
				}
			}
			fromServer[r.Stack0] = srv
		}
		if !srv {
			client += b
		}
	}
	return client, total
}

// The heap stays flat while a large blob is read slowly: the reader holds
// one batch of chunks, and fetches nothing while the caller is away.
// (nats.go's ObjectStore.Get, read so, holds tens of MiB of chunks pushed
// ahead: see BenchmarkJetStreamGetSlow.)
func TestObjectStoreReadHeapFlat(t *testing.T) {
	const size = 64 << 20
	const bound = 4 << 20 // readAhead and the NATS client's buffers
	defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
	runtime.MemProfileRate = heapProfileRate

	ctx := context.Background()
	s := newTestObjectStore(t, startJetStream(t), ObjectStoreOptions{})
	info, err := s.Put(ctx, io.LimitReader(rand.NewChaCha8([32]byte{7}), size), 0)
	if err != nil {
		t.Fatal(err)
	}
	b := openObject(t, s, info.Hash)
	h := sha256.New()
	buf := make([]byte, 1<<20)
	fromServer := map[[32]uintptr]bool{}
	base, baseTotal := clientHeap(fromServer)
	var peak, peakTotal float64
	for {
		n, err := io.ReadFull(b, buf)
		h.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		// Measuring takes a while, time a pushing server would use to push.
		c, total := clientHeap(fromServer)
		peak, peakTotal = max(peak, c-base), max(peakTotal, total-baseTotal)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != info.Hash {
		t.Fatalf("read content hashes to %s, want %s", got, info.Hash)
	}
	t.Logf("reading %d MiB slowly, the heap grew by %.1f MiB at most: %.1f MiB this client's, the rest the embedded server's",
		size>>20, peakTotal/(1<<20), peak/(1<<20))
	if peak > bound {
		t.Errorf("the client's heap grew by %.1f MiB while reading %d MiB, want under %d MiB", peak/(1<<20), size>>20, bound>>20)
	}
}

// Nor does the heap grow while a large blob is stored: it streams through
// a file and goes out a few chunks at a time.
func TestObjectStorePutHeapFlat(t *testing.T) {
	const size = 64 << 20
	const bound = 4 << 20
	defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
	runtime.MemProfileRate = heapProfileRate

	s := newTestObjectStore(t, startJetStream(t), ObjectStoreOptions{})
	fromServer := map[[32]uintptr]bool{}
	base, baseTotal := clientHeap(fromServer)
	done := make(chan error)
	go func() {
		_, err := s.Put(context.Background(), io.LimitReader(rand.NewChaCha8([32]byte{8}), size), 0)
		done <- err
	}()
	var peak, peakTotal float64
	for samples := 0; ; samples++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("storing %d MiB, the heap grew by %.1f MiB at most (%d samples): %.1f MiB this client's, the rest the embedded server's",
				size>>20, peakTotal/(1<<20), samples, peak/(1<<20))
			if peak > bound {
				t.Errorf("the client's heap grew by %.1f MiB while storing %d MiB, want under %d MiB", peak/(1<<20), size>>20, bound>>20)
			}
			return
		default:
			c, total := clientHeap(fromServer)
			peak, peakTotal = max(peak, c-base), max(peakTotal, total-baseTotal)
		}
	}
}
