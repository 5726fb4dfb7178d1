// Package backup copies docket's JetStream streams — the log DOCS, the
// key-value buckets (KV_docket_*: secrets, sessions, OAuth) and the file
// store (OBJ_docket_files) — into a directory, and restores them into a
// JetStream that has none of them, with the server's own snapshot and
// restore API ($JS.API.STREAM.SNAPSHOT and RESTORE, what `nats stream
// backup` uses): messages with their sequences, times and headers,
// durable consumers with their positions, and the streams' settings.
// Ephemeral consumers (readers of the backed-up node's processes, such
// as its projector's) come with a snapshot and are deleted after a
// restore.
//
// A backup directory holds docket-backup.json (the manifest: each
// stream's state and its archive's size and SHA-256) and a directory per
// stream as the NATS CLI writes one (backup.json, stream.arc.s2), so
// `nats stream restore` reads each of them too.
//
// Each stream is copied as it was at one sequence. DOCS is copied first:
// a document's file bytes are stored before the File document is
// written, and its secrets (password hashes) after; so the later copies
// of the other streams hold what the copied log names. A copy of DOCS
// that ends inside a transaction (an atomic batch still being written)
// is taken again.
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
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// ManifestFile is the manifest's name in a backup directory.
const ManifestFile = "docket-backup.json"

// Format is the version of the backup layout this package writes.
const Format = 1

// Manifest describes a backup.
type Manifest struct {
	Format int `json:"format"`
	// Created is when the backup began; Took how long it took.
	Created time.Time `json:"created"`
	Took    string    `json:"took"`
	// Server is the version of the NATS server the streams came from.
	Server  string   `json:"server"`
	Streams []Stream `json:"streams"`
}

// Stream is one stream of a backup, as it was copied.
type Stream struct {
	Name      string `json:"name"`
	Messages  uint64 `json:"messages"`
	Bytes     uint64 `json:"bytes"`
	FirstSeq  uint64 `json:"first_seq"`
	LastSeq   uint64 `json:"last_seq"`
	Consumers int    `json:"consumers"`
	// Archive is the snapshot's file, relative to the backup directory;
	// Size and SHA256 check it before a restore.
	Archive string `json:"archive"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
	// MaxAge is the stream's age limit: its messages may expire before
	// a restore (sessions do).
	MaxAge time.Duration `json:"max_age"`
	// Attempts counts the copies taken: more than 1 when a copy ended
	// inside a transaction being written.
	Attempts int `json:"attempts"`
}

// Docket tells docket's streams from others an external NATS may hold.
func Docket(stream string) bool {
	return stream == "DOCS" || strings.HasPrefix(stream, "KV_docket_") || strings.HasPrefix(stream, "OBJ_docket_")
}

// Options configures [Write]. The zero value works.
type Options struct {
	// Streams are the streams to copy, in order; default every stream
	// Docket accepts, DOCS first.
	Streams []string
	// Progress, when set, is told of each stream copied.
	Progress func(Stream, time.Duration)
}

// Write copies the streams into dir, which must not exist or be empty,
// and writes the manifest last: a directory without one is not a backup.
func Write(ctx context.Context, nc *nats.Conn, dir string, opts Options) (*Manifest, error) {
	start := time.Now()
	if err := emptyDir(dir); err != nil {
		return nil, err
	}
	names := opts.Streams
	if names == nil {
		var err error
		if names, err = docketStreams(ctx, nc); err != nil {
			return nil, err
		}
	}
	if len(names) == 0 {
		return nil, errors.New("backup: no docket streams to copy")
	}
	m := &Manifest{Format: Format, Created: start.UTC(), Server: nc.ConnectedServerVersion()}
	for _, name := range names {
		t := time.Now()
		st, err := snapshotWhole(ctx, nc, name, dir)
		if err != nil {
			return nil, err
		}
		m.Streams = append(m.Streams, *st)
		if opts.Progress != nil {
			opts.Progress(*st, time.Since(t))
		}
	}
	m.Took = time.Since(start).Round(time.Millisecond).String()
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeFileSync(filepath.Join(dir, ManifestFile), append(b, '\n')); err != nil {
		return nil, err
	}
	return m, nil
}

// ReadManifest reads a backup's manifest and checks that its archives
// are there with their sizes and hashes.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("backup: %w (not a finished docket backup)", err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("backup: %s: %w", ManifestFile, err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("backup: format %d, this docket reads %d", m.Format, Format)
	}
	for _, s := range m.Streams {
		if !filepath.IsLocal(s.Archive) {
			return nil, fmt.Errorf("backup: stream %s: archive %q outside the backup", s.Name, s.Archive)
		}
		size, sum, err := hashFile(filepath.Join(dir, s.Archive))
		if err != nil {
			return nil, fmt.Errorf("backup: stream %s: %w", s.Name, err)
		}
		if size != s.Size || sum != s.SHA256 {
			return nil, fmt.Errorf("backup: stream %s: %s is damaged (%d bytes, SHA-256 %s; the manifest says %d, %s)",
				s.Name, s.Archive, size, sum, s.Size, s.SHA256)
		}
	}
	return &m, nil
}

// docketStreams lists docket's streams, DOCS first.
func docketStreams(ctx context.Context, nc *nats.Conn) ([]string, error) {
	var names []string
	offset := 0
	for {
		var resp struct {
			apiError
			Total   int      `json:"total"`
			Streams []string `json:"streams"`
		}
		if err := apiRequest(ctx, nc, "$JS.API.STREAM.NAMES", map[string]int{"offset": offset}, &resp); err != nil {
			return nil, err
		}
		for _, n := range resp.Streams {
			if Docket(n) {
				names = append(names, n)
			}
		}
		offset += len(resp.Streams)
		if len(resp.Streams) == 0 || offset >= resp.Total {
			break
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		if (a == "DOCS") != (b == "DOCS") {
			if a == "DOCS" {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	return names, nil
}

// emptyDir makes dir, or checks that it is empty.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return os.MkdirAll(dir, 0o750)
	case err != nil:
		return err
	case len(entries) > 0:
		return fmt.Errorf("backup: %s is not empty", dir)
	}
	return nil
}

func writeFileSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func hashFile(path string) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// apiError is the error part of a JetStream API response.
type apiError struct {
	Error *struct {
		Code        int    `json:"code"`
		ErrCode     int    `json:"err_code"`
		Description string `json:"description"`
	} `json:"error,omitempty"`
}

func (e *apiError) err() error {
	if e.Error == nil {
		return nil
	}
	return fmt.Errorf("%s (%d)", e.Error.Description, e.Error.ErrCode)
}

// apiRequest sends a JetStream API request and decodes its answer.
func apiRequest(ctx context.Context, nc *nats.Conn, subject string, req any, resp interface{ err() error }) error {
	b, err := json.Marshal(req)
	if err != nil {
		return err
	}
	ctx, cancel := withDefaultTimeout(ctx, 30*time.Second)
	defer cancel()
	m, err := nc.RequestWithContext(ctx, subject, b)
	if err != nil {
		return fmt.Errorf("backup: %s: %w", subject, err)
	}
	if err := json.Unmarshal(m.Data, resp); err != nil {
		return fmt.Errorf("backup: %s: %w", subject, err)
	}
	if err := resp.err(); err != nil {
		return fmt.Errorf("backup: %s: %w", subject, err)
	}
	return nil
}

func withDefaultTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}
