package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"docket/eventlog"
)

// Problem is one thing wrong with the log.
type Problem struct {
	// Seq is the message's stream sequence (0: not about one message).
	Seq eventlog.Seq
	// Subject is the message's subject, or "stream DOCS".
	Subject string
	// Version is the envelope's version, when it decodes.
	Version uint64
	// What says what is wrong.
	What string
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Seq > 0 {
		fmt.Fprintf(&b, "seq %d ", p.Seq)
	}
	b.WriteString(p.Subject)
	if p.Version > 0 {
		fmt.Fprintf(&b, " version %d", p.Version)
	}
	b.WriteString(": ")
	b.WriteString(p.What)
	return b.String()
}

// head is the last version seen on a document subject.
type head struct {
	seq     eventlog.Seq
	version uint64
	hash    [sha256.Size]byte
}

// chain checks messages fed to it in stream order: sequences without
// gaps, and per document subject the hash chain and the envelope.
type chain struct {
	heads map[string]head
	last  eventlog.Seq
	// messages, events and bookkeeping count what was read.
	messages, events, bookkeeping int
}

func newChain() *chain { return &chain{heads: map[string]head{}} }

// add checks one message and returns what is wrong with it (nothing:
// nil).
func (c *chain) add(m *eventlog.Msg) []Problem {
	var problems []Problem
	if m.Seq != c.last+1 {
		problems = append(problems, gap(c.last+1, m.Seq-1))
	}
	c.last = m.Seq
	c.messages++
	p := Problem{Seq: m.Seq, Subject: m.Subject}
	switch {
	case strings.HasPrefix(m.Subject, eventlog.DocsPrefix):
		c.events++
		p.Version, p.What = c.event(m)
	case strings.HasPrefix(m.Subject, eventlog.ClaimsPrefix):
		c.bookkeeping++
		var cl eventlog.Claim
		p.What = bookkeeping(m, &cl, &cl.Format, func() string { return eventlog.ClaimSubject(cl.DocType, cl.Field, cl.Value) })
	case strings.HasPrefix(m.Subject, eventlog.SeriesPrefix):
		c.bookkeeping++
		var ct eventlog.Counter
		p.What = bookkeeping(m, &ct, &ct.Format, func() string { return eventlog.SeriesSubject(ct.Key) })
	default:
		p.What = "a subject outside docs.>, uniq.> and series.>"
	}
	if p.What != "" {
		problems = append(problems, p)
	}
	return problems
}

// gap is the problem of missing sequences from through to.
func gap(from, to eventlog.Seq) Problem {
	if from == to {
		return Problem{Seq: from, Subject: "stream DOCS", What: "the message is missing (deleted from the stream)"}
	}
	return Problem{Seq: from, Subject: "stream DOCS",
		What: fmt.Sprintf("the messages at sequences %d to %d are missing (deleted from the stream)", from, to)}
}

// event checks a document event against its subject and the subject's
// previous version, then makes it the subject's head whatever is wrong
// with it: the next version is checked against what is really there, so
// one forged message is reported once.
func (c *chain) event(m *eventlog.Msg) (version uint64, what string) {
	prev, seen := c.heads[m.Subject]
	defer func() {
		h := head{seq: m.Seq, version: version, hash: sha256.Sum256(m.Data)}
		if h.version == 0 { // no envelope: count it as the next version
			h.version = prev.version + 1
		}
		c.heads[m.Subject] = h
	}()
	dt, name, err := eventlog.ParseDocSubject(m.Subject)
	if err != nil {
		return 0, "not a valid document subject"
	}
	ev, err := eventlog.DecodeEvent(m.Data)
	if err != nil {
		return 0, "the envelope does not decode: " + err.Error()
	}
	var wrong []string
	say := func(format string, args ...any) { wrong = append(wrong, fmt.Sprintf(format, args...)) }
	if ev.Format < 1 || ev.Format > eventlog.Format {
		say("envelope format %d is not one this docket reads (1 to %d)", ev.Format, eventlog.Format)
	}
	if ev.DocType != dt || ev.Name != name {
		say("the envelope is for %s %q, the subject for %s %q", ev.DocType, ev.Name, dt, name)
	}
	switch ev.Type {
	case eventlog.Insert, eventlog.Update, eventlog.Delete, eventlog.Submit, eventlog.Cancel, eventlog.Rename:
	default:
		say("unknown event type %q", ev.Type)
	}
	if !seen {
		if ev.Version != 1 {
			say("the subject's first message is version %d, not 1", ev.Version)
		}
		if len(ev.Prev) > 0 || ev.PrevSeq != 0 {
			say("the subject's first message names a previous version (prev_seq %d, prev %s)", ev.PrevSeq, short(ev.Prev))
		}
	} else {
		if ev.Version != prev.version+1 {
			say("version %d follows version %d (seq %d)", ev.Version, prev.version, prev.seq)
		}
		if ev.PrevSeq != prev.seq {
			say("prev_seq is %d, the previous version is at seq %d", ev.PrevSeq, prev.seq)
		}
		if !bytes.Equal(ev.Prev, prev.hash[:]) {
			say("prev is %s, the previous version (seq %d) hashes to %s", short(ev.Prev), prev.seq, short(prev.hash[:]))
		}
	}
	if h := m.Header.Get(eventlog.HeaderVersion); h != "" && h != strconv.FormatUint(ev.Version, 10) {
		say("header %s is %s", eventlog.HeaderVersion, h)
	}
	if h := m.Header.Get(eventlog.HeaderID); h != "" && h != ev.ID {
		say("header %s is %s, the envelope's id %s", eventlog.HeaderID, h, ev.ID)
	}
	if h := m.Header.Get(jetstream.MsgIDHeader); h != "" && h != ev.DocType+"/"+ev.Name+"/"+strconv.FormatUint(ev.Version, 10) {
		say("header %s is %s", jetstream.MsgIDHeader, h)
	}
	return ev.Version, strings.Join(wrong, "; ")
}

// bookkeeping checks a claim or counter message: it decodes into v, has a
// known format, and its subject is the one its content names.
func bookkeeping(m *eventlog.Msg, v any, format *int, subject func() string) string {
	if err := eventlog.Unmarshal(m.Data, v); err != nil {
		return "the message does not decode: " + err.Error()
	}
	if *format < 1 || *format > eventlog.Format {
		return fmt.Sprintf("format %d is not one this docket reads (1 to %d)", *format, eventlog.Format)
	}
	if s := subject(); s != m.Subject {
		return "the content belongs on " + s
	}
	return ""
}

// short writes a hash for people: its first 8 bytes in hex.
func short(h []byte) string {
	switch {
	case len(h) == 0:
		return "empty"
	case len(h) > 8:
		return hex.EncodeToString(h[:8]) + "…"
	}
	return hex.EncodeToString(h)
}

// streamProblems reports settings of the stream that let history be
// changed or lost.
func streamProblems(c jetstream.StreamConfig) []Problem {
	var what []string
	if !c.DenyDelete {
		what = append(what, "messages may be deleted (deny_delete is off)")
	}
	if !c.DenyPurge {
		what = append(what, "the stream may be purged (deny_purge is off)")
	}
	if c.MaxAge > 0 {
		what = append(what, "messages older than "+c.MaxAge.String()+" are dropped")
	}
	if c.MaxMsgsPerSubject > 0 {
		what = append(what, fmt.Sprintf("only %d versions per document are kept", c.MaxMsgsPerSubject))
	}
	if c.Discard == jetstream.DiscardOld && (c.MaxMsgs > 0 || c.MaxBytes > 0) {
		what = append(what, "the oldest messages are dropped when the stream is full")
	}
	if len(what) == 0 {
		return nil
	}
	return []Problem{{Subject: "stream DOCS", What: "its settings let history change: " + strings.Join(what, "; ")}}
}
