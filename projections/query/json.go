package query

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// maxDepth bounds the nesting of JSON parameters (Python's json module fails
// with RecursionError at about the same depth).
const maxDepth = 512

var errTooDeep = errors.New("nesting too deep")

// decodeJSON decodes one JSON value from text. Numbers become json.Number,
// objects become object (member order kept; for a repeated key the first
// position and the last value win, as in Python). Trailing data is an error.
func decodeJSON(text string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			err = errors.New("extra data after the JSON value")
		}
		return nil, err
	}
	return v, nil
}

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return tok, nil // string, json.Number, bool or nil
	}
	if depth >= maxDepth {
		return nil, errTooDeep
	}
	switch d {
	case '[':
		list := []any{}
		for dec.More() {
			v, err := decodeValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		if _, err := dec.Token(); err != nil { // ']'
			return nil, err
		}
		return list, nil
	case '{':
		obj := object{}
		index := map[string]int{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key, ok := kt.(string)
			if !ok {
				return nil, errors.New("object key is not a string")
			}
			v, err := decodeValue(dec, depth+1)
			if err != nil {
				return nil, err
			}
			if i, seen := index[key]; seen {
				obj[i].val = v
				continue
			}
			index[key] = len(obj)
			obj = append(obj, member{key, v})
		}
		if _, err := dec.Token(); err != nil { // '}'
			return nil, err
		}
		return obj, nil
	}
	return nil, errors.New("unexpected delimiter")
}
