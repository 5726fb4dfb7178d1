package query

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Predicate is a compiled condition.
type Predicate struct {
	// Match reports whether a document matches, given the normalised stored
	// value of the field (see the package documentation); nil is NULL.
	Match func(v any) bool

	// The remaining fields are index hints for the planner. They are set only
	// when the condition can be answered exactly by looking up normalised
	// values in an ordered index and a NULL/absent value can never match.

	// Eq lists the values that match ("=" with one value, "in" with several),
	// normalised to the field's Go type: int64 for Int/Check, float64 for
	// Float/Currency/Percent, canonical strings for Date/Datetime/Time, and
	// the string itself for string-like fields — for those only when every
	// value is caseless (digits, punctuation…), since comparisons are
	// case-insensitive.
	Eq []any
	// FoldEq lists FoldKey of the matching values of a string-like field
	// ("=" and "in"), for planners that index FoldKey of stored values.
	FoldEq []string
	// HasRange is set for >, >=, <, <=, between, timespan, previous and next
	// on numeric, Date, Datetime and Time fields. Lower and Upper are of the
	// field's Go type (as for Eq); nil means unbounded.
	HasRange             bool
	Lower, Upper         any
	LowerIncl, UpperIncl bool
}

// kind is how a fieldtype's values are stored and compared.
type kind uint8

const (
	kindString   kind = iota // case-insensitive strings
	kindInt                  // int64
	kindDecimal              // float64
	kindDate                 // "YYYY-MM-DD"
	kindDatetime             // "YYYY-MM-DD HH:MM:SS.ffffff"
	kindTime                 // "HH:MM:SS.ffffff"
)

func (k kind) numeric() bool  { return k == kindInt || k == kindDecimal }
func (k kind) dateLike() bool { return k == kindDate || k == kindDatetime }

// fieldKind maps a Frappe fieldtype to a kind. An empty fieldtype is
// inferred for the standard fields (idx and docstatus are Int, everything
// else is a string); creation and modified are always Datetime.
func fieldKind(fieldtype, field string) kind {
	switch field {
	case "creation", "modified":
		return kindDatetime
	}
	switch fieldtype {
	case "Int", "Check":
		return kindInt
	case "Float", "Currency", "Percent":
		return kindDecimal
	case "Date":
		return kindDate
	case "Datetime":
		return kindDatetime
	case "Time":
		return kindTime
	case "":
		if field == "idx" || field == "docstatus" {
			return kindInt
		}
	}
	return kindString
}

// fallbackFor is the value NULL is coalesced to by the comparison operators.
func fallbackFor(k kind) string {
	switch k {
	case kindDate:
		return fallbackDate
	case kindDatetime:
		return fallbackDatetime
	case kindTime:
		return fallbackTime
	}
	return ""
}

// column reads stored values of one field.
type column struct {
	kind     kind
	coalesce bool   // NULL behaves like fallback (else NULL matches nothing)
	fallback string // for non-numeric kinds
}

// key returns the comparable string of a stored value of a non-numeric
// kind: FoldKey for strings, the canonical text for dates and times.
// ok is false for NULL when it is not coalesced.
func (col column) key(v any) (string, bool) {
	var s string
	switch x := v.(type) {
	case nil:
		if !col.coalesce {
			return "", false
		}
		s = col.fallback
	case string:
		s = x
	default:
		s = pyStr(x)
	}
	if col.kind == kindString {
		s = FoldKey(s)
	}
	return s, true
}

// text returns a stored value as MariaDB would render it for LIKE.
func (col column) text(v any) (string, bool) {
	if !col.kind.numeric() {
		return col.key(v)
	}
	f := storedNum(v)
	if f == 0 {
		f = 0 // no negative zero
	}
	if col.kind == kindDecimal {
		return strconv.FormatFloat(f, 'f', 9, 64), true // DECIMAL(21,9)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e18 {
		return strconv.FormatInt(int64(f), 10), true
	}
	return strconv.FormatFloat(f, 'f', -1, 64), true
}

// storedNum reads a stored numeric value; NULL is 0.
func storedNum(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return flt(v)
}

// cmpResult applies a comparison operator to the sign of a comparison.
func cmpResult(op string, c int) bool {
	switch op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	}
	return false
}

// cmpFloat compares a and b; ok is false if either is NaN.
func cmpFloat(a, b float64) (int, bool) {
	switch {
	case math.IsNaN(a) || math.IsNaN(b):
		return 0, false
	case a < b:
		return -1, true
	case a > b:
		return 1, true
	}
	return 0, true
}

// Compile compiles c for a field of the given Frappe fieldtype ("Data",
// "Int", "Date"…; "" for standard fields, inferred from the fieldname) with
// Frappe v15's db_query semantics; see the package documentation for NULL
// handling and the MariaDB approximations.
//
// Values are cast by fieldtype: Date values are parsed leniently to
// YYYY-MM-DD (a falsy value — null, "", 0 — means today, as in Frappe);
// Datetime values to YYYY-MM-DD HH:MM:SS.ffffff (a date alone is midnight, a
// falsy value is 0001-01-01 00:00:00); Time values to HH:MM:SS.ffffff;
// numeric fieldtypes use Frappe's flt() (non-numeric → 0); everything else
// is stringified like Python's str(). A value that does not parse as a date,
// datetime or time is a ValidationError.
//
// Operators:
//   - = != > >= < <=: comparison of the cast value.
//   - like, not like: SQL LIKE, see [Like]. On Date/Datetime/Time fields the
//     pattern is cast like a comparison value, as in Frappe.
//   - in, not in: a list, or a comma-separated string; each entry is
//     stringified and trimmed; an empty list means IN ("").
//   - is: "set" or "not set" (anything else is a ValidationError).
//   - between: [from, to] on Date/Datetime fields (and creation/modified);
//     a missing bound is today; on Datetime fields date-only bounds cover
//     00:00:00 to 23:59:59.999999 and a null bound is 0001-01-01 00:00:00.
//     A null value means today..today; a value that is not a list is a
//     ValidationError. Frappe fails on between for other fieldtypes; here a
//     2-element list is required and compared numerically for numeric
//     fields, as strings (or times) otherwise.
//   - timespan (see [TimespanRange]) and previous/next ("1 week", "1 month",
//     "3 months", "6 months", "1 year" — the calendar periods "last/next
//     week", "…month", "…quarter", "…6 months", "…year"): between the computed
//     dates; only on Date/Datetime fields. Unknown values are a
//     ValidationError.
//   - ancestors of, descendants of, not ancestors of, not descendants of,
//     descendants of (inclusive): a ValidationError; these need a tree
//     (nested set) DocType, which is not supported.
func Compile(c Condition, fieldtype string, env Env) (Predicate, error) {
	op, err := normaliseOp(c.Op)
	if err != nil {
		return Predicate{}, err
	}
	if isNestedSetOp(op) {
		return Predicate{}, validationErr("Operator " + pyQuote(op) +
			" needs a tree DocType (nested set); it is not supported on flat DocTypes")
	}
	cc := compiler{
		op:      op,
		c:       c,
		kind:    fieldKind(fieldtype, c.Field),
		notNull: c.Field == "name" || c.Field == "creation" || c.Field == "modified",
		today:   env.today(),
		env:     env,
	}
	switch op {
	case "in", "not in":
		err = cc.in()
	case "is":
		err = cc.is()
	case "like", "not like":
		err = cc.like()
	case "between", "timespan", "previous", "next":
		err = cc.between()
	default:
		err = cc.compare()
	}
	if err != nil {
		return Predicate{}, err
	}
	return cc.p, nil
}

// compiler builds the Predicate of one condition.
type compiler struct {
	op      string
	c       Condition
	kind    kind
	notNull bool // name, creation, modified: never coalesced
	today   time.Time
	env     Env
	p       Predicate
}

// cast casts a comparison value by kind: a canonical string for
// non-numeric kinds (FoldKey for strings) or a float.
func (cc *compiler) cast(v any) (key string, num float64, err error) {
	switch cc.kind {
	case kindInt, kindDecimal:
		return "", flt(v), nil
	case kindDate:
		key, err = castDate(v, cc.today)
	case kindDatetime:
		key, err = castDatetime(v)
	case kindTime:
		key, err = castTime(v)
	default:
		key = FoldKey(pyStr(v))
	}
	return key, 0, err
}

func (cc *compiler) compare() error {
	op := cc.op
	canBeNull := !cc.notNull && !cc.kind.numeric()
	if (op == ">" || op == ">=") && cc.kind.dateLike() {
		canBeNull = false // NULL is never greater than a value
	}
	key, num, err := cc.cast(cc.c.Value)
	if err != nil {
		return err
	}
	col := column{kind: cc.kind, fallback: fallbackFor(cc.kind),
		coalesce: canBeNull && !(truthy(cc.c.Value) && op == "=")}
	if cc.kind.numeric() {
		cc.p.Match = func(v any) bool {
			c, ok := cmpFloat(storedNum(v), num)
			return ok && cmpResult(op, c)
		}
	} else {
		cc.p.Match = func(v any) bool {
			k, ok := col.key(v)
			return ok && cmpResult(op, strings.Compare(k, key))
		}
	}
	if cc.p.Match(nil) {
		return nil // no hints when NULL matches
	}
	switch op {
	case "=":
		if cc.kind == kindString {
			s := pyStr(cc.c.Value)
			cc.p.FoldEq = []string{key}
			if isCaseless(s) {
				cc.p.Eq = []any{s}
			}
		} else if h, ok := cc.hint(key, num); ok {
			cc.p.Eq = []any{h}
		}
	case ">", ">=", "<", "<=":
		if cc.kind == kindString {
			return nil
		}
		lo, hi := op[0] == '>', op[0] == '<'
		incl := len(op) == 2
		if cc.kind == kindInt {
			b, ok := intBound(num, op)
			if !ok {
				return nil
			}
			cc.setRange(lo, hi, b, b, true, true)
			return nil
		}
		h, ok := cc.hint(key, num)
		if !ok {
			return nil
		}
		cc.setRange(lo, hi, h, h, incl, incl)
	}
	return nil
}

// setRange sets the range hint; only the bounds selected by lo/hi are used.
func (cc *compiler) setRange(lo, hi bool, lower, upper any, li, ui bool) {
	cc.p.HasRange = true
	if lo {
		cc.p.Lower, cc.p.LowerIncl = lower, li
	}
	if hi {
		cc.p.Upper, cc.p.UpperIncl = upper, ui
	}
}

// hint converts a cast value to the field's Go type for index hints.
func (cc *compiler) hint(key string, num float64) (any, bool) {
	switch cc.kind {
	case kindInt:
		if num != math.Trunc(num) || !inInt64(num) {
			return nil, false
		}
		return int64(num), true
	case kindDecimal:
		if math.IsNaN(num) || math.IsInf(num, 0) {
			return nil, false
		}
		return num, true
	}
	return key, true
}

func inInt64(f float64) bool { return f >= -9.2e18 && f <= 9.2e18 }

// intBound turns a float bound of op into an inclusive int64 bound.
func intBound(b float64, op string) (int64, bool) {
	if math.IsNaN(b) || !inInt64(b) {
		return 0, false
	}
	switch op {
	case ">":
		return int64(math.Floor(b)) + 1, true
	case ">=":
		return int64(math.Ceil(b)), true
	case "<":
		return int64(math.Ceil(b)) - 1, true
	default: // "<="
		return int64(math.Floor(b)), true
	}
}

// inNeedsCoalesce is Frappe's test for "in": coalesce only when the value is
// falsy or the list contains null or "".
func inNeedsCoalesce(v any) bool {
	if !truthy(v) {
		return true
	}
	if list, ok := v.([]any); ok {
		for _, e := range list {
			if s, isStr := e.(string); e == nil || isStr && s == "" {
				return true
			}
		}
	}
	return false
}

// inValues is Frappe's list of "in" values: a list, or a comma-separated
// string, each entry stringified and trimmed; a falsy value is [""].
func inValues(v any) []string {
	var raw []string
	switch x := v.(type) {
	case []any:
		if len(x) == 0 {
			return []string{""}
		}
		for _, e := range x {
			raw = append(raw, pyStr(e))
		}
	case string:
		raw = strings.Split(x, ",")
	default:
		if !truthy(v) {
			return []string{""}
		}
		raw = []string{pyStr(v)}
	}
	for i, s := range raw {
		raw[i] = strings.TrimSpace(s)
	}
	return raw
}

// inKey canonicalises one "in" entry for a non-numeric kind. Entries that do
// not parse as the kind's type stay as written (and match nothing stored;
// "" only matches a coalesced NULL).
func inKey(k kind, s string) (key string, parsed bool) {
	if k == kindString {
		return FoldKey(s), true
	}
	if s == "" {
		return "", false
	}
	switch k {
	case kindDate, kindDatetime:
		t, _, ok := parseDateTime(s)
		if !ok {
			return s, false
		}
		if k == kindDate {
			return t.Format(dateLayout), true
		}
		return t.Format(datetimeLayout), true
	case kindTime:
		t, err := castTime(s)
		if err != nil {
			return s, false
		}
		return t, true
	}
	return s, false
}

func (cc *compiler) in() error {
	neg := cc.op == "not in"
	canBeNull := !cc.notNull
	if !neg {
		canBeNull = canBeNull && inNeedsCoalesce(cc.c.Value)
	}
	values := inValues(cc.c.Value)

	if cc.kind.numeric() {
		nums := make([]float64, len(values))
		for i, s := range values {
			nums[i] = flt(s)
		}
		cc.p.Match = func(v any) bool {
			x := storedNum(v)
			for _, n := range nums {
				if x == n {
					return !neg
				}
			}
			return neg && !math.IsNaN(x)
		}
		if neg || cc.p.Match(nil) {
			return nil
		}
		seen := map[float64]bool{}
		for _, n := range nums {
			if h, ok := cc.hint("", n); ok && !seen[n] {
				seen[n] = true
				cc.p.Eq = append(cc.p.Eq, h)
			}
		}
		return nil
	}

	col := column{kind: cc.kind, coalesce: canBeNull, fallback: ""}
	set := make(map[string]bool, len(values))
	var hints []string // canonical keys of entries that can match stored values
	for _, s := range values {
		k, parsed := inKey(cc.kind, s)
		if !set[k] && parsed {
			hints = append(hints, k)
		}
		set[k] = true
	}
	cc.p.Match = func(v any) bool {
		k, ok := col.key(v)
		return ok && set[k] != neg
	}
	if neg || cc.p.Match(nil) || len(hints) == 0 {
		return nil
	}
	if cc.kind != kindString {
		for _, h := range hints {
			cc.p.Eq = append(cc.p.Eq, h)
		}
		return nil
	}
	cc.p.FoldEq = hints
	var eq []any
	for _, s := range values {
		if !isCaseless(s) {
			return nil
		}
		eq = append(eq, s)
	}
	cc.p.Eq = dedupe(eq)
	return nil
}

func dedupe(list []any) []any {
	seen := map[any]bool{}
	out := list[:0]
	for _, e := range list {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	return out
}

func (cc *compiler) is() error {
	s, _ := cc.c.Value.(string)
	set := false
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "set":
		set = true
	case "not set":
	default:
		return validationErr("Invalid argument for operator 'is': " + pyRepr(cc.c.Value) +
			" (expected 'set' or 'not set')")
	}
	if cc.kind.numeric() {
		// col != '' compares numerically ('' is 0); IFNULL(col, '') = ''
		// compares the number's text with '' and never holds.
		cc.p.Match = func(v any) bool { return set && storedNum(v) != 0 }
		return nil
	}
	cc.p.Match = func(v any) bool {
		empty := v == nil || v == ""
		return empty != set
	}
	return nil
}

func (cc *compiler) like() error {
	canBeNull := !cc.notNull && !cc.kind.numeric()
	var pattern string
	var err error
	switch cc.kind {
	case kindDate, kindDatetime, kindTime:
		pattern, _, err = cc.cast(cc.c.Value)
		if err != nil {
			return err
		}
	default:
		pattern = pyStr(cc.c.Value)
	}
	lp := compileLike(pattern)
	neg := cc.op == "not like"
	col := column{kind: cc.kind, fallback: fallbackFor(cc.kind),
		coalesce: canBeNull && !(truthy(cc.c.Value) && !neg)}
	cc.p.Match = func(v any) bool {
		t, ok := col.text(v)
		return ok && lp.match(t) != neg
	}
	return nil
}

func (cc *compiler) between() error {
	var lo, hi string
	var loN, hiN float64
	var err error
	switch {
	case cc.op != "between":
		if !cc.kind.dateLike() {
			return validationErr("Operator " + pyQuote(cc.op) + " can only be used with Date and Datetime fields")
		}
		lo, hi, err = cc.span()
	case cc.kind.dateLike():
		lo, hi, err = cc.dateBounds()
	default:
		list, ok := cc.c.Value.([]any)
		if !ok || len(list) < 2 {
			return validationErr("Operator 'between' needs a list [from, to]")
		}
		if cc.kind.numeric() {
			loN, hiN = flt(list[0]), flt(list[1])
		} else {
			if lo, _, err = cc.cast(list[0]); err == nil {
				hi, _, err = cc.cast(list[1])
			}
		}
	}
	if err != nil {
		return err
	}

	if cc.kind.numeric() {
		cc.p.Match = func(v any) bool {
			x := storedNum(v)
			return x >= loN && x <= hiN
		}
		if cc.p.Match(nil) {
			return nil
		}
		if cc.kind == kindInt {
			l, ok1 := intBound(loN, ">=")
			h, ok2 := intBound(hiN, "<=")
			if ok1 && ok2 {
				cc.setRange(true, true, l, h, true, true)
			}
		} else if !math.IsNaN(loN) && !math.IsNaN(hiN) {
			cc.setRange(true, true, loN, hiN, true, true)
		}
		return nil
	}

	// Dates never coalesce in between (Frappe: NULL can't be between two
	// values); strings and times do.
	col := column{kind: cc.kind, fallback: fallbackFor(cc.kind),
		coalesce: !cc.notNull && !cc.kind.dateLike()}
	cc.p.Match = func(v any) bool {
		k, ok := col.key(v)
		return ok && k >= lo && k <= hi
	}
	if cc.kind != kindString && !cc.p.Match(nil) {
		cc.setRange(true, true, lo, hi, true, true)
	}
	return nil
}

// dateBounds is Frappe's get_between_date_filter.
func (cc *compiler) dateBounds() (lo, hi string, err error) {
	var list []any
	switch x := cc.c.Value.(type) {
	case nil:
	case []any:
		list = x
	default:
		return "", "", validationErr("Operator 'between' needs a list [from, to], got " + pyRepr(cc.c.Value))
	}
	bound := func(i int, end bool) (string, error) {
		if i >= len(list) { // missing: today
			if cc.kind == kindDate {
				return cc.today.Format(dateLayout), nil
			}
			return castBetweenDatetime("", end, cc.today)
		}
		if cc.kind == kindDate {
			return castDate(list[i], cc.today)
		}
		return castBetweenDatetime(list[i], end, cc.today)
	}
	if lo, err = bound(0, false); err != nil {
		return "", "", err
	}
	hi, err = bound(1, true)
	return lo, hi, err
}

// span computes the bounds of timespan, previous and next.
func (cc *compiler) span() (lo, hi string, err error) {
	s, ok := cc.c.Value.(string)
	if !ok {
		return "", "", validationErr("Operator " + pyQuote(cc.op) + " needs a string value, got " + pyRepr(cc.c.Value))
	}
	if cc.op != "timespan" {
		period, known := periodTimespan[strings.Join(strings.Fields(strings.ToLower(s)), " ")]
		if !known {
			return "", "", validationErr("Invalid value " + pyQuote(s) + " for operator " + pyQuote(cc.op) +
				"; expected one of '1 week', '1 month', '3 months', '6 months', '1 year'")
		}
		if cc.op == "previous" {
			s = "last " + period
		} else {
			s = "next " + period
		}
	}
	lo, hi, err = TimespanRange(s, cc.env)
	if err != nil || cc.kind == kindDate {
		return lo, hi, err
	}
	return lo + " 00:00:00.000000", hi + " 23:59:59.999999", nil
}
