package query

// Frappe exception classes reported by this package.
const (
	// DataError is used for unknown, malformed or forbidden fields and
	// functions.
	DataError = "DataError"
	// ValidationError is used for malformed filters, operators, values,
	// order_by/group_by clauses and JSON syntax errors.
	ValidationError = "ValidationError"
)

// Error is a client error in a query parameter. Type is the Frappe exception
// class the API will report ([DataError] or [ValidationError]); Msg is the
// user-facing message, in Frappe's wording where Frappe has one.
type Error struct{ Type, Msg string }

// Error returns the message.
func (e *Error) Error() string { return e.Msg }

func validationErr(msg string) error { return &Error{Type: ValidationError, Msg: msg} }

func dataErr(msg string) error { return &Error{Type: DataError, Msg: msg} }

// errInvalidField is Frappe's sanitize_column message.
func errInvalidField(name string) error { return dataErr("Invalid field name " + name) }

// errRestricted is Frappe's sanitize_fields message for sub-queries and tricks.
func errRestricted() error { return dataErr("Use of sub-query or function is restricted") }

// errIllegalSQL is Frappe's message for clauses with forbidden characters.
func errIllegalSQL() error { return validationErr("Illegal SQL Query") }
