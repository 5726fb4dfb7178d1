package eventlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// StreamName is the name of the document stream.
const StreamName = "DOCS"

// Headers docket sets on every message besides NATS' own.
const (
	// HeaderID carries the envelope's ULID, so that a writer whose ack was
	// lost can recognise its own message at the head of a subject.
	HeaderID = "Docket-Id"
	// HeaderVersion carries the document version of an event.
	HeaderVersion = "Docket-Version"
)

// Sentinel errors callers branch on.
var (
	// ErrConflict: a subject's last sequence was not the expected one.
	ErrConflict = errors.New("eventlog: version conflict")
	// ErrNotFound: no message on that subject or at that sequence.
	ErrNotFound = errors.New("eventlog: not found")
	// ErrSubjectTooLong: a subject over MaxSubjectLen.
	ErrSubjectTooLong = errors.New("eventlog: subject too long")
	// ErrTooLarge: a message over MaxPayload.
	ErrTooLarge = errors.New("eventlog: message too large")
	// ErrClosed: the log is closed.
	ErrClosed = errors.New("eventlog: log closed")
	// ErrReadOnly: an append to a log opened with Options.ReadOnly.
	ErrReadOnly = errors.New("eventlog: log opened read-only")
)

// MaxPayload is the largest message (one document version) the log
// takes; the embedded server is configured to accept it.
const MaxPayload = 8 << 20

// ConflictError names the subject whose expectation failed and its actual
// last sequence (0 when unknown).
type ConflictError struct {
	Subject string
	Last    Seq
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("eventlog: version conflict on %s (last sequence %d)", e.Subject, e.Last)
}

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// Options configures a [Log]. The zero value works.
type Options struct {
	// Replicas of the stream; default 1. An existing stream is updated to
	// this count. In a cluster, three.
	Replicas int
	// Committers is the number of group-commit goroutines, so of commit
	// rounds in flight; default 4 (docket bench, 64 clients: 2 → 4 raised
	// creates from 2.4k to 3.3–4.2k/s and updates from 1.8k to 3.4k/s;
	// 6 and 8 gave no more).
	Committers int
	// MaxBatch bounds the messages of one atomic batch; default 128.
	MaxBatch int
	// SingleBelow: a commit round of fewer messages goes as pipelined
	// single publishes instead of one atomic batch; default 12.
	SingleBelow int
	// ReadOnly attaches to an existing DOCS stream without creating or
	// updating it (its configuration is left as found) and starts no
	// committers: appends fail with ErrReadOnly. For tools that only read
	// (docket verify, docket replay).
	ReadOnly bool
	// Logger; nil discards.
	Logger *slog.Logger
}

// Log is the DOCS stream: append with optimistic concurrency, read by
// sequence or subject, consume in order.
type Log struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	opts   Options
	log    *slog.Logger
	queue  chan *commitReq
	stop   chan struct{}
	done   chan struct{}
	// batchSlots bounds the atomic batches a fallback sends at once.
	batchSlots chan struct{}
	// replicas of the stream: above 1, reads that decide writes go
	// through the leader (leaderGet).
	replicas int

	closeMu   sync.RWMutex
	closed    bool
	closeOnce sync.Once
}

// StreamConfig is the DOCS stream configuration: every version kept
// forever, nothing deletable, direct gets and atomic batches allowed.
func StreamConfig(replicas int) jetstream.StreamConfig {
	if replicas <= 0 {
		replicas = 1
	}
	return jetstream.StreamConfig{
		Name:               StreamName,
		Description:        "docket documents: one subject per document, one message per version",
		Subjects:           []string{DocsPrefix + ">", ClaimsPrefix + ">", SeriesPrefix + ">"},
		Storage:            jetstream.FileStorage,
		Retention:          jetstream.LimitsPolicy,
		Discard:            jetstream.DiscardNew,
		MaxMsgsPerSubject:  -1,
		MaxMsgSize:         MaxPayload,
		MaxMsgs:            -1,
		MaxBytes:           -1,
		MaxAge:             0,
		Replicas:           replicas,
		AllowDirect:        true,
		AllowAtomicPublish: true,
		DenyDelete:         true,
		DenyPurge:          true,
		Duplicates:         2 * time.Minute,
	}
}

// Open creates or updates the DOCS stream and starts the committers.
// While a JetStream cluster is not ready (no meta leader yet, fewer nodes
// known than replicas) it retries until ctx ends.
func Open(ctx context.Context, nc *nats.Conn, opts Options) (*Log, error) {
	if opts.Committers <= 0 {
		opts.Committers = 4
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 128
	}
	if opts.SingleBelow <= 0 {
		opts.SingleBelow = 12
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, fmt.Errorf("eventlog: jetstream: %w", err)
	}
	if opts.ReadOnly {
		stream, err := js.Stream(ctx, StreamName)
		if err != nil {
			return nil, fmt.Errorf("eventlog: stream %s: %w", StreamName, err)
		}
		l := &Log{nc: nc, js: js, stream: stream, opts: opts, log: opts.Logger, stop: make(chan struct{}), done: make(chan struct{})}
		close(l.done) // no committers
		return l, nil
	}
	var stream jetstream.Stream
	err = Retry(ctx, opts.Logger, "stream "+StreamName, func(ctx context.Context) error {
		stream, err = js.CreateOrUpdateStream(ctx, StreamConfig(opts.Replicas))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("eventlog: create stream %s: %w", StreamName, err)
	}
	l := &Log{
		nc: nc, js: js, stream: stream, opts: opts, log: opts.Logger,
		replicas:   stream.CachedInfo().Config.Replicas,
		queue:      make(chan *commitReq, 4096),
		stop:       make(chan struct{}),
		done:       make(chan struct{}),
		batchSlots: make(chan struct{}, 16),
	}
	l.startCommitters()
	return l, nil
}

// JetStream exposes the JetStream context (for KV buckets and tools).
func (l *Log) JetStream() jetstream.JetStream { return l.js }

// Msg is one stored message.
type Msg struct {
	Seq     Seq
	Subject string
	Data    []byte
	Header  nats.Header
	Time    time.Time
	// Pending is, for messages read by a [Reader], how many messages
	// follow it in the stream at the time it was delivered.
	Pending uint64
}

// ID returns the docket envelope ID from the message header.
func (m *Msg) ID() string { return m.Header.Get(HeaderID) }

// Head returns the last message on a subject, or ErrNotFound.
// On a replicated stream it asks the leader, so the head is never older
// than an acknowledged write.
func (l *Log) Head(ctx context.Context, subject string) (*Msg, error) {
	m, err := l.getMsg(ctx, msgGetRequest{LastFor: subject})
	if err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("eventlog: head of %s: %w", subject, err)
	}
	return m, nil
}

// Get returns the message at a sequence, or ErrNotFound.
func (l *Log) Get(ctx context.Context, seq Seq) (*Msg, error) {
	m, err := l.getMsg(ctx, msgGetRequest{Seq: uint64(seq)})
	if err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("eventlog: get %d: %w", seq, err)
	}
	return m, nil
}

func rawMsg(raw *jetstream.RawStreamMsg) *Msg {
	return &Msg{Seq: Seq(raw.Sequence), Subject: raw.Subject, Data: raw.Data, Header: raw.Header, Time: raw.Time}
}

// LastSeq returns the stream's last sequence. On a replicated stream it
// waits (within ctx, or at most 30 s) while the cluster elects a leader.
func (l *Log) LastSeq(ctx context.Context) (Seq, error) {
	var last Seq
	err := l.retry(ctx, "stream info", func(ctx context.Context) error {
		info, err := l.StreamInfo(ctx)
		if err == nil {
			last = Seq(info.State.LastSeq)
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	return last, nil
}

// StreamInfo returns the stream's configuration and state as the server
// has them now.
func (l *Log) StreamInfo(ctx context.Context) (*jetstream.StreamInfo, error) {
	info, err := l.stream.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("eventlog: stream info: %w", err)
	}
	return info, nil
}

// SubjectMsgs calls fn with every message on one subject, oldest first,
// up to the subject's last message when the call began; ErrNotFound when
// the subject has none. An error from fn ends the walk and is returned.
func (l *Log) SubjectMsgs(ctx context.Context, subject string, fn func(*Msg) error) error {
	head, err := l.Head(ctx, subject)
	if err != nil {
		return err
	}
	r, err := l.Read(ctx, 1, subject)
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		m, err := r.Next(ctx)
		if err != nil {
			return err
		}
		if err := fn(m); err != nil {
			return err
		}
		if m.Seq >= head.Seq {
			return nil
		}
	}
}

// Close stops the committers after the queued writes are done; later
// appends fail with ErrClosed. It may be called more than once.
func (l *Log) Close() {
	l.closeOnce.Do(func() {
		l.closeMu.Lock()
		l.closed = true
		l.closeMu.Unlock()
		close(l.stop)
	})
	<-l.done
}
