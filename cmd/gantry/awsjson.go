package main

import (
	"reflect"
	"unicode"
	"unicode/utf8"

	"github.com/aws/smithy-go/middleware"
)

// awsShape turns an aws-sdk-go-v2 value into what the service sends on the
// wire, for `-o json`: the SDK's structs carry no JSON tags, and their Go
// field names are the AWS member names with the first letter upper-cased
// (JobId for jobId). Struct fields become lowerCamel keys; map keys (tags,
// parameters, statusSummary) stay as they are; nil and empty values are
// omitted, as AWS omits absent members; the SDK's ResultMetadata is dropped.
func awsShape(v any) any {
	out, _ := shape(reflect.ValueOf(v))
	return out
}

var metadataType = reflect.TypeOf(middleware.Metadata{})

func shape(v reflect.Value) (any, bool) {
	switch v.Kind() {
	case reflect.Invalid:
		return nil, false
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, false
		}
		return shape(v.Elem())
	case reflect.Struct:
		if v.Type() == metadataType {
			return nil, false
		}
		m := map[string]any{}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() || f.Name == "ResultMetadata" {
				continue
			}
			if val, ok := shape(v.Field(i)); ok {
				m[lowerFirst(f.Name)] = val
			}
		}
		return m, len(m) > 0
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return nil, false
		}
		list := make([]any, 0, v.Len())
		for i := range v.Len() {
			val, _ := shape(v.Index(i))
			list = append(list, val)
		}
		return list, true
	case reflect.Map:
		if v.IsNil() {
			return nil, false
		}
		m := make(map[string]any, v.Len())
		for it := v.MapRange(); it.Next(); {
			val, _ := shape(it.Value())
			m[it.Key().String()] = val
		}
		return m, true
	case reflect.String:
		return v.String(), v.Len() > 0
	default:
		return v.Interface(), true
	}
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}
