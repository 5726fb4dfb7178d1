package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"

	"docket/projections/meta"
)

// isJSON reports a JSON content type (application/json or */*+json).
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// decodeJSON decodes JSON with integers as int64 and other numbers as
// float64, and refuses trailing data.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return meta.FromJSON(v), nil
}

// readBody reads the request body (bounded by the server's limit).
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	return io.ReadAll(r.Body)
}

// formDict builds the request arguments as Frappe's make_form_dict does:
// a JSON body (with a JSON content type) replaces the query string; an
// array body becomes {"data": [...]}; otherwise the query string,
// overlaid by form fields. The jQuery cache-buster "_" is dropped.
func formDict(r *http.Request, body []byte) (map[string]any, error) {
	args := map[string]any{}
	if len(bytes.TrimSpace(body)) > 0 && isJSON(r.Header.Get("Content-Type")) {
		v, err := decodeJSON(body)
		if err != nil {
			return nil, errorf("ValidationError", "Invalid JSON in request body: %v", err)
		}
		switch x := v.(type) {
		case map[string]any:
			args = x
		case []any:
			args["data"] = x
		default:
			return nil, errorf("ValidationError", "Invalid request arguments")
		}
		delete(args, "_")
		return args, nil
	}
	for k, vs := range r.URL.Query() {
		if len(vs) > 0 {
			args[k] = vs[0]
		}
	}
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errorf("ValidationError", "Invalid form body: %v", err)
		}
		for k, vs := range form {
			if len(vs) > 0 {
				args[k] = vs[0]
			}
		}
	case "multipart/form-data":
		if err := parseMultipart(body, params["boundary"], args); err != nil {
			return nil, err
		}
	}
	delete(args, "_")
	return args, nil
}

// parseMultipart adds the text fields of a multipart body to args (file
// parts are left to the endpoints that take files).
func parseMultipart(body []byte, boundary string, args map[string]any) error {
	if boundary == "" {
		return errorf("ValidationError", "Invalid multipart body: no boundary")
	}
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	seen := map[string]bool{}
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return errorf("ValidationError", "Invalid multipart body: %v", err)
		}
		if p.FileName() != "" {
			continue
		}
		v, err := io.ReadAll(p)
		if err != nil {
			return errorf("ValidationError", "Invalid multipart body: %v", err)
		}
		if !seen[p.FormName()] { // a repeated field keeps its first value
			seen[p.FormName()] = true
			args[p.FormName()] = string(v)
		}
	}
}

// docBody reads the document a POST/PUT /api/resource request carries,
// as Frappe does: a form field "data" holding JSON, else the raw body as
// JSON (whatever its content type), else the form fields themselves.
func docBody(r *http.Request, body []byte, args map[string]any) (map[string]any, error) {
	if s, ok := args["data"].(string); ok && !isJSON(r.Header.Get("Content-Type")) {
		v, err := decodeJSON([]byte(s))
		if err != nil {
			return nil, errorf("ValidationError", "Invalid JSON in data: %v", err)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, errorf("ValidationError", "data must be a JSON object")
		}
		return m, nil
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) > 0 && (isJSON(r.Header.Get("Content-Type")) || trimmed[0] == '{') {
		v, err := decodeJSON(trimmed)
		if err != nil {
			return nil, errorf("ValidationError", "Invalid JSON in request body: %v", err)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, errorf("ValidationError", "The request body must be a JSON object")
		}
		return m, nil
	}
	if len(trimmed) == 0 {
		return map[string]any{}, nil
	}
	out := map[string]any{}
	for k, v := range args {
		out[k] = v
	}
	return out, nil
}
