package blobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// readAhead is how many bytes of consecutive chunks a Blob fetches per
// request (at least one chunk): the most it holds at any time.
const readAhead = 1 << 20

// Open implements Store.
//
// The Blob reads chunks with batched direct gets of the bucket's stream
// (JetStream 2.11+): one request fetches up to readAhead bytes of
// consecutive chunks, and only when a Read needs them, so an open blob
// holds at most that much whatever its size and however slowly it is
// read. (nats.go's ObjectStore.Get instead has the server push every chunk
// through an ordered push consumer, and a slow reader lets them pile up in
// the client: the whole object, if the reader is slow enough.)
//
// Seek only records the position. The next Read fetches the chunk holding
// it: chunks have a fixed size, so that is chunk position/size. Read on
// from a fetched chunk, the next ones are the next messages of the
// object's chunk subject: no extra cost. Elsewhere the chunk's stream
// sequence must be found. Each message of a batched direct get comes with
// the count of the subject's messages after it, which gives its rank, so:
// first a batch from the sequence the chunk has if the object's chunks are
// contiguous and end right before its meta message (true unless other
// uploads interleaved theirs): one request, which brings the chunk and
// those after it, nothing skipped. Failing that, a bisection over
// sequences, each probe bringing one chunk: at most a batch and
// log2(messages in the stream) chunks transferred, never the bytes
// skipped.
//
// The Blob's fetches use ctx: when it ends, Reads fail. A Blob is for one
// goroutine at a time.
func (s *ObjectStore) Open(ctx context.Context, hash string) (Blob, error) {
	if !ValidHash(hash) {
		return nil, ErrNotFound
	}
	m, ok, err := s.meta(ctx, hash)
	if err != nil {
		return nil, fmt.Errorf("blobs: open %s: %w", hash, err)
	}
	if !ok {
		return nil, ErrNotFound
	}
	oi := m.info
	cs := int64(128 << 10) // nats.go's default, for objects written without a size
	if oi.Opts != nil {
		if oi.Opts.Link != nil {
			return nil, fmt.Errorf("blobs: open %s: object is a link", hash)
		}
		if oi.Opts.ChunkSize > 0 {
			cs = int64(oi.Opts.ChunkSize)
		}
	}
	size, chunks := int64(oi.Size), int64(oi.Chunks)
	if chunks != (size+cs-1)/cs {
		return nil, fmt.Errorf("blobs: open %s: %d bytes in %d chunks of %d: %w", hash, size, chunks, cs, errIrregular)
	}
	return &objectBlob{
		s:       s,
		ctx:     ctx,
		info:    m.blobInfo(),
		subj:    chunkSubject(s.bucket, oi.NUID),
		cs:      cs,
		chunks:  chunks,
		metaSeq: m.seq,
	}, nil
}

// objectBlob is a Blob of an ObjectStore.
type objectBlob struct {
	s       *ObjectStore
	ctx     context.Context
	info    Info
	subj    string // the object's chunk subject
	cs      int64  // chunk size
	chunks  int64
	metaSeq uint64 // the meta message's sequence: the chunks come before it
	pos     int64
	buf     []chunk // consecutive chunks, from the last fetch
	closed  bool
	fetched int // chunks transferred, for tests
}

// chunk is one chunk of a blob: its index, its stream sequence, its bytes.
type chunk struct {
	idx  int64
	seq  uint64
	data []byte
}

// errClosed is returned by a Blob used after Close.
var errClosed = errors.New("blobs: blob is closed")

// Info implements Blob.
func (b *objectBlob) Info() Info { return b.info }

// Read implements io.Reader. It copies from the buffered chunks and
// fetches more only when none of them holds the position.
func (b *objectBlob) Read(p []byte) (int, error) {
	if b.closed {
		return 0, errClosed
	}
	if b.pos >= b.info.Size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && b.pos < b.info.Size {
		k := b.pos / b.cs
		c := b.buffered(k)
		if c == nil {
			if n > 0 {
				break // return what we have; fetch on the next Read
			}
			var err error
			if c, err = b.load(k); err != nil {
				return 0, err
			}
		}
		m := copy(p[n:], c.data[b.pos-k*b.cs:])
		n += m
		b.pos += int64(m)
	}
	return n, nil
}

// Seek implements io.Seeker: it only records the position. A position
// past the end is allowed; Reads there return io.EOF.
func (b *objectBlob) Seek(offset int64, whence int) (int64, error) {
	if b.closed {
		return 0, errClosed
	}
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += b.pos
	case io.SeekEnd:
		offset += b.info.Size
	default:
		return 0, fmt.Errorf("blobs: seek: invalid whence %d", whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("blobs: seek: negative position %d", offset)
	}
	b.pos = offset
	return offset, nil
}

// Close implements io.Closer.
func (b *objectBlob) Close() error {
	b.closed, b.buf = true, nil
	return nil
}

// buffered returns chunk k if the last fetch brought it.
func (b *objectBlob) buffered(k int64) *chunk {
	if len(b.buf) == 0 || k < b.buf[0].idx || k >= b.buf[0].idx+int64(len(b.buf)) {
		return nil
	}
	return &b.buf[k-b.buf[0].idx]
}

// load fetches chunk k and those after it, up to readAhead bytes, into
// the buffer (dropping what it held) and returns chunk k.
func (b *objectBlob) load(k int64) (*chunk, error) {
	n := int(max(1, min(b.s.readAhead/b.cs, b.chunks-k)))
	var cs []chunk
	var err error
	switch last := len(b.buf) - 1; {
	case last >= 0 && b.buf[last].idx == k-1:
		cs, err = b.get(b.buf[last].seq+1, n) // reading on: the subject's next messages
	case k == 0:
		cs, err = b.get(1, n) // the subject's first messages
	default:
		cs, err = b.locate(k, n)
	}
	if err != nil {
		return nil, err
	}
	for i := range cs {
		if cs[i].idx != k+int64(i) {
			return nil, fmt.Errorf("blobs: read %s: chunk %d: %w", b.info.Hash, k+int64(i), errChanged)
		}
	}
	if len(cs) == 0 {
		return nil, fmt.Errorf("blobs: read %s: chunk %d: %w", b.info.Hash, k, errChanged)
	}
	b.buf = cs
	return &b.buf[0], nil
}

// numPendingHeader, on each message of a batched direct get, counts the
// messages of the subject after it.
const numPendingHeader = "Nats-Num-Pending"

// errChanged: chunks are missing or out of order, so the object was
// deleted while it was read.
var errChanged = fmt.Errorf("object changed while read: %w", ErrNotFound)

// errIrregular: an object whose chunks are not all of its chunk size (but
// the last), which this store does not write. It reads no such object.
var errIrregular = errors.New("object not in chunks of a fixed size")

// locate finds chunk k (see Open) and returns it and up to n-1 chunks
// after it. The chunks buffered, whose sequences are known, narrow the
// search.
func (b *objectBlob) locate(k int64, n int) ([]chunk, error) {
	lo := uint64(k) + 1                      // k chunks come before it,
	hi := sub(b.metaSeq, uint64(b.chunks-k)) // the rest and the meta after it
	for _, c := range b.buf {
		if c.idx < k {
			lo = max(lo, c.seq+uint64(k-c.idx))
		} else {
			hi = min(hi, sub(c.seq, uint64(c.idx-k)))
		}
	}
	// The first probe, where chunk k is if the chunks are contiguous,
	// fetches a whole batch; later ones a single chunk.
	probe := hi
	for lo <= hi {
		cs, err := b.get(probe, n)
		if err != nil {
			return nil, err
		}
		n = 1
		switch {
		case len(cs) == 0: // no chunk at or after probe
			hi = probe - 1
		case cs[0].idx <= k && k < cs[0].idx+int64(len(cs)):
			return cs[k-cs[0].idx:], nil
		case cs[0].idx < k:
			lo = cs[0].seq + uint64(k-cs[0].idx)
		default:
			hi = min(probe-1, sub(cs[0].seq, uint64(cs[0].idx-k)))
		}
		probe = lo + (hi-lo)/2
	}
	return nil, fmt.Errorf("blobs: read %s: chunk %d: %w", b.info.Hash, k, errChanged)
}

// sub is a-b, or 0 if b > a.
func sub(a, b uint64) uint64 {
	if b > a {
		return 0
	}
	return a - b
}

// directGetRequest asks for a batch of messages of one subject
// (JetStream 2.11+).
type directGetRequest struct {
	Seq     uint64 `json:"seq"`
	NextFor string `json:"next_by_subj"`
	Batch   int    `json:"batch"`
}

// get fetches up to n messages of the chunk subject from sequence from
// on, in one batched direct get, and checks each is a chunk of the
// expected length. (Each fetch has its own small subscription, sized so
// that the batch fits.)
func (b *objectBlob) get(from uint64, n int) ([]chunk, error) {
	ctx, cancel := b.fetchContext()
	defer cancel()
	fail := func(err error) ([]chunk, error) {
		if cerr := b.ctx.Err(); cerr != nil {
			err = cerr
		}
		return nil, fmt.Errorf("blobs: read %s: %w", b.info.Hash, err)
	}
	nc := b.s.js.Conn()
	ch := make(chan *nats.Msg, n+2) // the batch and its end: never full
	sub, err := nc.ChanSubscribe(nc.NewInbox(), ch)
	if err != nil {
		return fail(err)
	}
	defer sub.Unsubscribe()
	req, err := json.Marshal(directGetRequest{Seq: from, NextFor: b.subj, Batch: n})
	if err != nil {
		return fail(err)
	}
	if err := nc.PublishRequest(b.s.directGet, sub.Subject, req); err != nil {
		return fail(err)
	}
	cs := make([]chunk, 0, n)
	for len(cs) < n {
		var m *nats.Msg
		select {
		case m = <-ch:
		case <-ctx.Done():
			return fail(ctx.Err())
		}
		switch st := m.Header.Get("Status"); st {
		case "":
		case "204", "404": // the end of the batch; no message at or after from
			return cs, nil
		default:
			return fail(fmt.Errorf("direct get: %s %s", st, m.Header.Get("Description")))
		}
		b.fetched++
		seq, err1 := strconv.ParseUint(m.Header.Get(jetstream.SequenceHeader), 10, 64)
		// The rank: chunks-1 minus the subject's messages after this one.
		after, err2 := strconv.ParseInt(m.Header.Get(numPendingHeader), 10, 64)
		if err1 != nil || err2 != nil {
			return fail(fmt.Errorf("direct get: no %s or %s (JetStream 2.11+ needed)", jetstream.SequenceHeader, numPendingHeader))
		}
		c := chunk{idx: b.chunks - 1 - after, seq: seq, data: m.Data}
		if c.idx < 0 {
			return fail(fmt.Errorf("%d chunks more than its meta says: %w", -c.idx, errChanged))
		}
		if int64(len(c.data)) != b.chunkLen(c.idx) {
			return fail(fmt.Errorf("chunk %d has %d bytes: %w", c.idx, len(c.data), errIrregular))
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// chunkLen is the length chunk i must have.
func (b *objectBlob) chunkLen(i int64) int64 {
	if i == b.chunks-1 {
		return b.info.Size - i*b.cs
	}
	return b.cs
}

// fetchContext bounds one fetch: by ctx's deadline if it has one, else
// by the store's timeout (the JetStream default timeout).
func (b *objectBlob) fetchContext() (context.Context, context.CancelFunc) {
	if _, ok := b.ctx.Deadline(); ok {
		return context.WithCancel(b.ctx)
	}
	return context.WithTimeout(b.ctx, b.s.timeout)
}
