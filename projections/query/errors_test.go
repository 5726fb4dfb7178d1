package query

import (
	"errors"
	"testing"
)

func TestError(t *testing.T) {
	var err error = &Error{Type: DataError, Msg: "Invalid field name x"}
	if err.Error() != "Invalid field name x" {
		t.Errorf("Error() = %q", err.Error())
	}
	var qe *Error
	if !errors.As(errInvalidField("y"), &qe) || qe.Type != DataError || qe.Msg != "Invalid field name y" {
		t.Errorf("errInvalidField = %#v", qe)
	}
	if !errors.As(errIllegalSQL(), &qe) || qe.Type != ValidationError || qe.Msg != "Illegal SQL Query" {
		t.Errorf("errIllegalSQL = %#v", qe)
	}
}
