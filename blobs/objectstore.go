package blobs

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DefaultChunkSize is the chunk size of blobs an ObjectStore writes
// unless told otherwise: a quarter of the NATS default max_payload, so it
// fits any server's limit, and twice nats.go's default, so a blob costs
// half the messages (stream index entries; with sync_interval always,
// fsyncs). Measured on one node, 128 KiB to 1 MiB chunks move blobs at
// about the same speed.
const DefaultChunkSize = 256 << 10

// ObjectStoreOptions configures an ObjectStore. The zero value works.
type ObjectStoreOptions struct {
	// Bucket names the Object Store bucket (stream OBJ_<Bucket>); default
	// "docket_files".
	Bucket string
	// Replicas is the bucket's replication factor in a cluster; default 1
	// (in a cluster, three).
	Replicas int
	// TempDir holds uploads while they are hashed; default os.TempDir().
	TempDir string
	// MaxBytes bounds the bucket's total size; 0: unlimited. A Put that
	// would pass it fails and stores nothing.
	MaxBytes int64
	// ChunkSize is the size of the chunks new blobs are split into (at
	// most the server's max_payload); default DefaultChunkSize. Stored
	// blobs keep the size they were written with.
	ChunkSize int
}

// ObjectStore is a Store in a JetStream Object Store bucket: each blob is
// an object named by its hash, so a cluster replicates files with no
// shared disk. Uploads are spooled to a temporary file while they are
// hashed, then stored in chunks of a fixed size; reads fetch a few chunks
// at a time (see Open), so memory stays flat whatever the size of a blob.
//
// Puts of one content are serialized within the process, so concurrent
// identical uploads store it once. Across processes (the nodes of a
// cluster) two Puts of one new content may both upload it, but its meta
// message is published on condition that the name's meta is unchanged:
// the second uploader purges its chunks and returns the first's Info. So
// a content is stored once there too, at the cost of a wasted upload.
type ObjectStore struct {
	js        jetstream.JetStream
	leader    nats.JetStreamContext // reads through the leader; nil: not replicated
	obs       jetstream.ObjectStore
	stream    jetstream.Stream
	bucket    string
	tempDir   string
	chunkSize uint32
	directGet string              // the stream's direct get subject
	pub       jetstream.JetStream // publishes uploads' chunks
	timeout   time.Duration       // for an acknowledgement, a fetch
	readAhead int64               // see readAhead
	locks     hashLocks
}

var _ Store = (*ObjectStore)(nil)

// NewObjectStore opens the bucket, creating it (or updating its
// settings) as needed.
func NewObjectStore(ctx context.Context, js jetstream.JetStream, opts ObjectStoreOptions) (*ObjectStore, error) {
	if opts.Bucket == "" {
		opts.Bucket = "docket_files"
	}
	if opts.Replicas == 0 {
		opts.Replicas = 1
	}
	if opts.TempDir == "" {
		opts.TempDir = os.TempDir()
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = DefaultChunkSize
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = -1
	}
	removeStale(opts.TempDir, spoolPrefix)
	obs, err := js.CreateOrUpdateObjectStore(ctx, jetstream.ObjectStoreConfig{
		Bucket:      opts.Bucket,
		Description: "docket file contents, each object named by its SHA-256",
		Replicas:    opts.Replicas,
		MaxBytes:    opts.MaxBytes,
		Storage:     jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("blobs: object store %s: %w", opts.Bucket, err)
	}
	// The bucket's stream, for the direct gets that read chunks (Open).
	st, err := js.Stream(ctx, streamName(opts.Bucket))
	if err != nil {
		return nil, fmt.Errorf("blobs: object store %s: %w", opts.Bucket, err)
	}
	// Publishes time out, so that an upload never waits forever for an
	// acknowledgement that was lost.
	timeout := js.Options().DefaultTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	pub, err := jetstream.New(js.Conn(), jetstream.WithPublishAsyncTimeout(timeout))
	if err != nil {
		return nil, fmt.Errorf("blobs: object store %s: %w", opts.Bucket, err)
	}
	var leader nats.JetStreamContext
	if st.CachedInfo().Config.Replicas > 1 {
		// The legacy API reads through the stream's leader.
		if leader, err = js.Conn().JetStream(nats.APIPrefix(apiPrefix(js.Options()))); err != nil {
			return nil, fmt.Errorf("blobs: object store %s: %w", opts.Bucket, err)
		}
	}
	return &ObjectStore{
		js:        js,
		leader:    leader,
		pub:       pub,
		timeout:   timeout,
		readAhead: readAhead,
		obs:       obs,
		stream:    st,
		bucket:    opts.Bucket,
		tempDir:   opts.TempDir,
		chunkSize: uint32(opts.ChunkSize),
		directGet: apiPrefix(js.Options()) + "DIRECT.GET." + streamName(opts.Bucket),
	}, nil
}

// apiPrefix is the JetStream API's subject prefix.
func apiPrefix(o jetstream.JetStreamOptions) string {
	switch {
	case o.APIPrefix != "":
		return strings.TrimSuffix(o.APIPrefix, ".") + "."
	case o.Domain != "":
		return "$JS." + o.Domain + ".API."
	}
	return "$JS.API."
}

// The Object Store's layout (ADR-20), which Open reads directly.
func streamName(bucket string) string { return "OBJ_" + bucket }

func chunkSubject(bucket, nuid string) string { return "$O." + bucket + ".C." + nuid }

func metaSubject(bucket, name string) string {
	return "$O." + bucket + ".M." + base64.URLEncoding.EncodeToString([]byte(name))
}

// Put implements Store. The content is spooled to a file in TempDir (and
// removed whatever happens), then, unless the bucket already has it,
// uploaded as the object named by its hash.
func (s *ObjectStore) Put(ctx context.Context, r io.Reader, max int64) (Info, error) {
	sp, err := spool(ctx, s.tempDir, spoolPrefix, r, max)
	if err != nil {
		return Info{}, err
	}
	defer sp.remove()

	unlock := s.locks.lock(sp.hash)
	defer unlock()
	for attempt := 1; ; attempt++ {
		m, ok, err := s.meta(ctx, sp.hash)
		if err != nil {
			return Info{}, fmt.Errorf("blobs: put %s: %w", sp.hash, err)
		}
		if ok {
			return m.blobInfo(), nil // stored already
		}
		if attempt > 3 {
			return Info{}, fmt.Errorf("blobs: put %s: stored and deleted by others %d times", sp.hash, attempt-1)
		}
		if _, err := sp.f.Seek(0, io.SeekStart); err != nil {
			return Info{}, fmt.Errorf("blobs: put %s: %w", sp.hash, err)
		}
		err = s.upload(ctx, sp.f, sp.hash, sp.size, m.seq)
		if err == nil {
			break
		}
		if !errors.Is(err, errStoredMeanwhile) {
			return Info{}, err
		}
		// Another process stored it first (and may have deleted it since).
	}
	// Stat for the time of the meta message.
	return s.Stat(context.WithoutCancel(ctx), sp.hash)
}

// spoolPrefix begins the names of an ObjectStore's spool files.
const spoolPrefix = "docket-blob-"

// maxInFlight is how many chunks of an upload may await the server's
// acknowledgement at a time.
const maxInFlight = 8

// upload writes the content r holds, whose hash and size spooling found,
// as the object named by its hash, in
// the Object Store's format (ADR-20) so that any client reads it: its
// chunks on a new chunk subject, then its meta message, which rolls up any
// earlier meta of the name. Every chunk but the last is full, so a read
// finds the chunk holding a position by division.
//
// The meta message is published on condition that the meta subject's
// last sequence is still lastMeta (0: none; else a deletion's): if another
// process stored the content meanwhile, upload purges its chunks and
// returns errStoredMeanwhile, so that a content is stored once even
// across processes.
//
// It does what nats.go's ObjectStore.Put does, but keeps at most
// maxInFlight chunks unacknowledged, so neither this client nor the
// server's stream ingest queue holds more of an upload than that, however
// slow the server's disk. (Put allows 4000 in flight: with chunks of 256
// KiB, more than the 128 MiB a stream's ingest queue accepts before it
// refuses messages.) When ctx ends, or anything fails, it waits for the
// chunks in flight and purges those sent.
func (s *ObjectStore) upload(ctx context.Context, r io.Reader, hash string, size int64, lastMeta uint64) (err error) {
	nuid := rand.Text()
	subj := chunkSubject(s.bucket, nuid)
	var inFlight []jetstream.PubAckFuture
	waitOldest := func() error {
		f := inFlight[0]
		inFlight = inFlight[1:]
		select {
		case <-f.Ok():
			return nil
		case err := <-f.Err():
			return err
		}
	}
	metaSent := false
	defer func() {
		if err == nil {
			return
		}
		for len(inFlight) > 0 {
			waitOldest() // each ends by the publish timeout at the latest
		}
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
		defer cancel()
		if metaSent {
			// The meta may have landed even so (its acknowledgement lost, or
			// a retried publish refused because the first try landed): then
			// the object is stored, and its chunks must stay.
			m, ok, merr := s.meta(dctx, hash)
			if merr != nil {
				err = fmt.Errorf("blobs: put %s: %w (and reading the meta back: %w)", hash, err, merr)
				return // unsure: leave the chunks rather than risk breaking the object
			}
			if ok && m.info.NUID == nuid {
				err = nil
				return
			}
		}
		s.stream.Purge(dctx, jetstream.WithPurgeSubject(subj))
		switch {
		case errors.Is(err, errStoredMeanwhile):
		case ctx.Err() != nil:
			err = ctx.Err()
		default:
			err = fmt.Errorf("blobs: put %s: %w", hash, err)
		}
	}()

	h := sha256.New()
	buf := make([]byte, s.chunkSize)
	var n int64
	var chunks uint32
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		k, rerr := io.ReadFull(r, buf)
		if k > 0 {
			h.Write(buf[:k])
			n += int64(k)
			chunks++
			if len(inFlight) == maxInFlight {
				if err := waitOldest(); err != nil {
					return err
				}
			}
			// The client copies the data before PublishMsgAsync returns.
			f, err := s.pub.PublishMsgAsync(&nats.Msg{Subject: subj, Data: buf[:k]})
			if err != nil {
				return err
			}
			inFlight = append(inFlight, f)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	for len(inFlight) > 0 {
		if err := waitOldest(); err != nil {
			return err
		}
	}
	sum := h.Sum(nil)
	if hex.EncodeToString(sum) != hash || n != size {
		// Never store content under a name that is not its hash.
		return fmt.Errorf("spool file changed: %d bytes, hash %x", n, sum)
	}
	meta, err := json.Marshal(jetstream.ObjectInfo{
		ObjectMeta: jetstream.ObjectMeta{Name: hash, Opts: &jetstream.ObjectMetaOptions{ChunkSize: s.chunkSize}},
		Bucket:     s.bucket,
		NUID:       nuid,
		Size:       uint64(n),
		Chunks:     chunks,
		Digest:     "SHA-256=" + base64.URLEncoding.EncodeToString(sum),
	})
	if err != nil {
		return err
	}
	mm := nats.NewMsg(metaSubject(s.bucket, hash))
	mm.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
	mm.Data = meta
	pctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	metaSent = true
	_, err = s.js.PublishMsg(pctx, mm, jetstream.WithExpectLastSequencePerSubject(lastMeta))
	if isWrongLastSequence(err) {
		return errStoredMeanwhile
	}
	return err
}

// errStoredMeanwhile: another process stored the content first.
var errStoredMeanwhile = errors.New("stored meanwhile by another process")

// isWrongLastSequence reports whether err is JetStream's refusal of a
// conditional publish (10071; 10164 on replicated streams).
func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// Stat implements Store.
func (s *ObjectStore) Stat(ctx context.Context, hash string) (Info, error) {
	if !ValidHash(hash) {
		return Info{}, ErrNotFound
	}
	m, ok, err := s.meta(ctx, hash)
	if err != nil {
		return Info{}, fmt.Errorf("blobs: stat %s: %w", hash, err)
	}
	if !ok {
		return Info{}, ErrNotFound
	}
	return m.blobInfo(), nil
}

// objectMeta is an object's meta message.
type objectMeta struct {
	info jetstream.ObjectInfo
	seq  uint64 // the message's stream sequence; 0: there is none
}

func (m objectMeta) blobInfo() Info {
	return Info{Hash: m.info.Name, Size: int64(m.info.Size), Created: m.info.ModTime}
}

// meta reads the meta message of the object named hash, as GetInfo does
// but keeping its sequence. ok is false when there is none, or it marks a
// deletion (m.seq is then the deletion's).
//
// A replicated bucket's direct gets may be answered by a replica that has
// not applied the newest messages yet (most often this node's own), so
// "none" is asked again of the leader, which has every acknowledged
// message. When the leader has it, meta waits (within ctx, at most
// lagWait) until a direct get finds it too: a replica that has applied the
// meta message has applied the chunks before it, which Open's reads
// fetch by direct get.
func (s *ObjectStore) meta(ctx context.Context, hash string) (m objectMeta, ok bool, err error) {
	m, found, err := s.directMeta(ctx, hash)
	if found || err != nil || s.leader == nil {
		return m, found && !m.info.Deleted, err
	}
	if m, found, err = s.leaderMeta(ctx, hash); !found || err != nil {
		return m, false, err
	}
	wctx, cancel := context.WithTimeout(ctx, lagWait)
	defer cancel()
	for pause := time.Millisecond; wctx.Err() == nil; pause = min(2*pause, 50*time.Millisecond) {
		if dm, ok, err := s.directMeta(wctx, hash); ok && err == nil && dm.seq >= m.seq {
			break
		}
		select {
		case <-time.After(pause):
		case <-wctx.Done():
		}
	}
	return m, !m.info.Deleted, nil
}

// lagWait bounds how long meta waits for a lagging replica.
const lagWait = 5 * time.Second

// directMeta reads a meta message by direct get; found is false when
// there is none.
func (s *ObjectStore) directMeta(ctx context.Context, hash string) (m objectMeta, found bool, err error) {
	raw, err := s.stream.GetLastMsgForSubject(ctx, metaSubject(s.bucket, hash))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return m, false, nil
	}
	if err != nil {
		return m, false, err
	}
	return m, true, m.decode(hash, raw.Data, raw.Sequence, raw.Time)
}

// leaderMeta reads a meta message through the stream's leader.
func (s *ObjectStore) leaderMeta(ctx context.Context, hash string) (m objectMeta, found bool, err error) {
	raw, err := s.leader.GetLastMsg(streamName(s.bucket), metaSubject(s.bucket, hash), nats.Context(ctx))
	if errors.Is(err, nats.ErrMsgNotFound) {
		return m, false, nil
	}
	if err != nil {
		return m, false, err
	}
	return m, true, m.decode(hash, raw.Data, raw.Sequence, raw.Time)
}

func (m *objectMeta) decode(hash string, data []byte, seq uint64, t time.Time) error {
	if err := json.Unmarshal(data, &m.info); err != nil {
		return fmt.Errorf("meta of %s: %w", hash, err)
	}
	m.seq, m.info.ModTime = seq, t
	return nil
}

func infoOf(oi *jetstream.ObjectInfo) Info {
	return Info{Hash: oi.Name, Size: int64(oi.Size), Created: oi.ModTime}
}

// Delete implements Store: it marks the object deleted and purges its
// chunks.
func (s *ObjectStore) Delete(ctx context.Context, hash string) error {
	if !ValidHash(hash) {
		return nil
	}
	unlock := s.locks.lock(hash)
	defer unlock()
	err := s.obs.Delete(ctx, hash)
	if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("blobs: delete %s: %w", hash, err)
	}
	return nil
}

// List implements Store. It lists the bucket's objects whose names are
// hashes (and skips any other) from a snapshot taken first, which holds
// one small record per blob.
func (s *ObjectStore) List(ctx context.Context, fn func(Info) error) error {
	infos, err := s.obs.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("blobs: list: %w", err)
	}
	for _, oi := range infos {
		if !ValidHash(oi.Name) {
			continue
		}
		if err := fn(infoOf(oi)); err != nil {
			return err
		}
	}
	return nil
}
