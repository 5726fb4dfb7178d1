package query

import (
	"strconv"
	"strings"
	"time"
)

// Fallback values Frappe coalesces NULL dates and times to.
const (
	fallbackDate     = "0001-01-01"
	fallbackDatetime = "0001-01-01 00:00:00.000000"
	fallbackTime     = "00:00:00.000000"
)

const (
	dateLayout     = "2006-01-02"
	datetimeLayout = "2006-01-02 15:04:05.000000"
	timeLayout     = "15:04:05.000000"
)

// parseDateTime parses the date (and time) forms accepted here, a lenient
// subset of what Frappe's dateutil-based parsing accepts:
//
//	2024-01-05, 2024-1-5, 2024/01/05, 2024.01.05, 20240105,
//	01/05/2024 and 1-5-2024 (month first, unless the first number exceeds 12),
//
// optionally followed by 'T' or spaces and a time H:M[:S[.ffffff]] with an
// optional AM/PM and an ignored zone (Z, +05:30, -0800). The result is in UTC
// with the wall-clock fields as written.
func parseDateTime(s string) (t time.Time, hasTime, ok bool) {
	s = strings.TrimSpace(s)
	y, m, d, rest, ok := parseDatePart(s)
	if !ok {
		return time.Time{}, false, false
	}
	var h, mi, sec, usec int
	if rest != "" {
		switch {
		case rest[0] == 'T' || rest[0] == 't':
			rest = rest[1:]
		case rest[0] == ' ':
			rest = strings.TrimLeft(rest, " ")
		default:
			return time.Time{}, false, false
		}
		if h, mi, sec, usec, ok = parseTimeText(rest); !ok {
			return time.Time{}, false, false
		}
		hasTime = true
	}
	if !validDate(y, m, d) {
		return time.Time{}, false, false
	}
	return time.Date(y, time.Month(m), d, h, mi, sec, usec*1000, time.UTC), hasTime, true
}

// digits reads a run of ASCII digits from the start of s.
func digits(s string) (string, string) {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return s[:i], s[i:]
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func parseDatePart(s string) (y, m, d int, rest string, ok bool) {
	a, rest := digits(s)
	if len(a) == 8 && (rest == "" || rest[0] == 'T' || rest[0] == 't' || rest[0] == ' ') {
		return atoi(a[:4]), atoi(a[4:6]), atoi(a[6:]), rest, true
	}
	if rest == "" || strings.IndexByte("-/.", rest[0]) < 0 {
		return 0, 0, 0, "", false
	}
	sep := rest[0]
	b, rest := digits(rest[1:])
	if rest == "" || rest[0] != sep {
		return 0, 0, 0, "", false
	}
	c, rest := digits(rest[1:])
	switch {
	case len(a) == 4 && len(b) >= 1 && len(b) <= 2 && len(c) >= 1 && len(c) <= 2:
		return atoi(a), atoi(b), atoi(c), rest, true
	case len(a) >= 1 && len(a) <= 2 && len(b) >= 1 && len(b) <= 2 && len(c) == 4:
		m, d = atoi(a), atoi(b)
		if m > 12 && d <= 12 {
			m, d = d, m
		}
		return atoi(c), m, d, rest, true
	}
	return 0, 0, 0, "", false
}

// parseTimeText parses H:M[:S[.f]] [AM|PM] [zone] and nothing else.
func parseTimeText(s string) (h, mi, sec, usec int, ok bool) {
	a, rest := digits(s)
	if len(a) < 1 || len(a) > 2 || rest == "" || rest[0] != ':' {
		return 0, 0, 0, 0, false
	}
	b, rest := digits(rest[1:])
	if len(b) < 1 || len(b) > 2 {
		return 0, 0, 0, 0, false
	}
	h, mi = atoi(a), atoi(b)
	if rest != "" && rest[0] == ':' {
		var c string
		c, rest = digits(rest[1:])
		if len(c) < 1 || len(c) > 2 {
			return 0, 0, 0, 0, false
		}
		sec = atoi(c)
		if rest != "" && rest[0] == '.' {
			var f string
			f, rest = digits(rest[1:])
			if f == "" {
				return 0, 0, 0, 0, false
			}
			f = (f + "000000")[:6]
			usec = atoi(f)
		}
	}
	rest = strings.TrimLeft(rest, " ")
	if len(rest) >= 2 {
		switch strings.ToLower(rest[:2]) {
		case "am", "pm":
			if h < 1 || h > 12 {
				return 0, 0, 0, 0, false
			}
			if strings.ToLower(rest[:2]) == "pm" {
				h = h%12 + 12
			} else {
				h %= 12
			}
			rest = strings.TrimLeft(rest[2:], " ")
		}
	}
	if !skipZone(rest) || h > 23 || mi > 59 || sec > 59 {
		return 0, 0, 0, 0, false
	}
	return h, mi, sec, usec, true
}

// skipZone reports whether rest is empty or a UTC offset.
func skipZone(rest string) bool {
	switch {
	case rest == "", rest == "Z", rest == "z":
		return true
	case rest[0] == '+' || rest[0] == '-':
		d, tail := digits(rest[1:])
		if tail != "" {
			if tail[0] != ':' || len(d) != 2 {
				return false
			}
			d2, tail2 := digits(tail[1:])
			return tail2 == "" && len(d2) == 2
		}
		return len(d) == 2 || len(d) == 4
	}
	return false
}

func validDate(y, m, d int) bool {
	return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m)
}

func daysIn(y, m int) int {
	return time.Date(y, time.Month(m)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func errNotDate(v any, what string) error {
	return validationErr("<strong>" + pyStr(v) + "</strong> is not a valid " + what + " string.")
}

// castDate is Frappe's db.format_date(value): a falsy value means today.
func castDate(v any, today time.Time) (string, error) {
	if !truthy(v) {
		return today.Format(dateLayout), nil
	}
	s, ok := v.(string)
	if !ok {
		return "", errNotDate(v, "date")
	}
	if strings.HasPrefix(s, fallbackDate) {
		return fallbackDate, nil
	}
	t, _, ok := parseDateTime(s)
	if !ok {
		return "", errNotDate(v, "date")
	}
	return t.Format(dateLayout), nil
}

// castDatetime is Frappe's db.format_datetime(value): a falsy value is the
// fallback datetime, a date alone means midnight.
func castDatetime(v any) (string, error) {
	if !truthy(v) {
		return fallbackDatetime, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", errNotDate(v, "datetime")
	}
	if strings.HasPrefix(s, fallbackDate) {
		return fallbackDatetime, nil
	}
	t, _, ok := parseDateTime(s)
	if !ok {
		return "", errNotDate(v, "datetime")
	}
	return t.Format(datetimeLayout), nil
}

// castTime is Frappe's get_time(value) formatted as HH:MM:SS.ffffff. A
// datetime yields its time of day, a date alone midnight.
func castTime(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", errNotDate(v, "time")
	}
	if h, mi, sec, usec, ok := parseTimeText(strings.TrimSpace(s)); ok {
		return time.Date(1, 1, 1, h, mi, sec, usec*1000, time.UTC).Format(timeLayout), nil
	}
	if t, _, ok := parseDateTime(s); ok {
		return t.Format(timeLayout), nil
	}
	return "", errNotDate(v, "time")
}

// castBetweenDatetime is one bound of Frappe's get_between_date_filter for a
// Datetime column: a string with a space keeps its time, any other string is
// read as a date ("" is today) and gets the start (or end) of the day; null
// and other falsy values are the fallback datetime.
func castBetweenDatetime(v any, end bool, today time.Time) (string, error) {
	s, ok := v.(string)
	if !ok {
		if !truthy(v) {
			return fallbackDatetime, nil
		}
		return "", errNotDate(v, "datetime")
	}
	if strings.Contains(strings.TrimSpace(s), " ") {
		return castDatetime(s)
	}
	d, err := castDate(s, today)
	if err != nil {
		return "", err
	}
	if end {
		return d + " 23:59:59.999999", nil
	}
	return d + " 00:00:00.000000", nil
}

// today is the current date in env's location, as midnight UTC.
func (env Env) today() time.Time {
	now := env.Now
	if now.IsZero() {
		now = time.Now()
	}
	if env.Loc != nil {
		now = now.In(env.Loc)
	}
	return time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
}
