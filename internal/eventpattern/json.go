package eventpattern

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// The pattern is read into a small syntax tree rather than with
// json.Unmarshal so that member order is kept (errors name the first bad
// member, as EventBridge does) and duplicate keys can be told apart.

type jsonKind uint8

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

type jsonValue struct {
	kind jsonKind
	b    bool
	s    string // string value, or number text
	arr  []jsonValue
	obj  []jsonMember
}

type jsonMember struct {
	key string
	val jsonValue
}

// maxDepth bounds the nesting of a pattern. EventBridge caps patterns at
// 4096 bytes, so real ones are far shallower.
const maxDepth = 256

func parseJSON(data []byte) (jsonValue, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := readJSON(dec, 0)
	if err != nil {
		return jsonValue{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return jsonValue{}, &Error{Reason: "malformed JSON: unexpected data after the pattern"}
	}
	return v, nil
}

func readJSON(dec *json.Decoder, depth int) (jsonValue, error) {
	if depth > maxDepth {
		return jsonValue{}, &Error{Reason: "malformed JSON: nested too deeply"}
	}
	tok, err := dec.Token()
	if err != nil {
		return jsonValue{}, jsonError(err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			v := jsonValue{kind: jsonObject}
			for dec.More() {
				tok, err := dec.Token()
				if err != nil {
					return jsonValue{}, jsonError(err)
				}
				key, ok := tok.(string)
				if !ok {
					return jsonValue{}, &Error{Reason: "malformed JSON: object key is not a string"}
				}
				val, err := readJSON(dec, depth+1)
				if err != nil {
					return jsonValue{}, err
				}
				v.obj = append(v.obj, jsonMember{key: key, val: val})
			}
			if _, err := dec.Token(); err != nil { // '}'
				return jsonValue{}, jsonError(err)
			}
			return v, nil
		case '[':
			v := jsonValue{kind: jsonArray}
			for dec.More() {
				e, err := readJSON(dec, depth+1)
				if err != nil {
					return jsonValue{}, err
				}
				v.arr = append(v.arr, e)
			}
			if _, err := dec.Token(); err != nil { // ']'
				return jsonValue{}, jsonError(err)
			}
			return v, nil
		}
		return jsonValue{}, &Error{Reason: "malformed JSON: unexpected " + t.String()}
	case string:
		return jsonValue{kind: jsonString, s: t}, nil
	case json.Number:
		return jsonValue{kind: jsonNumber, s: string(t)}, nil
	case bool:
		return jsonValue{kind: jsonBool, b: t}, nil
	case nil:
		return jsonValue{kind: jsonNull}, nil
	}
	return jsonValue{}, &Error{Reason: "malformed JSON"}
}

func jsonError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{Reason: "malformed JSON: unexpected end of input"}
	}
	return &Error{Reason: "malformed JSON: " + err.Error()}
}

// describe names a JSON value's type for error messages.
func (v *jsonValue) describe() string {
	switch v.kind {
	case jsonNull:
		return "null"
	case jsonBool:
		return "a boolean"
	case jsonNumber:
		return "a number"
	case jsonString:
		return "a string"
	case jsonArray:
		return "an array"
	}
	return "an object"
}
