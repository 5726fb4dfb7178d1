package audit

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"docket/eventlog"
	"docket/projections"
)

// Options configures [Verify]. The zero value checks the log only.
type Options struct {
	// Live is a read model to compare key by key with a rebuild at its
	// checkpoint: a stopped node's store, opened read-only.
	Live *projections.Store
	// Digest, when Live is nil, fetches the digest of a running node's
	// read model, to compare with a rebuild's at the digest's checkpoint.
	Digest func(ctx context.Context) (*projections.Digest, error)
	// TempDir holds the rebuild while Verify runs; default os.TempDir().
	TempDir string
	// MaxDifferences bounds the differing keys the report lists (all are
	// counted); default 100.
	MaxDifferences int
}

// Report is what [Verify] found.
type Report struct {
	// LastSeq is the stream's last sequence when the check began; the
	// log was checked up to it.
	LastSeq eventlog.Seq
	// Messages counts the messages read: Events document events on
	// Subjects document subjects, Bookkeeping claims and counters.
	Messages, Events, Bookkeeping, Subjects int
	// Problems are what is wrong with the log, in stream order.
	Problems []Problem

	// Compared says how the read model was compared with the rebuild:
	// "key by key", "by digest", or "" (not compared).
	Compared string
	// Checkpoint is the sequence the rebuild was compared at.
	Checkpoint eventlog.Seq
	// Differences describe the first differing keys or digest parts;
	// DifferenceCount counts them all.
	Differences     []string
	DifferenceCount int
}

// OK reports whether nothing is wrong.
func (r *Report) OK() bool { return len(r.Problems) == 0 && r.DifferenceCount == 0 }

// Write writes every problem and difference, one a line, then a summary.
func (r *Report) Write(w io.Writer) error {
	var b strings.Builder
	for _, p := range r.Problems {
		b.WriteString(p.String() + "\n")
	}
	for _, d := range r.Differences {
		b.WriteString(d + "\n")
	}
	if n := r.DifferenceCount - len(r.Differences); n > 0 {
		fmt.Fprintf(&b, "… and %d more\n", n)
	}
	fmt.Fprintf(&b, "log: %d messages up to seq %d: %d document events on %d documents, %d claims and counters; ",
		r.Messages, r.LastSeq, r.Events, r.Subjects, r.Bookkeeping)
	if len(r.Problems) == 0 {
		b.WriteString("every chain intact\n")
	} else {
		b.WriteString(count(len(r.Problems), "problem") + "\n")
	}
	switch {
	case r.Compared == "":
		b.WriteString("projections: not compared\n")
	case r.DifferenceCount == 0:
		fmt.Fprintf(&b, "projections: equal to a rebuild at seq %d (compared %s)\n", r.Checkpoint, r.Compared)
	default:
		fmt.Fprintf(&b, "projections: %s from a rebuild at seq %d (compared %s)\n", count(r.DifferenceCount, "difference"), r.Checkpoint, r.Compared)
	}
	if r.OK() {
		b.WriteString("OK\n")
	} else {
		b.WriteString("FAILED\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// count writes "1 problem", "2 problems".
func count[N int | int64](n N, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Verify checks the log and, with Options.Live or Options.Digest, the
// read model against a rebuild from the log. What it finds wrong is in
// the report; an error means the check could not be done.
func Verify(ctx context.Context, lg *eventlog.Log, opts Options) (*Report, error) {
	if opts.MaxDifferences <= 0 {
		opts.MaxDifferences = 100
	}
	r := &Report{}
	// The read model's checkpoint first: the log then holds everything
	// the read model has seen.
	var digest *projections.Digest
	switch {
	case opts.Live != nil:
		cp, err := opts.Live.Checkpoint()
		if err != nil {
			return nil, err
		}
		r.Compared, r.Checkpoint = "key by key", cp
	case opts.Digest != nil:
		d, err := opts.Digest(ctx)
		if err != nil {
			return nil, fmt.Errorf("audit: digest of the read model: %w", err)
		}
		digest, r.Compared, r.Checkpoint = d, "by digest", d.Checkpoint
	}
	info, err := lg.StreamInfo(ctx)
	if err != nil {
		return nil, err
	}
	r.LastSeq = eventlog.Seq(info.State.LastSeq)
	r.Problems = streamProblems(info.Config)
	if r.Checkpoint > r.LastSeq {
		r.Problems = append(r.Problems, Problem{Subject: "read model", What: fmt.Sprintf(
			"its checkpoint %d is beyond the log's last sequence %d", r.Checkpoint, r.LastSeq)})
	}

	var rb *rebuild
	if r.Compared != "" {
		if rb, err = newRebuild(opts.TempDir); err != nil {
			return nil, err
		}
		defer rb.close()
	}
	c := newChain()
	err = lg.Scan(ctx, eventlog.ScanOptions{To: r.LastSeq}, func(m *eventlog.Msg) error {
		problems := c.add(m)
		r.Problems = append(r.Problems, problems...)
		if rb == nil || m.Seq > r.Checkpoint {
			return nil
		}
		if len(problems) > 0 {
			rb.reported[m.Seq] = true
		}
		return rb.add(m)
	})
	if err != nil {
		return nil, err
	}
	if c.last < r.LastSeq {
		r.Problems = append(r.Problems, gap(c.last+1, r.LastSeq))
	}
	r.Messages, r.Events, r.Bookkeeping, r.Subjects = c.messages, c.events, c.bookkeeping, len(c.heads)

	if rb != nil {
		if err := rb.flush(); err != nil {
			return nil, err
		}
		r.Problems = append(r.Problems, rb.problems...)
		differ := func(d string) {
			r.DifferenceCount++
			if len(r.Differences) < opts.MaxDifferences {
				r.Differences = append(r.Differences, d)
			}
		}
		if digest != nil {
			err = compareDigests(digest, rb.store, differ)
		} else {
			err = projections.Compare(opts.Live, rb.store, func(d projections.Difference) error {
				differ(d.Describe("live", "rebuilt"))
				return nil
			})
		}
		if err != nil {
			return nil, err
		}
	}
	slices.SortStableFunc(r.Problems, func(a, b Problem) int { return cmp.Compare(a.Seq, b.Seq) })
	return r, nil
}

// rebuild is a fresh read model in a temporary directory, fed from the
// log as the projector would be.
type rebuild struct {
	dir     string
	store   *projections.Store
	pending []*eventlog.Msg
	// reported are the sequences the chain check already complained
	// about: the projector skipping them is no news.
	reported map[eventlog.Seq]bool
	problems []Problem
}

// rebuildBatch is the projector's batch size.
const rebuildBatch = 1000

func newRebuild(tempDir string) (*rebuild, error) {
	dir, err := os.MkdirTemp(tempDir, "docket-verify-")
	if err != nil {
		return nil, fmt.Errorf("audit: rebuild directory: %w", err)
	}
	s, err := projections.Open(dir, projections.Options{})
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &rebuild{dir: dir, store: s, reported: map[eventlog.Seq]bool{}}, nil
}

func (rb *rebuild) add(m *eventlog.Msg) error {
	rb.pending = append(rb.pending, m)
	if len(rb.pending) < rebuildBatch {
		return nil
	}
	return rb.flush()
}

func (rb *rebuild) flush() error {
	skipped, err := rb.store.Apply(rb.pending)
	rb.pending = rb.pending[:0]
	if err != nil {
		return err
	}
	for _, e := range skipped {
		if !rb.reported[e.Seq] {
			rb.problems = append(rb.problems, Problem{Seq: e.Seq, Subject: e.Subject,
				What: "the projector cannot apply it: " + e.Err.Error()})
		}
	}
	return nil
}

func (rb *rebuild) close() {
	rb.store.Close()
	os.RemoveAll(rb.dir)
}

// compareDigests compares a node's digest with the rebuilt store's, part
// by part.
func compareDigests(node *projections.Digest, rebuilt *projections.Store, differ func(string)) error {
	mine, err := rebuilt.Digest()
	if err != nil {
		return err
	}
	if mine.Checkpoint != node.Checkpoint {
		differ(fmt.Sprintf("checkpoint: node %d, rebuilt %d", node.Checkpoint, mine.Checkpoint))
	}
	if mine.SHA256 == node.SHA256 {
		return nil
	}
	type id struct{ kind, doctype string }
	theirs := map[id]projections.DigestPart{}
	for _, p := range node.Parts {
		theirs[id{p.Kind, p.DocType}] = p
	}
	name := func(p projections.DigestPart) string {
		if p.DocType == "" {
			return p.Kind
		}
		return p.Kind + " of " + p.DocType
	}
	found := false
	for _, p := range mine.Parts {
		q, ok := theirs[id{p.Kind, p.DocType}]
		delete(theirs, id{p.Kind, p.DocType})
		switch {
		case !ok:
			differ(fmt.Sprintf("%s: only rebuilt (%s)", name(p), count(p.Keys, "key")))
		case q.SHA256 != p.SHA256:
			differ(fmt.Sprintf("%s: %s on the node, %d rebuilt, contents differ", name(p), count(q.Keys, "key"), p.Keys))
		default:
			continue
		}
		found = true
	}
	for _, q := range node.Parts {
		if _, ok := theirs[id{q.Kind, q.DocType}]; ok {
			differ(fmt.Sprintf("%s: only on the node (%s)", name(q), count(q.Keys, "key")))
			found = true
		}
	}
	if !found {
		differ(fmt.Sprintf("digest: node %s, rebuilt %s", node.SHA256, mine.SHA256))
	}
	return nil
}
