package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/nats-io/nats.go"

	"docket/auth"
	"docket/eventlog"
	"docket/methods"
	"docket/projections"
	"docket/projections/query"
)

// statusOf is Frappe's http_status_code of each exception class docket
// raises; a class not listed is a 500.
var statusOf = map[string]int{
	"ValidationError":              417,
	"MandatoryError":               417,
	"LinkValidationError":          417,
	"UniqueValidationError":        417,
	"DataError":                    417,
	"TimestampMismatchError":       417,
	"DocstatusTransitionError":     417,
	"UpdateAfterSubmitError":       417,
	"LinkExistsError":              417,
	"CharacterLengthExceededError": 417,
	"InvalidEmailAddressError":     417,
	"CannotChangeConstantError":    417,
	"FrappeTypeError":              417,
	"DoesNotExistError":            404,
	"PermissionError":              403,
	"AuthenticationError":          401,
	"NameError":                    409,
	"DuplicateEntryError":          409,
	"InvalidAuthorizationToken":    400,
	"CSRFTokenError":               400,
	"TooManyRequestsError":         429,
	"RequestEntityTooLarge":        413,
	"UnsupportedMediaType":         415,
	"InternalServerError":          500,
	"PageDoesNotExistError":        404,
	"QueryTimeoutError":            504,
	"ServerScriptError":            500,
	"ServiceUnavailable":           503,
}

// frappeError is an error on its way to the client.
type frappeError struct {
	Exc      string   // exception class
	Msg      string   // user-facing message
	Title    string   // message title
	Messages []string // further messages (MandatoryError lists each field)
	// ErrorMessage fills _error_message (some permission failures).
	ErrorMessage string
	// LoginMessage fills "message" (login failures only).
	LoginMessage string
	Status       int
	// RetryAfter, in seconds, fills the Retry-After header of a 429.
	RetryAfter int
	cause      error
}

func (e *frappeError) Error() string { return e.Exc + ": " + e.Msg }

func (e *frappeError) status() int {
	if e.Status != 0 {
		return e.Status
	}
	if s, ok := statusOf[e.Exc]; ok {
		return s
	}
	return 500
}

func errorf(exc, format string, args ...any) *frappeError {
	return &frappeError{Exc: exc, Msg: fmt.Sprintf(format, args...)}
}

// toFrappe maps any error to the exception class, message and status the
// client sees. This is the one place Go errors become Frappe errors.
func toFrappe(err error) *frappeError {
	var fe *frappeError
	var me *methods.Error
	var qe *query.Error
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &fe):
		return fe
	case errors.As(err, &me):
		return &frappeError{Exc: me.Exc, Msg: me.Msg, Title: me.Title, Messages: me.Messages, ErrorMessage: me.ErrorMessage, cause: err}
	case errors.As(err, &qe):
		return &frappeError{Exc: qe.Type, Msg: qe.Msg, cause: err}
	case errors.Is(err, projections.ErrNoParent):
		return &frappeError{Exc: "PermissionError", Msg: err.Error()[len("projections: "):], Title: "Not Permitted", cause: err}
	case errors.Is(err, projections.ErrUnknownDocType):
		return &frappeError{Exc: "DoesNotExistError", Msg: err.Error()[len(projections.ErrUnknownDocType.Error())+2:] + " not found", cause: err}
	case errors.Is(err, eventlog.ErrSubjectTooLong):
		return &frappeError{Exc: "ValidationError", Msg: "A name, series or unique value is too long", cause: err}
	case errors.Is(err, eventlog.ErrTooLarge), errors.Is(err, nats.ErrMaxPayload):
		return &frappeError{Exc: "RequestEntityTooLarge", Msg: fmt.Sprintf("The document is too large: a document version may take at most %d bytes", eventlog.MaxPayload), cause: err}
	case errors.As(err, &mbe):
		return &frappeError{Exc: "RequestEntityTooLarge", Msg: fmt.Sprintf("Request body exceeds the maximum allowed size of %d bytes", mbe.Limit), cause: err}
	case errors.Is(err, auth.ErrBadHeader):
		return &frappeError{Exc: "InvalidAuthorizationToken", Msg: "Invalid Authorization header", cause: err}
	case errors.Is(err, auth.ErrBadCredentials):
		return &frappeError{Exc: "AuthenticationError", Msg: "Invalid credentials", cause: err}
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout):
		return &frappeError{Exc: "QueryTimeoutError", Msg: "The request took too long; a write it made may or may not have been saved", cause: err}
	case errors.Is(err, eventlog.ErrClosed):
		return &frappeError{Exc: "ServiceUnavailable", Msg: "The server is shutting down", cause: err}
	}
	return &frappeError{Exc: "InternalServerError", Msg: "Internal Server Error", cause: err}
}

// writeError writes Frappe's error body: exception, exc_type, exc and
// _server_messages (v1), or the errors list (v2).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, c *call, err error) {
	fe := toFrappe(err)
	status := fe.status()
	if status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		s.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	title := fe.Title
	if title == "" {
		title = "Message"
	}
	msgs := append([]string{fe.Msg}, fe.Messages...)
	if len(fe.Messages) > 0 {
		msgs = fe.Messages
	}
	body := NewObject()
	if c != nil && c.v2 {
		list := make([]any, 0, len(msgs))
		for _, m := range msgs {
			e := NewObject().Set("type", fe.Exc)
			if status != 404 {
				e.Set("exception", "frappe.exceptions."+fe.Exc+": "+m)
			}
			e.Set("message", m).Set("title", title).Set("indicator", "red")
			list = append(list, e)
		}
		body.Set("errors", list)
	} else {
		line := "frappe.exceptions." + fe.Exc
		if fe.Msg != "" {
			line += ": " + fe.Msg
		}
		if status != 404 && fe.Exc != "CSRFTokenError" {
			body.Set("exception", line)
		}
		body.Set("exc_type", fe.Exc)
		if status != 404 && fe.Exc != "CSRFTokenError" {
			body.Set("exc", string(Encode([]any{line})))
		}
		if fe.LoginMessage != "" {
			body.Set("message", fe.LoginMessage)
		}
		if fe.ErrorMessage != "" {
			body.Set("_error_message", fe.ErrorMessage)
		}
		if fe.Msg != "" {
			body.Set("_server_messages", serverMessages(msgs, title))
		}
	}
	if c != nil && c.id != nil && c.id.SessionExpired {
		body.Set("session_expired", 1)
	}
	if fe.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(fe.RetryAfter))
	}
	writeBody(w, status, body)
}

// serverMessages builds _server_messages: a JSON string of a list of JSON
// strings, each a message object (Frappe's double encoding).
func serverMessages(msgs []string, title string) string {
	list := make([]any, 0, len(msgs))
	for _, m := range msgs {
		inner := NewObject().Set("message", m).Set("title", title).Set("indicator", "red").
			Set("raise_exception", 1).Set("__frappe_exc_id", excID())
		list = append(list, string(encodePythonStyle(inner)))
	}
	return string(Encode(list))
}

// encodePythonStyle writes an object with Python's default separators
// (", " and ": "), as Frappe's inner message objects are.
func encodePythonStyle(o *Object) []byte {
	b := []byte{'{'}
	for i, k := range o.keys {
		if i > 0 {
			b = append(b, ',', ' ')
		}
		b = appendString(b, k)
		b = append(b, ':', ' ')
		b = appendJSON(b, o.vals[k])
	}
	return append(b, '}')
}

// infoMessages builds _server_messages for the messages of a successful
// call (no indicator, no raise_exception).
func infoMessages(msgs []string) string {
	list := make([]any, 0, len(msgs))
	for _, m := range msgs {
		list = append(list, string(encodePythonStyle(NewObject().Set("message", m).Set("title", "Message"))))
	}
	return string(Encode(list))
}

func excID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func writeBody(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store,no-cache,must-revalidate,max-age=0")
	w.WriteHeader(status)
	_, _ = w.Write(Encode(body))
}
