package query

import (
	"errors"
	"testing"
	"time"
)

func TestTimespanRange(t *testing.T) {
	// Wednesday 2024-05-15 (see testEnv: 20:30 UTC on the 14th is the 15th in IST).
	tests := []struct{ span, from, to string }{
		{"yesterday", "2024-05-14", "2024-05-14"},
		{"today", "2024-05-15", "2024-05-15"},
		{"tomorrow", "2024-05-16", "2024-05-16"},
		{"this week", "2024-05-13", "2024-05-19"},
		{"this month", "2024-05-01", "2024-05-31"},
		{"this quarter", "2024-04-01", "2024-06-30"},
		{"this year", "2024-01-01", "2024-12-31"},
		{"last week", "2024-05-06", "2024-05-12"},
		{"last month", "2024-04-01", "2024-04-30"},
		{"last quarter", "2024-01-01", "2024-03-31"},
		{"last 6 months", "2023-10-01", "2024-03-31"},
		{"last year", "2023-01-01", "2023-12-31"},
		{"next week", "2024-05-20", "2024-05-26"},
		{"next month", "2024-06-01", "2024-06-30"},
		{"next quarter", "2024-07-01", "2024-09-30"},
		{"next 6 months", "2024-07-01", "2024-12-31"},
		{"next year", "2025-01-01", "2025-12-31"},
		{"last 7 days", "2024-05-08", "2024-05-15"},
		{"last 14 days", "2024-05-01", "2024-05-15"},
		{"last 30 days", "2024-04-15", "2024-05-15"},
		{"next 7 days", "2024-05-15", "2024-05-22"},
		{"next 14 days", "2024-05-15", "2024-05-29"},
		{"next 30 days", "2024-05-15", "2024-06-14"},
		{"  This   WEEK ", "2024-05-13", "2024-05-19"},
	}
	for _, tt := range tests {
		from, to, err := TimespanRange(tt.span, testEnv)
		if err != nil || from != tt.from || to != tt.to {
			t.Errorf("TimespanRange(%q) = %s, %s, %v; want %s, %s", tt.span, from, to, err, tt.from, tt.to)
		}
	}
	if len(timespans) != 23 {
		t.Errorf("timespans has %d entries", len(timespans))
	}
	for _, s := range timespans {
		if _, _, err := TimespanRange(s, testEnv); err != nil {
			t.Errorf("TimespanRange(%q): %v", s, err)
		}
	}
}

func TestTimespanEdges(t *testing.T) {
	at := func(y int, m time.Month, d int, ws time.Weekday) Env {
		return Env{Now: time.Date(y, m, d, 12, 0, 0, 0, time.UTC), WeekStart: ws}
	}
	tests := []struct {
		env            Env
		span, from, to string
	}{
		// Month arithmetic clamps (Mar 31 − 1 month = Feb 29 in a leap year).
		{at(2024, 3, 31, time.Monday), "last month", "2024-02-01", "2024-02-29"},
		{at(2023, 3, 31, time.Monday), "last month", "2023-02-01", "2023-02-28"},
		{at(2024, 1, 31, time.Monday), "next month", "2024-02-01", "2024-02-29"},
		{at(2024, 1, 15, time.Monday), "last month", "2023-12-01", "2023-12-31"},
		{at(2024, 12, 15, time.Monday), "next month", "2025-01-01", "2025-01-31"},
		{at(2024, 2, 29, time.Monday), "last year", "2023-01-01", "2023-12-31"},
		{at(2024, 2, 29, time.Monday), "next year", "2025-01-01", "2025-12-31"},
		{at(2024, 11, 30, time.Monday), "next quarter", "2025-01-01", "2025-03-31"},
		{at(2024, 2, 10, time.Monday), "last quarter", "2023-10-01", "2023-12-31"},
		{at(2024, 2, 10, time.Monday), "last 6 months", "2023-07-01", "2023-12-31"},
		{at(2024, 11, 10, time.Monday), "next 6 months", "2025-01-01", "2025-06-30"},
		// Week starts: Sunday (Frappe's fallback), Monday, Saturday.
		{at(2024, 5, 15, time.Sunday), "this week", "2024-05-12", "2024-05-18"},
		{at(2024, 5, 12, time.Sunday), "this week", "2024-05-12", "2024-05-18"},
		{at(2024, 5, 12, time.Monday), "this week", "2024-05-06", "2024-05-12"},
		{at(2024, 5, 15, time.Saturday), "this week", "2024-05-11", "2024-05-17"},
		{at(2024, 5, 15, time.Sunday), "last week", "2024-05-05", "2024-05-11"},
		{at(2024, 5, 15, time.Weekday(8)), "this week", "2024-05-13", "2024-05-19"}, // out of range: mod 7
		{at(2024, 1, 1, time.Monday), "yesterday", "2023-12-31", "2023-12-31"},
	}
	for _, tt := range tests {
		from, to, err := TimespanRange(tt.span, tt.env)
		if err != nil || from != tt.from || to != tt.to {
			t.Errorf("%s on %s (week starts %v) = %s, %s, %v; want %s, %s",
				tt.span, tt.env.Now.Format(dateLayout), tt.env.WeekStart, from, to, err, tt.from, tt.to)
		}
	}
}

func TestTimespanUnknown(t *testing.T) {
	for _, s := range []string{"", "last 8 days", "fortnight", "last-week"} {
		_, _, err := TimespanRange(s, testEnv)
		var qe *Error
		if !errors.As(err, &qe) || qe.Type != ValidationError {
			t.Errorf("TimespanRange(%q) error = %v, want ValidationError", s, err)
		}
	}
}

func TestEnvToday(t *testing.T) {
	if got := testEnv.today().Format(dateLayout); got != "2024-05-15" {
		t.Errorf("today in IST = %s", got)
	}
	noLoc := Env{Now: time.Date(2024, 5, 14, 20, 30, 0, 0, time.UTC)}
	if got := noLoc.today().Format(dateLayout); got != "2024-05-14" {
		t.Errorf("today without Loc = %s", got)
	}
	if (Env{}).today().IsZero() {
		t.Error("zero Env should use the current time")
	}
}
