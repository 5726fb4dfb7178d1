package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"docket/eventlog"
	"docket/methods"
)

// Change feed defaults.
const (
	defaultHeartbeat = 15 * time.Second
	minHeartbeat     = 100 * time.Millisecond
)

// changes serves GET /api/v2/changes: the log as Server-Sent Events. Each
// event's id is its stream sequence and its data the event as JSON (as
// the versions endpoint writes it); only documents the caller may read
// are sent, in log order, each once per connection. It starts after
// since (a Last-Event-ID header, sent by a reconnecting EventSource,
// takes precedence; "now" means after the last event written), filtered
// by doctype and name; a comment line every heartbeat milliseconds keeps
// proxies from closing an idle connection.
func (s *Server) changes(w http.ResponseWriter, r *http.Request, c *call) error {
	doctype, name := methods.StringArg(c.args, "doctype"), methods.StringArg(c.args, "name")
	filter := "docs.>"
	switch {
	case name != "" && doctype == "":
		return errorf("ValidationError", "name filters the feed within a doctype: give doctype too")
	case name != "":
		filter = eventlog.DocSubject(doctype, name)
	case doctype != "":
		filter = eventlog.DocTypeSubjects(doctype)
	}
	if doctype != "" {
		if _, err := s.docs.Meta(doctype); err != nil {
			return err
		}
	}
	log := s.docs.Log()
	since, err := s.feedStart(r, c.args, log)
	if err != nil {
		return err
	}
	heartbeat := defaultHeartbeat
	if v := methods.StringArg(c.args, "heartbeat"); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms <= 0 {
			return errorf("ValidationError", "heartbeat must be a number of milliseconds, not %q", v)
		}
		heartbeat = max(time.Duration(ms)*time.Millisecond, minHeartbeat)
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	reader, err := log.Read(ctx, since+1, filter)
	if err != nil {
		return err
	}
	defer reader.Close()

	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	s.setCookies(w, c)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if _, err := fmt.Fprintf(w, "retry: 2000\n: docket change feed after %d\n\n", since); err != nil {
		return nil
	}
	if rc.Flush() != nil {
		return nil
	}

	msgs := make(chan *eventlog.Msg, 64)
	failed := make(chan error, 1)
	go func() {
		for {
			m, err := reader.Next(ctx)
			if err != nil {
				failed <- err
				return
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	last := since
	for {
		var out []byte
		select {
		case <-ctx.Done():
			return nil
		case <-s.closing:
			return nil
		case err := <-failed:
			if ctx.Err() == nil {
				s.log.Warn("change feed ended", "err", err)
			}
			return nil
		case <-tick.C:
			out = []byte(": heartbeat\n\n")
		case m := <-msgs:
			if m.Seq <= last {
				continue // a redelivery: each event once per connection
			}
			last = m.Seq
			ev, err := s.feedEvent(ctx, c.id.User, m)
			if err != nil {
				s.log.Warn("change feed event", "seq", m.Seq, "err", err)
				return nil // the client reconnects from its last id
			}
			if ev == nil {
				continue
			}
			d, err := s.docs.Meta(ev.DocType)
			if err != nil {
				continue
			}
			out = fmt.Appendf(nil, "id: %d\ndata: ", m.Seq)
			out = appendJSON(out, s.eventObject(d, m.Seq, eventlog.Hash(m.Data), ev))
			out = append(out, "\n\n"...)
		}
		if _, err := w.Write(out); err != nil {
			return nil
		}
		if rc.Flush() != nil {
			return nil
		}
	}
}

// feedStart is the sequence a feed starts after.
func (s *Server) feedStart(r *http.Request, args map[string]any, log *eventlog.Log) (eventlog.Seq, error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = methods.StringArg(args, "since")
	}
	switch v {
	case "", "0":
		return 0, nil
	case "now":
		return log.LastSeq(r.Context())
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, errorf("ValidationError", "since must be a stream sequence or \"now\", not %q", v)
	}
	return eventlog.Seq(n), nil
}

// feedEvent decodes one message of the feed and returns it as the user
// may see it, or nil.
func (s *Server) feedEvent(ctx context.Context, user string, m *eventlog.Msg) (*eventlog.Event, error) {
	ev, err := eventlog.DecodeEvent(m.Data)
	if err != nil {
		return nil, err
	}
	return s.docs.FeedEvent(ctx, user, ev, func() (map[string]any, error) {
		if ev.PrevSeq == 0 {
			return nil, nil
		}
		prev, err := s.docs.Log().Get(ctx, ev.PrevSeq)
		if errors.Is(err, eventlog.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		pe, err := eventlog.DecodeEvent(prev.Data)
		if err != nil {
			return nil, err
		}
		return pe.Doc, nil
	})
}
