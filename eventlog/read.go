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
	// readerPause and readerMaxPause space the replacements of a reader's
	// consumer that follow each other with no message delivered between
	// them: the first comes at once, the next after readerPause, doubling
	// up to readerMaxPause.
	readerPause    = time.Second
	readerMaxPause = 10 * time.Second
)

// Reader delivers the stream's messages in order, exactly once each,
// through an ephemeral consumer (in memory, on one node) that it replaces
// when it is lost: a reader survives the loss of the cluster node that
// held its consumer, and a reconnect of its connection.
//
// A reader is nats.go's ordered consumer done here, for two reasons:
// nats.go retries a lost consumer's replacement under one name, and when
// the cluster placed that name on a node that had just died (a cluster
// takes minutes to call a killed node offline) every retry waited for
// that node; and it retries without a context, so a reader could not be
// stopped while the cluster had no majority.
//
// One goroutine at a time may call Next; Close may be called from any.
type Reader struct {
	log     *Log
	filters []string

	// Owned by the goroutine calling Next.
	next      Seq    // the sequence after the last one delivered
	delivered uint64 // the consumer's delivery sequence of the last message
	failures  int    // replacements since the last message delivered

	ctx    context.Context // ended by Close: stops a replacement under way
	cancel context.CancelFunc
	status chan nats.Status // the connection's reconnects

	mu     sync.Mutex // guards what Close and reconnects change during Next
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
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.status = l.nc.StatusChanged(nats.CONNECTED)
	go r.watchReconnects()
	return r, nil
}

// watchReconnects stops the iterator when the connection reconnects:
// the consumer's deliveries while it was away are lost (it wants no
// acknowledgements), so Next goes on through a new consumer.
func (r *Reader) watchReconnects() {
	for range r.status {
		r.mu.Lock()
		if r.it != nil {
			r.it.Stop()
		}
		r.mu.Unlock()
	}
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
		// retry under that name from there, which is never. An attempt
		// without an answer may have created its consumer all the same.
		cfg.Name = "read-" + NewID()
		cons, err = r.log.stream.CreateConsumer(ctx, cfg)
		if err != nil && NotReady(err) {
			r.log.deleteConsumerLater(cfg.Name)
		}
		return err
	}
	// Not l.retry: it gives up after 30 s, and a reader waits for as
	// long as its caller does.
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
var errReaderClosed = errors.New("eventlog: reader closed")

// dropLocked stops pulling and deletes the consumer. r.mu is held.
func (r *Reader) dropLocked() {
	if r.it != nil {
		r.it.Stop()
		r.it = nil
	}
	if r.cons != nil {
		r.log.deleteConsumerLater(r.cons.CachedInfo().Name)
		r.cons = nil
	}
}

// deleteConsumerLater deletes a consumer in the background: one on a node
// that is down cannot be deleted now, and goes when it has been unused
// for readerInactive.
func (l *Log) deleteConsumerLater(name string) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = l.stream.DeleteConsumer(ctx, name)
	}()
}

// Next blocks until the next message arrives, ctx ends or the reader is
// closed. When the consumer is lost (missed heartbeats, deleted, a gap in
// its deliveries, a reconnect) it reads on through a new one, from the
// message after the last one it returned, for as long as it takes to
// create one.
func (r *Reader) Next(ctx context.Context) (*Msg, error) {
	for {
		r.mu.Lock()
		it, closed := r.it, r.closed
		r.mu.Unlock()
		if closed {
			return nil, errReaderClosed
		}
		if it == nil {
			if err := r.reopen(ctx); err != nil {
				return nil, err
			}
			continue
		}
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if r.log.nc.IsClosed() {
				return nil, fmt.Errorf("eventlog: next: %w", err)
			}
			r.replace(err) // also after Close or a reconnect stopped it: the loop tells them apart
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
		r.failures = 0
		seq := Seq(md.Sequence.Stream)
		r.next = seq + 1
		return &Msg{Seq: seq, Subject: m.Subject(), Data: m.Data(), Header: m.Headers(),
			Time: md.Timestamp, Pending: md.NumPending}, nil
	}
}

// reopen creates the next consumer after the pause its failures call
// for. It returns nil when Next should loop (a consumer, or a failure
// worth another try), else why Next ends: ctx ended, Close, or the
// connection closed.
func (r *Reader) reopen(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(r.ctx, cancel)()
	if r.failures > 0 {
		pause := min(readerPause<<min(r.failures-1, 8), readerMaxPause)
		select {
		case <-time.After(pause):
		case <-ctx.Done():
		}
	}
	r.failures++
	err := r.open(ctx)
	switch {
	case err == nil:
		return nil
	case r.ctx.Err() != nil:
		return errReaderClosed
	case ctx.Err() != nil:
		return ctx.Err()
	case r.log.nc.IsClosed():
		return err
	}
	r.log.log.Warn("log reader could not create a consumer; trying again", "from", r.next, "err", err)
	return nil
}

// replace drops the consumer; Next creates another.
func (r *Reader) replace(cause error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.closed {
		r.log.log.Warn("log reader lost its consumer; reading on through a new one", "from", r.next, "err", cause)
	}
	r.dropLocked()
}

// Close stops the reader and deletes its consumer. It may be called while
// Next waits (which then returns an error) and more than once.
func (r *Reader) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.closed = true
	r.dropLocked()
	r.cancel()
	r.log.nc.RemoveStatusListener(r.status)
}
