package gantry

import (
	"strings"
	"unicode/utf8"
)

// MaxTags is the number of tags a resource may carry.
const MaxTags = 50

// ValidateTags checks a tag map against AWS's limits: at most 50 tags, keys of
// 1-128 characters not starting with "aws:", values of at most 256.
func ValidateTags(field string, tags map[string]string) error {
	if len(tags) > MaxTags {
		return ClientErrorf("%s: at most %d tags are allowed, got %d", field, MaxTags, len(tags))
	}
	for k, v := range tags {
		if n := utf8.RuneCountInString(k); n < 1 || n > 128 {
			return ClientErrorf("%s: tag key %q must be 1-128 characters", field, k)
		}
		if strings.HasPrefix(strings.ToLower(k), "aws:") {
			return ClientErrorf("%s: tag key %q uses the reserved prefix aws:", field, k)
		}
		if utf8.RuneCountInString(v) > 256 {
			return ClientErrorf("%s: value of tag %q exceeds 256 characters", field, k)
		}
	}
	return nil
}

// MergeTags returns base with add applied on top; nil if both are empty.
func MergeTags(base, add map[string]string) map[string]string {
	if len(base) == 0 && len(add) == 0 {
		return nil
	}
	out := make(map[string]string, len(base)+len(add))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range add {
		out[k] = v
	}
	return out
}
