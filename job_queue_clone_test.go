package gantry

import (
	"reflect"
	"testing"
)

// fillAll sets every field reachable from v to a non-zero value, with one
// element in each slice and map, so that a test can see what a copy shares.
func fillAll(t *testing.T, v reflect.Value) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		v.SetString("x")
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Struct:
		for i := range v.NumField() {
			fillAll(t, v.Field(i))
		}
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillAll(t, v.Elem())
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fillAll(t, v.Index(0))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fillAll(t, k)
		fillAll(t, e)
		v.SetMapIndex(k, e)
	default:
		t.Fatalf("fillAll: kind %s not handled (%s)", v.Kind(), v.Type())
	}
}

// TestJobQueueCloneIsDeep fills every field of a JobQueue (fields added
// later included), clones it, changes every field of the clone, and checks
// that the original did not change.
func TestJobQueueCloneIsDeep(t *testing.T) {
	t.Parallel()
	var q JobQueue
	fillAll(t, reflect.ValueOf(&q).Elem())
	var want JobQueue
	fillAll(t, reflect.ValueOf(&want).Elem())
	c := q.Clone()
	if !reflect.DeepEqual(c, &q) {
		t.Fatalf("clone differs: %+v vs %+v", c, q)
	}
	c.ComputeEnvironmentOrder[0].ComputeEnvironment = "changed"
	c.ServiceEnvironmentOrder[0].ServiceEnvironment = "changed"
	c.JobStateTimeLimitActions[0].Reason = "changed"
	c.Tags["x"] = "changed"
	mutateAll(reflect.ValueOf(c).Elem())
	if !reflect.DeepEqual(q, want) {
		t.Fatalf("changing the clone changed the original: %+v", q)
	}
}

// mutateAll changes every string reachable from v in place (through
// slices, maps and pointers), as a caller modifying its copy would.
func mutateAll(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("mutated")
	case reflect.Struct:
		for i := range v.NumField() {
			mutateAll(v.Field(i))
		}
	case reflect.Pointer:
		if !v.IsNil() {
			mutateAll(v.Elem())
		}
	case reflect.Slice:
		for i := range v.Len() {
			mutateAll(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			v.SetMapIndex(k, reflect.ValueOf("mutated"))
		}
	}
}
