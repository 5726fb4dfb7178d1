package keys_test

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"docket/projections/keys"
)

// rank gives the reference type order.
func rank(v any) int {
	switch x := v.(type) {
	case nil:
		return 0
	case bool:
		if x {
			return 2
		}
		return 1
	case int64:
		return 3
	case float64:
		return 4
	case string:
		return 5
	case []byte:
		return 6
	}
	panic("unexpected type")
}

// cmpFloat orders floats with -0 == +0 and NaN after everything else.
func cmpFloat(a, b float64) int {
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// refCompare is the reference comparison of two decoded values.
func refCompare(a, b any) int {
	if ra, rb := rank(a), rank(b); ra != rb {
		if ra < rb {
			return -1
		}
		return 1
	}
	switch x := a.(type) {
	case int64:
		y := b.(int64)
		if x < y {
			return -1
		} else if x > y {
			return 1
		}
	case float64:
		return cmpFloat(x, b.(float64))
	case string:
		return strings.Compare(x, b.(string))
	case []byte:
		return bytes.Compare(x, b.([]byte))
	}
	return 0
}

// refCompareTuple compares tuples component by component; desc[i] reverses
// component i. A proper prefix sorts first.
func refCompareTuple(a, b []any, desc []bool) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		c := refCompare(a[i], b[i])
		if desc[i] {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return len(a) - len(b)
}

func encodeTuple(t []any, desc []bool) []byte {
	var b []byte
	for i, v := range t {
		if desc[i] {
			b = keys.AppendValueDesc(b, v)
		} else {
			b = keys.AppendValue(b, v)
		}
	}
	return b
}

func sign(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}

// valEqual reports whether a decoded value equals the original: same type,
// NaN equals NaN, -0 equals +0.
func valEqual(a, b any) bool {
	if rank(a) != rank(b) {
		return false
	}
	return refCompare(a, b) == 0
}

func tupleEqual(a, b []any) bool {
	return slices.EqualFunc(a, b, valEqual)
}

// checkSorted asserts that vals (strictly increasing by the reference order)
// encode to strictly increasing keys ascending, strictly decreasing keys
// descending, and round-trip in both directions.
func checkSorted(t *testing.T, vals []any) {
	t.Helper()
	for i, v := range vals {
		for _, desc := range []bool{false, true} {
			enc := encodeTuple([]any{v}, []bool{desc})
			got, err := keys.Decode(enc)
			if err != nil || len(got) != 1 || !valEqual(got[0], v) {
				t.Errorf("round trip %#v desc=%v: got %#v, %v", v, desc, got, err)
			}
		}
		if i == 0 {
			continue
		}
		p := vals[i-1]
		if refCompare(p, v) >= 0 {
			t.Fatalf("test table not sorted at %#v, %#v", p, v)
		}
		if c := bytes.Compare(keys.AppendValue(nil, p), keys.AppendValue(nil, v)); c >= 0 {
			t.Errorf("asc: enc(%#v) >= enc(%#v)", p, v)
		}
		if c := bytes.Compare(keys.AppendValueDesc(nil, p), keys.AppendValueDesc(nil, v)); c <= 0 {
			t.Errorf("desc: enc(%#v) <= enc(%#v)", p, v)
		}
	}
}

func TestIntOrder(t *testing.T) {
	checkSorted(t, []any{
		int64(math.MinInt64), int64(math.MinInt64 + 1), int64(-1 << 32), int64(-256), int64(-255),
		int64(-2), int64(-1), int64(0), int64(1), int64(2), int64(255), int64(256),
		int64(1 << 32), int64(math.MaxInt64 - 1), int64(math.MaxInt64),
	})
}

func TestFloatOrder(t *testing.T) {
	sub := math.SmallestNonzeroFloat64
	checkSorted(t, []any{
		math.Inf(-1), -math.MaxFloat64, -1e10, -1.5, -1.0, -0.5, -2 * sub, -sub,
		0.0, sub, 2 * sub, 0.5, 1.0, 1.5, 1e10, math.MaxFloat64, math.Inf(1), math.NaN(),
	})
}

func TestFloatCanonical(t *testing.T) {
	negZero := math.Copysign(0, -1)
	if !bytes.Equal(keys.AppendFloat(nil, negZero), keys.AppendFloat(nil, 0)) {
		t.Error("-0 and +0 encode differently")
	}
	v, _, err := keys.DecodeOne(keys.AppendFloat(nil, negZero))
	if err != nil || math.Signbit(v.(float64)) {
		t.Errorf("-0 decoded as %v, %v", v, err)
	}
	nan := keys.AppendFloat(nil, math.NaN())
	for _, bits := range []uint64{0x7FF0000000000001, 0xFFF8000000000000, 0xFFFFFFFFFFFFFFFF} {
		if !bytes.Equal(keys.AppendFloat(nil, math.Float64frombits(bits)), nan) {
			t.Errorf("NaN %#x not canonicalised", bits)
		}
	}
}

func TestStringOrder(t *testing.T) {
	checkSorted(t, []any{
		"", "\x00", "\x00\x00", "\x00\x01", "\x00\xff", "\x01", "a", "a\x00", "a\x00\x00",
		"a\x00\xff", "a\x01", "aa", "ab", "ab\x00", "abc", "b", "\xfe", "\xff", "\xff\x00",
		"\xff\xff", "\xff\xff\xff",
	})
	checkSorted(t, []any{[]byte{}, []byte{0}, []byte{0, 0xff}, []byte("a"), []byte{0xff}})
}

func TestTypeOrder(t *testing.T) {
	checkSorted(t, []any{nil, false, true, int64(math.MinInt64), int64(math.MaxInt64),
		math.Inf(-1), math.NaN(), "", "\xff\xff", []byte{}, []byte{0xff}})
}

// TestCompositeOrder checks (string ASC, int DESC) and (string DESC, int ASC)
// against the reference over every pair, including tuple prefixes.
func TestCompositeOrder(t *testing.T) {
	strs := []string{"", "\x00", "a", "a\x00", "a\xff", "ab", "b", "\xff"}
	ints := []int64{math.MinInt64, -1, 0, 1, math.MaxInt64}
	var tuples [][]any
	for _, s := range strs {
		tuples = append(tuples, []any{s})
		for _, i := range ints {
			tuples = append(tuples, []any{s, i})
		}
	}
	for _, desc := range [][]bool{{false, true}, {true, false}} {
		for _, a := range tuples {
			for _, b := range tuples {
				want := sign(refCompareTuple(a, b, desc))
				if got := bytes.Compare(encodeTuple(a, desc), encodeTuple(b, desc)); got != want {
					t.Errorf("desc=%v: compare(%q, %q) = %d, want %d", desc, a, b, got, want)
				}
			}
		}
	}
}

// randValue returns a random value biased towards edge cases.
func randValue(r *rand.Rand) any {
	switch r.IntN(7) {
	case 0:
		return []any{nil, false, true}[r.IntN(3)]
	case 1, 2:
		specials := []int64{math.MinInt64, -1, 0, 1, math.MaxInt64}
		if r.IntN(2) == 0 {
			return specials[r.IntN(len(specials))]
		}
		return int64(r.Uint64()) >> r.IntN(64)
	case 3:
		specials := []float64{math.Inf(-1), math.Inf(1), math.Copysign(0, -1), 0, math.NaN(),
			math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64}
		if r.IntN(2) == 0 {
			return specials[r.IntN(len(specials))]
		}
		return math.Float64frombits(r.Uint64())
	case 4, 5:
		return string(randBytes(r))
	}
	return randBytes(r)
}

func randBytes(r *rand.Rand) []byte {
	alphabet := []byte{0x00, 0x01, 'a', 'b', 0xfe, 0xff}
	b := make([]byte, r.IntN(5))
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return b
}

// TestRandomOrder compares bytes.Compare of encoded random tuples with the
// reference tuple comparison, for random column directions.
func TestRandomOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 200; round++ {
		n := 1 + r.IntN(4)
		desc := make([]bool, n)
		for i := range desc {
			desc[i] = r.IntN(2) == 0
		}
		// A small pool per round so that equal leading components are common.
		pool := make([]any, 6)
		for i := range pool {
			pool[i] = randValue(r)
		}
		tuples := make([][]any, 40)
		for i := range tuples {
			tup := make([]any, 1+r.IntN(n))
			for j := range tup {
				tup[j] = pool[r.IntN(len(pool))]
			}
			tuples[i] = tup
		}
		for _, a := range tuples {
			ea := encodeTuple(a, desc)
			got, err := keys.Decode(ea)
			if err != nil || !tupleEqual(got, a) {
				t.Fatalf("round trip %#v: got %#v, %v", a, got, err)
			}
			for _, b := range tuples {
				want := sign(refCompareTuple(a, b, desc))
				if c := bytes.Compare(ea, encodeTuple(b, desc)); c != want {
					t.Fatalf("desc=%v: compare(%#v, %#v) = %d, want %d", desc, a, b, c, want)
				}
			}
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, b := range [][]byte{
		{}, {0x00}, {0xff}, {0x08}, {0xef}, {0x0f}, {0xf0},
		{0x04, 1, 2, 3}, {0xfb, 1, 2, 3, 4, 5, 6, 7}, {0x05},
		{0x06}, {0x06, 'a'}, {0x06, 'a', 0x00}, {0x06, 0x00, 0x02}, {0x07, 0x00, 0x00},
		{0xf9, 0x9e, 0xff}, {0xf9, 0xff, 0xfd},
	} {
		if _, _, err := keys.DecodeOne(b); err == nil {
			t.Errorf("DecodeOne(% x): no error", b)
		} else if !strings.HasPrefix(err.Error(), "keys: ") {
			t.Errorf("error %q lacks prefix", err)
		}
	}
	// Every truncation of a valid multi-component key fails or decodes fewer
	// components; none panics.
	full := encodeTuple([]any{"a\x00b", int64(7), 1.5, []byte{0, 0xff}, nil, true},
		[]bool{false, true, false, true, true, false})
	for i := range full {
		vals, err := keys.Decode(full[:i])
		if err == nil && len(vals) >= 6 {
			t.Errorf("truncated key %d decoded fully", i)
		}
	}
}

type myInt int16
type myString string
type myBytes []byte

func TestAppendValue(t *testing.T) {
	for _, c := range []struct {
		in   any
		want []byte
	}{
		{nil, keys.AppendNull(nil)},
		{true, keys.AppendBool(nil, true)},
		{int8(-5), keys.AppendInt(nil, -5)},
		{int(-5), keys.AppendInt(nil, -5)},
		{myInt(-5), keys.AppendInt(nil, -5)},
		{uint8(200), keys.AppendInt(nil, 200)},
		{uint64(math.MaxInt64), keys.AppendInt(nil, math.MaxInt64)},
		{uintptr(3), keys.AppendInt(nil, 3)},
		{float32(1.5), keys.AppendFloat(nil, 1.5)},
		{"x\x00", keys.AppendString(nil, "x\x00")},
		{myString("x"), keys.AppendString(nil, "x")},
		{[]byte("x"), keys.AppendBytes(nil, []byte("x"))},
		{myBytes("x"), keys.AppendBytes(nil, []byte("x"))},
	} {
		got, err := keys.AppendValueErr([]byte{0xAA}, c.in)
		if err != nil || !bytes.Equal(got, append([]byte{0xAA}, c.want...)) {
			t.Errorf("AppendValueErr(%#v) = % x, %v; want % x", c.in, got, err, c.want)
		}
	}
	for _, v := range []any{uint64(math.MaxInt64 + 1), uint(math.MaxUint), struct{}{}, []int{1}, map[string]int{}} {
		b, err := keys.AppendValueErr([]byte{1}, v)
		if !errors.Is(err, keys.ErrUnsupported) || len(b) != 1 {
			t.Errorf("AppendValueErr(%#v) = % x, %v; want ErrUnsupported", v, b, err)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("AppendValue(%#v) did not panic", v)
				}
			}()
			keys.AppendValue(nil, v)
		}()
	}
	// Invert is an involution and AppendValueDesc leaves the prefix alone.
	b := keys.AppendValueDesc([]byte("pre"), "ab")
	want := keys.AppendString([]byte("pre"), "ab")
	keys.Invert(b, 3)
	if !bytes.Equal(b, want) {
		t.Errorf("Invert(AppendValueDesc) = % x, want % x", b, want)
	}
}

func TestDescTags(t *testing.T) {
	// Inverted tags must never collide with ascending ones.
	for _, v := range []any{nil, false, true, int64(0), 0.0, "", []byte{}} {
		asc, desc := keys.AppendValue(nil, v)[0], keys.AppendValueDesc(nil, v)[0]
		if asc < 0x01 || asc > 0x0f || desc < 0xf0 || desc > 0xfe {
			t.Errorf("%#v: tags %#x/%#x out of range", v, asc, desc)
		}
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, c := range []struct{ in, want []byte }{
		{nil, nil},
		{[]byte{0xff, 0xff}, nil},
		{[]byte{0x01}, []byte{0x02}},
		{[]byte{0x01, 0xff, 0xff}, []byte{0x02}},
		{[]byte{0x01, 0xfe, 0xff}, []byte{0x01, 0xff}},
	} {
		in := slices.Clone(c.in)
		if got := keys.PrefixEnd(in); !bytes.Equal(got, c.want) || (got == nil) != (c.want == nil) {
			t.Errorf("PrefixEnd(% x) = % x, want % x", c.in, got, c.want)
		}
		if !bytes.Equal(in, c.in) {
			t.Errorf("PrefixEnd modified its input")
		}
	}
	// Every key with the prefix sorts below the end; the end itself is above.
	p := keys.AppendString(nil, "tenant\xff")
	end := keys.PrefixEnd(p)
	for _, v := range []any{nil, int64(math.MaxInt64), "\xff\xff\xff", []byte{0xff}} {
		if k := keys.AppendValueDesc(slices.Clone(p), v); bytes.Compare(k, end) >= 0 {
			t.Errorf("key % x >= end % x", k, end)
		}
	}
	if bytes.Compare(keys.AppendString(nil, "tenant\xff\x00"), end) < 0 {
		t.Error("next string sorts below end")
	}
}

func BenchmarkAppendString(b *testing.B) {
	buf := make([]byte, 0, 64)
	for b.Loop() {
		buf = keys.AppendString(buf[:0], "customer/01HZX3K9Q2\x00suffix")
	}
}

func BenchmarkAppendTuple(b *testing.B) {
	buf := make([]byte, 0, 64)
	for b.Loop() {
		buf = keys.AppendString(buf[:0], "orders")
		buf = keys.AppendValueDesc(buf, int64(1234567))
		buf = keys.AppendFloat(buf, 3.25)
	}
}

func BenchmarkDecode(b *testing.B) {
	k := encodeTuple([]any{"orders", int64(1234567), 3.25}, []bool{false, true, false})
	for b.Loop() {
		if _, err := keys.Decode(k); err != nil {
			b.Fatal(err)
		}
	}
}

// TestGolden pins the exact byte layout.
func TestGolden(t *testing.T) {
	for _, c := range []struct {
		got, want []byte
	}{
		{keys.AppendNull(nil), []byte{0x01}},
		{keys.AppendBool(nil, false), []byte{0x02}},
		{keys.AppendBool(nil, true), []byte{0x03}},
		{keys.AppendInt(nil, 0), []byte{0x04, 0x80, 0, 0, 0, 0, 0, 0, 0}},
		{keys.AppendInt(nil, -1), []byte{0x04, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{keys.AppendFloat(nil, 1), []byte{0x05, 0xbf, 0xf0, 0, 0, 0, 0, 0, 0}},
		{keys.AppendFloat(nil, -1), []byte{0x05, 0x40, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{keys.AppendFloat(nil, math.NaN()), []byte{0x05, 0xff, 0xf8, 0, 0, 0, 0, 0, 0}},
		{keys.AppendString(nil, ""), []byte{0x06, 0x00, 0x01}},
		{keys.AppendString(nil, "a\x00\xff"), []byte{0x06, 'a', 0x00, 0xff, 0xff, 0x00, 0x01}},
		{keys.AppendBytes(nil, []byte{0}), []byte{0x07, 0x00, 0xff, 0x00, 0x01}},
		{keys.AppendValueDesc(nil, "a\x00"), []byte{0xf9, 0x9e, 0xff, 0x00, 0xff, 0xfe}},
		{keys.AppendValueDesc(nil, nil), []byte{0xfe}},
	} {
		if !bytes.Equal(c.got, c.want) {
			t.Errorf("got % x, want % x", c.got, c.want)
		}
	}
}
