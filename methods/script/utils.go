package script

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.starlark.net/starlark"
)

// Dates and datetimes are strings in scripts, in Frappe's formats.
const (
	dateLayout          = "2006-01-02"
	datetimeLayout      = "2006-01-02 15:04:05"
	datetimeMicroLayout = "2006-01-02 15:04:05.000000"
	timeMicroLayout     = "15:04:05.000000"
)

// formatDatetime renders t as Frappe does: with microseconds always when
// micro is set (strftime %f), otherwise only when they are not zero (as
// str(datetime) does).
func formatDatetime(t time.Time, micro bool) string {
	if micro || t.Nanosecond()/1000 != 0 {
		return t.Format(datetimeMicroLayout)
	}
	return t.Format(datetimeLayout)
}

// utilsModule is frappe.utils.
func utilsModule() *namespace {
	return module("frappe.utils", builtins(map[string]builtinFn{
		"now":                  utilNow,
		"now_datetime":         utilNow,
		"nowdate":              utilNowdate,
		"today":                utilNowdate,
		"nowtime":              utilNowtime,
		"getdate":              utilGetdate,
		"get_datetime":         utilGetDatetime,
		"add_days":             addUnit("days"),
		"add_months":           addUnit("months"),
		"add_years":            addUnit("years"),
		"add_to_date":          utilAddToDate,
		"date_diff":            utilDateDiff,
		"time_diff_in_seconds": timeDiff(1),
		"time_diff_in_hours":   timeDiff(3600),
		"get_first_day":        monthEdge(false),
		"get_last_day":         monthEdge(true),
		"flt":                  utilFlt,
		"cint":                 utilCint,
		"cstr":                 utilCstr,
		"rounded":              utilRounded,
	}))
}

func nowOf(thread *starlark.Thread) time.Time { return rtOf(thread).env.Now() }

func utilNow(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	return starlark.String(nowOf(thread).Format(datetimeMicroLayout)), nil
}

func utilNowdate(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	return starlark.String(nowOf(thread).Format(dateLayout)), nil
}

func utilNowtime(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if err := starlark.UnpackPositionalArgs(b.Name(), args, kwargs, 0); err != nil {
		return nil, err
	}
	return starlark.String(nowOf(thread).Format(timeMicroLayout)), nil
}

var parseLayouts = []struct {
	layout  string
	hasTime bool
}{
	{dateLayout, false},
	{datetimeLayout, true},
	{"2006-01-02T15:04:05", true},
	{"2006-01-02 15:04", true},
	{"2006-01-02T15:04", true},
}

// parseWhen reads a date or datetime string; None or "" is now. hasTime
// tells whether the value carried a time of day.
func parseWhen(v starlark.Value, now time.Time) (t time.Time, hasTime bool, err error) {
	if v == nil || v == starlark.None {
		return now, true, nil
	}
	s, ok := starlark.AsString(v)
	if !ok {
		return time.Time{}, false, &ThrowError{Exc: "ValidationError", Msg: fmt.Sprintf("%s is not a valid date string.", v), Title: "Invalid Date"}
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return now, true, nil
	}
	for _, l := range parseLayouts {
		if t, err := time.ParseInLocation(l.layout, s, now.Location()); err == nil {
			return t, l.hasTime, nil
		}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.In(now.Location()), true, nil
	}
	return time.Time{}, false, &ThrowError{Exc: "ValidationError", Msg: fmt.Sprintf("%s is not a valid date string.", s), Title: "Invalid Date"}
}

// oneDate unpacks a single optional date argument.
func oneDate(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, name string) (time.Time, bool, error) {
	var v starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, name+"?", &v); err != nil {
		return time.Time{}, false, err
	}
	return parseWhen(v, nowOf(thread))
}

func utilGetdate(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v, dayFirst starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "string_date?", &v, "parse_day_first?", &dayFirst); err != nil {
		return nil, err
	}
	t, _, err := parseWhen(v, nowOf(thread))
	if err != nil {
		return nil, err
	}
	return starlark.String(t.Format(dateLayout)), nil
}

func utilGetDatetime(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	t, _, err := oneDate(thread, b, args, kwargs, "datetime_str")
	if err != nil {
		return nil, err
	}
	return starlark.String(formatDatetime(t, false)), nil
}

// addMonths adds n months, clamping the day to the new month's length
// (Jan 31 + 1 month = Feb 28 or 29), as dateutil's relativedelta does.
func addMonths(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	total := int(m) - 1 + n
	y += total / 12
	if total%12 < 0 {
		y--
	}
	mon := time.Month((total%12+12)%12 + 1)
	if last := daysIn(y, mon); d > last {
		d = last
	}
	return time.Date(y, mon, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), t.Location())
}

func daysIn(y int, m time.Month) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// addToDate shifts date the way Frappe's add_to_date does and renders the
// result: a datetime string when the input had a time (or asDatetime),
// otherwise a date.
func addToDate(thread *starlark.Thread, date starlark.Value, years, months int, days, seconds float64, asDatetime bool) (starlark.Value, error) {
	t, hasTime, err := parseWhen(date, nowOf(thread))
	if err != nil {
		return nil, err
	}
	t = addMonths(t, years*12+months)
	whole := math.Trunc(days)
	t = t.AddDate(0, 0, int(whole))
	t = t.Add(time.Duration(((days-whole)*86400 + seconds) * float64(time.Second)))
	if hasTime || asDatetime {
		return starlark.String(t.Format(datetimeMicroLayout)), nil
	}
	return starlark.String(t.Format(dateLayout)), nil
}

// number reads an int or float argument.
func number(v starlark.Value) (float64, error) {
	switch x := v.(type) {
	case nil, starlark.NoneType:
		return 0, nil
	case starlark.Int:
		f, _ := starlark.AsFloat(x)
		return f, nil
	case starlark.Float:
		return float64(x), nil
	}
	return 0, fmt.Errorf("want a number, got %s", v.Type())
}

// addUnit implements add_days, add_months and add_years.
func addUnit(unit string) builtinFn {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var date, n starlark.Value
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "date", &date, unit, &n); err != nil {
			return nil, err
		}
		f, err := number(n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		switch unit {
		case "years":
			return addToDate(thread, date, int(f), 0, 0, 0, false)
		case "months":
			return addToDate(thread, date, 0, int(f), 0, 0, false)
		}
		return addToDate(thread, date, 0, 0, f, 0, false)
	}
}

func utilAddToDate(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var date starlark.Value
	var years, months, weeks, days, hours, minutes, seconds starlark.Value
	var asString, asDatetime bool
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "date", &date, "years?", &years, "months?", &months,
		"weeks?", &weeks, "days?", &days, "hours?", &hours, "minutes?", &minutes, "seconds?", &seconds,
		"as_string?", &asString, "as_datetime?", &asDatetime); err != nil {
		return nil, err
	}
	var n [7]float64
	for i, v := range []starlark.Value{years, months, weeks, days, hours, minutes, seconds} {
		f, err := number(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", b.Name(), err)
		}
		n[i] = f
	}
	return addToDate(thread, date, int(n[0]), int(n[1]), n[2]*7+n[3], n[4]*3600+n[5]*60+n[6], asDatetime)
}

// dayNumber counts days since the epoch for t's calendar date.
func dayNumber(t time.Time) int64 {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

func twoDates(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple, x, y string) (time.Time, time.Time, error) {
	var a, c starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, x, &a, y, &c); err != nil {
		return time.Time{}, time.Time{}, err
	}
	now := nowOf(thread)
	ta, _, err := parseWhen(a, now)
	if err != nil {
		return ta, ta, err
	}
	tc, _, err := parseWhen(c, now)
	return ta, tc, err
}

// utilDateDiff implements date_diff(end, start): whole days end - start.
func utilDateDiff(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	end, start, err := twoDates(thread, b, args, kwargs, "string_ed_date", "string_st_date")
	if err != nil {
		return nil, err
	}
	return starlark.MakeInt64(dayNumber(end) - dayNumber(start)), nil
}

// timeDiff implements time_diff_in_seconds and time_diff_in_hours.
func timeDiff(unit float64) builtinFn {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		end, start, err := twoDates(thread, b, args, kwargs, "string_ed_date", "string_st_date")
		if err != nil {
			return nil, err
		}
		d := end.Sub(start).Seconds() / unit
		if unit != 1 {
			d = roundHalfEven(d, 6)
		}
		return starlark.Float(d), nil
	}
}

// monthEdge implements get_first_day and get_last_day.
func monthEdge(last bool) builtinFn {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var date, dYears, dMonths starlark.Value
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "dt", &date, "d_years?", &dYears, "d_months?", &dMonths); err != nil {
			return nil, err
		}
		t, _, err := parseWhen(date, nowOf(thread))
		if err != nil {
			return nil, err
		}
		ys, _ := number(dYears)
		ms, _ := number(dMonths)
		t = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, t.Location())
		t = addMonths(t, int(ys)*12+int(ms))
		if last {
			t = t.AddDate(0, 1, -1)
		}
		return starlark.String(t.Format(dateLayout)), nil
	}
}

// toFloat converts as Python's float() does after Frappe strips commas;
// ok is false when it cannot.
func toFloat(v starlark.Value) (float64, bool) {
	switch x := v.(type) {
	case starlark.Bool:
		if x {
			return 1, true
		}
		return 0, true
	case starlark.Int:
		f, _ := starlark.AsFloat(x)
		return f, true
	case starlark.Float:
		return float64(x), true
	case starlark.String:
		s := strings.TrimSpace(strings.ReplaceAll(string(x), ",", ""))
		f, err := strconv.ParseFloat(s, 64)
		if err != nil && !isRangeErr(err) {
			return 0, false
		}
		return f, true
	}
	return 0, false
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// roundHalfEven rounds x to n >= 0 decimals as Python's round(x, n)
// does. No float64 has more than 1074 decimals, so larger n (which would
// only make FormatFloat build a huge string) leave x as it is.
func roundHalfEven(x float64, n int) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || n > 1100 {
		return x
	}
	f, err := strconv.ParseFloat(strconv.FormatFloat(x, 'f', n, 64), 64)
	if err != nil {
		return x
	}
	return f
}

// frappeRound rounds as Frappe's default (legacy) rounding does: half away
// from zero's floor (x.5 up) for precision > 0, half to even for
// precision 0, after first rounding to 8 decimals to absorb binary noise.
func frappeRound(num float64, precision int) float64 {
	if math.IsNaN(num) || math.IsInf(num, 0) {
		return num
	}
	mult := math.Pow(10, float64(precision))
	if math.IsInf(mult, 0) || math.IsInf(num*mult, 0) {
		return num // more decimals than a float64 has
	}
	x := roundHalfEven(num*mult, 8)
	floor := math.Floor(x)
	frac := x - floor
	switch {
	case frac == 0.5 && precision == 0:
		if math.Mod(floor, 2) == 0 {
			x = floor
		} else {
			x = floor + 1
		}
	case frac == 0.5:
		x = floor + 1
	default:
		x = math.Round(x)
	}
	return x / mult
}

func utilFlt(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v, precision, method starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "s", &v, "precision?", &precision, "rounding_method?", &method); err != nil {
		return nil, err
	}
	f, ok := toFloat(v)
	if !ok {
		return starlark.Float(0), nil
	}
	if precision != nil && precision != starlark.None {
		p, err := asInt64(precision, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: precision: %w", b.Name(), err)
		}
		f = frappeRound(f, int(p))
	}
	return starlark.Float(f), nil
}

func utilRounded(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v, precision, method starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "num", &v, "precision?", &precision, "rounding_method?", &method); err != nil {
		return nil, err
	}
	f, ok := toFloat(v)
	if !ok {
		return nil, fmt.Errorf("%s: want a number, got %s", b.Name(), v.Type())
	}
	p, err := asInt64(precision, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: precision: %w", b.Name(), err)
	}
	return starlark.Float(frappeRound(f, int(p))), nil
}

func utilCint(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v starlark.Value
	var def starlark.Value = starlark.MakeInt(0)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "s", &v, "default?", &def); err != nil {
		return nil, err
	}
	if i, ok := v.(starlark.Int); ok {
		return i, nil
	}
	f, ok := toFloat(v)
	if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
		return def, nil
	}
	return starlark.NumberToInt(starlark.Float(math.Trunc(f)))
}

func utilCstr(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var v, encoding starlark.Value
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "s", &v, "encoding?", &encoding); err != nil {
		return nil, err
	}
	if v == starlark.None {
		return starlark.String(""), nil
	}
	return starlark.String(asString(v)), nil
}
