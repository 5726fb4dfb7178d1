// Package blobstest holds the conformance suite every blobs.Store
// implementation must pass.
package blobstest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"testing/iotest"

	"docket/blobs"
)

// LargeSize is the size of the one large blob the suite round-trips.
const LargeSize = 50 << 20

// Conformance runs the suite against the stores newStore makes: each
// subtest calls it once and expects an empty store.
func Conformance(t *testing.T, newStore func(t *testing.T) blobs.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s blobs.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"Large", testLarge},
		{"Limit", testLimit},
		{"TruncatedUpload", testTruncated},
		{"CancelledUpload", testCancelled},
		{"StoredOnce", testStoredOnce},
		{"NotFound", testNotFound},
		{"Delete", testDelete},
		{"List", testList},
		{"Seek", testSeek},
		{"ConcurrentReaders", testConcurrentReaders},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

// Random returns n pseudo-random bytes, the same for the same seed.
func Random(seed uint64, n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(seed >> 16), byte(seed >> 24)})
	r.Read(b)
	return b
}

// Hash is the blob key of content.
func Hash(content []byte) string {
	h := sha256.Sum256(content)
	return hex.EncodeToString(h[:])
}

func put(t *testing.T, s blobs.Store, content []byte) blobs.Info {
	t.Helper()
	info, err := s.Put(context.Background(), bytes.NewReader(content), 0)
	if err != nil {
		t.Fatalf("Put(%d bytes): %v", len(content), err)
	}
	if info.Hash != Hash(content) || info.Size != int64(len(content)) || info.Created.IsZero() {
		t.Fatalf("Put(%d bytes) = %+v, want hash %s", len(content), info, Hash(content))
	}
	return info
}

// list returns the store's blobs by hash.
func list(t *testing.T, s blobs.Store) map[string]blobs.Info {
	t.Helper()
	m := map[string]blobs.Info{}
	err := s.List(context.Background(), func(i blobs.Info) error {
		if _, dup := m[i.Hash]; dup {
			t.Errorf("List: %s twice", i.Hash)
		}
		m[i.Hash] = i
		return nil
	})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	return m
}

func wantEmpty(t *testing.T, s blobs.Store) {
	t.Helper()
	if m := list(t, s); len(m) != 0 {
		t.Errorf("List: %d blobs, want none", len(m))
	}
}

func sameInfo(a, b blobs.Info) bool {
	return a.Hash == b.Hash && a.Size == b.Size && a.Created.Equal(b.Created)
}

func open(t *testing.T, s blobs.Store, hash string) blobs.Blob {
	t.Helper()
	b, err := s.Open(context.Background(), hash)
	if err != nil {
		t.Fatalf("Open(%s): %v", hash, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// readAll opens hash, checks its Info against want and returns its bytes.
func readAll(t *testing.T, s blobs.Store, want blobs.Info) []byte {
	t.Helper()
	b := open(t, s, want.Hash)
	if !sameInfo(b.Info(), want) {
		t.Errorf("Open(%s).Info() = %+v, want %+v", want.Hash, b.Info(), want)
	}
	got, err := io.ReadAll(b)
	if err != nil {
		t.Fatalf("read %s: %v", want.Hash, err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	return got
}

func testRoundTrip(t *testing.T, s blobs.Store) {
	ctx := context.Background()
	for _, content := range [][]byte{[]byte("hello, world\n"), {}, Random(1, 300<<10+7)} {
		info := put(t, s, content)
		if got := readAll(t, s, info); !bytes.Equal(got, content) {
			t.Errorf("read back %d bytes, want the %d put", len(got), len(content))
		}
		st, err := s.Stat(ctx, info.Hash)
		if err != nil || !sameInfo(st, info) {
			t.Errorf("Stat = %+v, %v; want %+v", st, err, info)
		}
	}
	// Readers that return little at a time, or data with io.EOF.
	content := Random(2, 10_000)
	first := put(t, s, content)
	for _, r := range []io.Reader{
		iotest.OneByteReader(bytes.NewReader(content)),
		iotest.DataErrReader(bytes.NewReader(content)),
		iotest.HalfReader(bytes.NewReader(content)),
	} {
		if info, err := s.Put(ctx, r, int64(len(content))); err != nil || !sameInfo(info, first) {
			t.Errorf("Put = %+v, %v; want %+v", info, err, first)
		}
	}
	// Read after Close fails.
	b := open(t, s, Hash(content))
	b.Close()
	if _, err := b.Read(make([]byte, 10)); err == nil {
		t.Errorf("Read after Close: no error")
	}
}

func testLarge(t *testing.T, s blobs.Store) {
	content := Random(3, LargeSize)
	info := put(t, s, content)
	b := open(t, s, info.Hash)
	h := sha256.New()
	n, err := io.Copy(h, b)
	if err != nil || n != LargeSize || hex.EncodeToString(h.Sum(nil)) != info.Hash {
		t.Fatalf("read %d bytes, %v, hash %x; want %d bytes, hash %s", n, err, h.Sum(nil), LargeSize, info.Hash)
	}
	// Seek back and forth over it, then read it all again.
	checkSeeks(t, b, content, seekOffsets(LargeSize))
	if _, err := b.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(b)
	if err != nil || !bytes.Equal(got, content) {
		t.Fatalf("read again: %d bytes, %v; want the %d put", len(got), err, len(content))
	}
}

func testLimit(t *testing.T, s blobs.Store) {
	ctx := context.Background()
	const max = 10_000
	content := Random(4, max+1)
	if _, err := s.Put(ctx, bytes.NewReader(content), max); !errors.Is(err, blobs.ErrTooLarge) {
		t.Errorf("Put(max+1 bytes) = %v, want ErrTooLarge", err)
	}
	// An endless body is not read to its end.
	r := &countingReader{r: rand.NewChaCha8([32]byte{})}
	if _, err := s.Put(ctx, r, max); !errors.Is(err, blobs.ErrTooLarge) {
		t.Errorf("Put(endless) = %v, want ErrTooLarge", err)
	}
	if r.n > max+1 {
		t.Errorf("Put(endless) read %d bytes, want at most %d", r.n, max+1)
	}
	wantEmpty(t, s)
	if _, err := s.Stat(ctx, Hash(content)); !errors.Is(err, blobs.ErrNotFound) {
		t.Errorf("Stat of a refused blob = %v, want ErrNotFound", err)
	}
	info, err := s.Put(ctx, bytes.NewReader(content[:max]), max)
	if err != nil || info.Size != max || info.Hash != Hash(content[:max]) {
		t.Errorf("Put(max bytes) = %+v, %v", info, err)
	}
	// max <= 0: no limit.
	for _, m := range []int64{0, -1} {
		if _, err := s.Put(ctx, bytes.NewReader(content), m); err != nil {
			t.Errorf("Put(max %d) = %v", m, err)
		}
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func testTruncated(t *testing.T, s blobs.Store) {
	r := io.MultiReader(bytes.NewReader(Random(5, 200<<10)), iotest.ErrReader(io.ErrUnexpectedEOF))
	if _, err := s.Put(context.Background(), r, 0); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("Put(truncated) = %v, want io.ErrUnexpectedEOF", err)
	}
	wantEmpty(t, s)
}

// cancellingReader returns data and cancels its context on its third
// Read.
type cancellingReader struct {
	cancel context.CancelFunc
	reads  int
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	if c.reads++; c.reads == 3 {
		c.cancel()
	}
	return copy(p, bytes.Repeat([]byte{'x'}, 1000)), nil
}

func testCancelled(t *testing.T, s blobs.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := s.Put(ctx, &cancellingReader{cancel: cancel}, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Put(cancelled) = %v, want context.Canceled", err)
	}
	if _, err := s.Put(ctx, bytes.NewReader([]byte("x")), 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Put(ctx done) = %v, want context.Canceled", err)
	}
	wantEmpty(t, s)
}

func testStoredOnce(t *testing.T, s blobs.Store) {
	content := Random(6, 100<<10)
	first := put(t, s, content)
	if again := put(t, s, content); !sameInfo(again, first) {
		t.Errorf("second Put = %+v, want the first's %+v", again, first)
	}
	if m := list(t, s); len(m) != 1 || !sameInfo(m[first.Hash], first) {
		t.Errorf("List = %v, want only %+v", m, first)
	}

	content = Random(7, 300<<10)
	infos := make([]blobs.Info, 16)
	errs := make([]error, 16)
	var wg sync.WaitGroup
	for i := range infos {
		wg.Go(func() {
			infos[i], errs[i] = s.Put(context.Background(), bytes.NewReader(content), 0)
		})
	}
	wg.Wait()
	for i := range infos {
		if errs[i] != nil || !sameInfo(infos[i], infos[0]) || infos[i].Hash != Hash(content) {
			t.Errorf("concurrent Put %d = %+v, %v; want %+v", i, infos[i], errs[i], infos[0])
		}
	}
	if m := list(t, s); len(m) != 2 || !sameInfo(m[infos[0].Hash], infos[0]) {
		t.Errorf("List = %v, want 2 blobs", m)
	}
	if got := readAll(t, s, infos[0]); !bytes.Equal(got, content) {
		t.Errorf("read back differs")
	}
}

func testNotFound(t *testing.T, s blobs.Store) {
	ctx := context.Background()
	put(t, s, []byte("something"))
	for _, h := range []string{Hash([]byte("missing")), "", "../../etc/passwd", "ABCDEF", Hash(nil)[:63] + "G"} {
		if _, err := s.Open(ctx, h); !errors.Is(err, blobs.ErrNotFound) {
			t.Errorf("Open(%q) = %v, want ErrNotFound", h, err)
		}
		if _, err := s.Stat(ctx, h); !errors.Is(err, blobs.ErrNotFound) {
			t.Errorf("Stat(%q) = %v, want ErrNotFound", h, err)
		}
	}
}

func testDelete(t *testing.T, s blobs.Store) {
	ctx := context.Background()
	content := Random(8, 200<<10)
	keep := put(t, s, []byte("kept"))
	info := put(t, s, content)
	if err := s.Delete(ctx, info.Hash); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Stat(ctx, info.Hash); !errors.Is(err, blobs.ErrNotFound) {
		t.Errorf("Stat after Delete = %v, want ErrNotFound", err)
	}
	if _, err := s.Open(ctx, info.Hash); !errors.Is(err, blobs.ErrNotFound) {
		t.Errorf("Open after Delete = %v, want ErrNotFound", err)
	}
	if m := list(t, s); len(m) != 1 || !sameInfo(m[keep.Hash], keep) {
		t.Errorf("List after Delete = %v, want only %+v", m, keep)
	}
	for _, h := range []string{info.Hash, Hash([]byte("never stored")), "not a hash"} {
		if err := s.Delete(ctx, h); err != nil {
			t.Errorf("Delete(%q) of a missing blob = %v", h, err)
		}
	}
	again := put(t, s, content)
	if got := readAll(t, s, again); !bytes.Equal(got, content) {
		t.Errorf("read back after Put, Delete, Put differs")
	}
}

func testList(t *testing.T, s blobs.Store) {
	ctx := context.Background()
	calls := 0
	if err := s.List(ctx, func(blobs.Info) error { calls++; return nil }); err != nil || calls != 0 {
		t.Errorf("List of an empty store: %d calls, %v", calls, err)
	}
	want := map[string]blobs.Info{}
	for i, n := range []int{0, 1, 1000, 200 << 10} {
		info := put(t, s, Random(uint64(10+i), n))
		want[info.Hash] = info
	}
	got := list(t, s)
	if len(got) != len(want) {
		t.Errorf("List: %d blobs, want %d", len(got), len(want))
	}
	for h, w := range want {
		if !sameInfo(got[h], w) {
			t.Errorf("List: %s = %+v, want %+v", h, got[h], w)
		}
	}
	stop := errors.New("stop")
	calls = 0
	if err := s.List(ctx, func(blobs.Info) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Errorf("List stopped by fn: %d calls, %v; want 1, %v", calls, err, stop)
	}
}

// seekOffsets lists positions worth reading from in a blob of size n:
// the ends, around chunk boundaries of likely chunk sizes, the middle,
// and past the end.
func seekOffsets(n int64) []int64 {
	offs := []int64{0, 1, n / 2, n / 3, n - 1, n, n + 1, n + 1000}
	for cs := int64(64 << 10); cs <= 1<<20; cs *= 2 {
		for _, k := range []int64{1, 2, 3, n / cs / 2, n/cs - 1, n / cs} {
			offs = append(offs, k*cs-1, k*cs, k*cs+1)
		}
	}
	offs = slices.DeleteFunc(offs, func(o int64) bool { return o < 0 })
	slices.Sort(offs)
	offs = slices.Compact(offs)
	// Forward, then backward.
	back := slices.Clone(offs)
	slices.Reverse(back)
	return append(offs, back...)
}

// checkSeeks seeks b to each offset and reads a span that crosses a
// chunk boundary when there is one nearby.
func checkSeeks(t *testing.T, b blobs.Blob, content []byte, offs []int64) {
	t.Helper()
	size := int64(len(content))
	buf := make([]byte, 3000)
	for _, off := range offs {
		pos, err := b.Seek(off, io.SeekStart)
		if err != nil || pos != off {
			t.Fatalf("Seek(%d) = %d, %v", off, pos, err)
		}
		n, err := io.ReadFull(b, buf)
		want := content[min(off, size):min(off+int64(len(buf)), size)]
		if !bytes.Equal(buf[:n], want) {
			t.Fatalf("at %d: read %d bytes that differ from the %d expected", off, n, len(want))
		}
		switch {
		case len(want) == len(buf) && err != nil:
			t.Fatalf("at %d: %v", off, err)
		case len(want) == 0 && err != io.EOF:
			t.Fatalf("at %d (size %d): %v, want io.EOF", off, size, err)
		case len(want) > 0 && len(want) < len(buf) && err != io.ErrUnexpectedEOF:
			t.Fatalf("at %d: %v, want io.ErrUnexpectedEOF", off, err)
		}
		if pos, _ := b.Seek(0, io.SeekCurrent); pos != off+int64(n) {
			t.Fatalf("after reading %d at %d: position %d", n, off, pos)
		}
	}
}

func testSeek(t *testing.T, s blobs.Store) {
	content := Random(20, 1<<20+512<<10+3)
	size := int64(len(content))
	info := put(t, s, content)
	b := open(t, s, info.Hash)
	checkSeeks(t, b, content, seekOffsets(size))

	seek := func(off int64, whence int, want int64) {
		t.Helper()
		if pos, err := b.Seek(off, whence); err != nil || pos != want {
			t.Fatalf("Seek(%d, %d) = %d, %v; want %d", off, whence, pos, err, want)
		}
	}
	// io.SeekEnd and io.SeekCurrent.
	seek(-10, io.SeekEnd, size-10)
	if got, err := io.ReadAll(b); err != nil || !bytes.Equal(got, content[size-10:]) {
		t.Errorf("last 10 bytes: %q, %v", got, err)
	}
	seek(0, io.SeekEnd, size)
	if n, err := b.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("Read at the end = %d, %v; want 0, io.EOF", n, err)
	}
	seek(100, io.SeekEnd, size+100)
	if n, err := b.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("Read past the end = %d, %v; want 0, io.EOF", n, err)
	}
	seek(1000, io.SeekStart, 1000)
	seek(-500, io.SeekCurrent, 500)
	seek(256<<10, io.SeekCurrent, 500+256<<10)
	p := make([]byte, 100)
	if _, err := io.ReadFull(b, p); err != nil || !bytes.Equal(p, content[500+256<<10:][:100]) {
		t.Errorf("read after SeekCurrent: %v", err)
	}
	if _, err := b.Seek(-1, io.SeekStart); err == nil {
		t.Errorf("Seek(-1) succeeded")
	}
	if _, err := b.Seek(-size-1, io.SeekEnd); err == nil {
		t.Errorf("Seek before the start from the end succeeded")
	}

	// A whole read in odd-sized pieces crosses every boundary.
	seek(0, io.SeekStart, 0)
	var got bytes.Buffer
	if _, err := io.CopyBuffer(&got, struct{ io.Reader }{b}, make([]byte, 7777)); err != nil || !bytes.Equal(got.Bytes(), content) {
		t.Errorf("read in pieces: %d bytes, %v", got.Len(), err)
	}
}

func testConcurrentReaders(t *testing.T, s blobs.Store) {
	content := Random(30, 1<<20+1234)
	info := put(t, s, content)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			b, err := s.Open(context.Background(), info.Hash)
			if err != nil {
				errs <- err
				return
			}
			defer b.Close()
			// Each starts elsewhere, reads to the end, then the start.
			off := int64(i) * int64(len(content)) / 8
			if _, err := b.Seek(off, io.SeekStart); err != nil {
				errs <- err
				return
			}
			tail, err := io.ReadAll(b)
			if err != nil || !bytes.Equal(tail, content[off:]) {
				errs <- fmt.Errorf("reader %d: tail from %d: %d bytes, %v", i, off, len(tail), err)
				return
			}
			if _, err := b.Seek(0, io.SeekStart); err != nil {
				errs <- err
				return
			}
			head := make([]byte, off)
			if _, err := io.ReadFull(b, head); err != nil || !bytes.Equal(head, content[:off]) {
				errs <- fmt.Errorf("reader %d: head: %v", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
