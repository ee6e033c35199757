package gantry

import (
	"strconv"
	"strings"
)

// Partition is the ARN partition Gantry reports. AWS SDKs accept any.
const Partition = "aws"

// ResourceType names the kind of resource in a Batch ARN.
type ResourceType string

// Batch ARN resource types.
const (
	ResourceComputeEnvironment ResourceType = "compute-environment"
	ResourceJobQueue           ResourceType = "job-queue"
	ResourceJobDefinition      ResourceType = "job-definition"
	ResourceJob                ResourceType = "job"
	ResourceSchedulingPolicy   ResourceType = "scheduling-policy"
)

// ARNBuilder builds ARNs for one region and account.
type ARNBuilder struct {
	Region    string
	AccountID string
}

// ARN returns arn:aws:batch:<region>:<account>:<type>/<name>.
func (b ARNBuilder) ARN(t ResourceType, name string) string {
	// Concatenated, not fmt.Sprintf: SubmitJob builds two ARNs per call.
	return "arn:" + Partition + ":batch:" + b.Region + ":" + b.AccountID + ":" + string(t) + "/" + name
}

// JobDefinitionARN returns the ARN of one revision of a job definition.
func (b ARNBuilder) JobDefinitionARN(name string, revision int32) string {
	return b.ARN(ResourceJobDefinition, name) + ":" + strconv.Itoa(int(revision))
}

// ParsedARN is a Batch ARN split into its parts.
type ParsedARN struct {
	Region    string
	AccountID string
	Type      ResourceType
	Name      string // for job definitions, the name without the revision
	Revision  int32  // job definitions only; 0 when absent
}

// ParseARN splits a Batch ARN. It accepts any partition, region and account,
// since clients may have built the ARN themselves.
func ParseARN(s string) (*ParsedARN, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "batch" {
		return nil, false
	}
	typ, name, ok := strings.Cut(parts[5], "/")
	if !ok || name == "" {
		return nil, false
	}
	p := &ParsedARN{Region: parts[3], AccountID: parts[4], Type: ResourceType(typ), Name: name}
	if p.Type == ResourceJobDefinition {
		if n, rev, ok := strings.Cut(name, ":"); ok {
			r, err := strconv.ParseInt(rev, 10, 32)
			if err != nil || r < 1 {
				return nil, false
			}
			p.Name, p.Revision = n, int32(r)
		}
	}
	return p, true
}

// ValidName reports whether s is a valid Batch resource name: 1-128 letters,
// digits, hyphens and underscores.
func ValidName(s string) bool {
	// A loop, not nameRE.MatchString: SubmitJob checks every job's name.
	if len(s) < 1 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// ResolveName turns a name or an ARN of the given type into a bare name. For a
// job definition ARN, the revision (0 if absent) is returned too.
func ResolveName(field string, t ResourceType, nameOrARN string) (string, int32, error) {
	if strings.HasPrefix(nameOrARN, "arn:") {
		p, ok := ParseARN(nameOrARN)
		if !ok || p.Type != t {
			return "", 0, ClientErrorf("%s: %q is not a valid %s ARN", field, nameOrARN, t)
		}
		return p.Name, p.Revision, nil
	}
	if t == ResourceJobDefinition {
		if n, rev, ok := strings.Cut(nameOrARN, ":"); ok {
			r, err := strconv.ParseInt(rev, 10, 32)
			if err != nil || r < 1 || !ValidName(n) {
				return "", 0, ClientErrorf("%s: %q is not a valid job definition (name, name:revision or ARN)", field, nameOrARN)
			}
			return n, int32(r), nil
		}
	}
	if !ValidName(nameOrARN) {
		return "", 0, ClientErrorf("%s: %q is not a valid name or ARN (up to 128 letters, digits, hyphens and underscores)", field, nameOrARN)
	}
	return nameOrARN, 0, nil
}
