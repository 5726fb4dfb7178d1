package query

import (
	"strings"
	"time"
)

// Env is what relative date operators need.
type Env struct {
	// Now is the current instant; the zero value means time.Now().
	Now time.Time
	// Loc is the site's time zone; "today" is Now's date in Loc. Nil means
	// Now's own location.
	Loc *time.Location
	// WeekStart is the first day of the week (Frappe's System Settings
	// first_day_of_the_week). The zero value, Sunday, is also Frappe v15's
	// fallback when the setting is empty; sites usually set Monday.
	WeekStart time.Weekday
}

// timespans lists the values the timespan operator accepts.
var timespans = []string{
	"yesterday", "today", "tomorrow",
	"this week", "this month", "this quarter", "this year",
	"last week", "last month", "last quarter", "last 6 months", "last year",
	"next week", "next month", "next quarter", "next 6 months", "next year",
	"last 7 days", "last 14 days", "last 30 days",
	"next 7 days", "next 14 days", "next 30 days",
}

// TimespanRange returns the inclusive date range ("YYYY-MM-DD") of a timespan
// value relative to env, as Frappe's get_timespan_date_range computes it:
//
//   - yesterday, today, tomorrow: that single day;
//   - this week/month/quarter/year: the calendar period containing today
//     (weeks start on env.WeekStart);
//   - last/next week, month, quarter, year: the calendar period containing
//     today minus/plus 7 days, 1 month, 3 months, 1 year;
//   - last 6 months: from the start of the quarter containing today − 6 months
//     to the end of the quarter containing today − 3 months (the two previous
//     calendar quarters); next 6 months: from the start of the quarter
//     containing today + 3 months to the end of the quarter containing
//     today + 6 months;
//   - last N days (N = 7, 14, 30): today − N days to today; next N days: today
//     to today + N days (both ends inclusive; Frappe added these in 2025 and
//     the exact bounds are not confirmed from its source).
//
// Month arithmetic clamps the day to the month's length (Mar 31 − 1 month is
// Feb 28/29), like dateutil's relativedelta. The value is matched
// case-insensitively; unknown values are a ValidationError (Frappe silently
// uses today).
func TimespanRange(span string, env Env) (from, to string, err error) {
	f, t, ok := timespanRange(strings.Join(strings.Fields(strings.ToLower(span)), " "), env.today(), env.WeekStart)
	if !ok {
		return "", "", validationErr("Unknown timespan " + pyQuote(span) + "; expected one of " + strings.Join(timespans, ", "))
	}
	return f.Format(dateLayout), t.Format(dateLayout), nil
}

func timespanRange(span string, today time.Time, ws time.Weekday) (from, to time.Time, ok bool) {
	week := func(d time.Time) (time.Time, time.Time) {
		s := weekStart(d, ws)
		return s, s.AddDate(0, 0, 6)
	}
	month := func(d time.Time) (time.Time, time.Time) {
		s := time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC)
		return s, s.AddDate(0, 1, -1)
	}
	quarter := func(d time.Time) (time.Time, time.Time) {
		s := time.Date(d.Year(), (d.Month()-1)/3*3+1, 1, 0, 0, 0, 0, time.UTC)
		return s, s.AddDate(0, 3, -1)
	}
	year := func(d time.Time) (time.Time, time.Time) {
		return time.Date(d.Year(), 1, 1, 0, 0, 0, 0, time.UTC), time.Date(d.Year(), 12, 31, 0, 0, 0, 0, time.UTC)
	}
	ok = true
	switch span {
	case "yesterday":
		from = today.AddDate(0, 0, -1)
		to = from
	case "today":
		from, to = today, today
	case "tomorrow":
		from = today.AddDate(0, 0, 1)
		to = from
	case "this week":
		from, to = week(today)
	case "this month":
		from, to = month(today)
	case "this quarter":
		from, to = quarter(today)
	case "this year":
		from, to = year(today)
	case "last week":
		from, to = week(today.AddDate(0, 0, -7))
	case "last month":
		from, to = month(addMonths(today, -1))
	case "last quarter":
		from, to = quarter(addMonths(today, -3))
	case "last 6 months":
		from, _ = quarter(addMonths(today, -6))
		_, to = quarter(addMonths(today, -3))
	case "last year":
		from, to = year(addMonths(today, -12))
	case "next week":
		from, to = week(today.AddDate(0, 0, 7))
	case "next month":
		from, to = month(addMonths(today, 1))
	case "next quarter":
		from, to = quarter(addMonths(today, 3))
	case "next 6 months":
		from, _ = quarter(addMonths(today, 3))
		_, to = quarter(addMonths(today, 6))
	case "next year":
		from, to = year(addMonths(today, 12))
	case "last 7 days", "last 14 days", "last 30 days":
		from, to = today.AddDate(0, 0, -atoi(strings.Fields(span)[1])), today
	case "next 7 days", "next 14 days", "next 30 days":
		from, to = today, today.AddDate(0, 0, atoi(strings.Fields(span)[1]))
	default:
		ok = false
	}
	return from, to, ok
}

// addMonths adds n months to a date, clamping the day to the target month.
func addMonths(d time.Time, n int) time.Time {
	m := int(d.Month()) - 1 + n
	y := d.Year() + m/12
	m %= 12
	if m < 0 {
		m += 12
		y--
	}
	day := min(d.Day(), daysIn(y, m+1))
	return time.Date(y, time.Month(m+1), day, 0, 0, 0, 0, time.UTC)
}

// weekStart returns the first day of d's week when weeks start on ws.
func weekStart(d time.Time, ws time.Weekday) time.Time {
	offset := ((int(d.Weekday())-int(ws))%7 + 7) % 7
	return d.AddDate(0, 0, -offset)
}

// periodTimespan maps the previous/next operators' values to timespans, as
// Frappe's get_date_range does.
var periodTimespan = map[string]string{
	"1 week":   "week",
	"1 month":  "month",
	"3 months": "quarter",
	"6 months": "6 months",
	"1 year":   "year",
}
