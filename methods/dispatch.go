package methods

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"docket/eventlog"
)

// DispatchOptions configures a Dispatcher. The zero value works.
type DispatchOptions struct {
	// Timeout bounds a call of a method served by another process;
	// default 60s.
	Timeout time.Duration
}

// Dispatcher runs whitelisted methods for the HTTP API, in Frappe's order
// of resolution: an enabled API server script of that name, a method
// registered in this process, else a method served over NATS by any
// process (a queue group: one of them takes the call). Every call gets a
// transaction owned by the dispatcher; its writes commit when the call
// succeeds on POST, PUT, PATCH or DELETE, and a call that lost a race is
// run again on fresh reads.
type Dispatcher struct {
	docs  *Docs
	local *Registry
	nc    *nats.Conn
	opts  DispatchOptions
}

// NewDispatcher returns a dispatcher over the command side, this
// process's methods and a NATS connection (nil: local methods only).
func NewDispatcher(docs *Docs, local *Registry, nc *nats.Conn, opts DispatchOptions) *Dispatcher {
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	return &Dispatcher{docs: docs, local: local, nc: nc, opts: opts}
}

// Registry is the registry of this process's methods.
func (d *Dispatcher) Registry() *Registry { return d.local }

// Request is one call of a whitelisted method.
type Request struct {
	Method     string // dotted name
	HTTPMethod string
	User       string
	Args       map[string]any
}

// Response is what a call returned.
type Response struct {
	// Message is the method's return value (nil: no "message" key).
	Message any
	// Messages are the user-facing messages the call printed.
	Messages []string
	// Seq is the last stream sequence the call wrote (0: none).
	Seq eventlog.Seq
}

// writes reports whether an HTTP verb commits (Frappe's commit-on-POST).
func writes(verb string) bool {
	switch strings.ToUpper(verb) {
	case "POST", "PUT", "PATCH", "DELETE":
		return true
	}
	return false
}

// Call runs a method.
func (d *Dispatcher) Call(ctx context.Context, req Request) (*Response, error) {
	run, err := d.target(ctx, req)
	if err != nil {
		return nil, err
	}
	var resp Response
	seq, err := d.docs.run(ctx, req.User, !writes(req.HTTPMethod), func(tx *Tx) error {
		c := &Call{User: req.User, HTTPMethod: req.HTTPMethod, Args: req.Args, Tx: tx}
		msg, err := run(ctx, c, tx)
		resp.Message, resp.Messages = msg, append(c.messages, tx.messages...)
		return err
	})
	if err != nil {
		return nil, err
	}
	resp.Seq = seq
	return &resp, nil
}

// runner runs a method in a transaction.
type runner func(ctx context.Context, c *Call, tx *Tx) (any, error)

// target resolves a method name to what runs it.
func (d *Dispatcher) target(ctx context.Context, req Request) (runner, error) {
	if s, ok, err := d.docs.apiScript(ctx, req.Method); err != nil {
		return nil, err
	} else if ok {
		if !s.allowGuest && req.User == Guest {
			return nil, (&Method{Name: req.Method}).check(req.User, req.HTTPMethod)
		}
		return func(ctx context.Context, c *Call, tx *Tx) (any, error) {
			return d.docs.runAPIScript(ctx, s, c)
		}, nil
	}
	if m, ok := d.local.Lookup(req.Method); ok {
		if err := m.check(req.User, req.HTTPMethod); err != nil {
			return nil, err
		}
		return func(ctx context.Context, c *Call, tx *Tx) (any, error) {
			return m.Handler(ctx, c)
		}, nil
	}
	if d.nc == nil {
		return nil, notFoundMethod(req.Method)
	}
	return func(ctx context.Context, c *Call, tx *Tx) (any, error) {
		return d.remote(ctx, req, c, tx)
	}, nil
}

func notFoundMethod(name string) error {
	return &Error{Exc: DoesNotExistError, Title: "Not Found", Msg: fmt.Sprintf("Method %s not found", name)}
}

// remote calls a method served by another process, serving the call's
// transaction to it while it runs.
func (d *Dispatcher) remote(ctx context.Context, req Request, c *Call, tx *Tx) (any, error) {
	subject := "_DOCKET.tx." + nats.NewInbox()[len("_INBOX."):]
	var mu sync.Mutex // held while an operation runs; done once the call ends
	done, served := false, 0
	sub, err := d.nc.Subscribe(subject, func(m *nats.Msg) {
		mu.Lock()
		defer mu.Unlock()
		var r *txReply
		if done {
			r = &txReply{Error: &wireError{Exc: ValidationError, Msg: "the call has ended: its transaction takes no more operations"}}
		} else {
			served++
			r = serveTxSafely(ctx, tx, m.Data) // one at a time: a subscription delivers in order
		}
		data, err := encode(r)
		if err != nil {
			data, _ = encode(&txReply{Error: toWireError(err)})
		}
		_ = m.Respond(data)
	})
	if err != nil {
		return nil, fmt.Errorf("methods: serve the call's transaction: %w", err)
	}
	defer func() {
		_ = sub.Unsubscribe()
		mu.Lock() // wait for an operation in progress; none start after
		done = true
		mu.Unlock()
	}()
	cctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	deadline, _ := cctx.Deadline()
	data, err := encode(&callRequest{Method: req.Method, HTTPMethod: req.HTTPMethod, User: req.User, Args: req.Args,
		TxSubject: subject, Deadline: deadline.UnixMilli()})
	if err != nil {
		return nil, err
	}
	msg, err := d.nc.RequestWithContext(cctx, MethodSubject(req.Method), data)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return nil, notFoundMethod(req.Method)
	case err != nil:
		return nil, fmt.Errorf("methods: call %s: %w", req.Method, err)
	}
	var reply callReply
	if err := decode(msg.Data, &reply); err != nil {
		return nil, err
	}
	c.messages = append(c.messages, reply.Messages...)
	if reply.Error != nil {
		return nil, reply.Error.err()
	}
	_ = sub.Unsubscribe()
	mu.Lock() // after this, no operation runs: the count is final
	done = true
	n := served
	mu.Unlock()
	if n != reply.Ops {
		// The method did not see the answer to every operation its
		// transaction ran (one timed out, or came after the reply).
		return nil, fmt.Errorf("methods: %s: the transaction ran %d operations, the method saw %d answers", req.Method, n, reply.Ops)
	}
	return normalize(reply.Message), nil
}

// serveTxSafely is serveTx, with a panic reported as an error.
func serveTxSafely(ctx context.Context, tx *Tx, data []byte) (r *txReply) {
	defer func() {
		if p := recover(); p != nil {
			r = &txReply{Error: &wireError{Exc: "InternalServerError", Msg: fmt.Sprintf("transaction operation failed: %v", p)}}
		}
	}()
	return serveTx(ctx, tx, data)
}
