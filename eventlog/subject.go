package eventlog

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

// Subject prefixes of the DOCS stream.
const (
	// DocsPrefix starts every document subject: docs.<doctype>.<name>.
	DocsPrefix = "docs."
	// ClaimsPrefix starts every uniqueness-claim subject:
	// uniq.<doctype>.<field>.<value>.
	ClaimsPrefix = "uniq."
	// SeriesPrefix starts every naming-series counter subject:
	// series.<key>.
	SeriesPrefix = "series."
)

// EscapeToken turns an arbitrary string into a valid, readable NATS subject
// token. ASCII letters, digits and '-' stay as they are; '_' becomes "__";
// every other byte of the UTF-8 form becomes '_' followed by two upper-case
// hex digits ("Sales Invoice" → "Sales_20Invoice"). The empty string becomes
// "_". The mapping is injective and reversed by [UnescapeToken].
func EscapeToken(s string) string {
	if s == "" {
		return "_"
	}
	plain := true
	for i := 0; i < len(s); i++ {
		if !tokenSafe(s[i]) {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case tokenSafe(c):
			b.WriteByte(c)
		case c == '_':
			b.WriteString("__")
		default:
			b.WriteByte('_')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&0xF])
		}
	}
	return b.String()
}

func tokenSafe(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-'
}

var errBadToken = errors.New("eventlog: malformed subject token")

// UnescapeToken reverses [EscapeToken].
func UnescapeToken(t string) (string, error) {
	switch t {
	case "_":
		return "", nil
	case "":
		return "", errBadToken
	}
	if strings.IndexByte(t, '_') < 0 {
		for i := 0; i < len(t); i++ {
			if !tokenSafe(t[i]) {
				return "", errBadToken
			}
		}
		return t, nil
	}
	b := make([]byte, 0, len(t))
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case tokenSafe(c):
			b = append(b, c)
		case c == '_' && i+1 < len(t) && t[i+1] == '_':
			b = append(b, '_')
			i++
		case c == '_' && i+2 < len(t):
			hi, ok1 := unhex(t[i+1])
			lo, ok2 := unhex(t[i+2])
			if !ok1 || !ok2 {
				return "", errBadToken
			}
			v := hi<<4 | lo
			if tokenSafe(v) || v == '_' {
				return "", errBadToken // not canonical: EscapeToken never writes it
			}
			b = append(b, v)
			i += 2
		default:
			return "", errBadToken
		}
	}
	return string(b), nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// DocSubject is the subject that holds every version of one document.
func DocSubject(doctype, name string) string {
	return DocsPrefix + EscapeToken(doctype) + "." + EscapeToken(name)
}

// DocTypeSubjects is the wildcard subject of every document of a doctype.
func DocTypeSubjects(doctype string) string {
	return DocsPrefix + EscapeToken(doctype) + ".*"
}

// MaxSubjectLen bounds the subjects docket writes. NATS refuses protocol
// lines over 4 KiB by closing the connection, so longer subjects are
// refused before they are sent. Every valid document subject fits.
const MaxSubjectLen = 2048

// maxValueToken bounds the token of a value in a claim or series
// subject; longer values are replaced by a digest.
const maxValueToken = 200

// valueToken is EscapeToken for values of any length: an escaped value
// longer than 200 bytes becomes "_H" and the hex SHA-256 of the value (a
// form EscapeToken never produces, since H is not a hex digit).
func valueToken(v string) string {
	t := EscapeToken(v)
	if len(t) <= maxValueToken {
		return t
	}
	sum := sha256.Sum256([]byte(v))
	return "_H" + hex.EncodeToString(sum[:])
}

// ClaimSubject is the subject of a uniqueness claim on a field value.
func ClaimSubject(doctype, field, value string) string {
	return ClaimsPrefix + EscapeToken(doctype) + "." + EscapeToken(field) + "." + valueToken(value)
}

// SeriesSubject is the subject of a naming-series counter.
func SeriesSubject(key string) string {
	return SeriesPrefix + valueToken(key)
}

// ParseDocSubject returns the doctype and name of a document subject.
func ParseDocSubject(subject string) (doctype, name string, err error) {
	rest, ok := strings.CutPrefix(subject, DocsPrefix)
	if !ok {
		return "", "", errBadToken
	}
	dt, nm, ok := strings.Cut(rest, ".")
	if !ok || strings.IndexByte(nm, '.') >= 0 {
		return "", "", errBadToken
	}
	if doctype, err = UnescapeToken(dt); err != nil {
		return "", "", err
	}
	if name, err = UnescapeToken(nm); err != nil {
		return "", "", err
	}
	return doctype, name, nil
}
