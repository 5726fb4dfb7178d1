package eventlog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// readerHeartbeat is how often the server holding a reader's consumer
	// says it is there while no message flows. Two missed heartbeats (a
	// cluster node lost with the consumer on it) and the reader goes on
	// through a new consumer.
	readerHeartbeat = time.Second
	// readerInactive is how long the server keeps a reader's consumer
	// that nobody pulls from: one left behind when its reader could not
	// delete it (its node was down) goes after this long.
	readerInactive = time.Minute
	// readerPause is the least time between two replacements of a
	// reader's consumer, so that a consumer that fails at once is not
	// replaced in a busy loop.
	readerPause = time.Second
)

// Reader delivers the stream's messages in order, exactly once each,
// through an ephemeral consumer (in memory, on one node) that it replaces
// when it is lost: a reader survives the loss of the cluster node that
// held its consumer.
//
// A reader is nats.go's ordered consumer done here, for two reasons:
// nats.go retries a lost consumer's replacement under one name, and when
// the cluster placed that name on a node that had just died (a cluster
// takes up to minutes to call a killed node offline) every retry waited
// for that node; and it retries without a context, so a reader could not
// be stopped while the cluster had no majority.
type Reader struct {
	log     *Log
	filters []string
	next    Seq // the sequence after the last one delivered

	delivered uint64    // the consumer's delivery sequence of the last message
	replaced  time.Time // when the consumer was last replaced

	mu     sync.Mutex // guards what Close, which may run during Next, changes
	cons   jetstream.Consumer
	it     jetstream.MessagesContext // nil while there is no consumer
	closed bool

	startPending uint64 // matching messages from the start when the reader began
}

// Read starts an ordered read of every message from sequence from (1
// when from is 0) on the subjects matching filters (all subjects when
// there are none). On a cluster it waits, within ctx, while JetStream
// cannot create the reader's consumer (no majority). Close the reader
// when done.
func (l *Log) Read(ctx context.Context, from Seq, filters ...string) (*Reader, error) {
	r := &Reader{log: l, filters: filters, next: max(from, 1)}
	if err := r.open(ctx); err != nil {
		return nil, err
	}
	if info := r.cons.CachedInfo(); info != nil {
		r.startPending = info.NumPending
	}
	return r, nil
}

// open creates a consumer delivering from r.next and starts pulling.
func (r *Reader) open(ctx context.Context) error {
	cfg := jetstream.ConsumerConfig{
		DeliverPolicy:     jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:       uint64(r.next),
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: readerInactive,
		Replicas:          1,
		MemoryStorage:     true,
	}
	if len(r.filters) == 1 {
		cfg.FilterSubject = r.filters[0]
	} else {
		cfg.FilterSubjects = r.filters
	}
	var cons jetstream.Consumer
	create := func(ctx context.Context) (err error) {
		// A new name on every attempt: one that timed out may have been
		// placed on a node that is down, and JetStream would answer a
		// retry under that name from there, which is never.
		cfg.Name = "read-" + NewID()
		cons, err = r.log.stream.CreateConsumer(ctx, cfg)
		return err
	}
	var err error
	if r.log.replicas > 1 {
		err = Retry(ctx, r.log.log, fmt.Sprintf("read from %d", r.next), create)
	} else {
		err = create(ctx)
	}
	if err != nil {
		return fmt.Errorf("eventlog: read from %d: %w", r.next, err)
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(1024), jetstream.PullExpiry(10*time.Second),
		jetstream.PullHeartbeat(readerHeartbeat), jetstream.WithMessagesErrOnMissingHeartbeat(true))
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cons = cons
	if err == nil {
		r.it = it
		if r.closed {
			err = errReaderClosed
		}
	}
	if err != nil {
		r.dropLocked()
		return fmt.Errorf("eventlog: read from %d: %w", r.next, err)
	}
	r.delivered = 0
	return nil
}

// errReaderClosed: Close ended the reader.
var errReaderClosed = errors.New("reader closed")

// dropLocked stops pulling and deletes the consumer, in the background:
// a consumer on a node that is down cannot be deleted now, and goes when
// it has been inactive for readerInactive. r.mu is held.
func (r *Reader) dropLocked() {
	if r.it != nil {
		r.it.Stop()
		r.it = nil
	}
	if r.cons == nil {
		return
	}
	name := r.cons.CachedInfo().Name
	r.cons = nil
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = r.log.stream.DeleteConsumer(ctx, name)
	}()
}

// Next blocks until the next message arrives or ctx ends. When the
// consumer is lost (missed heartbeats, deleted, a gap in its deliveries)
// it reads on through a new one, from the message after the last one it
// returned.
func (r *Reader) Next(ctx context.Context) (*Msg, error) {
	for {
		r.mu.Lock()
		it, closed := r.it, r.closed
		r.mu.Unlock()
		if closed {
			return nil, fmt.Errorf("eventlog: next: %w", jetstream.ErrMsgIteratorClosed)
		}
		if it == nil {
			if wait := readerPause - time.Since(r.replaced); wait > 0 {
				select {
				case <-time.After(wait):
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			r.replaced = time.Now()
			if err := r.open(ctx); err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, err
			}
			continue
		}
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || errors.Is(err, nats.ErrConnectionClosed) {
				return nil, fmt.Errorf("eventlog: next: %w", err)
			}
			r.replace(err)
			continue
		}
		md, err := m.Metadata()
		if err != nil {
			return nil, fmt.Errorf("eventlog: metadata: %w", err)
		}
		if md.Sequence.Consumer != r.delivered+1 {
			r.replace(fmt.Errorf("delivery %d after %d", md.Sequence.Consumer, r.delivered))
			continue
		}
		r.delivered = md.Sequence.Consumer
		seq := Seq(md.Sequence.Stream)
		if seq < r.next {
			continue // delivered already (cannot happen with a consumer that starts at next)
		}
		r.next = seq + 1
		return &Msg{Seq: seq, Subject: m.Subject(), Data: m.Data(), Header: m.Headers(),
			Time: md.Timestamp, Pending: md.NumPending}, nil
	}
}

// replace drops the consumer; Next creates another.
func (r *Reader) replace(cause error) {
	r.log.log.Warn("log reader lost its consumer; reading on through a new one", "from", r.next, "err", cause)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dropLocked()
}

// Close stops the reader and deletes its consumer. It may be called while
// Next waits (which then returns an error) and more than once.
func (r *Reader) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	r.dropLocked()
}
