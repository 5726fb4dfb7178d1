package query

import (
	"errors"
	"testing"
)

func TestNormaliseOp(t *testing.T) {
	for in, want := range map[string]string{
		"": "=", "  ": "=", "=": "=", " != ": "!=", "LIKE": "like", "Not  Like": "not like",
		"NOT\tIN": "not in", "is": "is", "Between": "between", "TimeSpan": "timespan",
		"descendants of (inclusive)": "descendants of (inclusive)", "Not Ancestors Of": "not ancestors of",
	} {
		got, err := normaliseOp(in)
		if err != nil || got != want {
			t.Errorf("normaliseOp(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"<>", "==", "=<", "=>", "regex", "not between", "ilike", "is not", "in in"} {
		_, err := normaliseOp(in)
		var qe *Error
		if !errors.As(err, &qe) || qe.Type != ValidationError {
			t.Errorf("normaliseOp(%q) error = %v, want ValidationError", in, err)
		}
	}
	if len(operatorList) != 20 {
		t.Errorf("operatorList has %d operators, Frappe v15 has 20", len(operatorList))
	}
}
