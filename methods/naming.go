package methods

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"docket/projections"
	"docket/projections/meta"
)

// maxNameLength is the longest document name (Frappe's varchar(140)).
const maxNameLength = 140

// randomName returns a random 10-character name of [0-9a-v], as Frappe's
// hash naming does.
func randomName() string {
	const alphabet = "0123456789abcdefghijklmnopqrstuv"
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	for i := range b {
		b[i] = alphabet[b[i]&31]
	}
	return string(b[:])
}

// autoname names a new document by its doctype's rule. clientName is the
// name the client sent (used only by Prompt and autoincrement). The
// result is a string, or an int64 for autoincrement doctypes.
func (tx *Tx) autoname(ctx context.Context, d *meta.DocType, doc map[string]any, clientName any) (any, error) {
	rule := d.Autoname
	switch {
	case rule == "" || rule == "hash":
		return randomName(), nil
	case strings.EqualFold(rule, "prompt"):
		switch clientName.(type) {
		case int64, float64:
			return nil, newError(NameError, "Invalid name type (integer) for varchar name column")
		}
		name, _ := clientName.(string)
		if name == "" {
			name, _ = doc["__newname"].(string)
		}
		name = strings.TrimSpace(name)
		if name == "" {
			return nil, newError(ValidationError, "Please set the document name")
		}
		return name, nil
	case rule == "autoincrement":
		var given int64
		switch x := clientName.(type) {
		case int64:
			given = x
		case float64:
			given = int64(x)
		case string:
			given, _ = strconv.ParseInt(x, 10, 64)
		}
		if given < 0 {
			given = 0
		}
		return tx.nextInSeries(ctx, "autoincrement:"+d.Name, given)
	case strings.HasPrefix(rule, "field:"):
		field := strings.TrimSpace(strings.TrimPrefix(rule, "field:"))
		f := d.Field(field)
		v := strings.TrimSpace(projections.NameString(doc[field]))
		if v == "" {
			label := field
			if f != nil {
				label = f.DisplayLabel()
			}
			return nil, &Error{Exc: MandatoryError, Title: "Missing Fields", Msg: fmt.Sprintf("%s is required", label)}
		}
		return v, nil
	case rule == "naming_series:":
		series, _ := doc["naming_series"].(string)
		if series == "" {
			if f := d.Field("naming_series"); f != nil {
				for _, o := range f.SelectOptions() {
					if o != "" {
						series = o
						break
					}
				}
			}
		}
		if series == "" {
			return nil, newError(ValidationError, "Naming Series mandatory")
		}
		if f := d.Field("naming_series"); f != nil && f.Fieldtype == meta.Select {
			if opts := f.SelectOptions(); len(opts) > 0 && !slices.Contains(opts, series) {
				return nil, newError(ValidationError, "Naming Series %q is not one of the options of %s", truncate(series, 60), d.Name)
			}
		}
		if !strings.Contains(series, "#") {
			series += ".#####"
		}
		return tx.seriesName(ctx, series, doc)
	case strings.HasPrefix(rule, "format:"):
		return tx.formatName(ctx, strings.TrimPrefix(rule, "format:"), doc)
	default:
		return tx.seriesName(ctx, rule, doc)
	}
}

// seriesName expands a dotted naming expression such as
// "INV-.YYYY.-.#####": date parts, {field} or field names, literal text,
// and one counter of #s keyed by the text before it.
func (tx *Tx) seriesName(ctx context.Context, expr string, doc map[string]any) (string, error) {
	var b strings.Builder
	for _, part := range strings.Split(expr, ".") {
		if part == "" {
			continue
		}
		if strings.Trim(part, "#") == "" {
			n, err := tx.nextInSeries(ctx, b.String(), 0)
			if err != nil {
				return "", err
			}
			b.WriteString(pad(n, len(part)))
			continue
		}
		b.WriteString(tx.namePart(part, doc, false))
	}
	return b.String(), nil
}

// formatName expands "format:PRE-{MM}-{field}-{#####}".
func (tx *Tx) formatName(ctx context.Context, expr string, doc map[string]any) (string, error) {
	var b strings.Builder
	for {
		i := strings.IndexByte(expr, '{')
		if i < 0 {
			b.WriteString(expr)
			break
		}
		j := strings.IndexByte(expr[i:], '}')
		if j < 0 {
			b.WriteString(expr)
			break
		}
		b.WriteString(expr[:i])
		part := expr[i+1 : i+j]
		expr = expr[i+j+1:]
		if part != "" && strings.Trim(part, "#") == "" {
			n, err := tx.nextInSeries(ctx, b.String(), 0)
			if err != nil {
				return "", err
			}
			b.WriteString(pad(n, len(part)))
			continue
		}
		b.WriteString(tx.namePart(part, doc, true))
	}
	return b.String(), nil
}

// namePart expands one part of a naming expression: a date code, a
// field ({field}, or a bare fieldname in dotted series), or literal text.
func (tx *Tx) namePart(part string, doc map[string]any, braced bool) string {
	now := tx.now.In(tx.docs.opts.Location)
	switch part {
	case "YY":
		return now.Format("06")
	case "YYYY":
		return now.Format("2006")
	case "MM":
		return now.Format("01")
	case "DD":
		return now.Format("02")
	case "WW":
		_, w := now.ISOWeek()
		return fmt.Sprintf("%02d", w)
	case "timestamp":
		return strconv.FormatInt(now.Unix(), 10)
	}
	if strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}") {
		part, braced = part[1:len(part)-1], true
	}
	if v, ok := doc[part]; ok {
		return projections.NameString(v)
	}
	if braced {
		return ""
	}
	return part
}

// truncate shortens text for a message.
func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

func pad(n int64, width int) string {
	s := strconv.FormatInt(n, 10)
	for len(s) < width {
		s = "0" + s
	}
	return s
}

// checkName validates a final document name.
func checkName(d *meta.DocType, name any) error {
	s := projections.NameString(name)
	switch {
	case strings.TrimSpace(s) == "":
		return newError(ValidationError, "No Name Specified for %s", d.Name)
	case len([]rune(s)) > maxNameLength:
		return newError(NameError, "Name of %s is too long: %d characters (at most %d)", d.Name, len([]rune(s)), maxNameLength)
	case strings.ContainsAny(s, "<>"):
		return newError(NameError, "Name cannot contain special characters like < >: %s", s)
	case strings.Contains(s, "/"):
		return newError(NameError, "Name cannot contain a slash: %s", s)
	case hasControl(s):
		return newError(NameError, "Name cannot contain control characters: %q", s)
	case s == d.Name && !d.IsSingle && d.Name != "DocType":
		return newError(NameError, "Name of a %s cannot be %q", d.Name, s)
	case strings.HasPrefix(s, "New "+d.Name):
		return newError(NameError, "Name cannot start with %q", "New "+d.Name)
	case s != strings.TrimSpace(s):
		return newError(NameError, "Name cannot start or end with a space: %q", s)
	}
	if _, isInt := name.(int64); isInt != (d.Autoname == "autoincrement") {
		return newError(NameError, "Invalid name type (integer) for varchar name column")
	}
	return nil
}

// timestampAfter returns now, or one microsecond after prev when the
// clock has not moved past it, so that modified always increases.
func timestampAfter(now string, prev any) string {
	p, _ := prev.(string)
	if p == "" || now > p {
		return now
	}
	t, err := time.Parse(meta.DatetimeLayout, p)
	if err != nil {
		return now
	}
	return t.Add(time.Microsecond).Format(meta.DatetimeLayout)
}
