package control

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/gantrybatch/gantry"
)

// Pagination tokens are opaque to clients: base64 of a small JSON cursor.
// They always advance (botocore aborts on a repeated token).

func encodeToken(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(tok string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return gantry.ClientErrorf("nextToken: invalid pagination token")
	}
	return nil
}

// pageSize validates maxResults against [1, max] and applies def.
func pageSize(maxResults *int32, def, max int) (int, error) {
	if maxResults == nil {
		return def, nil
	}
	n := int(*maxResults)
	if n < 1 || n > max {
		return 0, gantry.ClientErrorf("maxResults: must be between 1 and %d", max)
	}
	return n, nil
}

// namedPage is the shared shape of the Describe operations over named
// resources: either up to 100 names or ARNs (unknown ones omitted, no
// paging) or every resource by name a page at a time.
type namedPage struct {
	Field      string // the request's list member, for errors
	Type       gantry.ResourceType
	Refs       []string
	MaxResults *int32
	NextToken  string
}

// describeNamed resolves p and calls list with the names (nil for all), the
// name to start after and the row limit, then cuts the page and builds the
// next token from name.
func describeNamed[T any](p namedPage, list func(names []string, after string, limit int) ([]T, error), name func(T) string) ([]T, string, error) {
	if len(p.Refs) > 100 {
		return nil, "", gantry.ClientErrorf("%s: at most 100 names are allowed", p.Field)
	}
	if len(p.Refs) > 0 && (p.MaxResults != nil || p.NextToken != "") {
		return nil, "", gantry.ClientErrorf("%s and MaxResults cannot both be set", strings.ToUpper(p.Field[:1])+p.Field[1:])
	}
	limit, err := pageSize(p.MaxResults, 100, 100)
	if err != nil {
		return nil, "", err
	}
	var names []string
	for _, ref := range p.Refs {
		n, _, err := gantry.ResolveName(p.Field, p.Type, ref)
		if err != nil {
			return nil, "", err
		}
		names = append(names, n)
	}
	var after string
	if p.NextToken != "" {
		if err := decodeToken(p.NextToken, &after); err != nil {
			return nil, "", err
		}
	}
	rows, err := list(names, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(names) == 0 && len(rows) > limit {
		rows = rows[:limit]
		next = encodeToken(name(rows[limit-1]))
	}
	if rows == nil {
		rows = []T{}
	}
	return rows, next, nil
}
