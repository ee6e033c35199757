package eventpattern

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCompileErrors(t *testing.T) {
	t.Parallel()
	// Each invalid pattern names the path the error must report and a
	// fragment of the reason.
	tests := map[string]struct {
		pattern    string
		wantPath   string
		wantReason string
	}{
		"empty input":                   {``, "", "unexpected end of input"},
		"malformed JSON":                {`{"a":["x"}`, "", "malformed JSON"},
		"trailing data":                 {`{"a":["x"]} {}`, "", "unexpected data after the pattern"},
		"not an object":                 {`["x"]`, "", "must be a JSON object, not an array"},
		"null pattern":                  {`null`, "", "must be a JSON object, not null"},
		"empty pattern":                 {`{}`, "", "empty objects are not allowed"},
		"empty nested object":           {`{"detail":{}}`, "detail", "empty objects are not allowed"},
		"string leaf":                   {`{"source":"aws.batch"}`, "source", `value of "source" must be an object or an array, not a string`},
		"number leaf":                   {`{"detail":{"n":5}}`, "detail.n", "must be an object or an array, not a number"},
		"null leaf":                     {`{"a":null}`, "a", "not null"},
		"empty array":                   {`{"source":[]}`, "source", "empty arrays are not allowed"},
		"nested array in leaf":          {`{"a":[["x"]]}`, "a[0]", "not arrays"},
		"duplicate field":               {`{"a":["x"],"a":["y"]}`, "a", "appears more than once"},
		"empty operator":                {`{"a":[{}]}`, "a[0]", "empty match expression"},
		"two keys in operator":          {`{"a":[{"prefix":"x","suffix":"y"}]}`, "a[0]", "only one key"},
		"unknown operator":              {`{"a":["x",{"regex":"x.*"}]}`, "a[1].regex", `unrecognized match type "regex"`},
		"exactly is not supported":      {`{"a":[{"exactly":"x"}]}`, "a[0].exactly", "unrecognized match type"},
		"$or as operator":               {`{"a":[{"$or":[]}]}`, "a[0].$or", "unrecognized match type"},
		"prefix number":                 {`{"a":[{"prefix":5}]}`, "a[0].prefix", "prefix must be a string"},
		"prefix unknown nested":         {`{"a":[{"prefix":{"wildcard":"x"}}]}`, "a[0].prefix", `{"equals-ignore-case": string}`},
		"prefix ignore-case number":     {`{"a":[{"prefix":{"equals-ignore-case":1}}]}`, "a[0].prefix.equals-ignore-case", "must be a string, not a number"},
		"suffix array":                  {`{"a":[{"suffix":["x"]}]}`, "a[0].suffix", "suffix must be a string"},
		"equals-ignore-case number":     {`{"a":[{"equals-ignore-case":5}]}`, "a[0].equals-ignore-case", "must be a string"},
		"wildcard number":               {`{"a":[{"wildcard":5}]}`, "a[0].wildcard", "must be a string"},
		"wildcard double star":          {`{"a":[{"wildcard":"a**b"}]}`, "a[0].wildcard", "consecutive wildcard characters at position 1"},
		"wildcard bad escape":           {`{"a":[{"wildcard":"a\\b"}]}`, "a[0].wildcard", `invalid escape at position 1`},
		"wildcard trailing backslash":   {`{"a":[{"wildcard":"a\\"}]}`, "a[0].wildcard", "invalid escape"},
		"exists string":                 {`{"a":[{"exists":"true"}]}`, "a[0].exists", "must be true or false, not a string"},
		"cidr number":                   {`{"a":[{"cidr":10}]}`, "a[0].cidr", "must be a string"},
		"cidr without length":           {`{"a":[{"cidr":"10.0.0.1"}]}`, "a[0].cidr", "not an IPv4 or IPv6 CIDR block"},
		"cidr bad length":               {`{"a":[{"cidr":"10.0.0.0/33"}]}`, "a[0].cidr", "CIDR"},
		"cidr garbage":                  {`{"a":[{"cidr":"nope/8"}]}`, "a[0].cidr", "CIDR"},
		"numeric not array":             {`{"a":[{"numeric":5}]}`, "a[0].numeric", "must be an array"},
		"numeric empty":                 {`{"a":[{"numeric":[]}]}`, "a[0].numeric", "must hold an operator"},
		"numeric unknown op":            {`{"a":[{"numeric":["!=",5]}]}`, "a[0].numeric[0]", `unrecognized numeric operator "!="`},
		"numeric op not string":         {`{"a":[{"numeric":[5,">"]}]}`, "a[0].numeric[0]", "expected a comparison operator"},
		"numeric missing number":        {`{"a":[{"numeric":[">"]}]}`, "a[0].numeric", `">" must be followed by a number`},
		"numeric string value":          {`{"a":[{"numeric":[">","5"]}]}`, "a[0].numeric[1]", "must be a number, not a string"},
		"numeric too many after equals": {`{"a":[{"numeric":["=",5,"<",6]}]}`, "a[0].numeric[2]", "too many elements"},
		"numeric upper then lower":      {`{"a":[{"numeric":["<",5,">",1]}]}`, "a[0].numeric[2]", "too many elements"},
		"numeric two lower bounds":      {`{"a":[{"numeric":[">",1,">",5]}]}`, "a[0].numeric[2]", `may only be followed by < or <=, not ">"`},
		"numeric empty range":           {`{"a":[{"numeric":[">",5,"<",5]}]}`, "a[0].numeric", "must be less than the upper bound"},
		"numeric inverted range":        {`{"a":[{"numeric":[">=",6,"<=",5]}]}`, "a[0].numeric", "must be less than"},
		"numeric five terms":            {`{"a":[{"numeric":[">",1,"<",5,"<"]}]}`, "a[0].numeric[4]", "too many elements"},
		"numeric upper bound missing":   {`{"a":[{"numeric":[">",1,"<"]}]}`, "a[0].numeric", `"<" must be followed by a number`},
		"numeric out of range":          {`{"a":[{"numeric":[">",5e10]}]}`, "a[0].numeric[1]", "between -5e9 and 5e9"},
		"numeric negative out of range": {`{"a":[{"numeric":["<",-5000000001]}]}`, "a[0].numeric[1]", "between -5e9 and 5e9"},
		"number overflow":               {`{"a":[1e400]}`, "a[0]", "out of range"},
		"anything-but null":             {`{"a":[{"anything-but":null}]}`, "a[0].anything-but", "not null"},
		"anything-but bool":             {`{"a":[{"anything-but":true}]}`, "a[0].anything-but", "not a boolean"},
		"anything-but empty list":       {`{"a":[{"anything-but":[]}]}`, "a[0].anything-but", "empty arrays"},
		"anything-but mixed list":       {`{"a":[{"anything-but":["a",1]}]}`, "a[0].anything-but", "not both"},
		"anything-but null in list":     {`{"a":[{"anything-but":["a",null]}]}`, "a[0].anything-but[1]", "only strings or only numbers, not null"},
		"anything-but number range":     {`{"a":[{"anything-but":[1,6e9]}]}`, "a[0].anything-but[1]", "between -5e9 and 5e9"},
		"anything-but unknown nested":   {`{"a":[{"anything-but":{"numeric":[">",1]}}]}`, "a[0].anything-but.numeric", `unsupported anything-but pattern "numeric"`},
		"anything-but two nested keys":  {`{"a":[{"anything-but":{"prefix":"a","suffix":"b"}}]}`, "a[0].anything-but", "exactly one of"},
		"anything-but empty object":     {`{"a":[{"anything-but":{}}]}`, "a[0].anything-but", "exactly one of"},
		"anything-but empty prefix":     {`{"a":[{"anything-but":{"prefix":""}}]}`, "a[0].anything-but.prefix", "empty prefix is not allowed"},
		"anything-but empty suffix":     {`{"a":[{"anything-but":{"suffix":["x",""]}}]}`, "a[0].anything-but.suffix[1]", "empty suffix"},
		"anything-but prefix number":    {`{"a":[{"anything-but":{"prefix":5}}]}`, "a[0].anything-but.prefix", "must be a string or an array of strings"},
		"anything-but prefix list num":  {`{"a":[{"anything-but":{"prefix":["a",5]}}]}`, "a[0].anything-but.prefix[1]", "not a number"},
		"anything-but ignore-case num":  {`{"a":[{"anything-but":{"equals-ignore-case":[1]}}]}`, "a[0].anything-but.equals-ignore-case[0]", "not a number"},
		"anything-but wildcard **":      {`{"a":[{"anything-but":{"wildcard":["*.png","a**"]}}]}`, "a[0].anything-but.wildcard[1]", "consecutive wildcard"},
		"anything-but empty nested arr": {`{"a":[{"anything-but":{"wildcard":[]}}]}`, "a[0].anything-but.wildcard", "empty arrays"},
		"$or not an array":              {`{"$or":{"a":["x"]}}`, "$or", "must be an array of at least 2 objects, not an object"},
		"$or with one branch":           {`{"$or":[{"a":["x"]}]}`, "$or", "at least 2 objects, not 1"},
		"$or empty":                     {`{"$or":[]}`, "$or", "at least 2 objects, not 0"},
		"$or with a string":             {`{"$or":[{"a":["x"]},"b"]}`, "$or[1]", "only objects, not a string"},
		"$or with empty branch":         {`{"$or":[{"a":["x"]},{}]}`, "$or[1]", "empty objects are not allowed"},
		"$or branch error path":         {`{"d":{"$or":[{"a":["x"]},{"b":[{"numeric":[">"]}]}]}}`, "d.$or[1].b[0].numeric", "must be followed by a number"},
		"reserved name inside $or":      {`{"$or":[{"prefix":["x"]},{"b":["y"]}]}`, "$or[0].prefix", "reserved word"},
		"reserved name deep inside $or": {`{"$or":[{"a":{"numeric":["x"]}},{"b":["y"]}]}`, "$or[0].a.numeric", "reserved word"},
		"odd key is quoted in path":     {`{"a.b":{"":[]}}`, `["a.b"][""]`, "empty arrays"},
		"error in second field":         {`{"a":["x"],"b":[{"exists":1}]}`, "b[0].exists", "true or false"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := Compile([]byte(tc.pattern))
			require.Nil(t, p)
			var perr *Error
			require.True(t, errors.As(err, &perr), "want *Error, got %T: %v", err, err)
			require.Equal(t, tc.wantPath, perr.Path, "path; error: %v", err)
			require.Contains(t, perr.Reason, tc.wantReason)
			require.Contains(t, err.Error(), tc.wantPath)
		})
	}
}

func TestCompileValid(t *testing.T) {
	t.Parallel()
	// Patterns EventBridge accepts, some at the edges of the grammar.
	for name, pattern := range map[string]string{
		"reserved names are fine outside $or": `{"prefix":["x"],"numeric":{"exists":["y"]}}`,
		"numeric at the limits":               `{"a":[{"numeric":[">=",-5e9,"<=",5e9]}]}`,
		"numeric equals":                      `{"a":[{"numeric":["=",0]}]}`,
		"empty prefix":                        `{"a":[{"prefix":""}]}`,
		"empty wildcard":                      `{"a":[{"wildcard":""}]}`,
		"exact numbers beyond the range":      `{"account":[123456789012]}`,
		"anything-but number":                 `{"a":[{"anything-but":-1.5}]}`,
		"anything-but single wildcard":        `{"a":[{"anything-but":{"wildcard":"x*"}}]}`,
		"ipv6 cidr":                           `{"a":[{"cidr":"::/0"}]}`,
		"$or of many branches":                `{"$or":[{"a":["1"]},{"b":["2"]},{"c":["3"]},{"d":{"$or":[{"e":[1]},{"f":[2]}]}}]}`,
		"whitespace everywhere":               " {\n \"a\" : [ \"x\" ] \n} \n",
		"unicode keys":                        `{"clé":["valeur"]}`,
		"repeated alternatives":               `{"a":["x","x",1,1,null,null]}`,
		"exists both ways":                    `{"a":[{"exists":true},{"exists":false}]}`,
	} {
		_, err := Compile([]byte(pattern))
		require.NoError(t, err, name)
	}
}

func TestMustCompilePanics(t *testing.T) {
	t.Parallel()
	require.Panics(t, func() { MustCompile(`{"a":"x"}`) })
	require.NotPanics(t, func() { MustCompile(`{"a":["x"]}`) })
}

func TestErrorMessage(t *testing.T) {
	t.Parallel()
	_, err := Compile([]byte(`{"detail":{"status":[{"prefix":5}]}}`))
	require.EqualError(t, err, `invalid event pattern at detail.status[0].prefix: prefix must be a string or {"equals-ignore-case": string}`)
	_, err = Compile([]byte(`[]`))
	require.EqualError(t, err, "invalid event pattern: the pattern must be a JSON object, not an array")
}
