package methods

import (
	"errors"
	"fmt"
)

// Error is a Frappe exception raised by the command side. Exc is the
// Frappe exception class ("ValidationError", "MandatoryError", …), which
// the api package maps to an HTTP status; Msg is the user-facing message.
type Error struct {
	Exc   string
	Msg   string
	Title string
	// Messages are further user-facing messages (one per missing field of
	// a MandatoryError, for example).
	Messages []string
	// ErrorMessage is Frappe's _error_message (set by permission
	// failures: "No permission for ToDo").
	ErrorMessage string
}

func (e *Error) Error() string { return e.Exc + ": " + e.Msg }

// Frappe exception classes raised here.
const (
	ValidationError          = "ValidationError"
	MandatoryError           = "MandatoryError"
	LinkValidationError      = "LinkValidationError"
	UniqueValidationError    = "UniqueValidationError"
	DuplicateEntryError      = "DuplicateEntryError"
	DoesNotExistError        = "DoesNotExistError"
	TimestampMismatchError   = "TimestampMismatchError"
	DocstatusTransitionError = "DocstatusTransitionError"
	UpdateAfterSubmitError   = "UpdateAfterSubmitError"
	LinkExistsError          = "LinkExistsError"
	CharacterLengthExceeded  = "CharacterLengthExceededError"
	InvalidEmailAddressError = "InvalidEmailAddressError"
	NameError                = "NameError"
	PermissionError          = "PermissionError"
	DataError                = "DataError"
	CannotChangeConstant     = "CannotChangeConstantError"
	ServerScriptError        = "ServerScriptError"
)

func newError(exc, format string, args ...any) *Error {
	return &Error{Exc: exc, Msg: fmt.Sprintf(format, args...)}
}

// NotFound returns Frappe's DoesNotExistError for a document.
func NotFound(doctype, name string) *Error {
	return newError(DoesNotExistError, "%s %s not found", doctype, name)
}

// IsExc reports whether err is an *Error of the given class.
func IsExc(err error, exc string) bool {
	var e *Error
	return errors.As(err, &e) && e.Exc == exc
}

// asError finds a Frappe error in err's chain.
func asError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
