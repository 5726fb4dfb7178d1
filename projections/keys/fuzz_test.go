package keys_test

import (
	"bytes"
	"math"
	"testing"

	"docket/projections/keys"
)

// dirs expands the low bits of d into per-component directions.
func dirs(d uint8, n int) []bool {
	desc := make([]bool, n)
	for i := range desc {
		desc[i] = d&(1<<i) != 0
	}
	return desc
}

// checkPair asserts that a and b, encoded in both directions, compare like
// the reference and round-trip.
func checkPair(t *testing.T, a, b []any) {
	t.Helper()
	for _, d := range []uint8{0, 0xff, 0x55, 0xaa} {
		desc := dirs(d, max(len(a), len(b)))
		ea, eb := encodeTuple(a, desc), encodeTuple(b, desc)
		if got, want := bytes.Compare(ea, eb), sign(refCompareTuple(a, b, desc)); got != want {
			t.Fatalf("desc=%v: compare(%#v, %#v) = %d, want %d\n% x\n% x", desc, a, b, got, want, ea, eb)
		}
		for _, c := range []struct {
			tup []any
			enc []byte
		}{{a, ea}, {b, eb}} {
			got, err := keys.Decode(c.enc)
			if err != nil || !tupleEqual(got, c.tup) {
				t.Fatalf("round trip %#v (desc=%v): got %#v, %v", c.tup, desc, got, err)
			}
		}
	}
}

func FuzzStringOrder(f *testing.F) {
	for _, s := range [][2]string{
		{"", ""}, {"a", "ab"}, {"a", "a\x00"}, {"a\x00", "a\x01"}, {"\x00\xff", "\x00"},
		{"\xff", "\xff\xff"}, {"\x00\x01", "\x00"}, {"a\xfe", "a\xff\x00"}, {"\xc3\x28", "é"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		checkPair(t, []any{a}, []any{b})
		checkPair(t, []any{[]byte(a)}, []any{[]byte(b)})
	})
}

func FuzzIntOrder(f *testing.F) {
	for _, s := range [][2]int64{
		{0, 0}, {-1, 0}, {-1, 1}, {math.MinInt64, math.MaxInt64}, {math.MinInt64, -1},
		{math.MaxInt64, math.MaxInt64 - 1}, {255, 256}, {-256, -255},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b int64) {
		checkPair(t, []any{a}, []any{b})
	})
}

func FuzzFloatOrder(f *testing.F) {
	sub := math.SmallestNonzeroFloat64
	for _, s := range [][2]float64{
		{0, math.Copysign(0, -1)}, {-sub, sub}, {sub, 2 * sub}, {math.Inf(-1), -math.MaxFloat64},
		{math.MaxFloat64, math.Inf(1)}, {math.Inf(1), math.NaN()}, {math.Inf(-1), math.NaN()},
		{-1.5, -1.25}, {math.Float64frombits(0xfff8000000000001), 1},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b float64) {
		checkPair(t, []any{a}, []any{b})
	})
}

// FuzzCompositeOrder fuzzes pairs of mixed tuples (string, int, float,
// bytes) of fuzzed length and direction.
func FuzzCompositeOrder(f *testing.F) {
	f.Add("a", int64(1), 1.5, []byte{0}, "a", int64(2), 1.5, []byte{0}, uint8(3), uint8(0x22))
	f.Add("a", int64(-1), 0.0, []byte{}, "ab", int64(-1), -0.0, []byte{0xff}, uint8(4), uint8(0x01))
	f.Add("\x00", int64(0), math.NaN(), []byte("x"), "", int64(0), math.Inf(1), []byte("x\x00"), uint8(0x24), uint8(0xff))
	f.Fuzz(func(t *testing.T, s1 string, i1 int64, f1 float64, b1 []byte,
		s2 string, i2 int64, f2 float64, b2 []byte, lens, d uint8) {
		a := []any{s1, i1, f1, b1}[:lens%5]
		b := []any{s2, i2, f2, b2}[:(lens>>4)%5]
		checkPair(t, a, b)
		// Also with the fuzzed direction mask.
		desc := dirs(d, 4)
		if got, want := bytes.Compare(encodeTuple(a, desc), encodeTuple(b, desc)), sign(refCompareTuple(a, b, desc)); got != want {
			t.Fatalf("desc=%v: compare(%#v, %#v) = %d, want %d", desc, a, b, got, want)
		}
	})
}

// FuzzRoundTrip encodes a mixed tuple with fuzzed directions and decodes it.
func FuzzRoundTrip(f *testing.F) {
	f.Add("", int64(0), 0.0, []byte(nil), false, uint8(0))
	f.Add("a\x00\xff", int64(math.MinInt64), math.NaN(), []byte{0, 0, 0xff}, true, uint8(0xff))
	f.Add("\xff\xfe", int64(math.MaxInt64), math.Inf(-1), []byte{1}, true, uint8(0x5a))
	f.Fuzz(func(t *testing.T, s string, i int64, fl float64, bs []byte, bo bool, d uint8) {
		tup := []any{s, i, fl, bs, nil, bo, float64(float32(fl)), string(bs)}
		desc := dirs(d, len(tup))
		enc := encodeTuple(tup, desc)
		got, err := keys.Decode(enc)
		if err != nil || !tupleEqual(got, tup) {
			t.Fatalf("round trip %#v (desc=%v): got %#v, %v", tup, desc, got, err)
		}
		// DecodeOne consumes exactly one component at a time.
		rest := enc
		for range tup {
			if _, rest, err = keys.DecodeOne(rest); err != nil {
				t.Fatal(err)
			}
		}
		if len(rest) != 0 {
			t.Fatalf("%d bytes left over", len(rest))
		}
	})
}

// FuzzDecode feeds arbitrary bytes to Decode: it must not panic, and any
// successfully decoded tuple must re-encode (with the detected directions) to
// a key that decodes to the same values.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x06, 'a', 0x00, 0xff, 0x00, 0x01})
	f.Add([]byte{0xf9, 0x9e, 0xff, 0x00, 0xff, 0xfe, 0xfe})
	f.Add(encodeTuple([]any{"x", int64(-3), 2.5, []byte{0}, nil, true}, dirs(0x2a, 6)))
	f.Add([]byte{0x06, 0x00})
	f.Add([]byte{0x05, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		vals, err := keys.Decode(b)
		if err != nil {
			return
		}
		var desc []bool
		for rest := b; len(rest) > 0; {
			desc = append(desc, rest[0] >= 0xf0)
			_, rest, _ = keys.DecodeOne(rest)
		}
		again, err := keys.Decode(encodeTuple(vals, desc))
		if err != nil || !tupleEqual(again, vals) {
			t.Fatalf("re-encode of %#v: got %#v, %v", vals, again, err)
		}
	})
}
