package projections

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/vmihailenco/msgpack/v5"

	"docket/projections/keys"
)

// Difference is a key on which two stores disagree: a key only one of
// them has, or a key with different values.
type Difference struct {
	Key []byte
	// A and B are the two stores' values; InA and InB say which store
	// has the key at all.
	A, B     []byte
	InA, InB bool
}

// Compare walks two stores in key order, each on a snapshot, and calls fn
// with every key they disagree on. It stops at fn's first error and
// returns it.
func Compare(a, b *Store, fn func(Difference) error) error {
	sa, sb := a.db.NewSnapshot(), b.db.NewSnapshot()
	defer sa.Close()
	defer sb.Close()
	ia, err := sa.NewIter(nil)
	if err != nil {
		return err
	}
	defer ia.Close()
	ib, err := sb.NewIter(nil)
	if err != nil {
		return err
	}
	defer ib.Close()
	ia.First()
	ib.First()
	for ia.Valid() || ib.Valid() {
		c := 0
		switch {
		case !ib.Valid():
			c = -1
		case !ia.Valid():
			c = 1
		default:
			c = bytes.Compare(ia.Key(), ib.Key())
		}
		var d *Difference
		switch {
		case c < 0:
			d = &Difference{Key: bytes.Clone(ia.Key()), A: bytes.Clone(ia.Value()), InA: true}
			ia.Next()
		case c > 0:
			d = &Difference{Key: bytes.Clone(ib.Key()), B: bytes.Clone(ib.Value()), InB: true}
			ib.Next()
		default:
			if !bytes.Equal(ia.Value(), ib.Value()) {
				d = &Difference{Key: bytes.Clone(ia.Key()), A: bytes.Clone(ia.Value()), B: bytes.Clone(ib.Value()), InA: true, InB: true}
			}
			ia.Next()
			ib.Next()
		}
		if d != nil {
			if err := fn(*d); err != nil {
				return err
			}
		}
	}
	return errors.Join(ia.Error(), ib.Error())
}

// Describe says for people which key differs and how; aName and bName
// name the two stores ("live", "rebuilt").
func (d Difference) Describe(aName, bName string) string {
	what := DescribeKey(d.Key)
	switch {
	case !d.InB:
		return what + ": only in " + aName + describeValue(d.Key, d.A)
	case !d.InA:
		return what + ": only in " + bName + describeValue(d.Key, d.B)
	}
	return what + ": " + describeChange(d.Key, d.A, d.B, aName, bName)
}

// DescribeKey names a key of the read model for people:
// `document ToDo "a1b2"`, `index entry ToDo.status = "open" of "a1b2"`,
// `count of ToDo.status = "open"`, `version 3 of ToDo "a1b2"`,
// `checkpoint` ….
func DescribeKey(k []byte) string {
	if len(k) == 0 {
		return "the empty key"
	}
	vals, err := keys.Decode(k[1:])
	if err != nil {
		return "key 0x" + hex.EncodeToString(k)
	}
	str := make([]string, len(vals))
	for i, v := range vals {
		str[i] = render(v)
	}
	doc := func() string { return fmt.Sprintf("%v %s", vals[0], str[1]) }
	switch {
	case k[0] == prefixDoc && len(vals) == 2:
		return "document " + doc()
	case k[0] == prefixTombstone && len(vals) == 2:
		return "tombstone of " + doc()
	case k[0] == prefixReverse && len(vals) == 2:
		return "index list of " + doc()
	case k[0] == prefixVersion && len(vals) == 3:
		return fmt.Sprintf("version %s of %s", str[2], doc())
	case k[0] == prefixIndex && len(vals) == 4:
		return fmt.Sprintf("index entry %v.%v = %s of %s", vals[0], vals[1], str[2], str[3])
	case k[0] == prefixCount && len(vals) == 1:
		return fmt.Sprintf("count of %v", vals[0])
	case k[0] == prefixCount && len(vals) == 3:
		return fmt.Sprintf("count of %v.%v = %s", vals[0], vals[1], str[2])
	case k[0] == prefixMeta && len(vals) == 1 && vals[0] == "checkpoint":
		return "checkpoint"
	}
	return fmt.Sprintf("key %q (%s)", k[0], strings.Join(str, ", "))
}

// describeValue summarises one value of a key, after a comma.
func describeValue(k, v []byte) string {
	switch k[0] {
	case prefixDoc, prefixTombstone:
		if rec, err := decodeRecord(v); err == nil {
			return fmt.Sprintf(", seq %d, version %d", rec.Seq, rec.Version)
		}
	case prefixIndex:
		if len(v) == 0 {
			return ""
		}
	case prefixCount:
		if len(v) == 8 {
			return fmt.Sprintf(", %d", int64(binary.BigEndian.Uint64(v)))
		}
	case prefixVersion, prefixMeta:
		if len(v) == 8 {
			return fmt.Sprintf(", seq %d", binary.BigEndian.Uint64(v))
		}
	case prefixReverse:
		var held [][]byte
		if err := msgpack.Unmarshal(v, &held); err == nil {
			return fmt.Sprintf(", %d keys", len(held))
		}
	}
	return ", value " + renderBytes(v)
}

// describeChange says how two values of one key differ.
func describeChange(k, a, b []byte, aName, bName string) string {
	both := func(x, y string) string { return fmt.Sprintf("%s %s, %s %s", aName, x, bName, y) }
	switch k[0] {
	case prefixDoc, prefixTombstone:
		ra, errA := decodeRecord(a)
		rb, errB := decodeRecord(b)
		if errA != nil || errB != nil {
			break
		}
		var diffs []string
		if ra.Seq != rb.Seq {
			diffs = append(diffs, "seq: "+both(fmt.Sprint(ra.Seq), fmt.Sprint(rb.Seq)))
		}
		if ra.Version != rb.Version {
			diffs = append(diffs, "version: "+both(fmt.Sprint(ra.Version), fmt.Sprint(rb.Version)))
		}
		if !bytes.Equal(ra.Hash, rb.Hash) {
			diffs = append(diffs, "hash: "+both(renderBytes(ra.Hash), renderBytes(rb.Hash)))
		}
		fields := slices.Sorted(maps.Keys(ra.Doc))
		for f := range rb.Doc {
			if _, ok := ra.Doc[f]; !ok {
				fields = append(fields, f)
			}
		}
		slices.Sort(fields)
		for _, f := range fields {
			va, inA := ra.Doc[f]
			vb, inB := rb.Doc[f]
			if inA == inB && reflect.DeepEqual(va, vb) {
				continue
			}
			x, y := "absent", "absent"
			if inA {
				x = render(va)
			}
			if inB {
				y = render(vb)
			}
			diffs = append(diffs, fmt.Sprintf("field %s: %s", f, both(x, y)))
		}
		if len(diffs) == 0 {
			diffs = append(diffs, "same content, encoded differently")
		}
		return strings.Join(diffs, "; ")
	case prefixCount, prefixVersion, prefixMeta:
		if len(a) == 8 && len(b) == 8 {
			unit := ""
			if k[0] != prefixCount {
				unit = "seq "
			}
			return both(unit+fmt.Sprint(binary.BigEndian.Uint64(a)), unit+fmt.Sprint(binary.BigEndian.Uint64(b)))
		}
	case prefixReverse:
		var ha, hb [][]byte
		if msgpack.Unmarshal(a, &ha) != nil || msgpack.Unmarshal(b, &hb) != nil {
			break
		}
		var diffs []string
		for _, x := range ha {
			if !slices.ContainsFunc(hb, func(y []byte) bool { return bytes.Equal(x, y) }) {
				diffs = append(diffs, "only "+aName+" holds "+DescribeKey(x))
			}
		}
		for _, y := range hb {
			if !slices.ContainsFunc(ha, func(x []byte) bool { return bytes.Equal(x, y) }) {
				diffs = append(diffs, "only "+bName+" holds "+DescribeKey(y))
			}
		}
		if len(diffs) == 0 {
			diffs = append(diffs, "the same keys in another order")
		}
		return strings.Join(diffs, "; ")
	}
	return both(renderBytes(a), renderBytes(b))
}

// maxRender bounds the text of one rendered value.
const maxRender = 200

// render writes a stored value for people: strings quoted, numbers bare,
// tables and maps as JSON, bytes in hex; cut past maxRender bytes.
func render(v any) string {
	var s string
	switch x := v.(type) {
	case nil:
		s = "null"
	case string:
		s = strconv.Quote(x)
	case []byte:
		return renderBytes(x)
	case float64:
		s = strconv.FormatFloat(x, 'g', -1, 64)
	case map[string]any, []any:
		raw, err := json.Marshal(x)
		if err != nil {
			s = fmt.Sprint(x)
		} else {
			s = string(raw)
		}
	default:
		s = fmt.Sprint(x)
	}
	if len(s) > maxRender {
		s = s[:maxRender] + "…"
	}
	return s
}

func renderBytes(b []byte) string {
	if len(b) > maxRender/2 {
		return "0x" + hex.EncodeToString(b[:maxRender/2]) + "…"
	}
	return "0x" + hex.EncodeToString(b)
}
