package methods

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"docket/eventlog"
	"docket/projections"
)

// QueueGroup is the NATS queue group of every process serving methods:
// when several processes serve one method, each call goes to one of them.
const QueueGroup = "docket-methods"

// ServeOptions configures Serve. The zero value works.
type ServeOptions struct {
	// Name names the service (for `nats micro ls`); default "docket-methods".
	Name string
	// TxTimeout bounds each transaction operation; default 30s.
	TxTimeout time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
}

// Service is a running method service.
type Service struct {
	svc   micro.Service
	calls sync.WaitGroup
}

// Stop stops taking calls and waits for the calls in progress to answer.
func (s *Service) Stop() error {
	err := s.svc.Stop()
	s.calls.Wait()
	return err
}

// Serve serves every method registered in reg over NATS, so that a
// Dispatcher in any process (a docket node handling HTTP) can call it.
// The method's transaction stays with the dispatcher: reads and writes go
// back to it over NATS, and it commits them when the call succeeds on
// POST. This is how an external worker serves whitelisted methods.
func Serve(nc *nats.Conn, reg *Registry, opts ServeOptions) (*Service, error) {
	if opts.Name == "" {
		opts.Name = "docket-methods"
	}
	if opts.TxTimeout <= 0 {
		opts.TxTimeout = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	svc, err := micro.AddService(nc, micro.Config{
		Name:        opts.Name,
		Version:     "1.0.0",
		Description: "docket whitelisted methods",
		QueueGroup:  QueueGroup,
	})
	if err != nil {
		return nil, fmt.Errorf("methods: add service: %w", err)
	}
	s := &Service{svc: svc}
	for _, name := range reg.Names() {
		m, _ := reg.Lookup(name)
		if m.Options.LocalOnly {
			continue
		}
		handler := micro.HandlerFunc(func(req micro.Request) {
			// Calls run concurrently: one slow call must not hold the others.
			s.calls.Add(1)
			go func() {
				defer s.calls.Done()
				serveCall(nc, m, req, opts)
			}()
		})
		err := svc.AddEndpoint(eventlog.EscapeToken(name), handler,
			micro.WithEndpointSubject(MethodSubject(name)), micro.WithEndpointQueueGroup(QueueGroup))
		if err != nil {
			_ = svc.Stop()
			return nil, fmt.Errorf("methods: serve %s: %w", name, err)
		}
	}
	if err := nc.Flush(); err != nil { // the subscriptions are live when Serve returns
		_ = svc.Stop()
		return nil, fmt.Errorf("methods: serve: %w", err)
	}
	return s, nil
}

func serveCall(nc *nats.Conn, m *Method, req micro.Request, opts ServeOptions) {
	reply := &callReply{}
	defer func() {
		if p := recover(); p != nil {
			opts.Logger.Error("method panicked", "method", m.Name, "panic", p)
			reply = &callReply{Error: &wireError{Exc: "InternalServerError", Msg: fmt.Sprintf("method %s failed: %v", m.Name, p)}}
		}
		data, err := encode(reply)
		if err == nil && len(data) > int(nc.MaxPayload()) {
			err = fmt.Errorf("the result of %s is too large (%d bytes)", m.Name, len(data))
		}
		if err != nil {
			data, _ = encode(&callReply{Error: toWireError(err)})
		}
		if err := req.Respond(data); err != nil {
			opts.Logger.Warn("method reply not sent", "method", m.Name, "err", err)
		}
	}()
	var call callRequest
	if err := decode(req.Data(), &call); err != nil {
		reply.Error = toWireError(err)
		return
	}
	normalizeMap(call.Args)
	if err := m.check(call.User, call.HTTPMethod); err != nil {
		reply.Error = toWireError(err)
		return
	}
	ctx, cancel := context.WithDeadline(context.Background(), time.UnixMilli(call.Deadline))
	defer cancel()
	rt := &remoteTx{nc: nc, subject: call.TxSubject, user: call.User, timeout: opts.TxTimeout}
	c := &Call{User: call.User, HTTPMethod: call.HTTPMethod, Args: call.Args, Tx: rt}
	res, err := m.Handler(ctx, c)
	if doc, ok := res.(Document); ok {
		res = plainDocument(doc)
	}
	reply.Message, reply.Error, reply.Messages = res, toWireError(err), c.messages
	ops, lost := rt.tally()
	reply.Ops = ops
	if lost && reply.Error == nil {
		// An operation's answer never came: it may have been applied, and
		// the method went on without knowing. The call must not commit.
		reply.Error = &wireError{Exc: "InternalServerError", Msg: "method " + m.Name + " lost an answer from its transaction"}
	}
}

// plainDocument is a document result as a plain map (with its doctype).
func plainDocument(d Document) map[string]any {
	out := cloneDoc(d.Doc)
	out["doctype"] = d.DocType
	return out
}

// remoteTx is a Transaction whose owner is another process.
type remoteTx struct {
	nc      *nats.Conn
	subject string
	user    string
	timeout time.Duration

	mu       sync.Mutex
	answered int  // operations whose answer arrived
	lost     bool // an operation got no answer
}

func (t *remoteTx) tally() (int, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.answered, t.lost
}

var _ Transaction = (*remoteTx)(nil)

func (t *remoteTx) User() string { return t.user }

func (t *remoteTx) do(ctx context.Context, op *txOp) (*txReply, error) {
	data, err := encode(op)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	msg, err := t.nc.RequestWithContext(ctx, t.subject, data)
	t.mu.Lock()
	if err != nil {
		t.lost = true
	} else {
		t.answered++
	}
	t.mu.Unlock()
	if errors.Is(err, nats.ErrNoResponders) {
		return nil, errors.New("methods: the transaction of this call is gone (did the call time out?)")
	}
	if err != nil {
		return nil, fmt.Errorf("methods: transaction %s: %w", op.Op, err)
	}
	var r txReply
	if err := decode(msg.Data, &r); err != nil {
		return nil, err
	}
	normalizeMap(r.Doc)
	if r.Result != nil {
		for _, row := range r.Result.Rows {
			for i := range row {
				row[i] = normalize(row[i])
			}
		}
	}
	return &r, r.Error.err()
}

func (t *remoteTx) Get(ctx context.Context, doctype, name string) (map[string]any, error) {
	r, err := t.do(ctx, &txOp{Op: "get", DocType: doctype, Name: name})
	if err != nil {
		return nil, err
	}
	return r.Doc, nil
}

func (t *remoteTx) Exists(ctx context.Context, doctype, name string) (bool, error) {
	r, err := t.do(ctx, &txOp{Op: "exists", DocType: doctype, Name: name})
	if err != nil {
		return false, err
	}
	return r.Bool, nil
}

func (t *remoteTx) List(ctx context.Context, doctype string, args map[string]any) (*projections.Result, error) {
	r, err := t.do(ctx, &txOp{Op: "list", DocType: doctype, Args: args})
	if err != nil {
		return nil, err
	}
	if r.Result == nil {
		return &projections.Result{}, nil
	}
	return r.Result, nil
}

func (t *remoteTx) Count(ctx context.Context, doctype string, args map[string]any) (int64, error) {
	r, err := t.do(ctx, &txOp{Op: "count", DocType: doctype, Args: args})
	if err != nil {
		return 0, err
	}
	return r.Int, nil
}

func (t *remoteTx) Insert(ctx context.Context, doctype string, doc map[string]any) (map[string]any, error) {
	r, err := t.do(ctx, &txOp{Op: "insert", DocType: doctype, Doc: doc})
	if err != nil {
		return nil, err
	}
	return r.Doc, nil
}

func (t *remoteTx) Update(ctx context.Context, doctype, name string, patch map[string]any) (map[string]any, error) {
	r, err := t.do(ctx, &txOp{Op: "update", DocType: doctype, Name: name, Doc: patch})
	if err != nil {
		return nil, err
	}
	return r.Doc, nil
}

func (t *remoteTx) SetValue(ctx context.Context, doctype, name string, values map[string]any) (map[string]any, error) {
	r, err := t.do(ctx, &txOp{Op: "set_value", DocType: doctype, Name: name, Doc: values})
	if err != nil {
		return nil, err
	}
	return r.Doc, nil
}

func (t *remoteTx) Delete(ctx context.Context, doctype, name string) error {
	_, err := t.do(ctx, &txOp{Op: "delete", DocType: doctype, Name: name})
	return err
}

func (t *remoteTx) Rename(ctx context.Context, doctype, oldName, newName string, merge bool) (string, error) {
	r, err := t.do(ctx, &txOp{Op: "rename", DocType: doctype, Name: oldName, NewName: newName, Merge: merge})
	if err != nil {
		return "", err
	}
	return r.Name, nil
}

// serveTx answers one operation of a remote method on its transaction.
func serveTx(ctx context.Context, tx *Tx, data []byte) *txReply {
	var op txOp
	if err := decode(data, &op); err != nil {
		return &txReply{Error: toWireError(err)}
	}
	normalizeMap(op.Doc)
	normalizeMap(op.Args)
	r := &txReply{}
	var err error
	switch op.Op {
	case "get":
		r.Doc, err = tx.Get(ctx, op.DocType, op.Name)
	case "exists":
		r.Bool, err = tx.Exists(ctx, op.DocType, op.Name)
	case "list":
		r.Result, err = tx.List(ctx, op.DocType, op.Args)
	case "count":
		r.Int, err = tx.Count(ctx, op.DocType, op.Args)
	case "insert":
		r.Doc, err = tx.Insert(ctx, op.DocType, op.Doc)
	case "update":
		r.Doc, err = tx.Update(ctx, op.DocType, op.Name, op.Doc)
	case "set_value":
		r.Doc, err = tx.SetValue(ctx, op.DocType, op.Name, op.Doc)
	case "delete":
		err = tx.Delete(ctx, op.DocType, op.Name)
	case "rename":
		r.Name, err = tx.Rename(ctx, op.DocType, op.Name, op.NewName, op.Merge)
	default:
		err = newError(ValidationError, "unknown transaction operation %q", op.Op)
	}
	r.Error = toWireError(err)
	return r
}
