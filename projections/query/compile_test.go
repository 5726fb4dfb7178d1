package query

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testEnv is Wednesday 2024-05-15 in a zone where it is already the 15th
// although UTC is still on the 14th.
var testEnv = Env{
	Now:       time.Date(2024, 5, 14, 20, 30, 0, 0, time.UTC),
	Loc:       time.FixedZone("IST", 5*3600+1800),
	WeekStart: time.Monday,
}

type matchCase struct {
	v    any
	want bool
}

func TestCompileMatch(t *testing.T) {
	tests := []struct {
		name  string
		field string
		ft    string
		op    string
		value any
		cases []matchCase
	}{
		// Equality on strings: case-insensitive; NULL only when the value is falsy.
		{"= string", "status", "Select", "=", "Open", []matchCase{
			{"Open", true}, {"open", true}, {"OPEN", true}, {"Closed", false}, {"", false}, {nil, false}, {"Open ", false},
		}},
		{"= empty matches NULL", "status", "Data", "=", "", []matchCase{{nil, true}, {"", true}, {"A", false}}},
		{"= null matches NULL", "status", "Data", "=", nil, []matchCase{{nil, true}, {"", true}, {"A", false}}},
		{"= number stringified", "code", "Data", "=", json.Number("1"), []matchCase{{"1", true}, {"1.0", false}}},
		{"= float stringified", "code", "Data", "=", 1.5, []matchCase{{"1.5", true}}},
		{"= integral float stringified", "code", "Data", "=", 2.0, []matchCase{{"2", true}}},
		{"= json float keeps .0", "code", "Data", "=", json.Number("2.0"), []matchCase{{"2.0", true}, {"2", false}}},
		{"= bool stringified", "code", "Data", "=", true, []matchCase{{"True", true}, {"true", true}, {"1", false}}},
		{"= unicode fold", "title", "Data", "=", "ÉTÉ", []matchCase{{"été", true}, {"ete", false}}},
		{"= name never NULL", "name", "", "=", "", []matchCase{{nil, false}, {"", true}}},

		{"!= includes NULL", "status", "Select", "!=", "A", []matchCase{
			{nil, true}, {"", true}, {"B", true}, {"A", false}, {"a", false},
		}},
		{"!= empty excludes NULL", "status", "Data", "!=", "", []matchCase{{nil, false}, {"", false}, {"x", true}}},
		{"!= on name", "name", "", "!=", "A", []matchCase{{"B", true}, {"a", false}}},

		{"> string folded", "title", "Data", ">", "b", []matchCase{{"C", true}, {"a", false}, {"B", false}, {"ba", true}, {nil, false}}},
		{"< string includes NULL", "title", "Data", "<", "b", []matchCase{{"A", true}, {nil, true}, {"", true}, {"c", false}}},
		{">= string", "title", "Data", ">=", "B", []matchCase{{"b", true}, {"a", false}}},
		{"<= string", "title", "Data", "<=", "B", []matchCase{{"b", true}, {"c", false}, {nil, true}}},

		// Numbers: NULL is 0, values go through flt().
		{"= int", "qty", "Int", "=", "5", []matchCase{{int64(5), true}, {int64(4), false}, {nil, false}}},
		{"= int zero matches nil", "qty", "Int", "=", 0, []matchCase{{nil, true}, {int64(0), true}, {int64(1), false}}},
		{"= check true", "is_active", "Check", "=", true, []matchCase{{int64(1), true}, {int64(0), false}, {nil, false}}},
		{"= check string", "is_active", "Check", "=", "1", []matchCase{{int64(1), true}}},
		{"= non numeric is 0", "qty", "Int", "=", "abc", []matchCase{{int64(0), true}, {nil, true}, {int64(1), false}}},
		{"= commas ignored", "amount", "Currency", "=", "10,500.5", []matchCase{{10500.5, true}}},
		{"= float vs int", "amount", "Float", "=", 2, []matchCase{{2.0, true}, {int64(2), true}}},
		{"!= float", "amount", "Float", "!=", 1.5, []matchCase{{1.5, false}, {nil, true}, {0.0, true}}},
		{"> int", "qty", "Int", ">", 1.5, []matchCase{{int64(2), true}, {int64(1), false}, {nil, false}}},
		{"< int includes nil as 0", "qty", "Int", "<", 1, []matchCase{{int64(0), true}, {nil, true}, {int64(1), false}}},
		{">= percent", "p", "Percent", ">=", "50", []matchCase{{50.0, true}, {49.99, false}}},
		{"<= docstatus inferred", "docstatus", "", "<=", 1, []matchCase{{int64(1), true}, {int64(2), false}, {nil, true}}},

		// Dates.
		{"= date lenient", "due", "Date", "=", "2024-1-5", []matchCase{{"2024-01-05", true}, {"2024-01-06", false}, {nil, false}}},
		{"= date from datetime text", "due", "Date", "=", "2024-01-05 10:00:00", []matchCase{{"2024-01-05", true}}},
		{"= date slashes month first", "due", "Date", "=", "01/05/2024", []matchCase{{"2024-01-05", true}}},
		{"= date day first when needed", "due", "Date", "=", "13/01/2024", []matchCase{{"2024-01-13", true}}},
		{"= date empty is today", "due", "Date", "=", "", []matchCase{{"2024-05-15", true}, {nil, false}}},
		{"!= date includes NULL", "due", "Date", "!=", "2024-01-05", []matchCase{{nil, true}, {"2024-01-05", false}}},
		{"> date excludes NULL", "due", "Date", ">", "2024-01-05", []matchCase{{"2024-01-06", true}, {"2024-01-05", false}, {nil, false}}},
		{">= date excludes NULL", "due", "Date", ">=", "2024-01-05", []matchCase{{"2024-01-05", true}, {nil, false}}},
		{"< date includes NULL", "due", "Date", "<", "2024-01-05", []matchCase{{"2024-01-04", true}, {nil, true}, {"2024-01-05", false}}},
		{"<= date includes NULL", "due", "Date", "<=", "2024-01-05", []matchCase{{"2024-01-05", true}, {nil, true}}},
		{"= datetime date only is midnight", "at", "Datetime", "=", "2024-01-05", []matchCase{
			{"2024-01-05 00:00:00.000000", true}, {"2024-01-05 00:00:01.000000", false},
		}},
		{"= datetime iso T and zone", "at", "Datetime", "=", "2024-01-05T10:20:30.5Z", []matchCase{{"2024-01-05 10:20:30.500000", true}}},
		{"= datetime empty is fallback, matches NULL", "at", "Datetime", "=", "", []matchCase{{nil, true}, {"2024-01-05 00:00:00.000000", false}}},
		{"< datetime includes NULL", "at", "Datetime", "<", "2024-01-05", []matchCase{{nil, true}, {"2024-01-04 23:59:59.999999", true}}},
		{"> modified excludes NULL", "modified", "", ">", "2024-01-05", []matchCase{{"2024-01-05 00:00:00.000001", true}, {nil, false}}},
		{"< modified excludes NULL", "modified", "Datetime", "<", "2024-01-05", []matchCase{{"2024-01-04 00:00:00.000000", true}, {nil, false}}},
		{"= time", "t", "Time", "=", "9:05", []matchCase{{"09:05:00.000000", true}, {nil, false}}},
		{"= time pm", "t", "Time", "=", "9:05:03 PM", []matchCase{{"21:05:03.000000", true}}},
		{"< time includes NULL", "t", "Time", "<", "09:00:00", []matchCase{{nil, true}, {"08:59:59.999999", true}, {"09:00:00.000000", false}}},

		// like / not like.
		{"like contains", "title", "Data", "like", "%urgent%", []matchCase{
			{"Very URGENT task", true}, {"urgent", true}, {"urgen", false}, {nil, false},
		}},
		{"like underscore", "code", "Data", "like", "A_C", []matchCase{{"ABC", true}, {"abc", true}, {"AC", false}, {"ABBC", false}}},
		{"like no implicit wildcards", "code", "Data", "like", "abc", []matchCase{{"abc", true}, {"xabc", false}}},
		{"like backslash literal", "code", "Data", "like", `a\%`, []matchCase{{`a\`, true}, {`a\xyz`, true}, {`a%`, false}}},
		{"like empty matches NULL", "code", "Data", "like", "", []matchCase{{nil, true}, {"", true}, {"a", false}}},
		{"like percent excludes NULL", "code", "Data", "like", "%", []matchCase{{nil, false}, {"", true}, {"a", true}}},
		{"not like includes NULL", "code", "Data", "not like", "%a%", []matchCase{{nil, true}, {"b", true}, {"cat", false}}},
		{"not like on name", "name", "", "not like", "%a%", []matchCase{{nil, false}, {"b", true}}},
		{"like on int", "qty", "Int", "like", "1%", []matchCase{{int64(15), true}, {int64(21), false}, {nil, false}}},
		{"like on float uses decimal text", "amount", "Float", "like", "1.5%", []matchCase{{1.5, true}, {1.25, false}}},
		{"like on float exact text", "amount", "Currency", "like", "1.500000000", []matchCase{{1.5, true}}},
		{"like on date casts pattern", "due", "Date", "like", "2024-1-5", []matchCase{{"2024-01-05", true}, {nil, false}}},

		// in / not in.
		{"in list", "status", "Select", "in", []any{"Open", "Closed"}, []matchCase{
			{"open", true}, {"Closed", true}, {"Other", false}, {nil, false}, {"", false},
		}},
		{"in trims", "status", "Select", "in", []any{" Open "}, []matchCase{{"Open", true}}},
		{"in comma string", "status", "Select", "in", "Open, Closed", []matchCase{{"Closed", true}, {"Open", true}, {nil, false}}},
		{"in with empty entry matches NULL", "status", "Select", "in", []any{"Open", ""}, []matchCase{{nil, true}, {"", true}, {"Open", true}}},
		{"in with null entry matches NULL", "status", "Select", "in", []any{"Open", nil}, []matchCase{{nil, true}}},
		{"in empty list is IN ('')", "status", "Select", "in", []any{}, []matchCase{{nil, true}, {"", true}, {"Open", false}}},
		{"in trailing comma string", "status", "Select", "in", "Open,", []matchCase{{"", true}, {nil, false}}},
		{"in numbers stringified", "code", "Data", "in", []any{json.Number("1"), 2.5}, []matchCase{{"1", true}, {"2.5", true}, {"2", false}}},
		{"not in includes NULL", "status", "Select", "not in", []any{"A"}, []matchCase{{nil, true}, {"", true}, {"B", true}, {"a", false}}},
		{"not in empty excludes NULL", "status", "Select", "not in", []any{}, []matchCase{{nil, false}, {"", false}, {"B", true}}},
		{"not in on name", "name", "", "not in", []any{"A"}, []matchCase{{"B", true}, {nil, false}}},
		{"in int", "qty", "Int", "in", []any{1, "2", "x"}, []matchCase{{int64(1), true}, {int64(2), true}, {int64(0), true}, {nil, true}, {int64(3), false}}},
		{"in empty list on int matches 0", "qty", "Int", "in", []any{}, []matchCase{{int64(0), true}, {int64(1), false}}},
		{"not in int", "docstatus", "Int", "not in", []any{2}, []matchCase{{int64(0), true}, {int64(2), false}, {nil, true}}},
		{"in date canonicalised", "due", "Date", "in", []any{"2024-1-5", "bogus"}, []matchCase{{"2024-01-05", true}, {nil, false}}},
		{"in date with empty entry", "due", "Date", "in", []any{"2024-01-05", ""}, []matchCase{{nil, true}, {"2024-01-06", false}}},
		{"in time", "t", "Time", "in", "9:00, 10:00", []matchCase{{"09:00:00.000000", true}, {"10:00:00.000000", true}, {"11:00:00.000000", false}}},

		// is.
		{"is set string", "title", "Data", "is", "set", []matchCase{{"x", true}, {"", false}, {nil, false}, {" ", true}}},
		{"is not set string", "title", "Data", "is", "not set", []matchCase{{"x", false}, {"", true}, {nil, true}}},
		{"is set case-insensitive value", "title", "Data", "is", " Set ", []matchCase{{"x", true}}},
		{"is set date", "due", "Date", "is", "set", []matchCase{{"2024-01-05", true}, {nil, false}}},
		{"is not set date", "due", "Date", "is", "not set", []matchCase{{"2024-01-05", false}, {nil, true}}},
		{"is set int is non-zero", "qty", "Int", "is", "set", []matchCase{{int64(3), true}, {int64(0), false}, {nil, false}}},
		{"is not set int never", "qty", "Int", "is", "not set", []matchCase{{int64(3), false}, {int64(0), false}, {nil, false}}},
		{"is set float", "amount", "Float", "is", "set", []matchCase{{0.5, true}, {0.0, false}}},

		// between.
		{"between dates", "due", "Date", "between", []any{"2024-01-01", "2024-01-31"}, []matchCase{
			{"2024-01-01", true}, {"2024-01-31", true}, {"2024-02-01", false}, {"2023-12-31", false}, {nil, false},
		}},
		{"between date missing end is today", "due", "Date", "between", []any{"2024-05-01"}, []matchCase{
			{"2024-05-15", true}, {"2024-05-16", false},
		}},
		{"between date empty list is today", "due", "Date", "between", []any{}, []matchCase{{"2024-05-15", true}, {"2024-05-14", false}}},
		{"between date null value is today", "due", "Date", "between", nil, []matchCase{{"2024-05-15", true}}},
		{"between date null bounds are today", "due", "Date", "between", []any{nil, nil}, []matchCase{{"2024-05-15", true}, {"2024-05-14", false}}},
		{"between datetime date bounds cover days", "at", "Datetime", "between", []any{"2024-01-01", "2024-01-31"}, []matchCase{
			{"2024-01-01 00:00:00.000000", true}, {"2024-01-31 23:59:59.999999", true}, {"2024-02-01 00:00:00.000000", false}, {nil, false},
		}},
		{"between datetime with times", "at", "Datetime", "between", []any{"2024-01-01 10:00", "2024-01-01 12:00:00"}, []matchCase{
			{"2024-01-01 11:00:00.000000", true}, {"2024-01-01 09:59:59.000000", false}, {"2024-01-01 12:00:00.000001", false},
		}},
		{"between datetime T form drops time", "at", "Datetime", "between", []any{"2024-01-01T10:00:00", "2024-01-01T12:00:00"}, []matchCase{
			{"2024-01-01 00:00:00.000000", true}, {"2024-01-01 23:00:00.000000", true},
		}},
		{"between datetime null bound is fallback", "at", "Datetime", "between", []any{nil, "2024-01-01"}, []matchCase{
			{"0001-01-01 00:00:00.000000", true}, {"2023-06-01 00:00:00.000000", true},
		}},
		{"between creation", "creation", "", "between", []any{"2024-05-15"}, []matchCase{
			{"2024-05-15 12:00:00.000000", true}, {"2024-05-16 00:00:00.000000", false},
		}},
		{"between int", "qty", "Int", "between", []any{1, "3"}, []matchCase{{int64(1), true}, {int64(3), true}, {int64(4), false}, {nil, false}}},
		{"between int including 0", "qty", "Int", "between", []any{-1, 1}, []matchCase{{nil, true}}},
		{"between strings", "title", "Data", "between", []any{"b", "d"}, []matchCase{{"C", true}, {"e", false}, {nil, false}}},
		{"between strings from empty", "title", "Data", "between", []any{"", "d"}, []matchCase{{nil, true}}},

		// timespan / previous / next (today is 2024-05-15, a Wednesday).
		{"timespan today", "due", "Date", "timespan", "today", []matchCase{{"2024-05-15", true}, {"2024-05-14", false}, {nil, false}}},
		{"timespan this week", "due", "Date", "timespan", "this week", []matchCase{
			{"2024-05-13", true}, {"2024-05-19", true}, {"2024-05-12", false}, {"2024-05-20", false},
		}},
		{"timespan case-insensitive", "due", "Date", "timespan", "Last Month", []matchCase{{"2024-04-01", true}, {"2024-04-30", true}, {"2024-05-01", false}}},
		{"timespan on datetime", "at", "Datetime", "timespan", "yesterday", []matchCase{
			{"2024-05-14 00:00:00.000000", true}, {"2024-05-14 23:59:59.999999", true}, {"2024-05-15 00:00:00.000000", false},
		}},
		{"timespan on modified", "modified", "", "timespan", "this year", []matchCase{{"2024-12-31 23:59:59.999999", true}, {"2025-01-01 00:00:00.000000", false}}},
		{"previous 1 week is last calendar week", "due", "Date", "previous", "1 week", []matchCase{
			{"2024-05-06", true}, {"2024-05-12", true}, {"2024-05-13", false}, {"2024-05-05", false},
		}},
		{"next 3 months is next quarter", "due", "Date", "next", "3 months", []matchCase{
			{"2024-07-01", true}, {"2024-09-30", true}, {"2024-06-30", false}, {"2024-10-01", false},
		}},
		{"previous 1 year", "due", "Date", "previous", "1 year", []matchCase{{"2023-01-01", true}, {"2023-12-31", true}, {"2024-01-01", false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Condition{Field: tt.field, Op: tt.op, Value: tt.value}
			p, err := Compile(c, tt.ft, testEnv)
			if err != nil {
				t.Fatalf("Compile(%v, %q): %v", c, tt.ft, err)
			}
			for _, mc := range tt.cases {
				if got := p.Match(mc.v); got != mc.want {
					t.Errorf("%v on %s: Match(%#v) = %v, want %v", c, tt.ft, mc.v, got, mc.want)
				}
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name    string
		c       Condition
		ft      string
		msgPart string
	}{
		{"unknown operator", Condition{Field: "x", Op: "<>", Value: 1}, "Data", "Operator must be one of"},
		{"is other value", Condition{Field: "x", Op: "is", Value: "empty"}, "Data", "Invalid argument for operator 'is'"},
		{"is null", Condition{Field: "x", Op: "is", Value: nil}, "Data", "Invalid argument for operator 'is'"},
		{"nested set", Condition{Field: "parent_group", Op: "descendants of", Value: "All"}, "Link", "needs a tree DocType"},
		{"nested set inclusive", Condition{Field: "x", Op: "descendants of (inclusive)", Value: "All"}, "Link", "needs a tree DocType"},
		{"bad date", Condition{Field: "d", Op: "=", Value: "not a date"}, "Date", "<strong>not a date</strong> is not a valid date string."},
		{"bad month", Condition{Field: "d", Op: ">", Value: "2024-13-01"}, "Date", "not a valid date string"},
		{"bad day", Condition{Field: "d", Op: ">", Value: "2023-02-29"}, "Date", "not a valid date string"},
		{"numeric date", Condition{Field: "d", Op: "=", Value: 20240101}, "Date", "not a valid date string"},
		{"bad datetime", Condition{Field: "d", Op: "=", Value: "2024-01-01 25:00"}, "Datetime", "not a valid datetime string"},
		{"bad time", Condition{Field: "t", Op: "=", Value: "noon"}, "Time", "not a valid time string"},
		{"empty time", Condition{Field: "t", Op: "=", Value: ""}, "Time", "not a valid time string"},
		{"like bad date", Condition{Field: "d", Op: "like", Value: "%2024%"}, "Date", "not a valid date string"},
		{"between not a list", Condition{Field: "d", Op: "between", Value: "2024-01-01,2024-02-01"}, "Date", "needs a list"},
		{"between bad bound", Condition{Field: "d", Op: "between", Value: []any{"x", "2024-01-01"}}, "Date", "not a valid date string"},
		{"between int one bound", Condition{Field: "q", Op: "between", Value: []any{1}}, "Int", "needs a list"},
		{"between string scalar", Condition{Field: "q", Op: "between", Value: "a"}, "Data", "needs a list"},
		{"unknown timespan", Condition{Field: "d", Op: "timespan", Value: "fortnight"}, "Date", "Unknown timespan"},
		{"timespan not string", Condition{Field: "d", Op: "timespan", Value: 7}, "Date", "needs a string"},
		{"timespan on data", Condition{Field: "d", Op: "timespan", Value: "today"}, "Data", "only be used with Date and Datetime"},
		{"previous unknown", Condition{Field: "d", Op: "previous", Value: "2 weeks"}, "Date", "Invalid value '2 weeks' for operator 'previous'"},
		{"next on int", Condition{Field: "d", Op: "next", Value: "1 week"}, "Int", "only be used with Date and Datetime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.c, tt.ft, testEnv)
			var qe *Error
			if !errors.As(err, &qe) {
				t.Fatalf("Compile(%v) error = %v, want *Error", tt.c, err)
			}
			if qe.Type != ValidationError || !strings.Contains(qe.Msg, tt.msgPart) {
				t.Errorf("Compile(%v) error = %s %q, want ValidationError containing %q", tt.c, qe.Type, qe.Msg, tt.msgPart)
			}
		})
	}
}

func TestCompileHints(t *testing.T) {
	type hints struct {
		Eq                   []any
		FoldEq               []string
		HasRange             bool
		Lower, Upper         any
		LowerIncl, UpperIncl bool
	}
	tests := []struct {
		name  string
		field string
		ft    string
		op    string
		value any
		want  hints
	}{
		{"= caseless string", "code", "Data", "=", "123-45", hints{Eq: []any{"123-45"}, FoldEq: []string{"123-45"}}},
		{"= cased string: fold only", "status", "Select", "=", "Open", hints{FoldEq: []string{"open"}}},
		{"= empty string: NULL matches", "status", "Select", "=", "", hints{}},
		{"!= never", "status", "Select", "!=", "1", hints{}},
		{"in caseless", "code", "Data", "in", []any{"1", "2", "1"}, hints{Eq: []any{"1", "2"}, FoldEq: []string{"1", "2"}}},
		{"in cased", "name", "", "in", []any{"a1", "B2"}, hints{FoldEq: []string{"a1", "b2"}}},
		{"in with empty entry", "code", "Data", "in", []any{"1", ""}, hints{}},
		{"in empty entry on name", "name", "", "in", []any{"1", ""}, hints{Eq: []any{"1", ""}, FoldEq: []string{"1", ""}}},
		{"not in never", "code", "Data", "not in", []any{"1"}, hints{}},
		{"= int", "qty", "Int", "=", "5", hints{Eq: []any{int64(5)}}},
		{"= int zero: nil matches", "qty", "Int", "=", 0, hints{}},
		{"= int fractional", "qty", "Int", "=", 1.5, hints{}},
		{"= float", "amount", "Float", "=", "2.5", hints{Eq: []any{2.5}}},
		{"in int", "qty", "Int", "in", []any{1, 2.5, "3"}, hints{Eq: []any{int64(1), int64(3)}}},
		{"in int with 0", "qty", "Int", "in", []any{0, 1}, hints{}},
		{"> int", "qty", "Int", ">", 1.5, hints{HasRange: true, Lower: int64(2), LowerIncl: true}},
		{"> int integral", "qty", "Int", ">", 2, hints{HasRange: true, Lower: int64(3), LowerIncl: true}},
		{"<= int negative", "qty", "Int", "<=", -1.5, hints{HasRange: true, Upper: int64(-2), UpperIncl: true}},
		{"< int includes 0", "qty", "Int", "<", 5, hints{}},
		{"> float", "amount", "Currency", ">", 10, hints{HasRange: true, Lower: 10.0}},
		{"< float negative", "amount", "Currency", "<", -10, hints{HasRange: true, Upper: -10.0}},
		{"between int", "qty", "Int", "between", []any{1.5, 9.5}, hints{HasRange: true, Lower: int64(2), Upper: int64(9), LowerIncl: true, UpperIncl: true}},
		{"= date", "due", "Date", "=", "2024-1-5", hints{Eq: []any{"2024-01-05"}}},
		{"> date", "due", "Date", ">", "2024-01-05", hints{HasRange: true, Lower: "2024-01-05"}},
		{">= datetime", "at", "Datetime", ">=", "2024-01-05", hints{HasRange: true, Lower: "2024-01-05 00:00:00.000000", LowerIncl: true}},
		{"< date: NULL matches", "due", "Date", "<", "2024-01-05", hints{}},
		{"< modified", "modified", "", "<", "2024-01-05", hints{HasRange: true, Upper: "2024-01-05 00:00:00.000000"}},
		{"between datetime", "at", "Datetime", "between", []any{"2024-01-01", "2024-01-31"}, hints{
			HasRange: true, Lower: "2024-01-01 00:00:00.000000", Upper: "2024-01-31 23:59:59.999999", LowerIncl: true, UpperIncl: true,
		}},
		{"timespan date", "due", "Date", "timespan", "this month", hints{
			HasRange: true, Lower: "2024-05-01", Upper: "2024-05-31", LowerIncl: true, UpperIncl: true,
		}},
		{"in date", "due", "Date", "in", []any{"2024-01-05", "junk"}, hints{Eq: []any{"2024-01-05"}}},
		{"between strings: none", "title", "Data", "between", []any{"a", "b"}, hints{}},
		{"> string: none", "title", "Data", ">", "a", hints{}},
		{"like: none", "title", "Data", "like", "a%", hints{}},
		{"is set: none", "title", "Data", "is", "set", hints{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Compile(Condition{Field: tt.field, Op: tt.op, Value: tt.value}, tt.ft, testEnv)
			if err != nil {
				t.Fatal(err)
			}
			got := hints{p.Eq, p.FoldEq, p.HasRange, p.Lower, p.Upper, p.LowerIncl, p.UpperIncl}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("hints\n got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

// TestHintsAreExact checks, on a sample of stored values, that whenever a
// predicate carries hints, Match agrees with a pure index look-up.
func TestHintsAreExact(t *testing.T) {
	stored := map[string][]any{
		"Data":     {nil, "", "1", "2", "a1", "A1", "b2", "123-45", "open", "Open", "été"},
		"Int":      {nil, int64(-3), int64(0), int64(1), int64(2), int64(3), int64(5), int64(9), int64(10)},
		"Currency": {nil, -10.5, 0.0, 2.5, 10.0, 10.5},
		"Date":     {nil, "2024-01-04", "2024-01-05", "2024-01-06", "2024-05-01", "2024-05-31", "2024-06-01"},
		"Datetime": {nil, "2024-01-04 23:59:59.999999", "2024-01-05 00:00:00.000000", "2024-01-31 23:59:59.999999", "2024-02-01 00:00:00.000000"},
	}
	values := []any{nil, "", "1", "a1", "Open", "123-45", 0, 1.5, 2, 5, "2024-01-05", "2024-1-5",
		[]any{"1", "a1"}, []any{1, 3}, []any{"2024-01-05", "2024-05-01"}, []any{"2024-01-01", "2024-01-31"}, "this month", "today"}
	checked := 0
	for ft, rows := range stored {
		for _, op := range operatorList {
			for _, val := range values {
				c := Condition{Field: "f", Op: op, Value: val}
				p, err := Compile(c, ft, testEnv)
				if err != nil {
					continue
				}
				if p.Eq != nil || p.FoldEq != nil || p.HasRange {
					checked++
				}
				checkHints(t, c, ft, p, rows)
			}
		}
	}
	if checked < 50 {
		t.Errorf("only %d predicates with hints were checked", checked)
	}
}

// checkHints verifies that p's index hints agree with p.Match on rows.
func checkHints(t *testing.T, c Condition, ft string, p Predicate, rows []any) {
	t.Helper()
	for _, v := range rows {
		want := p.Match(v)
		if p.Eq != nil {
			got := false
			for _, e := range p.Eq {
				got = got || (v != nil && reflect.DeepEqual(e, v)) || eqNum(e, v)
			}
			if got != want {
				t.Fatalf("%v on %q: Eq %#v says %v for %#v, Match says %v", c, ft, p.Eq, got, v, want)
			}
		}
		if p.FoldEq != nil {
			got := false
			for _, e := range p.FoldEq {
				s, ok := v.(string)
				got = got || ok && FoldKey(s) == e
			}
			if got != want {
				t.Fatalf("%v on %q: FoldEq %q says %v for %#v, Match says %v", c, ft, p.FoldEq, got, v, want)
			}
		}
		if p.HasRange {
			if got := inRange(p, v); got != want {
				t.Fatalf("%v on %q: range [%#v %#v] says %v for %#v, Match says %v", c, ft, p.Lower, p.Upper, got, v, want)
			}
		}
	}
}

// sampleRows returns stored values of fieldtype ft to test c against: some
// fixed ones plus values derived from the condition's value.
func sampleRows(ft string, c Condition) []any {
	k := fieldKind(ft, c.Field)
	var vals []any
	switch x := c.Value.(type) {
	case []any:
		vals = x
	case string:
		vals = []any{x}
		for _, p := range strings.Split(x, ",") {
			vals = append(vals, strings.TrimSpace(p))
		}
	default:
		vals = []any{x}
	}
	rows := []any{nil}
	for _, v := range vals {
		switch k {
		case kindInt:
			f := flt(v)
			if inInt64(f) {
				rows = append(rows, int64(f), int64(f)+1, int64(f)-1)
			}
		case kindDecimal:
			rows = append(rows, flt(v), flt(v)+0.5)
		case kindDate:
			if d, err := castDate(v, testEnv.today()); err == nil {
				rows = append(rows, d)
			}
		case kindDatetime:
			if d, err := castDatetime(v); err == nil {
				rows = append(rows, d)
			}
		case kindTime:
			if d, err := castTime(v); err == nil {
				rows = append(rows, d)
			}
		default:
			s := strings.TrimSpace(pyStr(v))
			rows = append(rows, s, strings.ToUpper(s), strings.ToLower(s), pyStr(v))
		}
	}
	switch k {
	case kindInt:
		rows = append(rows, int64(0), int64(1), int64(-1))
	case kindDecimal:
		rows = append(rows, 0.0, 1.5, -2.5)
	case kindDate:
		rows = append(rows, "2024-05-15", fallbackDate, "2024-01-01")
	case kindDatetime:
		rows = append(rows, "2024-05-15 00:00:00.000000", fallbackDatetime, "2024-05-15 23:59:59.999999")
	case kindTime:
		rows = append(rows, fallbackTime, "12:00:00.000000")
	default:
		rows = append(rows, "", "a", "A", "0")
	}
	return rows
}

func eqNum(e, v any) bool {
	switch x := e.(type) {
	case int64:
		y, ok := v.(int64)
		return ok && x == y
	case float64:
		y, ok := v.(float64)
		return ok && x == y
	}
	return false
}

func inRange(p Predicate, v any) bool {
	if v == nil {
		return false
	}
	cmp := func(a, b any) int {
		switch x := a.(type) {
		case int64:
			y := b.(int64)
			return map[bool]int{true: -1, false: 0}[x < y] + map[bool]int{true: 1, false: 0}[x > y]
		case float64:
			y := b.(float64)
			return map[bool]int{true: -1, false: 0}[x < y] + map[bool]int{true: 1, false: 0}[x > y]
		}
		return strings.Compare(a.(string), b.(string))
	}
	if p.Lower != nil {
		c := cmp(v, p.Lower)
		if c < 0 || c == 0 && !p.LowerIncl {
			return false
		}
	}
	if p.Upper != nil {
		c := cmp(v, p.Upper)
		if c > 0 || c == 0 && !p.UpperIncl {
			return false
		}
	}
	return true
}

// FuzzCompile compiles arbitrary values for every operator and fieldtype and
// checks that Match never panics and that index hints agree with Match.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{"Open", "", "2024-1-5", "2024-01-05 10:00", "9:30 pm", "1,5", "-0", "1e400",
		"nan", "this week", "1 week", "set", "not set", "%a_", "a,b,,c", "\u212a", "İ", "0001-01-01", "null|x|"} {
		f.Add(uint8(0), uint8(0), uint8(0), s, false)
	}
	fields := []string{"f", "name", "modified", "idx"}
	fieldtypes := []string{"Data", "Int", "Float", "Check", "Date", "Datetime", "Time", "Select", ""}
	f.Fuzz(func(t *testing.T, fi, fti, opi uint8, s string, list bool) {
		var value any = s
		if list {
			var parts []any
			for _, p := range strings.Split(s, "|") {
				if p == "null" {
					parts = append(parts, nil)
				} else {
					parts = append(parts, p)
				}
			}
			value = parts
		}
		c := Condition{Field: fields[int(fi)%len(fields)], Op: operatorList[int(opi)%len(operatorList)], Value: value}
		ft := fieldtypes[int(fti)%len(fieldtypes)]
		p, err := Compile(c, ft, testEnv)
		if err != nil {
			var qe *Error
			if !errors.As(err, &qe) || qe.Msg == "" {
				t.Fatalf("Compile(%v, %q) returned %#v", c, ft, err)
			}
			return
		}
		checkHints(t, c, ft, p, sampleRows(ft, c))
	})
}
