package control

import (
	"encoding/base64"
	"encoding/json"

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
