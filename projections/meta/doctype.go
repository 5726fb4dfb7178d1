package meta

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Field is one field of a DocType (a DocField row).
type Field struct {
	Fieldname             string
	Label                 string
	Fieldtype             string
	Options               string
	Default               string
	Reqd                  bool
	Unique                bool
	ReadOnly              bool
	Hidden                bool
	InListView            bool
	InStandardFilter      bool
	SearchIndex           bool
	AllowOnSubmit         bool
	NoCopy                bool
	SetOnlyOnce           bool
	IgnoreUserPermissions bool
	NonNegative           bool
	Permlevel             int
	Length                int
	FetchFrom             string
}

// Kind is the field's storage kind.
func (f *Field) Kind() Kind { return kinds[f.Fieldtype] }

// DisplayLabel is the label, or the fieldname when there is none.
func (f *Field) DisplayLabel() string {
	if f.Label != "" {
		return f.Label
	}
	return f.Fieldname
}

// MaxLength is the longest value a short text field takes (0: no limit).
func (f *Field) MaxLength() int {
	if !hasLength(f.Fieldtype) {
		return 0
	}
	if f.Length > 0 {
		return f.Length
	}
	return defaultLength
}

// SelectOptions are the options of a Select field (newline separated,
// the empty option included when listed).
func (f *Field) SelectOptions() []string {
	if f.Options == "" {
		return nil
	}
	return strings.Split(strings.ReplaceAll(f.Options, "\r\n", "\n"), "\n")
}

// Perm is one DocPerm row.
type Perm struct {
	Role                                                string
	Permlevel                                           int
	IfOwner                                             bool
	Select, Read, Write, Create, Delete, Submit, Cancel bool
	Amend, Report, Export, Import, Share, Print, Email  bool
}

// Has reports whether the row grants a right ("read", "write", "create"
// … as the DocPerm checkbox is named).
func (p Perm) Has(right string) bool {
	switch right {
	case "select":
		return p.Select
	case "read":
		return p.Read
	case "write":
		return p.Write
	case "create":
		return p.Create
	case "delete":
		return p.Delete
	case "submit":
		return p.Submit
	case "cancel":
		return p.Cancel
	case "amend":
		return p.Amend
	case "report":
		return p.Report
	case "export":
		return p.Export
	case "import":
		return p.Import
	case "share":
		return p.Share
	case "print":
		return p.Print
	case "email":
		return p.Email
	}
	return false
}

// DocType is the schema of a document type, parsed from its DocType
// document.
type DocType struct {
	Name          string
	Module        string
	Fields        []*Field
	Permissions   []Perm
	Autoname      string
	NamingRule    string
	IsSubmittable bool
	IsTable       bool
	IsSingle      bool
	TrackChanges  bool
	Custom        bool
	AllowRename   bool
	SortField     string
	SortOrder     string
	TitleField    string
	SearchFields  string
	// Indexes are the composite indexes the DocType declares (docket's
	// "indexes" extension): each a list of two or more fields, in key
	// order.
	Indexes [][]string
	// Core marks the meta doctypes (DocType, DocField, DocPerm): their
	// schema is fixed in code and unknown properties are ignored.
	Core bool

	byName map[string]*Field
}

// Standard field names every document has.
const (
	FieldName        = "name"
	FieldOwner       = "owner"
	FieldCreation    = "creation"
	FieldModified    = "modified"
	FieldModifiedBy  = "modified_by"
	FieldDocstatus   = "docstatus"
	FieldIdx         = "idx"
	FieldParent      = "parent"
	FieldParentfield = "parentfield"
	FieldParenttype  = "parenttype"
	FieldDoctype     = "doctype"
)

// StandardFields are the standard columns of every document, in Frappe's
// output order; ChildFields are added for child table rows.
var (
	StandardFields = []string{FieldName, FieldOwner, FieldCreation, FieldModified, FieldModifiedBy, FieldDocstatus, FieldIdx}
	ChildFields    = []string{FieldParent, FieldParentfield, FieldParenttype}
)

var standardTypes = map[string]string{
	FieldName: Data, FieldOwner: Link, FieldCreation: Datetime, FieldModified: Datetime,
	FieldModifiedBy: Link, FieldDocstatus: Int, FieldIdx: Int,
	FieldParent: Data, FieldParentfield: Data, FieldParenttype: Data,
}

// IsStandard reports whether name is a standard field of this doctype.
func (d *DocType) IsStandard(name string) bool {
	switch name {
	case FieldParent, FieldParentfield, FieldParenttype:
		return d.IsTable
	}
	_, ok := standardTypes[name]
	return ok
}

// Field returns a doctype field by name (nil if none; standard fields are
// not returned, see [DocType.FieldType]).
func (d *DocType) Field(name string) *Field { return d.byName[name] }

// FieldType returns the field type of a standard or doctype field, and
// whether the field exists.
func (d *DocType) FieldType(name string) (string, bool) {
	if d.IsStandard(name) {
		if name == FieldName && d.Autoname == "autoincrement" {
			return Int, true
		}
		return standardTypes[name], true
	}
	if f := d.byName[name]; f != nil && f.Kind() != KindNone {
		return f.Fieldtype, true
	}
	return "", false
}

// ValueFields returns the fields that store a scalar value, in order.
func (d *DocType) ValueFields() []*Field {
	var out []*Field
	for _, f := range d.Fields {
		if HasValue(f.Fieldtype) {
			out = append(out, f)
		}
	}
	return out
}

// TableFields returns the child table fields, in order.
func (d *DocType) TableFields() []*Field {
	var out []*Field
	for _, f := range d.Fields {
		if f.Kind() == KindTable {
			out = append(out, f)
		}
	}
	return out
}

// IndexedFields lists the fields the projections index: the standard
// fields, the sort field, and fields marked search_index, in_list_view,
// in_standard_filter or unique, or of type Link, Dynamic Link, Select,
// Date, Datetime or Check.
func (d *DocType) IndexedFields() []string {
	out := []string{FieldName, FieldCreation, FieldModified, FieldOwner, FieldDocstatus, FieldIdx}
	if d.IsTable {
		out = append(out, FieldParent)
	}
	for _, f := range d.Fields {
		if !HasValue(f.Fieldtype) || f.Fieldtype == Password {
			continue
		}
		switch {
		case f.SearchIndex, f.InListView, f.InStandardFilter, f.Unique, f.Fieldname == d.SortField:
		case f.Fieldtype == Link, f.Fieldtype == DynamicLink, f.Fieldtype == Select,
			f.Fieldtype == Date, f.Fieldtype == Datetime, f.Fieldtype == Check:
		default:
			continue
		}
		out = append(out, f.Fieldname)
	}
	return out
}

// CountedFields lists the low-cardinality indexed fields whose per-value
// document counts the projections keep, so that a count with one equality
// filter on them needs no scan.
func (d *DocType) CountedFields() []string {
	out := []string{FieldOwner, FieldDocstatus}
	for _, f := range d.Fields {
		switch f.Fieldtype {
		case Select, Check, Link, DynamicLink:
			out = append(out, f.Fieldname)
		}
	}
	return out
}

// Sort returns the default ordering: sort_field and sort_order, default
// "modified desc".
func (d *DocType) Sort() (field string, desc bool) {
	field = d.SortField
	if field == "" || strings.Contains(field, ",") {
		field = FieldModified
	}
	if _, ok := d.FieldType(field); !ok {
		field = FieldModified
	}
	return field, !strings.EqualFold(d.SortOrder, "asc")
}

var (
	doctypeNameRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9 _-]*$`)
	fieldnameRe   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// ValidDocTypeName reports whether a doctype name is acceptable: a letter
// first, then letters, digits, spaces, '_' and '-', at most 61 characters
// (Frappe's rule).
func ValidDocTypeName(name string) bool {
	return len(name) <= 61 && doctypeNameRe.MatchString(name) && !strings.HasSuffix(name, " ")
}

// Parse builds a DocType from its DocType document (the Frappe JSON shape:
// "fields" and "permissions" child tables, "autoname", "istable" …) and
// checks what can be checked without other doctypes.
func Parse(doc map[string]any) (*DocType, error) {
	d := &DocType{
		Name:          str(doc["name"]),
		Module:        str(doc["module"]),
		Autoname:      strings.TrimSpace(str(doc["autoname"])),
		NamingRule:    str(doc["naming_rule"]),
		IsSubmittable: flag(doc["is_submittable"]),
		IsTable:       flag(doc["istable"]),
		IsSingle:      flag(doc["issingle"]),
		TrackChanges:  flag(doc["track_changes"]),
		AllowRename:   flag(doc["allow_rename"]),
		Custom:        flag(doc["custom"]),
		SortField:     str(doc["sort_field"]),
		SortOrder:     str(doc["sort_order"]),
		TitleField:    str(doc["title_field"]),
		SearchFields:  str(doc["search_fields"]),
	}
	if !ValidDocTypeName(d.Name) {
		return nil, fmt.Errorf("DocType name %q must start with a letter and contain only letters, numbers, spaces, underscores and hyphens (at most 61 characters)", d.Name)
	}
	for _, row := range Rows(doc["fields"]) {
		f := &Field{
			Fieldname:             strings.TrimSpace(str(row["fieldname"])),
			Label:                 str(row["label"]),
			Fieldtype:             str(row["fieldtype"]),
			Options:               str(row["options"]),
			Default:               str(row["default"]),
			Reqd:                  flag(row["reqd"]),
			Unique:                flag(row["unique"]),
			ReadOnly:              flag(row["read_only"]),
			Hidden:                flag(row["hidden"]),
			InListView:            flag(row["in_list_view"]),
			InStandardFilter:      flag(row["in_standard_filter"]),
			SearchIndex:           flag(row["search_index"]),
			AllowOnSubmit:         flag(row["allow_on_submit"]),
			NoCopy:                flag(row["no_copy"]),
			SetOnlyOnce:           flag(row["set_only_once"]),
			IgnoreUserPermissions: flag(row["ignore_user_permissions"]),
			NonNegative:           flag(row["non_negative"]),
			Permlevel:             integer(row["permlevel"]),
			Length:                integer(row["length"]),
			FetchFrom:             str(row["fetch_from"]),
		}
		if f.Fieldtype == "" {
			f.Fieldtype = Data
		}
		d.Fields = append(d.Fields, f)
	}
	for _, row := range Rows(doc["permissions"]) {
		d.Permissions = append(d.Permissions, Perm{
			Role: str(row["role"]), Permlevel: integer(row["permlevel"]), IfOwner: flag(row["if_owner"]),
			Select: flag(row["select"]), Read: flag(row["read"]), Write: flag(row["write"]),
			Create: flag(row["create"]), Delete: flag(row["delete"]), Submit: flag(row["submit"]),
			Cancel: flag(row["cancel"]), Amend: flag(row["amend"]), Report: flag(row["report"]),
			Export: flag(row["export"]), Import: flag(row["import"]), Share: flag(row["share"]),
			Print: flag(row["print"]), Email: flag(row["email"]),
		})
	}
	if d.IsSubmittable && !slices.ContainsFunc(d.Fields, func(f *Field) bool { return f.Fieldname == "amended_from" }) {
		// Submittable doctypes are amendable, as Frappe makes them.
		d.Fields = append(d.Fields, &Field{Fieldname: "amended_from", Label: "Amended From", Fieldtype: Link,
			Options: d.Name, ReadOnly: true, NoCopy: true})
	}
	if err := d.index(); err != nil {
		return nil, err
	}
	indexes, err := parseIndexes(d, doc["indexes"])
	if err != nil {
		return nil, err
	}
	d.Indexes = indexes
	return d, nil
}

// Composite index limits.
const (
	MaxIndexes      = 8
	MaxIndexColumns = 5
)

// parseIndexes reads the "indexes" property: a JSON list (or its text)
// of field lists. Each field must hold a single value (a standard field
// or a field of the DocType that is not a table, text blob or password).
func parseIndexes(d *DocType, v any) ([][]string, error) {
	if s, ok := v.(string); ok {
		if strings.TrimSpace(s) == "" {
			return nil, nil
		}
		var parsed any
		if err := json.Unmarshal([]byte(s), &parsed); err != nil {
			return nil, fmt.Errorf("Indexes must be a JSON list of field lists: %v", err)
		}
		v = parsed
	}
	if v == nil {
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("Indexes must be a list of field lists, e.g. [[\"status\", \"modified\"]]")
	}
	if len(list) > MaxIndexes {
		return nil, fmt.Errorf("a DocType declares at most %d indexes", MaxIndexes)
	}
	var out [][]string
	seen := map[string]bool{}
	for _, item := range list {
		cols, ok := item.([]any)
		if !ok || len(cols) < 2 || len(cols) > MaxIndexColumns {
			return nil, fmt.Errorf("each index is a list of 2 to %d field names, not %v", MaxIndexColumns, item)
		}
		var fields []string
		used := map[string]bool{}
		for _, c := range cols {
			name, _ := c.(string)
			ft, ok := d.FieldType(name)
			if !ok || name == "" || !HasValue(ft) || ft == Password || kinds[ft] == KindTable || isBlob(ft) {
				return nil, fmt.Errorf("index field %v is not a single-value field of %s", c, d.Name)
			}
			if used[name] {
				return nil, fmt.Errorf("index field %q appears twice in one index", name)
			}
			used[name] = true
			fields = append(fields, name)
		}
		key := strings.Join(fields, ",")
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, fields)
	}
	return out, nil
}

// isBlob reports whether a field type holds long text, which an index
// would only cut.
func isBlob(ft string) bool {
	switch ft {
	case Text, LongText, TextEditor, Code, HTMLEditor, MarkdownEditor, JSON:
		return true
	}
	return false
}

// index checks the fields and builds the name lookup.
func (d *DocType) index() error {
	d.byName = make(map[string]*Field, len(d.Fields))
	for _, f := range d.Fields {
		kind, known := kinds[f.Fieldtype]
		if !known {
			return fmt.Errorf("Fieldtype %q of field %q is not supported", f.Fieldtype, f.Fieldname)
		}
		if f.Fieldname == "" {
			if kind != KindNone {
				return fmt.Errorf("Fieldname is required for the %s field %q", f.Fieldtype, f.Label)
			}
			continue
		}
		if !fieldnameRe.MatchString(f.Fieldname) || len(f.Fieldname) > 64 {
			return fmt.Errorf("Fieldname %q must contain only letters, numbers and underscores, and not start with a number", f.Fieldname)
		}
		if _, std := standardTypes[f.Fieldname]; std || f.Fieldname == FieldDoctype {
			return fmt.Errorf("Fieldname %q is reserved for a standard field", f.Fieldname)
		}
		if d.byName[f.Fieldname] != nil {
			return fmt.Errorf("Fieldname %q appears more than once", f.Fieldname)
		}
		switch kind {
		case KindTable:
			if f.Options == "" {
				return fmt.Errorf("Options (the child DocType) are required for the Table field %q", f.Fieldname)
			}
		}
		if (f.Fieldtype == Link || f.Fieldtype == DynamicLink) && f.Options == "" {
			return fmt.Errorf("Options are required for the %s field %q", f.Fieldtype, f.Fieldname)
		}
		if f.Permlevel < 0 || f.Permlevel > 9 {
			return fmt.Errorf("Permlevel of field %q must be between 0 and 9", f.Fieldname)
		}
		d.byName[f.Fieldname] = f
	}
	for _, f := range d.Fields {
		if f.Fieldtype == DynamicLink {
			if t := d.byName[f.Options]; t == nil || (t.Fieldtype != Link && t.Fieldtype != Data && t.Fieldtype != Select) {
				return fmt.Errorf("Options of the Dynamic Link field %q must name a Link field of this DocType", f.Fieldname)
			}
		}
	}
	if d.IsTable && d.IsSingle {
		return fmt.Errorf("a child table (istable) cannot be a Single DocType")
	}
	if d.IsTable && d.IsSubmittable {
		return fmt.Errorf("a child table (istable) cannot be submittable")
	}
	if d.SortOrder != "" && !strings.EqualFold(d.SortOrder, "asc") && !strings.EqualFold(d.SortOrder, "desc") {
		return fmt.Errorf("Sort Order must be ASC or DESC")
	}
	if err := checkAutoname(d); err != nil {
		return err
	}
	return nil
}

func checkAutoname(d *DocType) error {
	a := d.Autoname
	switch {
	case a == "", a == "hash", a == "Prompt", a == "prompt", a == "autoincrement", a == "naming_series:":
	case strings.HasPrefix(a, "field:"):
		f := d.byName[strings.TrimSpace(strings.TrimPrefix(a, "field:"))]
		if f == nil || !HasValue(f.Fieldtype) {
			return fmt.Errorf("Autoname %q must name a field of the DocType", a)
		}
	case strings.HasPrefix(a, "format:"):
	case strings.Contains(a, "#") || strings.Contains(a, "."):
	default:
		return fmt.Errorf("Autoname %q is not supported (use hash, Prompt, autoincrement, field:<fieldname>, naming_series:, format:… or a series like PRE-.#####)", a)
	}
	if a == "naming_series:" {
		if f := d.byName["naming_series"]; f == nil {
			return fmt.Errorf("Autoname naming_series: needs a naming_series field")
		}
	}
	return nil
}

// Clone returns a deep copy of the parsed doctype.
func (d *DocType) Clone() *DocType {
	c := *d
	c.Fields = make([]*Field, len(d.Fields))
	for i, f := range d.Fields {
		fc := *f
		c.Fields[i] = &fc
	}
	c.Permissions = slices.Clone(d.Permissions)
	_ = c.index()
	return &c
}

// str reads a string property.
func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// flag reads a Check property (0/1, bool, "1").
func flag(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case int64:
		return x != 0
	case int:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x == "1" || strings.EqualFold(x, "true")
	}
	return false
}

// integer reads an Int property.
func integer(v any) int {
	switch x := v.(type) {
	case int64:
		return int(x)
	case int:
		return x
	case float64:
		if math.IsNaN(x) {
			return 0
		}
		return int(x)
	case string:
		n, _ := strconv.Atoi(strings.TrimSpace(x))
		return n
	}
	return 0
}

// Rows reads a child table value: the rows that are objects.
func Rows(v any) []map[string]any {
	if ms, ok := v.([]map[string]any); ok {
		return ms
	}
	list, _ := v.([]any)
	out := make([]map[string]any, 0, len(list))
	for _, r := range list {
		if m, ok := r.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}
