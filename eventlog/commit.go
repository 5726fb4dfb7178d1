package eventlog

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"
)

// Write is one message to append.
type Write struct {
	Subject string
	// Expect is the stream sequence of the subject's last message the write
	// was based on (Nats-Expected-Last-Subject-Sequence); 0 means the
	// subject must hold no message yet.
	Expect Seq
	// MsgID is the Nats-Msg-Id used to deduplicate retries.
	MsgID string
	// ID is the envelope ID, written in the Docket-Id header.
	ID   string
	Data []byte
	// Version is the document version (0 for claims).
	Version uint64
}

// EventWrite encodes an event as a write on its document subject, based on
// the subject's last sequence expect. The event's Prev must already be set.
func EventWrite(e *Event, expect Seq) (Write, error) {
	data, err := Marshal(e)
	if err != nil {
		return Write{}, err
	}
	return Write{
		Subject: DocSubject(e.DocType, e.Name),
		Expect:  expect,
		MsgID:   e.DocType + "/" + e.Name + "/" + strconv.FormatUint(e.Version, 10),
		ID:      e.ID,
		Data:    data,
		Version: e.Version,
	}, nil
}

// ClaimWrite encodes a uniqueness claim (or release) on its subject.
func ClaimWrite(c *Claim, expect Seq) (Write, error) {
	data, err := Marshal(c)
	if err != nil {
		return Write{}, err
	}
	return Write{
		Subject: ClaimSubject(c.DocType, c.Field, c.Value),
		Expect:  expect,
		MsgID:   "uniq/" + c.ID,
		ID:      c.ID,
		Data:    data,
	}, nil
}

// CounterWrite encodes a naming-series counter update on its subject.
func CounterWrite(c *Counter, expect Seq) (Write, error) {
	data, err := Marshal(c)
	if err != nil {
		return Write{}, err
	}
	return Write{
		Subject: SeriesSubject(c.Key),
		Expect:  expect,
		MsgID:   "series/" + c.ID,
		ID:      c.ID,
		Data:    data,
	}, nil
}

func (w *Write) msg() *nats.Msg {
	m := nats.NewMsg(w.Subject)
	m.Data = w.Data
	m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(uint64(w.Expect), 10))
	m.Header.Set(jetstream.ExpectedStreamHeader, StreamName)
	if w.MsgID != "" {
		m.Header.Set(jetstream.MsgIDHeader, w.MsgID)
	}
	m.Header.Set(HeaderID, w.ID)
	if w.Version > 0 {
		m.Header.Set(HeaderVersion, strconv.FormatUint(w.Version, 10))
	}
	return m
}

// commitTimeout bounds the commit of one request, retries included.
// attemptTimeout bounds one try: a cluster that lost its stream leader
// answers nothing until it has elected another (4 to 9 s in NATS), and a
// publish sent to the old one is lost; the next try reaches the new one.
// A try carries the same Nats-Msg-Id, so one that lands after an earlier
// one did is recognised, not stored twice.
const (
	commitTimeout  = 20 * time.Second
	attemptTimeout = 2 * time.Second
)

type commitReq struct {
	writes []Write
	seqs   []Seq
	err    error
	done   chan struct{}
}

// Append commits the writes atomically, all or none, and returns their
// stream sequences. One write is a plain publish; several go as one
// JetStream atomic batch. Concurrent calls share commit rounds (group
// commit). A failed expectation returns a *ConflictError (errors.Is
// ErrConflict). If ctx ends first the outcome is unknown: the writes may
// still commit.
func (l *Log) Append(ctx context.Context, writes ...Write) ([]Seq, error) {
	if l.opts.ReadOnly {
		return nil, ErrReadOnly
	}
	if len(writes) == 0 {
		return nil, nil
	}
	if len(writes) > 1000 {
		return nil, fmt.Errorf("eventlog: %d writes in one append (max 1000)", len(writes))
	}
	for _, w := range writes {
		if len(w.Subject) > MaxSubjectLen {
			return nil, fmt.Errorf("%w: %d bytes (at most %d)", ErrSubjectTooLong, len(w.Subject), MaxSubjectLen)
		}
		if len(w.Data) > MaxPayload-headerRoom {
			return nil, fmt.Errorf("%w: %d bytes (at most %d)", ErrTooLarge, len(w.Data), MaxPayload-headerRoom)
		}
	}
	r := &commitReq{writes: writes, done: make(chan struct{})}
	if err := l.enqueue(ctx, r); err != nil {
		return nil, err
	}
	select {
	case <-r.done:
		return r.seqs, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// headerRoom is what a message's headers may take of MaxPayload.
const headerRoom = 4 << 10

// enqueue hands a request to the committers, unless the log is closed.
// Holding the read lock while enqueuing means that once Close has taken
// the write lock, every queued request is one the committers will drain.
func (l *Log) enqueue(ctx context.Context, r *commitReq) error {
	l.closeMu.RLock()
	defer l.closeMu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	select {
	case l.queue <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *Log) startCommitters() {
	var wg sync.WaitGroup
	for range l.opts.Committers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.commitLoop()
		}()
	}
	go func() {
		wg.Wait()
		close(l.done)
	}()
}

// commitLoop takes whatever is queued (without waiting for more) and
// commits it as one round.
func (l *Log) commitLoop() {
	var carry []*commitReq
	for {
		var round []*commitReq
		if len(carry) > 0 {
			round, carry = carry, nil
		} else {
			select {
			case r := <-l.queue:
				round = append(round, r)
			case <-l.stop:
				l.drainOnStop()
				return
			}
		}
		round, carry = l.fillRound(round)
		l.commitRound(round)
	}
}

// fillRound adds queued requests to round up to MaxBatch messages. A
// request touching a subject already in the round waits for the next one:
// one atomic batch may not write a subject twice.
func (l *Log) fillRound(round []*commitReq) (kept, deferred []*commitReq) {
	subjects := map[string]bool{}
	n := 0
	add := func(r *commitReq) bool {
		if n > 0 && n+len(r.writes) > l.opts.MaxBatch {
			return false
		}
		for _, w := range r.writes {
			if subjects[w.Subject] {
				return false
			}
		}
		for _, w := range r.writes {
			subjects[w.Subject] = true
		}
		n += len(r.writes)
		kept = append(kept, r)
		return true
	}
	for _, r := range round {
		if !add(r) {
			deferred = append(deferred, r)
		}
	}
	for n < l.opts.MaxBatch && len(deferred) == 0 {
		select {
		case r := <-l.queue:
			if !add(r) {
				deferred = append(deferred, r)
			}
		default:
			return kept, deferred
		}
	}
	return kept, deferred
}

func (l *Log) drainOnStop() {
	for {
		select {
		case r := <-l.queue:
			l.commitRound([]*commitReq{r})
		default:
			return
		}
	}
}

func (l *Log) commitRound(round []*commitReq) {
	n := 0
	for _, r := range round {
		n += len(r.writes)
	}
	if n >= l.opts.SingleBelow && len(round) > 1 {
		var all []Write
		for _, r := range round {
			all = append(all, r.writes...)
		}
		// One try: if it fails, every request is committed on its own,
		// with retries.
		ctx, cancel := context.WithTimeout(context.Background(), attemptTimeout)
		seqs, err := l.publishBatch(ctx, all)
		cancel()
		if err == nil {
			i := 0
			for _, r := range round {
				r.seqs = seqs[i : i+len(r.writes)]
				i += len(r.writes)
				close(r.done)
			}
			return
		}
		// One stale expectation rejects the whole batch without saying
		// which: give every request its own answer.
		l.log.Debug("group batch rejected, committing one by one", "writes", n, "err", err)
	}
	var wg sync.WaitGroup
	for _, r := range round {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if len(r.writes) > 1 {
				// JetStream takes at most 50 atomic batches in flight per
				// stream: bound what one round sends at once.
				l.batchSlots <- struct{}{}
				defer func() { <-l.batchSlots }()
			}
			ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
			defer cancel()
			r.seqs, r.err = l.commitOne(ctx, r.writes)
			close(r.done)
		}()
	}
	wg.Wait()
}

// commitOne commits one request: a single publish or one atomic batch.
func (l *Log) commitOne(ctx context.Context, writes []Write) ([]Seq, error) {
	var seqs []Seq
	err := l.tries(ctx, func(ctx context.Context) (err error) {
		if len(writes) == 1 {
			var s Seq
			s, err = l.publishOne(ctx, writes[0])
			seqs = []Seq{s}
		} else {
			seqs, err = l.publishBatch(ctx, writes)
		}
		return err
	})
	if err == nil {
		return seqs, nil
	}
	if !errors.Is(err, ErrConflict) && !isTimeout(err) {
		return nil, err
	}
	// A conflict or a lost ack may hide a write that did land (a retry of
	// an earlier attempt). Find out, with a deadline of its own.
	rctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	return l.recognise(rctx, writes, err)
}

// recognise finds out whether writes landed. If a write landed, it is
// the first message on its subject after the sequence it expected (the
// expectation held when it was stored), so that message carries its ID.
// All landed: their sequences. None landed and some subject moved on: a
// *ConflictError (nothing was written, a retry is safe). Anything else
// (the subject did not move, or the log cannot be read) returns cause or
// the read error: the outcome is unknown and must not be retried blindly.
func (l *Log) recognise(ctx context.Context, writes []Write, cause error) ([]Seq, error) {
	seqs := make([]Seq, len(writes))
	landed := 0
	var conflict *ConflictError
	for i, w := range writes {
		m, err := l.getMsg(ctx, msgGetRequest{Seq: uint64(w.Expect) + 1, NextFor: w.Subject})
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
			continue // nothing after the expectation: not landed, no conflict
		case err != nil:
			return nil, fmt.Errorf("eventlog: after %v, reading %s: %w", cause, w.Subject, err)
		}
		if m.ID() == w.ID {
			seqs[i] = m.Seq
			landed++
			continue
		}
		if conflict == nil {
			conflict = &ConflictError{Subject: w.Subject, Last: m.Seq}
		}
	}
	switch {
	case landed == len(writes):
		return seqs, nil
	case landed == 0 && conflict != nil:
		return nil, conflict
	case landed > 0:
		return nil, fmt.Errorf("eventlog: %d of %d writes of one atomic append found in the log", landed, len(writes))
	}
	return nil, cause
}

// tries runs publish, each try with its own deadline (attemptTimeout),
// again while it times out (or finds no stream leader) and ctx lasts.
func (l *Log) tries(ctx context.Context, publish func(ctx context.Context) error) error {
	pause := 10 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := publish(actx)
		cancel()
		if err == nil || !isTimeout(err) || ctx.Err() != nil {
			return err
		}
		l.log.Debug("publish timed out, trying again", "err", err)
		select {
		case <-time.After(pause): // no leader answers yet: do not spin
		case <-ctx.Done():
			return err
		}
		pause = min(2*pause, 500*time.Millisecond)
	}
}

func (l *Log) publishOne(ctx context.Context, w Write) (Seq, error) {
	ack, err := l.js.PublishMsg(ctx, w.msg())
	if err != nil {
		return 0, translate(err, w.Subject)
	}
	if ack.Duplicate {
		// A replicated stream checks Nats-Msg-Id before expectations: a
		// competing writer of the same version is answered "duplicate"
		// with the winner's sequence. It is ours only if the ID is.
		return l.ownDuplicate(ctx, w, Seq(ack.Sequence))
	}
	return Seq(ack.Sequence), nil
}

// ownDuplicate decides a publish answered "duplicate" at seq.
func (l *Log) ownDuplicate(ctx context.Context, w Write, seq Seq) (Seq, error) {
	m, err := l.Get(ctx, seq)
	if err != nil {
		return 0, err
	}
	if m.ID() == w.ID {
		return seq, nil
	}
	return 0, &ConflictError{Subject: w.Subject, Last: seq}
}

func (l *Log) publishBatch(ctx context.Context, writes []Write) ([]Seq, error) {
	msgs := make([]*nats.Msg, len(writes))
	for i := range writes {
		msgs[i] = writes[i].msg()
	}
	var ack *jetstreamext.BatchAck
	var err error
	for pause := time.Millisecond; ; pause *= 2 {
		ack, err = jetstreamext.PublishMsgBatch(ctx, l.js, msgs)
		if err == nil || !tooManyInflight(err) || pause > 512*time.Millisecond {
			break
		}
		select { // the stream has too many batches in flight: wait a little
		case <-time.After(pause):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err != nil {
		return nil, translate(err, "")
	}
	if ack.BatchSize != uint64(len(writes)) {
		return nil, fmt.Errorf("eventlog: batch ack for %d of %d writes", ack.BatchSize, len(writes))
	}
	seqs := make([]Seq, len(writes))
	first := ack.Sequence - uint64(len(writes)) + 1
	for i := range seqs {
		seqs[i] = Seq(first + uint64(i))
	}
	return seqs, nil
}

// translate maps JetStream errors to this package's errors. In a batch, a
// Nats-Msg-Id seen before (10201) means a retried or competing write of
// the same version: it is reported as a conflict and then pinned down.
func translate(err error, subject string) error {
	var code jetstream.ErrorCode
	if apiErr := apiError(err); apiErr != nil {
		code = apiErr.ErrorCode
	}
	switch code {
	case jetstream.JSErrCodeStreamWrongLastSequence, jetstream.JSErrCodeStreamWrongLastSequenceConstant,
		jetstreamext.JSErrCodeBatchPublishDuplicateMsgID:
		return &ConflictError{Subject: subject}
	}
	return fmt.Errorf("eventlog: publish: %w", err)
}

// apiError is the JetStream API error err carries, or nil.
func apiError(err error) *jetstream.APIError {
	var apiErr *jetstream.APIError
	var jsErr jetstream.JetStreamError
	switch {
	case errors.As(err, &apiErr):
		return apiErr
	case errors.As(err, &jsErr):
		return jsErr.APIError()
	}
	return nil
}

func tooManyInflight(err error) bool {
	apiErr := apiError(err)
	if apiErr == nil {
		return false
	}
	return apiErr.ErrorCode == jetstreamext.JSErrCodeAtomicPublishTooManyInflight ||
		apiErr.ErrorCode == jetstreamext.JSErrCodeBatchPublishTooManyInflight
}

func isTimeout(err error) bool {
	return errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, jetstream.ErrNoStreamResponse)
}
