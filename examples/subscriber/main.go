// Command subscriber is an example docket change feed for services: a
// separate program that follows the DOCS stream through a durable JetStream
// pull consumer and prints one JSON line per document event. Copy it and
// replace handle with what your service does.
//
// It gets every event exactly in stream order, acknowledges an event only
// after handling it, and after a restart (or a crash) resumes with the first
// event it had not acknowledged: nothing is skipped and, after a clean stop,
// nothing is repeated.
//
//	go run ./cmd/docket --nats-listen 127.0.0.1:4222 &
//	go run ./examples/subscriber --nats-url nats://127.0.0.1:4222
//	go run ./examples/subscriber --durable todo-feed --doctype ToDo --verify
//
// docs/events.md describes the events and the ways to consume them.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"docket/eventlog"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "subscriber:", err)
		os.Exit(1)
	}
}

// Line is what the subscriber prints for each event: one JSON object a
// line.
type Line struct {
	Seq         uint64   `json:"seq"` // stream sequence: the event's place in the log
	Type        string   `json:"type"`
	DocType     string   `json:"doctype"`
	Name        string   `json:"name"`
	Version     uint64   `json:"version"`
	User        string   `json:"user"`
	Time        string   `json:"time"`
	Tx          string   `json:"tx"`
	Changed     []string `json:"changed"` // the fields whose values changed
	RenamedFrom string   `json:"renamed_from,omitempty"`
	RenamedTo   string   `json:"renamed_to,omitempty"`
}

// pollWait bounds each pull request. Shutdown waits for the one in flight
// (at most this long), so the program never exits with an event delivered
// to it but not handled: such an event would wait AckWait before the next
// run got it.
const pollWait = time.Second

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("subscriber", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("nats-url", "nats://127.0.0.1:4222", "the docket node's NATS (docket serve --nats-listen)")
	token := fs.String("nats-token", getenv("DOCKET_NATS_TOKEN"), "the NATS token, if docket has one (env DOCKET_NATS_TOKEN)")
	durable := fs.String("durable", "example-subscriber", "the durable consumer's name: one per service; the same name resumes")
	doctype := fs.String("doctype", "", "follow only this doctype's documents (default: every document)")
	verify := fs.Bool("verify", false, "check each event's link in its document's hash chain; stop at a broken link")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	opts := []nats.Option{nats.Name(*durable), nats.MaxReconnects(-1)}
	if *token != "" {
		opts = append(opts, nats.Token(*token))
	}
	nc, err := nats.Connect(*url, opts...)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	stream, err := js.Stream(ctx, eventlog.StreamName)
	if err != nil {
		return fmt.Errorf("stream %s: %w", eventlog.StreamName, err)
	}

	// docs.> is every document; docs.<doctype>.* one doctype (the doctype
	// escaped into a subject token, as eventlog.EscapeToken does). The
	// uniq.> and series.> subjects in the same stream are docket's
	// bookkeeping and never reach this consumer.
	filter := eventlog.DocsPrefix + ">"
	if *doctype != "" {
		filter = eventlog.DocTypeSubjects(*doctype)
	}
	cons, err := consumer(ctx, stream, *durable, filter)
	if err != nil {
		return err
	}
	// The consumer's ack floor is the last event a previous run handled:
	// anything at or below it that comes again (an acknowledgement lost on
	// the way) is skipped. A service that keeps state elsewhere stores the
	// sequence with that state instead, and skips by it the same way.
	info := cons.CachedInfo()
	last := info.AckFloor.Stream
	fmt.Fprintf(stderr, "subscriber: consumer %s on %s, after stream sequence %d, %d pending\n",
		*durable, filter, last, info.NumPending)

	for ctx.Err() == nil {
		// Next is one pull request for one event; it returns at the latest
		// after pollWait, so a signal is noticed within that time.
		m, err := cons.Next(jetstream.FetchMaxWait(pollWait))
		if errors.Is(err, nats.ErrTimeout) {
			continue // nothing new yet
		}
		if err != nil {
			return err
		}
		md, err := m.Metadata()
		if err != nil {
			return err
		}
		seq := md.Sequence.Stream
		if seq > last {
			// This event is ours now: handle it even if a signal came
			// meanwhile, so that it is acknowledged before we exit.
			if err := handle(context.WithoutCancel(ctx), stream, seq, m, *verify, stdout, stderr); err != nil {
				// Give it back at once: it comes first again, to the next
				// run. (A service whose failures pass, a database that is
				// down, would instead m.NakWithDelay and carry on: with
				// MaxAckPending 1 nothing overtakes it.)
				_ = m.Nak()
				return fmt.Errorf("stream sequence %d: %w", seq, err)
			}
			last = seq
		}
		// DoubleAck waits until the server has the acknowledgement, so an
		// event handled before a clean stop is not delivered again.
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err = m.DoubleAck(actx)
		cancel()
		if err != nil {
			return fmt.Errorf("ack stream sequence %d: %w", seq, err)
		}
	}
	fmt.Fprintf(stderr, "subscriber: stopped after stream sequence %d\n", last)
	return nil
}

// consumer creates the durable consumer, or resumes it when it exists.
func consumer(ctx context.Context, stream jetstream.Stream, name, filter string) (jetstream.Consumer, error) {
	cons, err := stream.Consumer(ctx, name)
	if err == nil {
		if got := cons.CachedInfo().Config.FilterSubject; got != filter {
			return nil, fmt.Errorf("consumer %s follows %s, not %s: choose another --durable", name, got, filter)
		}
		return cons, nil
	}
	if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, err
	}
	return stream.CreateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       name,
		Description:   "docket example subscriber",
		FilterSubject: filter,
		// A new consumer starts at the first event of the log; use
		// jetstream.DeliverNewPolicy to start with the next one written.
		DeliverPolicy: jetstream.DeliverAllPolicy,
		// Every event is acknowledged on its own, after it is handled; an
		// event not acknowledged within AckWait (the program died) is
		// delivered again.
		AckPolicy: jetstream.AckExplicitPolicy,
		AckWait:   30 * time.Second,
		// One event at a time: the server sends the next event only when
		// this one is acknowledged. So an event that must be delivered
		// again still comes before every later one, and the order is the
		// stream's. It costs a round trip per event (thousands a second);
		// docs/events.md shows the faster ordered consumer.
		MaxAckPending: 1,
		MaxDeliver:    -1, // never give up on an event
	})
}

// handle is where a service does its work. This one prints the event as a
// JSON line, after checking its hash chain when verify is set.
func handle(ctx context.Context, stream jetstream.Stream, seq uint64, m jetstream.Msg, verify bool, stdout, stderr io.Writer) error {
	ev, err := eventlog.DecodeEvent(m.Data())
	if err != nil {
		// Not an event docket wrote; retrying would not help.
		fmt.Fprintf(stderr, "subscriber: stream sequence %d on %s skipped: %v\n", seq, m.Subject(), err)
		return nil
	}
	if ev.Format > eventlog.Format {
		return fmt.Errorf("event format %d is newer than this program (format %d)", ev.Format, eventlog.Format)
	}
	if verify {
		if err := checkChain(ctx, stream, m.Subject(), ev); err != nil {
			return err
		}
	}
	b, err := json.Marshal(lineOf(seq, ev))
	if err != nil {
		return err
	}
	_, err = stdout.Write(append(b, '\n'))
	return err
}

// lineOf is the line printed for the event at stream sequence seq.
func lineOf(seq uint64, ev *eventlog.Event) Line {
	l := Line{
		Seq: seq, Type: string(ev.Type), DocType: ev.DocType, Name: ev.Name, Version: ev.Version,
		User: ev.User, Time: ev.Timestamp().Format(time.RFC3339Nano), Tx: ev.Tx,
		Changed:     make([]string, 0, len(ev.Changed)),
		RenamedFrom: ev.RenamedFrom, RenamedTo: ev.RenamedTo,
	}
	for _, c := range ev.Changed {
		l.Changed = append(l.Changed, c.Field)
	}
	return l
}

// checkChain checks the event's link to the version before it: version 1
// names no predecessor; any later version names the stream sequence of its
// predecessor on the same subject and the SHA-256 of that message's body.
// A subscriber that starts at the beginning of the log and checks every
// event has verified every document's whole history.
func checkChain(ctx context.Context, stream jetstream.Stream, subject string, ev *eventlog.Event) error {
	if eventlog.DocSubject(ev.DocType, ev.Name) != subject {
		return fmt.Errorf("hash chain: %s %s is on subject %s", ev.DocType, ev.Name, subject)
	}
	if ev.Version == 1 {
		if len(ev.Prev) != 0 || ev.PrevSeq != 0 {
			return fmt.Errorf("hash chain: version 1 of %s names a predecessor", subject)
		}
		return nil
	}
	prev, err := stream.GetMsg(ctx, uint64(ev.PrevSeq))
	if err != nil {
		return fmt.Errorf("hash chain: version %d of %s: predecessor at %d: %w", ev.Version, subject, ev.PrevSeq, err)
	}
	pev, err := eventlog.DecodeEvent(prev.Data)
	if err != nil {
		return fmt.Errorf("hash chain: version %d of %s: predecessor at %d: %w", ev.Version, subject, ev.PrevSeq, err)
	}
	switch {
	case prev.Subject != subject || pev.Version != ev.Version-1:
		return fmt.Errorf("hash chain: version %d of %s: stream sequence %d is version %d of %s",
			ev.Version, subject, ev.PrevSeq, pev.Version, prev.Subject)
	case !bytes.Equal(ev.Prev, eventlog.Hash(prev.Data)):
		return fmt.Errorf("hash chain: version %d of %s: the hash of version %d does not match", ev.Version, subject, pev.Version)
	}
	return nil
}
