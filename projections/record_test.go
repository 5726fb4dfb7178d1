package projections

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// recordSamples are records holding every kind and size of value a
// document may.
func recordSamples() []*Record {
	var docs []map[string]any
	doc := map[string]any{"name": "x", "nil": nil, "t": true, "f": false, "bytes": []byte{1, 2}}
	for i, n := range []int{0, 1, 31, 32, 255, 256, 65535, 65536} {
		doc["s"+strings.Repeat("k", i)] = strings.Repeat("é", n)
	}
	for i, v := range []int64{0, 1, 127, 128, 255, 256, 65535, 65536, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64,
		-1, -32, -33, -128, -129, -32768, -32769, math.MinInt32, math.MinInt32 - 1, math.MinInt64} {
		doc["i"+strings.Repeat("k", i)] = v
	}
	for i, v := range []float64{0, 1.5, -2.25, math.MaxFloat64, math.SmallestNonzeroFloat64, float64(float32(0.1))} {
		doc["f"+strings.Repeat("k", i)] = v
	}
	rows := []any{}
	for i := range 20 {
		rows = append(rows, map[string]any{"name": "r" + strings.Repeat("x", i), "idx": int64(i), "qty": 2.5, "nested": []any{int64(i), "a", nil}})
	}
	doc["items"] = rows
	docs = append(docs, doc, map[string]any{}, nil)
	big := map[string]any{}
	for i := range 70000 {
		big[strings.Repeat("k", i%40)+string(rune('a'+i%26))+strings.Repeat("z", i/1040)] = int64(i)
	}
	docs = append(docs, big)
	var out []*Record
	for i, d := range docs {
		out = append(out, &Record{Seq: 1 << (i * 9), Version: uint64(i) + 1, Hash: []byte{byte(i), 9, 9}, Doc: d},
			&Record{Seq: 7, Version: 1, Doc: d})
	}
	return out
}

// TestDecodeRecordFast: the fast decoder reads every kind of record as
// msgpack's own decoder does.
func TestDecodeRecordFast(t *testing.T) {
	for i, rec := range recordSamples() {
		v, err := encodeRecord(rec)
		if err != nil {
			t.Fatal(err)
		}
		fast, err := decodeRecordFast(v)
		if err != nil {
			t.Fatalf("sample %d: the fast path refused a record: %v", i, err)
		}
		slow, err := decodeRecordSlow(bytes.Clone(v))
		if err != nil {
			t.Fatal(err)
		}
		// Pebble reuses the buffer a read returned: nothing decoded may
		// share it.
		for j := range v {
			v[j] = 0xff
		}
		if d := recordDiff(fast, slow); d != "" {
			t.Fatalf("sample %d: %s", i, d)
		}
	}
}

// TestEncodeRecordFast: the fast encoder writes the bytes msgpack's
// encoder writes, for every kind of record.
func TestEncodeRecordFast(t *testing.T) {
	for i, rec := range recordSamples() {
		checkEncodersAgree(t, i, rec)
	}
	// An empty hash reads back empty, not nil, and so writes the same bytes.
	v, err := encodeRecordSlow(&Record{Seq: 1, Version: 1, Hash: []byte{}, Doc: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	rec, err := decodeRecordFast(v)
	if err != nil || rec.Hash == nil {
		t.Fatalf("empty hash: %#v, %v", rec, err)
	}
	checkEncodersAgree(t, "empty hash", rec)
	if _, err := encodeRecordFast(&Record{Doc: map[string]any{"t": struct{}{}}}); err != errSlowPath {
		t.Fatalf("an unknown type: %v, want the slow path", err)
	}
}

func checkEncodersAgree(t *testing.T, sample any, rec *Record) {
	t.Helper()
	fast, err := encodeRecordFast(rec)
	if err != nil {
		t.Fatalf("sample %v: the fast path refused a record: %v", sample, err)
	}
	slow, err := encodeRecordSlow(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fast, slow) {
		i := 0
		for i < min(len(fast), len(slow)) && fast[i] == slow[i] {
			i++
		}
		t.Fatalf("sample %v: encodings differ at byte %d of %d/%d: fast % x, msgpack % x", sample, i, len(fast), len(slow),
			fast[i:min(i+16, len(fast))], slow[i:min(i+16, len(slow))])
	}
}

// sameDecoded compares decoded values, NaN equal to NaN (both decoders
// read the same bits; DeepEqual says NaN differs from itself).
func sameDecoded(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && (x == y || math.IsNaN(x) && math.IsNaN(y))
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sameDecoded(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !sameDecoded(v, w) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// recordDiff names the first difference of two records, briefly.
func recordDiff(a, b *Record) string {
	if a.Seq != b.Seq || a.Version != b.Version || !reflect.DeepEqual(a.Hash, b.Hash) {
		return fmt.Sprintf("header %d/%d/%x vs %d/%d/%x", a.Seq, a.Version, a.Hash, b.Seq, b.Version, b.Hash)
	}
	if (a.Doc == nil) != (b.Doc == nil) || len(a.Doc) != len(b.Doc) {
		return fmt.Sprintf("doc sizes %d vs %d", len(a.Doc), len(b.Doc))
	}
	for k, v := range a.Doc {
		if !sameDecoded(v, b.Doc[k]) {
			return fmt.Sprintf("field %q: %T %.80v vs %T %.80v", k, v, fmt.Sprint(v), b.Doc[k], fmt.Sprint(b.Doc[k]))
		}
	}
	return ""
}

// FuzzDecodeRecord: whatever the bytes, the fast decoder either defers to
// the slow one or agrees with it.
func FuzzDecodeRecord(f *testing.F) {
	small := map[string]any{"name": "x", "n": int64(-3), "big": int64(1 << 40), "f": 1.5, "t": true, "nil": nil,
		"rows": []any{map[string]any{"a": "b", "i": int64(300)}}}
	for _, rec := range []*Record{{Seq: 9, Version: 2, Hash: []byte{1, 2}, Doc: small}, {Seq: 1, Version: 1}} {
		v, err := encodeRecord(rec)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		fast, err := decodeRecordFast(v)
		if err != nil {
			return
		}
		slow, err := decodeRecordSlow(v)
		if err != nil {
			t.Fatalf("fast decoded what the slow decoder refuses (%v): %#v", err, fast)
		}
		if d := recordDiff(fast, slow); d != "" {
			t.Fatal(d)
		}
		checkEncodersAgree(t, "fuzzed", slow)
	})
}

// TestReverseEntryCodec: reverse entries are written as msgpack writes
// [][]byte and read back, whatever their count and key sizes.
func TestReverseEntryCodec(t *testing.T) {
	for _, n := range []int{0, 1, 15, 16, 300} {
		var held [][]byte
		for i := range n {
			held = append(held, bytes.Repeat([]byte{byte(i)}, i*i%70000))
		}
		want, err := msgpack.Marshal(held)
		if err != nil {
			t.Fatal(err)
		}
		got := encodeReverse(held)
		if !bytes.Equal(got, want) {
			t.Fatalf("%d keys: encoded differently from msgpack", n)
		}
		back, err := decodeReverse(got)
		if err != nil || len(back) != len(held) {
			t.Fatalf("%d keys: decoded %d, %v", n, len(back), err)
		}
		for i := range held {
			if !bytes.Equal(back[i], held[i]) {
				t.Fatalf("%d keys: key %d differs", n, i)
			}
		}
	}
}
