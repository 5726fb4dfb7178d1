package meta

// Frappe's field types.
const (
	Data             = "Data"
	SmallText        = "Small Text"
	Text             = "Text"
	LongText         = "Long Text"
	TextEditor       = "Text Editor"
	MarkdownEditor   = "Markdown Editor"
	HTMLEditor       = "HTML Editor"
	Code             = "Code"
	Int              = "Int"
	Float            = "Float"
	Currency         = "Currency"
	Percent          = "Percent"
	Check            = "Check"
	Select           = "Select"
	Link             = "Link"
	DynamicLink      = "Dynamic Link"
	Date             = "Date"
	Datetime         = "Datetime"
	Time             = "Time"
	Duration         = "Duration"
	Table            = "Table"
	TableMultiSelect = "Table MultiSelect"
	JSON             = "JSON"
	Attach           = "Attach"
	AttachImage      = "Attach Image"
	Password         = "Password"
	ReadOnly         = "Read Only"
	Color            = "Color"
	Phone            = "Phone"
	Autocomplete     = "Autocomplete"
	Rating           = "Rating"
	Signature        = "Signature"
	Barcode          = "Barcode"
	Geolocation      = "Geolocation"
	Icon             = "Icon"

	SectionBreak = "Section Break"
	ColumnBreak  = "Column Break"
	TabBreak     = "Tab Break"
	HTML         = "HTML"
	Button       = "Button"
	Heading      = "Heading"
	Fold         = "Fold"
	Image        = "Image"
)

// Kind is how a field type stores its value.
type Kind int

// Kinds of field type.
const (
	KindNone     Kind = iota // layout only: no value
	KindString               // string
	KindInt                  // int64
	KindFloat                // float64
	KindDate                 // "YYYY-MM-DD"
	KindDatetime             // "YYYY-MM-DD HH:MM:SS.ffffff"
	KindTime                 // "HH:MM:SS.ffffff"
	KindTable                // []any of child rows
	KindJSON                 // JSON text
)

var kinds = map[string]Kind{
	Data: KindString, SmallText: KindString, Text: KindString, LongText: KindString,
	TextEditor: KindString, MarkdownEditor: KindString, HTMLEditor: KindString, Code: KindString,
	Select: KindString, Link: KindString, DynamicLink: KindString, Attach: KindString,
	AttachImage: KindString, Password: KindString, ReadOnly: KindString, Color: KindString,
	Phone: KindString, Autocomplete: KindString, Signature: KindString, Barcode: KindString,
	Geolocation: KindString, Icon: KindString,
	Int: KindInt, Check: KindInt, Duration: KindInt,
	Float: KindFloat, Currency: KindFloat, Percent: KindFloat, Rating: KindFloat,
	Date: KindDate, Datetime: KindDatetime, Time: KindTime,
	Table: KindTable, TableMultiSelect: KindTable,
	JSON:         KindJSON,
	SectionBreak: KindNone, ColumnBreak: KindNone, TabBreak: KindNone, HTML: KindNone,
	Button: KindNone, Heading: KindNone, Fold: KindNone, Image: KindNone,
}

// KindOf returns the storage kind of a field type and whether the type is
// known.
func KindOf(fieldtype string) (Kind, bool) {
	k, ok := kinds[fieldtype]
	return k, ok
}

// HasValue reports whether a field type stores a value (layout types and
// tables do not store a scalar).
func HasValue(fieldtype string) bool {
	k := kinds[fieldtype]
	return k != KindNone && k != KindTable
}

// defaultLength is the maximum length of short text types (varchar(140)).
const defaultLength = 140

// hasLength reports whether a field type is bounded by Field.Length
// (default 140 characters), as Frappe's varchar columns are.
func hasLength(fieldtype string) bool {
	switch fieldtype {
	case Data, Select, Link, DynamicLink, ReadOnly, Color, Phone, Autocomplete, Icon:
		return true
	}
	return false
}
