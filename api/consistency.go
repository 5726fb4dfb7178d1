package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"docket/eventlog"
)

// Read-your-writes across nodes. Every answer carries SeqHeader: the
// stream sequence this node's projections had reached when it answered,
// and at least the last sequence the request wrote. A request carrying
// MinSeqHeader is served once this node's projections have reached that
// sequence (within Options.MinSeqWait, else 503 ServiceUnavailable with
// Retry-After), so a client that wrote through one node and reads through
// another sends the first answer's SeqHeader as MinSeqHeader and reads
// its write. The wait comes before authentication, which reads users from
// the projections too: a user created through one node logs in through
// another.
const (
	SeqHeader    = "X-Docket-Seq"
	MinSeqHeader = "X-Docket-Min-Seq"
)

// seqWriter sets SeqHeader when the response's header is written.
type seqWriter struct {
	http.ResponseWriter
	s       *Server
	c       *call
	written bool
}

func (w *seqWriter) setSeq() {
	if w.written {
		return
	}
	w.written = true
	seq := max(w.c.seq, w.s.docs.Store().Applied())
	w.Header().Set(SeqHeader, strconv.FormatUint(uint64(seq), 10))
}

func (w *seqWriter) WriteHeader(status int) {
	w.setSeq()
	w.ResponseWriter.WriteHeader(status)
}

func (w *seqWriter) Write(b []byte) (int, error) {
	w.setSeq()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (Flush for
// the change feed).
func (w *seqWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wrote records the last sequence a request wrote.
func (c *call) wrote(seq eventlog.Seq) { c.seq = max(c.seq, seq) }

// waitMinSeq waits until this node's projections have reached the
// request's MinSeqHeader, if it has one.
func (s *Server) waitMinSeq(r *http.Request) error {
	v := strings.TrimSpace(r.Header.Get(MinSeqHeader))
	if v == "" {
		return nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return errorf("ValidationError", "%s must be a stream sequence (the %s of an earlier answer), not %q", MinSeqHeader, SeqHeader, v)
	}
	store := s.docs.Store()
	if store.Applied() >= eventlog.Seq(n) {
		return nil
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.MinSeqWait)
	defer cancel()
	if err := store.WaitFor(ctx, eventlog.Seq(n)); err != nil {
		if r.Context().Err() != nil {
			return r.Context().Err()
		}
		return &frappeError{Exc: "ServiceUnavailable", RetryAfter: 1,
			Msg: "This server has not caught up with sequence " + v + " yet (it is at " +
				strconv.FormatUint(uint64(store.Applied()), 10) + "): retry, or ask another server"}
	}
	return nil
}
