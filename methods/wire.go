package methods

import (
	"bytes"
	"fmt"

	"github.com/vmihailenco/msgpack/v5"

	"docket/eventlog"
	"docket/projections"
)

// Wire messages between a Dispatcher and a process serving methods over
// NATS. A call goes to docket.method.<escaped name>; while the method
// runs, its transaction is served on the call's TxSubject (by the
// dispatching process, which owns the transaction and commits it).

// MethodSubjectPrefix starts the subject of every method served over
// NATS: docket.method.<escaped dotted name>.
const MethodSubjectPrefix = "docket.method."

// MethodSubject is the subject a method is served on.
func MethodSubject(name string) string { return MethodSubjectPrefix + eventlog.EscapeToken(name) }

type callRequest struct {
	Method     string         `msgpack:"method"`
	HTTPMethod string         `msgpack:"http_method"`
	User       string         `msgpack:"user"`
	Args       map[string]any `msgpack:"args"`
	TxSubject  string         `msgpack:"tx_subject"`
	// Deadline is when the dispatcher stops waiting (Unix milliseconds).
	Deadline int64 `msgpack:"deadline"`
}

type wireError struct {
	Exc   string `msgpack:"exc"`
	Msg   string `msgpack:"msg"`
	Title string `msgpack:"title,omitempty"`
	// ErrorMessage is Error.ErrorMessage.
	ErrorMessage string `msgpack:"error_message,omitempty"`
}

type callReply struct {
	Message  any        `msgpack:"message"`
	Messages []string   `msgpack:"messages,omitempty"`
	Error    *wireError `msgpack:"error,omitempty"`
	// Ops is how many transaction operations the method got answers to:
	// the dispatcher commits only if it served exactly that many.
	Ops int `msgpack:"ops"`
}

// txOp is one transaction operation a remote method asks for.
type txOp struct {
	Op      string         `msgpack:"op"` // get, exists, list, count, insert, update, delete, rename, msgprint
	DocType string         `msgpack:"doctype,omitempty"`
	Name    string         `msgpack:"name,omitempty"`
	NewName string         `msgpack:"new_name,omitempty"`
	Merge   bool           `msgpack:"merge,omitempty"`
	Doc     map[string]any `msgpack:"doc,omitempty"`
	Args    map[string]any `msgpack:"args,omitempty"`
}

type txReply struct {
	Doc    map[string]any      `msgpack:"doc,omitempty"`
	Result *projections.Result `msgpack:"result,omitempty"`
	Bool   bool                `msgpack:"bool,omitempty"`
	Int    int64               `msgpack:"int,omitempty"`
	Name   string              `msgpack:"name,omitempty"`
	Error  *wireError          `msgpack:"error,omitempty"`
}

func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetSortMapKeys(true)
	enc.UseCompactInts(true)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("methods: encode: %w", err)
	}
	return buf.Bytes(), nil
}

func decode(data []byte, v any) error {
	dec := msgpack.NewDecoder(bytes.NewReader(data))
	dec.UseLooseInterfaceDecoding(true)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("methods: decode: %w", err)
	}
	return nil
}

// normalize makes decoded values canonical (unsigned integers as int64,
// nested maps and lists normalised).
func normalize(v any) any {
	switch x := v.(type) {
	case uint64:
		return int64(x)
	case map[string]any:
		for k, e := range x {
			x[k] = normalize(e)
		}
	case []any:
		for i, e := range x {
			x[i] = normalize(e)
		}
	}
	return v
}

func normalizeMap(m map[string]any) map[string]any {
	if m != nil {
		normalize(m)
	}
	return m
}

// toWireError turns an error into its wire form (Frappe errors keep
// their class; anything else is an internal error).
func toWireError(err error) *wireError {
	if err == nil {
		return nil
	}
	if fe, ok := asError(err); ok {
		return &wireError{Exc: fe.Exc, Msg: fe.Msg, Title: fe.Title, ErrorMessage: fe.ErrorMessage}
	}
	return &wireError{Exc: "InternalServerError", Msg: err.Error()}
}

func (w *wireError) err() error {
	if w == nil {
		return nil
	}
	return &Error{Exc: w.Exc, Msg: w.Msg, Title: w.Title, ErrorMessage: w.ErrorMessage}
}
