package gantry

import (
	"reflect"
	"testing"
)

func TestSubstituteParameters(t *testing.T) {
	t.Parallel()
	params := map[string]string{"in": "s3://b/k", "n": "3", "a-b": "x"}
	tests := map[string]struct{ in, want string }{
		"whole element":   {"Ref::in", "s3://b/k"},
		"embedded":        {"--input=Ref::in", "--input=s3://b/k"},
		"two tokens":      {"Ref::n-Ref::n", "3-3"}, // the longest known name wins
		"dash name":       {"Ref::a-b", "x"},
		"no prefix match": {"Ref::inner", "Ref::inner"},
		"unknown is kept": {"Ref::missing", "Ref::missing"},
		"no token":        {"plain", "plain"},
		"bare marker":     {"Ref::", "Ref::"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if got := SubstituteParameters(tc.in, params); got != tc.want {
				t.Errorf("SubstituteParameters(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestMergeContainer(t *testing.T) {
	t.Parallel()
	i32 := func(v int32) *int32 { return &v }
	def := &ContainerProperties{
		Image: "img", Command: []string{"run", "Ref::file"},
		Environment:          []KeyValuePair{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}},
		ResourceRequirements: []ResourceRequirement{{Type: ResourceVCPU, Value: "1"}, {Type: ResourceMemory, Value: "512"}},
	}
	tests := map[string]struct {
		o      *ContainerOverrides
		params map[string]string
		want   *ContainerProperties
	}{
		"no overrides substitutes parameters": {
			params: map[string]string{"file": "f.txt"},
			want: &ContainerProperties{Image: "img", Command: []string{"run", "f.txt"}, Environment: def.Environment,
				ResourceRequirements: def.ResourceRequirements},
		},
		"command replaced, environment merged by name, requirements replaced per type": {
			o: &ContainerOverrides{
				Command:              []string{"other", "Ref::file"},
				Environment:          []KeyValuePair{{Name: "B", Value: "two"}, {Name: "C", Value: "3"}},
				ResourceRequirements: []ResourceRequirement{{Type: ResourceMemory, Value: "2048"}, {Type: ResourceGPU, Value: "1"}},
			},
			params: map[string]string{"file": "g"},
			want: &ContainerProperties{Image: "img", Command: []string{"other", "g"},
				Environment:          []KeyValuePair{{Name: "A", Value: "1"}, {Name: "B", Value: "two"}, {Name: "C", Value: "3"}},
				ResourceRequirements: []ResourceRequirement{{Type: ResourceVCPU, Value: "1"}, {Type: ResourceMemory, Value: "2048"}, {Type: ResourceGPU, Value: "1"}}},
		},
		"empty command keeps the definition's": {
			o:    &ContainerOverrides{Command: []string{}, Vcpus: i32(4)},
			want: &ContainerProperties{Image: "img", Command: []string{"run", "Ref::file"}, Environment: def.Environment, ResourceRequirements: def.ResourceRequirements, Vcpus: i32(4)},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got := MergeContainer(def, tc.o, tc.params)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("MergeContainer =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
	if def.Command[1] != "Ref::file" || def.Environment[1].Value != "2" {
		t.Error("MergeContainer modified the definition")
	}
	// A legacy vcpus override does not beat an explicit VCPU requirement.
	if r := MergeContainer(def, &ContainerOverrides{Vcpus: i32(8)}, nil).Resources(); r.VCPUs != 1 || r.MemoryMiB != 512 {
		t.Errorf("Resources = %+v, want 1 vCPU / 512 MiB", r)
	}
}
