package logsapi

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPatternMatch(t *testing.T) {
	t.Parallel()
	const (
		errLine  = "2024-01-01 ERROR timeout talking to db-1"
		warnLine = "2024-01-01 WARN retrying in 5s"
		infoLine = "2024-01-01 INFO all good"
		jsonLine = `{"level":"error","latency":12.5,"user":{"id":7,"name":"ann"},"tags":["a","b"],"ok":true,"gone":null,"code":"E42"}`
	)
	msgs := []string{errLine, warnLine, infoLine, jsonLine}
	// Each case lists which of msgs match.
	tests := map[string]struct {
		pattern string
		want    []string
	}{
		"empty matches all":           {"", msgs},
		"blank matches all":           {"   ", msgs},
		"one term":                    {"ERROR", []string{errLine}},
		"terms are case-sensitive":    {"error", []string{jsonLine}},
		"substring":                   {"retry", []string{warnLine}},
		"AND":                         {"2024 timeout", []string{errLine}},
		"AND fails on one":            {"ERROR good", nil},
		"quoted phrase":               {`"all good"`, []string{infoLine}},
		"quoted phrase is exact":      {`"good all"`, nil},
		"quoted special characters":   {`"db-1"`, []string{errLine}},
		"escaped quote":               {`"\"level\""`, []string{jsonLine}},
		"OR":                          {"?ERROR ?WARN", []string{errLine, warnLine}},
		"OR with quoted":              {`?"all good" ?timeout`, []string{errLine, infoLine}},
		"OR none":                     {"?FATAL ?PANIC", nil},
		"exclude":                     {"2024 -ERROR", []string{warnLine, infoLine}},
		"exclude quoted":              {`2024 -"all good"`, []string{errLine, warnLine}},
		"exclude only":                {"-2024", []string{jsonLine}},
		"AND with OR":                 {"2024 ?ERROR ?INFO", []string{errLine, infoLine}},
		"regex":                       {`%db-[0-9]%`, []string{errLine}},
		"regex alternatives":          {`%WARN|INFO%`, []string{warnLine, infoLine}},
		"json string equal":           {`{ $.level = "error" }`, []string{jsonLine}},
		"json string bare":            {`{$.level=error}`, []string{jsonLine}},
		"json string not equal":       {`{ $.level != "info" }`, []string{jsonLine}},
		"json string mismatch":        {`{ $.level = "info" }`, nil},
		"json wildcard":               {`{ $.code = "E*" }`, []string{jsonLine}},
		"json wildcard miss":          {`{ $.code = "X*" }`, nil},
		"json nested":                 {`{ $.user.name = "ann" }`, []string{jsonLine}},
		"json number equal":           {`{ $.user.id = 7 }`, []string{jsonLine}},
		"json number greater":         {`{ $.latency > 3 }`, []string{jsonLine}},
		"json number not greater":     {`{ $.latency > 13 }`, nil},
		"json number <=":              {`{ $.latency <= 12.5 }`, []string{jsonLine}},
		"json number !=":              {`{ $.user.id != 8 }`, []string{jsonLine}},
		"json number vs string field": {`{ $.level > 3 }`, nil},
		"json array index":            {`{ $.tags[1] = "b" }`, []string{jsonLine}},
		"json array out of range":     {`{ $.tags[5] = "b" }`, nil},
		"json missing is false":       {`{ $.nope = "x" }`, nil},
		"json missing != is false":    {`{ $.nope != "x" }`, nil},
		"json and":                    {`{ $.level = "error" && $.latency > 10 }`, []string{jsonLine}},
		"json and fails":              {`{ $.level = "error" && $.latency > 20 }`, nil},
		"json or":                     {`{ $.level = "info" || $.user.id = 7 }`, []string{jsonLine}},
		"json parentheses":            {`{ ($.level = "info" || $.level = "error") && $.ok IS TRUE }`, []string{jsonLine}},
		"json && binds tighter":       {`{ $.level = "info" && $.ok IS TRUE || $.user.id = 7 }`, []string{jsonLine}},
		"json IS NULL":                {`{ $.gone IS NULL }`, []string{jsonLine}},
		"json IS FALSE":               {`{ $.ok IS FALSE }`, nil},
		"json NOT EXISTS":             {`{ $.nope NOT EXISTS }`, []string{jsonLine}},
		"json exists is not missing":  {`{ $.level NOT EXISTS }`, nil},
		"json number as string":       {`{ $.user.id = "7" }`, []string{jsonLine}},
		"json negative number":        {`{ $.latency > -1 }`, []string{jsonLine}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := parsePattern(tc.pattern)
			if err != nil {
				t.Fatalf("parsePattern(%q): %v", tc.pattern, err)
			}
			var got []string
			for _, m := range msgs {
				if p.match(m) {
					got = append(got, m)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("pattern %q matches (-want +got):\n%s", tc.pattern, diff)
			}
		})
	}
}

func TestPatternNonJSONMessages(t *testing.T) {
	t.Parallel()
	p, err := parsePattern(`{ $.a = 1 }`)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"", "plain text", `["a"]`, `{"a": 1`, `{"a": "1"`} {
		if p.match(m) {
			t.Errorf("%q matched a JSON pattern", m)
		}
	}
	if !p.match(`  {"a": 1}  `) {
		t.Error("a JSON message with spaces around did not match")
	}
}

func TestPatternErrors(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		pattern string
		wantErr string
	}{
		"unterminated quote":    {`"abc`, "unterminated"},
		"lone ?":                {`? ERROR`, "followed by a term"},
		"lone -":                {`ERROR -`, "followed by a term"},
		"unterminated regex":    {`%abc`, "unterminated"},
		"bad regex":             {`%a(%`, "regular expression"},
		"quote inside term":     {`ab"c"`, "invalid character"},
		"space-delimited":       {`[ip, user]`, "not supported"},
		"json unclosed":         {`{ $.a = 1`, "end with }"},
		"json no selector":      {`{ a = 1 }`, "selector"},
		"json no property":      {`{ $ = 1 }`, "property"},
		"json no operator":      {`{ $.a 1 }`, "operator"},
		"json no value":         {`{ $.a = }`, "value"},
		"json string with <":    {`{ $.a < "x" }`, "needs a number"},
		"json bad IS":           {`{ $.a IS MAYBE }`, "IS must be"},
		"json bad NOT":          {`{ $.a NOT THERE }`, "EXISTS"},
		"json unbalanced paren": {`{ ($.a = 1 }`, ")"},
		"json trailing":         {`{ $.a = 1 $.b = 2 }`, "unexpected"},
		"json bad index":        {`{ $.a[x] = 1 }`, "index"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := parsePattern(tc.pattern)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parsePattern(%q) error = %v, want one containing %q", tc.pattern, err, tc.wantErr)
			}
		})
	}
}
