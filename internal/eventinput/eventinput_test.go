package eventinput

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/require"

	"github.com/gantrybatch/gantry"
)

// ec2Event is the example event of the EventBridge guide.
const ec2Event = `{"version":"0","id":"7bf73129-1428-4cd3-a780-95db273d1602",` +
	`"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2",` +
	`"account":"123456789012","time":"2015-11-11T21:29:54Z","region":"us-east-1",` +
	`"resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],` +
	`"detail":{"instance-id":"i-0123456789","state":"RUNNING","count":3,"tags":{"a":"<b>"},"quote":"say \"hi\""}}`

var testCtx = Context{RuleName: "example", RuleArn: "arn:aws:events:us-east-2:123456789012:rule/example"}

var paths = map[string]string{
	"timestamp": "$.time",
	"instance":  "$.detail.instance-id",
	"state":     "$.detail.state",
	"resource":  "$.resources[0]",
	"count":     "$.detail.count",
	"tags":      "$.detail.tags",
	"quote":     "$.detail.quote",
	"missing":   "$.detail.nope",
}

func TestTransform(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		tmpl string
		want string
	}{
		"simple string": {
			tmpl: `"instance <instance> is in <state>"`,
			want: `"instance i-0123456789 is in RUNNING"`,
		},
		"string with escaped quotes": {
			tmpl: `"instance \"<instance>\" is in <state>"`,
			want: `"instance \"i-0123456789\" is in RUNNING"`,
		},
		"simple JSON": {
			tmpl: `{"instance" : <instance>, "state": <state>}`,
			want: `{"instance" : "i-0123456789", "state": "RUNNING"}`,
		},
		"JSON with strings and variables": {
			tmpl: `{"instance": <instance>, "state": "<state>", "instanceStatus": "instance \"<instance>\" is in <state>"}`,
			want: `{"instance": "i-0123456789", "state": "RUNNING", "instanceStatus": "instance \"i-0123456789\" is in RUNNING"}`,
		},
		"mix of variables and static values": {
			tmpl: `{"instance": <instance>, "state": [9, <state>, true], "Transformed": "Yes"}`,
			want: `{"instance": "i-0123456789", "state": [9, "RUNNING", true], "Transformed": "Yes"}`,
		},
		"reserved variables in JSON": {
			tmpl: `{"ruleArn": <aws.events.rule-arn>, "ruleName": <aws.events.rule-name>, "t": <aws.events.event.ingestion-time>}`,
			want: `{"ruleArn": "arn:aws:events:us-east-2:123456789012:rule/example", "ruleName": "example", "t": "2015-11-11T21:29:54Z"}`,
		},
		"reserved variable in a string": {
			tmpl: `"<aws.events.rule-name> triggered"`,
			want: `"example triggered"`,
		},
		"plain text template": {
			tmpl: `<instance> is in state <state>`,
			want: `i-0123456789 is in state RUNNING`,
		},
		"plain text keeps quotes raw": {
			tmpl: `Instance <instance> says <quote> (<count>) <tags>`,
			want: `Instance i-0123456789 says say "hi" (3) {"a":"<b>"}`,
		},
		"numbers and objects outside quotes": {
			tmpl: `{"n": <count>, "tags": <tags>, "r": <resource>}`,
			want: `{"n": 3, "tags": {"a":"<b>"}, "r": "arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"}`,
		},
		"values escaped inside strings": {
			tmpl: `{"msg": "<quote> / <tags> / <count>"}`,
			want: `{"msg": "say \"hi\" / {\"a\":\"<b>\"} / 3"}`,
		},
		"missing outside quotes is null": {
			tmpl: `{"m": <missing>, "s": "[<missing>]"}`,
			want: `{"m": null, "s": "[]"}`,
		},
		"missing in plain text is empty": {
			tmpl: `value: <missing>!`,
			want: `value: !`,
		},
		"unknown placeholder left as-is": {
			tmpl: `{"a": "<unknown> <state>"}`,
			want: `{"a": "<unknown> RUNNING"}`,
		},
		"single placeholder": {
			tmpl: `<count>`,
			want: `3`,
		},
		"event without detail": {
			tmpl: `{"e": <aws.events.event>}`,
			want: `{"e": {"version":"0","id":"7bf73129-1428-4cd3-a780-95db273d1602","detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","account":"123456789012","time":"2015-11-11T21:29:54Z","region":"us-east-1","resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"]}}`,
		},
		"whole event": {
			tmpl: `<aws.events.event.json>`,
			want: ec2Event,
		},
		"escaped backslash before a quote ends the string": {
			tmpl: `{"a": "x\\", "b": <state>}`,
			want: `{"a": "x\\", "b": "RUNNING"}`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := Transform(&gantry.InputTransformer{InputPathsMap: paths, InputTemplate: tc.tmpl}, []byte(ec2Event), testCtx)
			require.NoError(t, err)
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRender(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		target  gantry.Target
		want    string
		wantErr bool
	}{
		"default is the event":  {want: ec2Event},
		"constant input":        {target: gantry.Target{Input: `{"k":"v"}`}, want: `{"k":"v"}`},
		"input path detail":     {target: gantry.Target{InputPath: "$.detail.tags"}, want: `{"a":"<b>"}`},
		"input path whole":      {target: gantry.Target{InputPath: "$"}, want: ec2Event},
		"input path missing":    {target: gantry.Target{InputPath: "$.nope.deeper"}, want: `null`},
		"input path bracket":    {target: gantry.Target{InputPath: "$['detail-type']"}, want: `"EC2 Instance State-change Notification"`},
		"input path bad":        {target: gantry.Target{InputPath: "detail"}, wantErr: true},
		"transformer bad path":  {target: gantry.Target{InputTransformer: &gantry.InputTransformer{InputPathsMap: map[string]string{"a": "$..a"}, InputTemplate: "<a>"}}, wantErr: true},
		"transformer no vars":   {target: gantry.Target{InputTransformer: &gantry.InputTransformer{InputTemplate: `"static"`}}, want: `"static"`},
		"input wins over path":  {target: gantry.Target{Input: `1`, InputPath: "$.detail"}, want: `1`},
		"wildcard over members": {target: gantry.Target{InputPath: "$.detail.tags.*"}, want: `["<b>"]`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := Render(&tc.target, []byte(ec2Event), testCtx)
			if tc.wantErr {
				require.Error(t, err)
				require.True(t, IsError(err), "want an input error, got %v", err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, string(got))
		})
	}
}

func TestParsePathSelect(t *testing.T) {
	t.Parallel()
	doc := `{"a":{"b":[10,{"c":"x"},30],"d-e":true,"f/g":"slash","h.i":"dot"},"arr":[[1,2],[3]]}`
	tests := map[string]struct {
		path    string
		want    string
		wantErr bool
	}{
		"root":             {path: "$", want: doc},
		"member":           {path: "$.a.d-e", want: `true`},
		"slash name":       {path: "$.a.f/g", want: `"slash"`},
		"quoted dot name":  {path: `$.a["h.i"]`, want: `"dot"`},
		"single quoted":    {path: `$['a']['d-e']`, want: `true`},
		"index":            {path: "$.a.b[1].c", want: `"x"`},
		"negative index":   {path: "$.a.b[-1]", want: `30`},
		"out of range":     {path: "$.a.b[7]", want: `null`},
		"index on object":  {path: "$.a[0]", want: `null`},
		"member on array":  {path: "$.a.b.c", want: `null`},
		"wildcard index":   {path: "$.arr[*][0]", want: `[1,3]`},
		"wildcard nothing": {path: "$.a.b[*].zz", want: `null`},
		"no dollar":        {path: "a.b", wantErr: true},
		"recursive":        {path: "$..b", wantErr: true},
		"empty member":     {path: "$.", wantErr: true},
		"bad index":        {path: "$.a[x]", wantErr: true},
		"unterminated":     {path: "$.a['b", wantErr: true},
		"junk":             {path: "$a", wantErr: true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := Select([]byte(doc), tc.path)
			if tc.wantErr {
				var pe *PathError
				require.ErrorAs(t, err, &pe)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, string(got))
		})
	}
}

func TestDecodeKeepsOrderAndNumbers(t *testing.T) {
	t.Parallel()
	in := `{"z":1,"a":12345678901234567890,"m":[1.50,"é<&>"],"u":"\u2028"}`
	v, err := decode([]byte(in))
	require.NoError(t, err)
	require.Equal(t, `{"z":1,"a":12345678901234567890,"m":[1.50,"é<&>"],"u":"\u2028"}`, string(appendJSON(nil, v)))
	c, err := Compact([]byte(" {\"b\" : \"\\u003cx\\u003e\\n\\u0001\", \"a\": [ 1 , 2.0e3 ] } "))
	require.NoError(t, err)
	require.Equal(t, `{"b":"<x>\n\u0001","a":[1,2.0e3]}`, string(c))
	_, err = decode([]byte(`{"a":1} x`))
	require.Error(t, err)
	_, err = decode([]byte(`{"a":`))
	require.Error(t, err)
}

// FuzzTransform checks that any template over any event renders without
// panicking, deterministically, and that a template that is JSON (with its
// placeholders filled by JSON values) yields JSON.
func FuzzTransform(f *testing.F) {
	f.Add(`{"a": <state>, "b": "x <state> \" <count>"}`, ec2Event, "$.detail.state")
	f.Add(`<state> is "<count>"`, `{"detail":{"state":"a\"b"}}`, "$.detail")
	f.Add(`"\\<state>\\"`, `[1,2]`, "$[0]")
	f.Add(`<aws.events.event>`, `{"detail":1,"x":[{}]}`, "$.x[*]")
	f.Fuzz(func(t *testing.T, tmpl, event, path string) {
		tr := &gantry.InputTransformer{
			InputPathsMap: map[string]string{"state": path, "count": "$.detail.count"},
			InputTemplate: tmpl,
		}
		got, err := Transform(tr, []byte(event), testCtx)
		if err != nil {
			require.True(t, IsError(err))
			return
		}
		again, err := Transform(tr, []byte(event), testCtx)
		require.NoError(t, err)
		require.Equal(t, got, again)
		if json.Valid([]byte(tmpl)) {
			// A JSON template without placeholders is delivered unchanged.
			segs := parseTemplate(tmpl, map[string]bool{"state": true, "count": true})
			if len(segs) == 1 && segs[0].name == "" {
				require.Equal(t, tmpl, string(got))
			}
		}
		if c, err := Compact([]byte(event)); err == nil {
			require.True(t, json.Valid(c), "Compact output %q is not JSON", c)
			again, err := Compact(c)
			require.NoError(t, err)
			require.Equal(t, c, again)
		}
		if sel, err := Select([]byte(event), path); err == nil {
			require.True(t, json.Valid(sel), "Select output %q is not JSON", sel)
		}
	})
}
