package eventlog

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/vmihailenco/msgpack/v5"
)

// Seq is a stream sequence number of the DOCS stream. 0 means "none".
type Seq uint64

// Format is the current envelope format written in [Event.Format].
const Format = 1

// Type says what an event did to its document.
type Type string

// Event types.
const (
	Insert Type = "insert"
	Update Type = "update"
	Delete Type = "delete"
	Submit Type = "submit"
	Cancel Type = "cancel"
	Rename Type = "rename"
)

// Event is one version of one document: the msgpack envelope of every
// message on a docs.<doctype>.<name> subject. docs/events.md documents it
// for downstream consumers; fields are only ever added.
type Event struct {
	Format  int            `msgpack:"format"`
	ID      string         `msgpack:"id"`   // ULID of this event
	Type    Type           `msgpack:"type"` // insert, update, delete, submit, cancel, rename
	DocType string         `msgpack:"doctype"`
	Name    string         `msgpack:"name"`
	Version uint64         `msgpack:"version"` // 1, 2, 3 … per document subject
	Doc     map[string]any `msgpack:"doc"`     // the full document after the change; nil after a delete
	Changed []Change       `msgpack:"changed,omitempty"`
	User    string         `msgpack:"user"`
	Time    int64          `msgpack:"time"` // Unix microseconds, UTC
	Tx      string         `msgpack:"tx"`   // ULID shared by the events committed together
	// Prev is the SHA-256 of the previous version's message payload on the
	// same subject (empty for version 1), chaining every document's history.
	Prev    []byte `msgpack:"prev,omitempty"`
	PrevSeq Seq    `msgpack:"prev_seq,omitempty"` // stream sequence of the previous version
	// RenamedFrom and RenamedTo link the two subjects of a rename.
	RenamedFrom string `msgpack:"renamed_from,omitempty"`
	RenamedTo   string `msgpack:"renamed_to,omitempty"`
}

// Change is one changed top-level field. It is written as the msgpack map
// {"Field", "Old", "New"} (the keys capitalised as here): every event in
// every log has that form, so it stays, whatever a tidier encoding would
// be (docs/events.md).
type Change struct {
	Field string
	Old   any
	New   any
}

// Claim is the payload of a uniqueness claim on a uniq.* subject: the
// document that holds the value, or a release of it.
type Claim struct {
	Format   int    `msgpack:"format"`
	ID       string `msgpack:"id"`
	DocType  string `msgpack:"doctype"`
	Field    string `msgpack:"field"`
	Value    string `msgpack:"value"`
	Name     string `msgpack:"name"`               // the document holding the value
	Released bool   `msgpack:"released,omitempty"` // the value is free again
	Tx       string `msgpack:"tx"`
}

// Counter is the payload of a naming-series counter on a series.*
// subject: the last number handed out for the key.
type Counter struct {
	Format  int    `msgpack:"format"`
	ID      string `msgpack:"id"`
	Key     string `msgpack:"key"`
	Current int64  `msgpack:"current"`
	Tx      string `msgpack:"tx"`
}

// Deleted reports whether the event leaves its document deleted (a delete,
// or the old half of a rename).
func (e *Event) Deleted() bool {
	return e.Type == Delete || e.Type == Rename && e.RenamedTo != ""
}

// Timestamp returns the event time.
func (e *Event) Timestamp() time.Time { return time.UnixMicro(e.Time).UTC() }

var (
	ulidMu      sync.Mutex
	ulidEntropy = ulid.Monotonic(rand.Reader, 0)
)

// NewID returns a new ULID string. IDs are monotonic within the process.
func NewID() string {
	ulidMu.Lock()
	defer ulidMu.Unlock()
	return ulid.MustNew(ulid.Now(), ulidEntropy).String()
}

// Marshal encodes v (an *Event or *Claim) deterministically: struct fields
// in declaration order and map keys sorted, so equal values give equal bytes.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetSortMapKeys(true)
	enc.UseCompactInts(true)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("eventlog: encode: %w", err)
	}
	return buf.Bytes(), nil
}

// Unmarshal decodes an envelope into v (an *Event or *Claim). Integers in
// documents decode as int64, floats as float64, maps as map[string]any.
func Unmarshal(data []byte, v any) error {
	dec := msgpack.NewDecoder(bytes.NewReader(data))
	dec.UseLooseInterfaceDecoding(true)
	dec.SetMapDecoder(decodeMap)
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("eventlog: decode: %w", err)
	}
	if e, ok := v.(*Event); ok {
		e.Doc = normalizeMap(e.Doc)
		for i := range e.Changed {
			e.Changed[i].Old = normalize(e.Changed[i].Old)
			e.Changed[i].New = normalize(e.Changed[i].New)
		}
	}
	return nil
}

// DecodeEvent decodes an event payload.
func DecodeEvent(data []byte) (*Event, error) {
	e := new(Event)
	if err := Unmarshal(data, e); err != nil {
		return nil, err
	}
	return e, nil
}

func decodeMap(d *msgpack.Decoder) (any, error) {
	n, err := d.DecodeMapLen()
	if err != nil || n < 0 {
		return nil, err
	}
	m := make(map[string]any, n)
	for range n {
		k, err := d.DecodeString()
		if err != nil {
			return nil, err
		}
		v, err := d.DecodeInterfaceLoose()
		if err != nil {
			return nil, err
		}
		m[k] = v
	}
	return m, nil
}

// normalize makes decoded values canonical: unsigned integers that fit
// become int64, nested maps and slices are normalised recursively.
func normalize(v any) any {
	switch x := v.(type) {
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x)
		}
		return float64(x)
	case map[string]any:
		return normalizeMap(x)
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
		return x
	}
	return v
}

func normalizeMap(m map[string]any) map[string]any {
	for k, v := range m {
		m[k] = normalize(v)
	}
	return m
}

// Hash is the chain hash of a message payload: what the next version of
// the same document carries in [Event.Prev].
func Hash(payload []byte) []byte {
	h := sha256.Sum256(payload)
	return h[:]
}
