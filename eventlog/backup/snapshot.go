package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Files of a stream's directory, as the NATS CLI names them.
const (
	metaFile      = "backup.json"
	archiveFile   = "stream.arc.s2" // from NATS 2.15 on
	oldArchiveTar = "stream.tar.s2" // older servers' tar format
)

// snapshotAttempts bounds the copies of a stream taken because the last
// one ended inside an atomic batch.
const snapshotAttempts = 10

// idleTimeout bounds the wait for the next chunk of a snapshot, or the
// answer to a chunk of a restore.
const idleTimeout = 30 * time.Second

// streamMeta is a stream's backup.json: its configuration and its state
// when the snapshot was taken, as the server wrote them.
type streamMeta struct {
	Config json.RawMessage `json:"config"`
	State  json.RawMessage `json:"state"`
}

// streamState is the part of a stream's state a manifest keeps.
type streamState struct {
	Messages  uint64 `json:"messages"`
	Bytes     uint64 `json:"bytes"`
	FirstSeq  uint64 `json:"first_seq"`
	LastSeq   uint64 `json:"last_seq"`
	Consumers int    `json:"consumer_count"`
}

// snapshotWhole copies a stream into dir/<name>, again while the copy
// ends inside an atomic batch.
func snapshotWhole(ctx context.Context, nc *nats.Conn, name, dir string) (*Stream, error) {
	sdir := filepath.Join(dir, name)
	for attempt := 1; attempt <= snapshotAttempts; attempt++ {
		if err := os.RemoveAll(sdir); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(sdir, 0o750); err != nil {
			return nil, err
		}
		st, err := snapshot(ctx, nc, name, sdir)
		if err != nil {
			return nil, err
		}
		cut, err := endsInBatch(ctx, nc, name, st.LastSeq)
		if err != nil {
			return nil, err
		}
		if !cut {
			st.Archive = filepath.ToSlash(filepath.Join(name, st.Archive))
			st.Attempts = attempt
			return st, nil
		}
	}
	return nil, fmt.Errorf("backup: stream %s: every copy ended inside a transaction being written (%d tries)", name, snapshotAttempts)
}

// snapshot asks the server for a snapshot of a stream, with its
// consumers, and writes it into sdir.
func snapshot(ctx context.Context, nc *nats.Conn, name, sdir string) (*Stream, error) {
	inbox := nc.NewRespInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	if err := sub.SetPendingLimits(-1, -1); err != nil {
		return nil, err
	}
	var resp struct {
		apiError
		Config json.RawMessage `json:"config"`
		State  json.RawMessage `json:"state"`
	}
	req := map[string]any{"deliver_subject": inbox, "chunk_size": 256 << 10}
	if err := apiRequest(ctx, nc, "$JS.API.STREAM.SNAPSHOT."+name, req, &resp); err != nil {
		return nil, err
	}
	var state streamState
	if err := json.Unmarshal(resp.State, &state); err != nil {
		return nil, fmt.Errorf("backup: stream %s: state: %w", name, err)
	}
	var cfg struct {
		MaxAge time.Duration `json:"max_age"`
	}
	if err := json.Unmarshal(resp.Config, &cfg); err != nil {
		return nil, fmt.Errorf("backup: stream %s: config: %w", name, err)
	}

	archive := archiveFile
	if !atLeast(nc.ConnectedServerVersion(), 2, 15) {
		archive = oldArchiveTar
	}
	f, err := os.OpenFile(filepath.Join(sdir, archive), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	w := io.MultiWriter(f, h)
	var size int64
	for {
		mctx, cancel := context.WithTimeout(ctx, idleTimeout)
		m, err := sub.NextMsgWithContext(mctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("backup: stream %s: waiting for the snapshot after %d bytes: %w", name, size, err)
		}
		if len(m.Data) == 0 {
			if s := m.Header.Get("Status"); s != "" && !strings.HasPrefix(s, "204") {
				return nil, fmt.Errorf("backup: stream %s: the server ended the snapshot: %s %s", name, s, m.Header.Get("Description"))
			}
			break
		}
		if m.Reply != "" { // flow control: the server sends a window ahead
			if err := m.Respond(nil); err != nil {
				return nil, err
			}
		}
		if _, err := w.Write(m.Data); err != nil {
			return nil, err
		}
		size += int64(len(m.Data))
	}
	if err := f.Sync(); err != nil {
		return nil, err
	}
	meta, err := json.MarshalIndent(streamMeta{Config: resp.Config, State: resp.State}, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeFileSync(filepath.Join(sdir, metaFile), append(meta, '\n')); err != nil {
		return nil, err
	}
	return &Stream{Name: name, Messages: state.Messages, Bytes: state.Bytes, FirstSeq: state.FirstSeq, LastSeq: state.LastSeq,
		Consumers: state.Consumers, Archive: archive, Size: size, SHA256: hex.EncodeToString(h.Sum(nil)), MaxAge: cfg.MaxAge}, nil
}

// endsInBatch tells whether the message at seq belongs to an atomic
// batch and is not its last (the commit): a copy that ends there holds
// part of a transaction. The stream's leader answers (not a direct get,
// which a lagging replica may answer).
func endsInBatch(ctx context.Context, nc *nats.Conn, stream string, seq uint64) (bool, error) {
	if seq == 0 {
		return false, nil
	}
	var resp struct {
		apiError
		Message *struct {
			Header []byte `json:"hdrs"`
		} `json:"message"`
	}
	err := apiRequest(ctx, nc, "$JS.API.STREAM.MSG.GET."+stream, map[string]uint64{"seq": seq}, &resp)
	if resp.Error != nil && resp.Error.ErrCode == 10037 { // no message found: deleted, not in a batch
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if resp.Message == nil || len(resp.Message.Header) == 0 {
		return false, nil
	}
	h, err := nats.DecodeHeadersMsg(resp.Message.Header)
	if err != nil {
		return false, fmt.Errorf("backup: stream %s: headers of seq %d: %w", stream, seq, err)
	}
	return h.Get("Nats-Batch-Id") != "" && h.Get("Nats-Batch-Commit") == "", nil
}

// atLeast tells whether a server version ("2.15.2") is at least
// major.minor.
func atLeast(version string, major, minor int) bool {
	parts := strings.SplitN(strings.TrimPrefix(version, "v"), ".", 3)
	if len(parts) < 2 {
		return false
	}
	ma, err1 := strconv.Atoi(parts[0])
	mi, err2 := strconv.Atoi(strings.TrimFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	if errors.Join(err1, err2) != nil {
		return false
	}
	return ma > major || ma == major && mi >= minor
}
