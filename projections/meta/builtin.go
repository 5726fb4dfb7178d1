package meta

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"strings"
)

//go:embed builtin/*.json
var builtinFS embed.FS

// builtinOrder lists the built-in doctypes in creation order: a doctype
// comes after every doctype its Link and Table fields name.
var builtinOrder = []string{
	"docfield", "docperm", "doctype", "role", "has_role", "user", "todo", "note", "file", "version", "server_script", "oauth_client", "user_permission",
	"webhook_header", "webhook_data", "webhook", "webhook_request_log",
}

// CoreDocTypes are the meta doctypes whose schema is fixed in code.
var CoreDocTypes = []string{"DocType", "DocField", "DocPerm"}

// IsCore reports whether a doctype is one of [CoreDocTypes].
func IsCore(doctype string) bool {
	for _, c := range CoreDocTypes {
		if c == doctype {
			return true
		}
	}
	return false
}

// Builtins returns the DocType documents docket creates on first start, in
// creation order. Each call returns fresh maps.
func Builtins() []map[string]any {
	out := make([]map[string]any, 0, len(builtinOrder))
	for _, name := range builtinOrder {
		data, err := builtinFS.ReadFile("builtin/" + name + ".json")
		if err != nil {
			panic(err)
		}
		doc, err := DecodeJSONObject(data)
		if err != nil {
			panic(fmt.Sprintf("meta: builtin %s: %v", name, err))
		}
		out = append(out, doc)
	}
	return out
}

// Core returns the parsed core meta doctypes by name.
func Core() map[string]*DocType {
	out := map[string]*DocType{}
	for _, doc := range Builtins() {
		if !IsCore(str(doc["name"])) {
			continue
		}
		d, err := Parse(doc)
		if err != nil {
			panic(fmt.Sprintf("meta: core doctype %v: %v", doc["name"], err))
		}
		d.Core = true
		out[d.Name] = d
	}
	return out
}

// DecodeJSONObject decodes a JSON object with numbers as int64 when they
// are integers and float64 otherwise.
func DecodeJSONObject(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	m, ok := FromJSON(v).(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not a JSON object")
	}
	return m, nil
}

// FromJSON converts json.Number values (from a decoder with UseNumber) to
// int64 or float64, recursively.
func FromJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		s := string(x)
		if !strings.ContainsAny(s, ".eE") {
			if n, err := x.Int64(); err == nil {
				return n
			}
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = FromJSON(e)
		}
	case []any:
		for i, e := range x {
			x[i] = FromJSON(e)
		}
	}
	return v
}
