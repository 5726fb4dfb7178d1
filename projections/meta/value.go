package meta

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Canonical layouts of stored date and time values: fixed width, so that
// string order is time order.
const (
	DateLayout     = "2006-01-02"
	DatetimeLayout = "2006-01-02 15:04:05.000000"
	TimeLayout     = "15:04:05.000000"
)

// ErrType is wrapped by the errors [Coerce] returns for values of the
// wrong type.
var ErrType = errors.New("wrong value type")

// Coerce converts a client-supplied value (JSON-decoded: nil, bool,
// int64, float64, string, []any, map[string]any) into the canonical stored
// value of a field type: int64 for Int, Check and Duration (0 for null);
// float64 for Float, Currency, Percent and Rating (0 for null); canonical
// strings for Date, Datetime and Time (nil for null or ""); JSON text for
// JSON; strings for the rest. Naive date-times are in loc; date-times with
// a zone are converted to loc. Tables are not handled here.
func Coerce(fieldtype string, v any, loc *time.Location) (any, error) {
	switch kinds[fieldtype] {
	case KindInt:
		n, err := toInt(v)
		if fieldtype == Check && n != 0 {
			n = 1
		}
		return n, err
	case KindFloat:
		return toFloat(v)
	case KindDate:
		s, err := dateString(v, loc)
		return nilIfEmpty(s), err
	case KindDatetime:
		s, err := datetimeString(v, loc)
		return nilIfEmpty(s), err
	case KindTime:
		s, err := timeString(v)
		return nilIfEmpty(s), err
	case KindJSON:
		return jsonText(v)
	case KindString:
		s, isNull, err := toString(v)
		if isNull || (s == "" && (fieldtype == Link || fieldtype == DynamicLink)) {
			return nil, err
		}
		return s, err
	case KindTable:
		return nil, fmt.Errorf("%w: a table value is a list of rows", ErrType)
	}
	return nil, nil
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func toInt(v any) (int64, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case float64:
		return floatToInt(x)
	case string:
		s := strings.TrimSpace(x)
		if s == "" {
			return 0, nil
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err == nil {
			return n, nil
		}
		if errors.Is(err, strconv.ErrRange) {
			return 0, fmt.Errorf("%w: %s is out of the integer range", ErrType, s)
		}
		if f, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", ""), 64); err == nil {
			return floatToInt(f)
		}
		return 0, fmt.Errorf("%w: %q is not an integer", ErrType, x)
	}
	return 0, fmt.Errorf("%w: expected an integer, got %s", ErrType, jsonKind(v))
}

// floatToInt truncates a float to an integer (as Frappe's cint does),
// refusing values outside the int64 range.
func floatToInt(f float64) (int64, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f >= 0x1p63 || f <= -0x1p63 {
		return 0, fmt.Errorf("%w: %v is out of the integer range", ErrType, f)
	}
	return int64(f), nil
}

func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case int64:
		return float64(x), nil
	case int:
		return float64(x), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 0, fmt.Errorf("%w: %v is not a number", ErrType, x)
		}
		return x, nil
	case string:
		s := strings.ReplaceAll(strings.TrimSpace(x), ",", "")
		if s == "" {
			return 0, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, fmt.Errorf("%w: %q is not a number", ErrType, x)
		}
		return f, nil
	}
	return 0, fmt.Errorf("%w: expected a number, got %s", ErrType, jsonKind(v))
}

// toString converts scalars to text; isNull reports a JSON null.
func toString(v any) (s string, isNull bool, err error) {
	switch x := v.(type) {
	case nil:
		return "", true, nil
	case string:
		return x, false, nil
	case int64:
		return strconv.FormatInt(x, 10), false, nil
	case int:
		return strconv.Itoa(x), false, nil
	case float64:
		return FormatFloat(x), false, nil
	case bool:
		if x {
			return "1", false, nil
		}
		return "0", false, nil
	}
	return "", false, fmt.Errorf("%w: expected text, got %s", ErrType, jsonKind(v))
}

// FormatFloat writes a float as Python's str() does for whole and simple
// values ("1.0", "2.5").
func FormatFloat(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any, []map[string]any:
		return "a list"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case nil:
		return "null"
	}
	return "a number"
}

func jsonText(v any) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		if strings.TrimSpace(x) == "" {
			return nil, nil
		}
		if !json.Valid([]byte(x)) {
			return nil, fmt.Errorf("%w: not valid JSON", ErrType)
		}
		return x, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrType, err)
	}
	return string(b), nil
}

// ParseDatetime parses a date or date-time leniently: "2024-01-05",
// "2024-1-5", "2024-01-05 10:11", "2024-01-05 10:11:12.5",
// "2024-01-05T10:11:12Z", "2024-01-05T10:11:12+02:00". A time without a
// zone is taken in loc; one with a zone is converted to loc.
func ParseDatetime(s string, loc *time.Location) (t time.Time, dateOnly bool, err error) {
	s = strings.TrimSpace(s)
	if loc == nil {
		loc = time.UTC
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.In(loc), false, nil
	}
	datePart, timePart, hasTime := strings.Cut(strings.Replace(s, "T", " ", 1), " ")
	ymd := strings.Split(datePart, "-")
	if len(ymd) != 3 {
		return time.Time{}, false, fmt.Errorf("%w: %q is not a date", ErrType, s)
	}
	var nums [3]int
	for i, p := range ymd {
		n, err := strconv.Atoi(p)
		if err != nil || p == "" || len(p) > 4 {
			return time.Time{}, false, fmt.Errorf("%w: %q is not a date", ErrType, s)
		}
		nums[i] = n
	}
	y, m, d := nums[0], nums[1], nums[2]
	if y < 1 || m < 1 || m > 12 || d < 1 || d > 31 {
		return time.Time{}, false, fmt.Errorf("%w: %q is not a valid date", ErrType, s)
	}
	var hh, mm, ss, us int
	if hasTime {
		timePart = strings.TrimSpace(timePart)
		if hh, mm, ss, us, err = parseClock(timePart); err != nil {
			return time.Time{}, false, fmt.Errorf("%w: %q is not a date-time", ErrType, s)
		}
	}
	t = time.Date(y, time.Month(m), d, hh, mm, ss, us*1000, loc)
	if t.Day() != d {
		return time.Time{}, false, fmt.Errorf("%w: %q is not a valid date", ErrType, s)
	}
	return t, !hasTime, nil
}

// parseClock parses "H:MM", "H:MM:SS" or "H:MM:SS.ffffff".
func parseClock(s string) (hh, mm, ss, us int, err error) {
	bad := fmt.Errorf("%w: %q is not a time", ErrType, s)
	main, frac, hasFrac := strings.Cut(s, ".")
	parts := strings.Split(main, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, 0, 0, 0, bad
	}
	vals := make([]int, 3)
	for i, p := range parts {
		n, e := strconv.Atoi(p)
		if e != nil || p == "" || len(p) > 2 || n < 0 {
			return 0, 0, 0, 0, bad
		}
		vals[i] = n
	}
	hh, mm, ss = vals[0], vals[1], vals[2]
	if hh > 23 || mm > 59 || ss > 59 {
		return 0, 0, 0, 0, bad
	}
	if hasFrac {
		if frac == "" || len(frac) > 9 {
			return 0, 0, 0, 0, bad
		}
		for _, c := range frac {
			if c < '0' || c > '9' {
				return 0, 0, 0, 0, bad
			}
		}
		frac = (frac + "000000")[:6]
		us, _ = strconv.Atoi(frac)
	}
	return hh, mm, ss, us, nil
}

func dateString(v any, loc *time.Location) (string, error) {
	s, isNull, err := toString(v)
	if err != nil || isNull || strings.TrimSpace(s) == "" {
		return "", err
	}
	t, _, err := ParseDatetime(s, loc)
	if err != nil {
		return "", err
	}
	return t.Format(DateLayout), nil
}

func datetimeString(v any, loc *time.Location) (string, error) {
	s, isNull, err := toString(v)
	if err != nil || isNull || strings.TrimSpace(s) == "" {
		return "", err
	}
	t, _, err := ParseDatetime(s, loc)
	if err != nil {
		return "", err
	}
	return t.Format(DatetimeLayout), nil
}

func timeString(v any) (string, error) {
	s, isNull, err := toString(v)
	if err != nil || isNull || strings.TrimSpace(s) == "" {
		return "", err
	}
	s = strings.TrimSpace(s)
	if _, t, ok := strings.Cut(strings.Replace(s, "T", " ", 1), " "); ok && strings.Count(s, "-") == 2 {
		s = t // a date-time: keep the time
	}
	hh, mm, ss, us, err := parseClock(s)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%02d:%02d:%02d.%06d", hh, mm, ss, us), nil
}

// FormatDatetime writes a canonical stored date-time as Python's
// str(datetime) does: the fraction is left out when it is zero.
func FormatDatetime(s string) string {
	return strings.TrimSuffix(s, ".000000")
}

// FormatTime writes a canonical stored time as Frappe returns TIME values
// ("9:05:03", fraction only when non-zero).
func FormatTime(s string) string {
	s = strings.TrimSuffix(s, ".000000")
	if len(s) >= 2 && s[0] == '0' && s[1] != ':' {
		s = s[1:]
	}
	return s
}

// Now returns the current time in loc as a canonical date-time.
func Now(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format(DatetimeLayout)
}

// FormatValue turns a stored value into its wire form: date-times as
// Python's str() writes them, times as "H:MM:SS"; other values as they are.
func FormatValue(fieldtype string, v any) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	switch kinds[fieldtype] {
	case KindDatetime:
		return FormatDatetime(s)
	case KindTime:
		return FormatTime(s)
	}
	return v
}
