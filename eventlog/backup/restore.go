package backup

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go"
)

// RestoreOptions configures [Restore]. The zero value works.
type RestoreOptions struct {
	// Replicas, when above 0, replaces every stream's replica count (a
	// backup of a three-node cluster restored on one server needs 1).
	Replicas int
	// Progress, when set, is told of each stream restored.
	Progress func(Stream, time.Duration)
}

// restoreChunk is the size of the pieces a restore sends.
const restoreChunk = 512 << 10

// Restore checks the backup in dir (ReadManifest), then restores its
// streams, in the manifest's order, into the JetStream nc reaches, which
// must have none of them: each comes back with its sequences, messages,
// consumers and settings. It checks each restored stream's last sequence
// (and message count, unless the stream has an age limit) against the
// manifest.
func Restore(ctx context.Context, nc *nats.Conn, dir string, opts RestoreOptions) (*Manifest, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	for _, s := range m.Streams {
		var info struct{ apiError }
		err := apiRequest(ctx, nc, "$JS.API.STREAM.INFO."+s.Name, struct{}{}, &info)
		if err == nil {
			return nil, fmt.Errorf("backup: stream %s exists already: restore into a JetStream without docket's streams", s.Name)
		}
		if info.Error == nil || info.Error.ErrCode != 10059 { // stream not found
			return nil, err
		}
	}
	for _, s := range m.Streams {
		t := time.Now()
		got, err := restoreStream(ctx, nc, dir, s, opts)
		if err != nil {
			return nil, err
		}
		if err := dropEphemeral(ctx, nc, s.Name); err != nil {
			return nil, err
		}
		if got.LastSeq != s.LastSeq || (s.MaxAge == 0 && got.Messages != s.Messages) {
			return nil, fmt.Errorf("backup: stream %s restored with %d messages up to seq %d; the backup has %d up to %d",
				s.Name, got.Messages, got.LastSeq, s.Messages, s.LastSeq)
		}
		if opts.Progress != nil {
			opts.Progress(s, time.Since(t))
		}
	}
	return m, nil
}

// restoreStream sends one stream's archive to the server's restore API.
func restoreStream(ctx context.Context, nc *nats.Conn, dir string, s Stream, opts RestoreOptions) (*streamState, error) {
	b, err := os.ReadFile(filepath.Join(dir, s.Name, metaFile))
	if err != nil {
		return nil, fmt.Errorf("backup: stream %s: %w", s.Name, err)
	}
	var meta streamMeta
	if err := json.Unmarshal(b, &meta); err != nil {
		return nil, fmt.Errorf("backup: stream %s: %s: %w", s.Name, metaFile, err)
	}
	if opts.Replicas > 0 {
		var cfg map[string]any
		if err := json.Unmarshal(meta.Config, &cfg); err != nil {
			return nil, fmt.Errorf("backup: stream %s: config: %w", s.Name, err)
		}
		cfg["num_replicas"] = opts.Replicas
		if meta.Config, err = json.Marshal(cfg); err != nil {
			return nil, err
		}
	}
	var resp struct {
		apiError
		DeliverSubject string `json:"deliver_subject"`
	}
	if err := apiRequest(ctx, nc, "$JS.API.STREAM.RESTORE."+s.Name, meta, &resp); err != nil {
		return nil, err
	}
	f, err := os.Open(filepath.Join(dir, s.Archive))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	chunk := make([]byte, min(restoreChunk, int(nc.MaxPayload())-1024))
	for {
		n, err := io.ReadFull(f, chunk)
		if n > 0 {
			if err := sendChunk(ctx, nc, resp.DeliverSubject, chunk[:n]); err != nil {
				return nil, fmt.Errorf("backup: stream %s: %w", s.Name, err)
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	// An empty message ends the upload; the server answers once the
	// stream is rebuilt, which takes as long as it takes.
	fctx, cancel := withDefaultTimeout(ctx, time.Hour)
	defer cancel()
	m, err := nc.RequestWithContext(fctx, resp.DeliverSubject, nil)
	if err != nil {
		return nil, fmt.Errorf("backup: stream %s: finishing the restore: %w", s.Name, err)
	}
	var done struct {
		apiError
		State streamState `json:"state"`
	}
	if err := json.Unmarshal(m.Data, &done); err != nil {
		return nil, fmt.Errorf("backup: stream %s: finishing the restore: %w: %s", s.Name, err, m.Data)
	}
	if err := done.err(); err != nil {
		return nil, fmt.Errorf("backup: stream %s: restore: %w", s.Name, err)
	}
	return &done.State, nil
}

// dropEphemeral deletes a restored stream's ephemeral consumers: they
// were the readers of processes of the node backed up (its projector's
// ordered consumer), which will not come back to them. Durable consumers
// (subscribers, webhooks) keep their positions.
func dropEphemeral(ctx context.Context, nc *nats.Conn, stream string) error {
	var names []string
	for offset := 0; ; {
		var resp struct {
			apiError
			Total     int `json:"total"`
			Consumers []struct {
				Name   string `json:"name"`
				Config struct {
					Durable string `json:"durable_name"`
				} `json:"config"`
			} `json:"consumers"`
		}
		if err := apiRequest(ctx, nc, "$JS.API.CONSUMER.LIST."+stream, map[string]int{"offset": offset}, &resp); err != nil {
			return err
		}
		for _, c := range resp.Consumers {
			if c.Config.Durable == "" {
				names = append(names, c.Name)
			}
		}
		offset += len(resp.Consumers)
		if len(resp.Consumers) == 0 || offset >= resp.Total {
			break
		}
	}
	for _, name := range names {
		var resp struct{ apiError }
		if err := apiRequest(ctx, nc, "$JS.API.CONSUMER.DELETE."+stream+"."+name, struct{}{}, &resp); err != nil {
			return err
		}
	}
	return nil
}

// sendChunk sends a piece of an archive and waits for the server to take
// it (an empty answer; an error is JSON).
func sendChunk(ctx context.Context, nc *nats.Conn, subject string, data []byte) error {
	ctx, cancel := context.WithTimeout(ctx, idleTimeout)
	defer cancel()
	m, err := nc.RequestWithContext(ctx, subject, data)
	if err != nil {
		return err
	}
	if len(m.Data) > 0 {
		var e apiError
		if json.Unmarshal(m.Data, &e) == nil && e.err() != nil {
			return e.err()
		}
		return fmt.Errorf("restore refused: %s", m.Data)
	}
	return nil
}
