package query

import (
	"testing"
	"time"
)

func TestParseDateTime(t *testing.T) {
	tests := []struct {
		in      string
		want    string // datetimeLayout, "" for a parse failure
		hasTime bool
	}{
		{"2024-01-05", "2024-01-05 00:00:00.000000", false},
		{" 2024-1-5 ", "2024-01-05 00:00:00.000000", false},
		{"2024/01/05", "2024-01-05 00:00:00.000000", false},
		{"2024.1.5", "2024-01-05 00:00:00.000000", false},
		{"20240105", "2024-01-05 00:00:00.000000", false},
		{"01/05/2024", "2024-01-05 00:00:00.000000", false},
		{"1-5-2024", "2024-01-05 00:00:00.000000", false},
		{"25/12/2024", "2024-12-25 00:00:00.000000", false},
		{"2024-01-05 10:20", "2024-01-05 10:20:00.000000", true},
		{"2024-01-05   10:20:30", "2024-01-05 10:20:30.000000", true},
		{"2024-01-05T10:20:30.123", "2024-01-05 10:20:30.123000", true},
		{"2024-01-05T10:20:30.1234567", "2024-01-05 10:20:30.123456", true},
		{"2024-01-05T10:20:30Z", "2024-01-05 10:20:30.000000", true},
		{"2024-01-05T10:20:30+05:30", "2024-01-05 10:20:30.000000", true},
		{"2024-01-05 10:20:30 -0800", "2024-01-05 10:20:30.000000", true},
		{"20240105T102030", "", false},
		{"2024-01-05 12:00 am", "2024-01-05 00:00:00.000000", true},
		{"2024-01-05 12:30 PM", "2024-01-05 12:30:00.000000", true},
		{"2024-01-05 1:05 pm", "2024-01-05 13:05:00.000000", true},
		{"0001-01-01", "0001-01-01 00:00:00.000000", false},
		{"2024-02-30", "", false},
		{"2024-13-01", "", false},
		{"2024-00-10", "", false},
		{"13/13/2024", "", false},
		{"2024-01-05 24:00", "", false},
		{"2024-01-05 10:60", "", false},
		{"2024-01-05 13:00 pm", "", false},
		{"2024-01-05 10", "", false},
		{"2024-01-05 10:20:30.", "", false},
		{"2024-01-05x", "", false},
		{"2024-01/05", "", false},
		{"24-01-05", "", false},
		{"Jan 5 2024", "", false},
		{"", "", false},
		{"10:20", "", false},
	}
	for _, tt := range tests {
		got, hasTime, ok := parseDateTime(tt.in)
		if tt.want == "" {
			if ok {
				t.Errorf("parseDateTime(%q) = %v, want failure", tt.in, got)
			}
			continue
		}
		if !ok || got.Format(datetimeLayout) != tt.want || hasTime != tt.hasTime {
			t.Errorf("parseDateTime(%q) = %s, %v, %v; want %s, %v", tt.in, got.Format(datetimeLayout), hasTime, ok, tt.want, tt.hasTime)
		}
	}
}

func TestCasts(t *testing.T) {
	today := time.Date(2024, 5, 15, 0, 0, 0, 0, time.UTC)
	dates := []struct {
		in   any
		want string
	}{
		{nil, "2024-05-15"}, {"", "2024-05-15"}, {false, "2024-05-15"}, {0, "2024-05-15"},
		{"2024-1-5", "2024-01-05"}, {"2024-01-05 23:59:59", "2024-01-05"}, {"0001-01-01", "0001-01-01"},
	}
	for _, tt := range dates {
		if got, err := castDate(tt.in, today); err != nil || got != tt.want {
			t.Errorf("castDate(%#v) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	datetimes := []struct {
		in   any
		want string
	}{
		{nil, fallbackDatetime}, {"", fallbackDatetime}, {"2024-01-05", "2024-01-05 00:00:00.000000"},
		{"2024-01-05 7:08:09.5", "2024-01-05 07:08:09.500000"}, {"0001-01-01 10:00", fallbackDatetime},
	}
	for _, tt := range datetimes {
		if got, err := castDatetime(tt.in); err != nil || got != tt.want {
			t.Errorf("castDatetime(%#v) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	times := []struct {
		in   any
		want string
	}{
		{"9:5", "09:05:00.000000"}, {"09:05:03.25", "09:05:03.250000"}, {"12:00 AM", "00:00:00.000000"},
		{"2024-01-05 10:20:30", "10:20:30.000000"}, {"2024-01-05", "00:00:00.000000"},
	}
	for _, tt := range times {
		if got, err := castTime(tt.in); err != nil || got != tt.want {
			t.Errorf("castTime(%#v) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []any{"x", 5, []any{"2024-01-01"}, "0000-00-00"} {
		if _, err := castDate(bad, today); err == nil {
			t.Errorf("castDate(%#v) succeeded", bad)
		}
	}
	for _, bad := range []any{nil, "", "25:00", 930} {
		if _, err := castTime(bad); err == nil {
			t.Errorf("castTime(%#v) succeeded", bad)
		}
	}
	bounds := []struct {
		in   any
		end  bool
		want string
	}{
		{"2024-01-05", false, "2024-01-05 00:00:00.000000"},
		{"2024-01-05", true, "2024-01-05 23:59:59.999999"},
		{"2024-01-05 10:00", true, "2024-01-05 10:00:00.000000"},
		{"", true, "2024-05-15 23:59:59.999999"},
		{nil, true, fallbackDatetime},
		{0, false, fallbackDatetime},
	}
	for _, tt := range bounds {
		if got, err := castBetweenDatetime(tt.in, tt.end, today); err != nil || got != tt.want {
			t.Errorf("castBetweenDatetime(%#v, %v) = %q, %v; want %q", tt.in, tt.end, got, err, tt.want)
		}
	}
}
