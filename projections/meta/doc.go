// Package meta is docket's schema model: DocTypes and their fields as
// Frappe defines them, parsed from DocType documents, with the storage
// kind of every field type, the canonical form of field values, and the
// built-in DocTypes created on first start. It imports only the standard
// library.
package meta
