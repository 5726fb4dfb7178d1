package methods

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"docket/projections"
	"docket/projections/meta"
)

// passwordMask replaces a Password field's value in documents.
const passwordMask = "********"

// ignoredKey reports keys a client may send that are not fields to store:
// the doctype, Frappe's private keys (__islocal, _user_tags …) and flags.
func ignoredKey(k string) bool {
	return k == meta.FieldDoctype || k == "flags" || strings.HasPrefix(k, "_")
}

// setFields applies client values to doc (a copy of the stored document,
// or a new one) for doctype d. Standard fields are not taken from the
// client; child tables given are replaced whole.
func (tx *Tx) setFields(d *meta.DocType, doc, patch map[string]any, isNew bool) error {
	for _, k := range sortedKeys(patch) {
		v := patch[k]
		if ignoredKey(k) || d.IsStandard(k) {
			continue
		}
		f := d.Field(k)
		if f == nil {
			if d.Core {
				continue // exported DocType JSON carries many UI-only properties
			}
			return newError(DataError, "%s has no field %q", d.Name, k)
		}
		switch kind := f.Kind(); {
		case kind == meta.KindNone:
			continue
		case kind == meta.KindTable:
			rows, err := tx.setRows(d, f, doc, v)
			if err != nil {
				return err
			}
			doc[k] = rows
		case f.Fieldtype == meta.Password:
			s, _ := v.(string)
			if s == passwordMask || v == nil || (d.Name == "User" && k == "new_password" && s == "") {
				continue
			}
			if s == "" {
				// An explicit "" clears a stored value (a leaked client
				// secret, say).
				if doc[k] != nil {
					tx.secrets = append(tx.secrets, secret{doctype: d.Name, field: k, value: ""})
					delete(doc, k)
				}
				continue
			}
			// The name is filled in once the document is named.
			tx.secrets = append(tx.secrets, secret{doctype: d.Name, field: k, value: s})
			if d.Name == "User" && k == "new_password" {
				continue // never stored, as in Frappe
			}
			doc[k] = passwordMask
		default:
			cv, err := meta.Coerce(f.Fieldtype, v, tx.docs.opts.Location)
			if err != nil {
				return typeError(d, f, v, err)
			}
			doc[k] = cv
		}
	}
	return nil
}

func typeError(d *meta.DocType, f *meta.Field, v any, err error) error {
	msg := strings.TrimPrefix(err.Error(), meta.ErrType.Error()+": ")
	return &Error{Exc: ValidationError, Title: "Invalid Value",
		Msg: fmt.Sprintf("Value for %s (%s) of %s is invalid: %s", f.DisplayLabel(), f.Fieldtype, d.Name, msg)}
}

// setRows builds a child table from client rows: rows that name an
// existing row keep its creation and owner; the others are new rows.
func (tx *Tx) setRows(parent *meta.DocType, tf *meta.Field, doc map[string]any, v any) ([]any, error) {
	cd := tx.metaOf(tf.Options)
	if cd == nil {
		return nil, newError(ValidationError, "Child DocType %s of field %s not found", tf.Options, tf.Fieldname)
	}
	var list []any
	switch x := v.(type) {
	case nil:
	case []any:
		list = x
	default:
		return nil, &Error{Exc: ValidationError, Title: "Invalid Value",
			Msg: fmt.Sprintf("Value for %s of %s must be a list of rows", tf.DisplayLabel(), parent.Name)}
	}
	existing := map[string]map[string]any{}
	for _, r := range meta.Rows(doc[tf.Fieldname]) {
		existing[projections.NameString(r[meta.FieldName])] = r
	}
	out := make([]any, 0, len(list))
	seen := map[string]bool{}
	for i, item := range list {
		in, ok := item.(map[string]any)
		if !ok {
			return nil, &Error{Exc: ValidationError, Title: "Invalid Value",
				Msg: fmt.Sprintf("Row #%d of %s must be an object", i+1, tf.DisplayLabel())}
		}
		row := map[string]any{}
		name, _ := in[meta.FieldName].(string)
		if old, ok := existing[name]; ok && name != "" {
			row[meta.FieldOwner] = old[meta.FieldOwner]
			row[meta.FieldCreation] = old[meta.FieldCreation]
		} else {
			// A new row gets a fresh name: rows are found by name, so a
			// name copied from another document's row must not be reused.
			if !tx.system || name == "" || !validRowName(name) {
				name = randomName()
			}
			row[meta.FieldOwner] = tx.user
			row[meta.FieldCreation] = tx.Now()
		}
		if seen[name] {
			name = randomName()
		}
		seen[name] = true
		row[meta.FieldName] = name
		before := len(tx.secrets)
		if err := tx.setFields(cd, row, in, true); err != nil {
			return nil, err
		}
		tx.nameSecrets(before, name) // a row's Password fields are the row's
		row[meta.FieldIdx] = int64(i + 1)
		row[meta.FieldParentfield] = tf.Fieldname
		row[meta.FieldParenttype] = parent.Name
		out = append(out, row)
	}
	return out, nil
}

func validRowName(s string) bool {
	return len(s) <= 140 && !strings.ContainsAny(s, "/<>") && !hasControl(s)
}

// setDefaults fills fields the document lacks with their defaults.
func (tx *Tx) setDefaults(d *meta.DocType, doc map[string]any) error {
	for _, f := range d.ValueFields() {
		if v, ok := doc[f.Fieldname]; ok && v != nil && v != "" {
			continue
		}
		if f.Default == "" {
			if _, ok := doc[f.Fieldname]; !ok {
				switch f.Kind() {
				case meta.KindInt, meta.KindFloat:
					zero, _ := meta.Coerce(f.Fieldtype, nil, tx.docs.opts.Location)
					doc[f.Fieldname] = zero // numeric columns are NOT NULL DEFAULT 0
				}
			}
			continue
		}
		var v any = f.Default
		switch strings.ToLower(f.Default) {
		case "today":
			if f.Kind() == meta.KindDate || f.Kind() == meta.KindDatetime {
				v = tx.Now()
			}
		case "now":
			if f.Kind() == meta.KindDatetime || f.Kind() == meta.KindTime {
				v = tx.Now()
				if f.Kind() == meta.KindTime {
					v = tx.Now()[11:]
				}
			}
		case "__user", "user":
			v = tx.user
		}
		cv, err := meta.Coerce(f.Fieldtype, v, tx.docs.opts.Location)
		if err != nil {
			return internalError("default of %s.%s: %v", d.Name, f.Fieldname, err)
		}
		doc[f.Fieldname] = cv
	}
	for _, tf := range d.TableFields() {
		if _, ok := doc[tf.Fieldname]; !ok {
			doc[tf.Fieldname] = []any{}
		}
	}
	return nil
}

var emailRe = regexp.MustCompile(`^[^@\s<>,;:"]+@[^@\s<>,;:"]+\.[^@\s<>,;:"]+$`)

// validate checks a document against its doctype: mandatory fields,
// select options, lengths, e-mail addresses, non-negative numbers, links
// (which must exist), recursively for child rows.
func (tx *Tx) validate(ctx context.Context, d *meta.DocType, doc map[string]any, where string) error {
	var missing []string
	for _, f := range d.Fields {
		v, present := doc[f.Fieldname]
		if f.Kind() == meta.KindNone {
			continue
		}
		if f.Reqd && isEmpty(v, f) {
			missing = append(missing, f.DisplayLabel())
			continue
		}
		if !present || v == nil {
			continue
		}
		switch f.Kind() {
		case meta.KindTable:
			cd := tx.metaOf(f.Options)
			for i, r := range meta.Rows(v) {
				if err := tx.validate(ctx, cd, r, fmt.Sprintf("%s: Row #%d", f.DisplayLabel(), i+1)); err != nil {
					return err
				}
			}
			continue
		case meta.KindFloat, meta.KindInt:
			if f.NonNegative && toFloat(v) < 0 {
				return newError(ValidationError, "%s cannot be negative", f.DisplayLabel())
			}
			continue
		}
		s, ok := v.(string)
		if !ok {
			continue
		}
		if n := f.MaxLength(); n > 0 && len([]rune(s)) > n {
			return newError(CharacterLengthExceeded, "Value for %s cannot be more than %d characters long (it has %d)", f.DisplayLabel(), n, len([]rune(s)))
		}
		switch {
		case f.Fieldtype == meta.Select && s != "":
			if opts := f.SelectOptions(); len(opts) > 0 && !slices.Contains(opts, s) {
				return newError(ValidationError, "%s cannot be %q. It should be one of %s", f.DisplayLabel(), s, quoteList(opts))
			}
		case f.Fieldtype == meta.Data && f.Options == "Email" && s != "":
			if !emailRe.MatchString(s) {
				return newError(InvalidEmailAddressError, "%s is not a valid Email Address", s)
			}
		case f.Fieldtype == meta.Link && s != "":
			stored, err := tx.checkLink(ctx, f.Options, f, s)
			if err != nil {
				return err
			}
			doc[f.Fieldname] = stored
		case f.Fieldtype == meta.DynamicLink && s != "":
			target, _ := doc[f.Options].(string)
			if target == "" {
				return newError(ValidationError, "%s is set but %s is empty", f.DisplayLabel(), f.Options)
			}
			stored, err := tx.checkLink(ctx, target, f, s)
			if err != nil {
				return err
			}
			doc[f.Fieldname] = stored
		}
	}
	if len(missing) > 0 {
		prefix := d.Name
		if where != "" {
			prefix = where
		}
		e := &Error{Exc: MandatoryError, Title: "Missing Fields",
			Msg: fmt.Sprintf("Error: Value missing for %s: %s", prefix, strings.Join(missing, ", "))}
		for _, m := range missing {
			e.Messages = append(e.Messages, fmt.Sprintf("Error: Value missing for %s: %s", prefix, m))
		}
		return e
	}
	return nil
}

// checkLink checks that a Link value names an existing document and
// returns its stored name (a name given in another case is corrected,
// as Frappe does).
func (tx *Tx) checkLink(ctx context.Context, doctype string, f *meta.Field, value string) (string, error) {
	if tx.system {
		return value, nil // bootstrap: the documents linked to come in the same start
	}
	if doctype == "DocType" {
		if tx.metaOf(value) != nil {
			return value, nil
		}
	} else if d := tx.metaOf(doctype); d != nil {
		ok, err := tx.Exists(ctx, doctype, value)
		if err != nil {
			return "", err
		}
		if ok {
			return value, nil
		}
		if stored, err := tx.resolveName(ctx, d, value); err != nil {
			return "", err
		} else if stored != value {
			return stored, nil
		}
	}
	return "", &Error{Exc: LinkValidationError, Title: "Invalid Link",
		Msg: fmt.Sprintf("Could not find %s: %s", f.DisplayLabel(), value)}
}

func isEmpty(v any, f *meta.Field) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case []any:
		return len(x) == 0
	}
	return false
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	}
	return 0
}

func quoteList(opts []string) string {
	q := make([]string, 0, len(opts))
	for _, o := range opts {
		if o != "" {
			q = append(q, fmt.Sprintf("%q", o))
		}
	}
	return strings.Join(q, ", ")
}

// fetchFrom fills fields with fetch_from ("link_field.target_field") from
// the linked documents.
func (tx *Tx) fetchFrom(ctx context.Context, d *meta.DocType, doc map[string]any) error {
	for _, f := range d.Fields {
		if f.FetchFrom == "" || !meta.HasValue(f.Fieldtype) {
			continue
		}
		linkField, target, ok := strings.Cut(f.FetchFrom, ".")
		lf := d.Field(linkField)
		if !ok || lf == nil || lf.Fieldtype != meta.Link {
			continue
		}
		name, _ := doc[linkField].(string)
		if name == "" {
			doc[f.Fieldname] = nil
			continue
		}
		linked, _, err := tx.read(ctx, lf.Options, name)
		if err != nil && !errors.Is(err, projections.ErrNotFound) {
			return err
		}
		if linked == nil {
			continue
		}
		cv, err := meta.Coerce(f.Fieldtype, linked[target], tx.docs.opts.Location)
		if err == nil {
			doc[f.Fieldname] = cv
		}
	}
	return nil
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return true
		}
	}
	return false
}
