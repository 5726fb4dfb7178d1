package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/synadia-io/orbit.go/jetstreamext"

	"docket/eventlog"
)

// natsCeilings measures JetStream on an embedded server started as docket
// starts its own (eventlog.StartServer: file store, fsync before every
// acknowledgement) with the DOCS stream as docket configures it
// (eventlog.Open), in dir. The messages are raw publishes to distinct
// subjects, with no docket code on the path.
func natsCeilings(ctx context.Context, p ceilingPlan, dir string, set *ceilingSet) error {
	ns, err := eventlog.StartServer(eventlog.ServerOptions{StoreDir: dir})
	if err != nil {
		return err
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	nc, err := eventlog.ConnectInProcess(ns, "docket-bench")
	if err != nil {
		return err
	}
	defer nc.Close()
	lg, err := eventlog.Open(ctx, nc, eventlog.Options{})
	if err != nil {
		return err
	}
	defer lg.Close()
	js := lg.JetStream()

	var seq atomic.Int64 // distinct subjects
	rng := rand.New(rand.NewPCG(p.seed, 99))
	payload := rawEvent(rng, randomName(rng, 10))
	subject := func() string { return fmt.Sprintf("docs.Bench.n%d", seq.Add(1)) }
	publish := func(int) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := js.Publish(ctx, subject(), payload)
			return err
		}
	}
	const batchSize = loadBatch
	batch := func(ctx context.Context) error {
		msgs := make([]*nats.Msg, batchSize)
		for i := range msgs {
			msgs[i] = nats.NewMsg(subject())
			msgs[i].Data = payload
		}
		_, err := jetstreamext.PublishMsgBatch(ctx, js, msgs)
		return err
	}
	note := fmt.Sprintf("%d-byte messages to distinct subjects", len(payload))

	if p.need[ceilPublish1] {
		s := measure(ctx, 1, p.warm, p.duration, publish)
		if err := set.add(ceilPublish1, "JetStream publish, sync always, 1 publisher", s, note); err != nil {
			return err
		}
	}
	if p.need[ceilPublish] {
		s := measure(ctx, p.clients, p.warm, p.duration, publish)
		if err := set.add(ceilPublish, fmt.Sprintf("JetStream publish, sync always, %d publishers", p.clients), s, note); err != nil {
			return err
		}
	}
	if p.need[ceilBatch] {
		s := measure(ctx, p.loaders, p.warm, p.duration, func(int) func(context.Context) error { return batch })
		s.ops *= batchSize // messages, not batches
		if err := set.add(ceilBatch, fmt.Sprintf("JetStream atomic batch of %d, sync always, %d publishers", batchSize, p.loaders), s,
			note+"; count in messages, latency per batch"); err != nil {
			return err
		}
	}
	if !p.need[ceilRead] {
		return nil
	}
	// Read back at least as many messages as the documents loaded.
	want := max(p.docs, 20000)
	last, err := lg.LastSeq(ctx)
	if err != nil {
		return err
	}
	if missing := want - int(last); missing > 0 {
		fill := measureJobs(ctx, 4, (missing+batchSize-1)/batchSize, func(ctx context.Context, _ int) error { return batch(ctx) })
		if fill.firstErr != nil {
			return fmt.Errorf("fill the stream: %w", fill.firstErr)
		}
	}
	s, err := readAll(ctx, js)
	if err != nil {
		return err
	}
	if err := set.add(ceilRead, fmt.Sprintf("JetStream ordered consumer, read %d messages", s.ops), s,
		"as the projector reads: ordered consumer from sequence 1, pulls of 1,024, metadata of each"); err != nil {
		return err
	}
	return nil
}

// readAll reads the whole DOCS stream once, as the projector's reader
// does (eventlog.Log.Read), and times it.
func readAll(ctx context.Context, js jetstream.JetStream) (sample, error) {
	stream, err := js.Stream(ctx, eventlog.StreamName)
	if err != nil {
		return sample{}, err
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return sample{}, err
	}
	last := info.State.LastSeq
	cpu0, start := cpuTime(), time.Now()
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: 1,
	})
	if err != nil {
		return sample{}, err
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(1024))
	if err != nil {
		return sample{}, err
	}
	defer it.Stop()
	var n int64
	for {
		m, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return sample{}, fmt.Errorf("read back: %w", err)
		}
		md, err := m.Metadata()
		if err != nil {
			return sample{}, err
		}
		n++
		if md.Sequence.Stream >= last {
			break
		}
	}
	return sample{ops: n, elapsed: time.Since(start), cpu: cpuTime() - cpu0, hist: newHistogram()}, nil
}
