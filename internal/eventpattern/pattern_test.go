package eventpattern

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// matchCase is one pattern tested against one event; the map key of each
// table states the intent.
type matchCase struct {
	pattern string
	event   string
	want    bool
}

func runMatchCases(t *testing.T, tests map[string]matchCase) {
	t.Helper()
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p, err := Compile([]byte(tc.pattern))
			require.NoError(t, err)
			got, err := p.Match([]byte(tc.event))
			require.NoError(t, err)
			require.Equal(t, tc.want, got, "pattern %s\nevent   %s", tc.pattern, tc.event)

			// The decoded path, json.Number decoding, and a one-pattern Set
			// must all agree with Match.
			var v any
			require.NoError(t, json.Unmarshal([]byte(tc.event), &v))
			require.Equal(t, tc.want, p.MatchValue(v), "MatchValue")
			require.Equal(t, tc.want, p.MatchValue(decodeUseNumber(t, tc.event)), "MatchValue with json.Number")
			var s Set
			s.Put("r", p)
			require.Equal(t, tc.want, len(s.MatchValue(v)) == 1, "Set")
		})
	}
}

func TestMatchStructure(t *testing.T) {
	t.Parallel()
	runMatchCases(t, map[string]matchCase{
		"exact string":                           {`{"a":["x"]}`, `{"a":"x"}`, true},
		"exact string mismatch":                  {`{"a":["x"]}`, `{"a":"y"}`, false},
		"exact is case-sensitive":                {`{"a":["x"]}`, `{"a":"X"}`, false},
		"alternatives are OR":                    {`{"a":["x","y"]}`, `{"a":"y"}`, true},
		"fields are AND, all match":              {`{"a":["x"],"b":["y"]}`, `{"a":"x","b":"y"}`, true},
		"fields are AND, one fails":              {`{"a":["x"],"b":["y"]}`, `{"a":"x","b":"z"}`, false},
		"unnamed event fields are ignored":       {`{"a":["x"]}`, `{"a":"x","b":1,"c":{"d":[]}}`, true},
		"missing field fails":                    {`{"a":["x"]}`, `{"b":"x"}`, false},
		"nested object":                          {`{"d":{"s":["on"]}}`, `{"d":{"s":"on","t":1}}`, true},
		"nested object mismatch":                 {`{"d":{"s":["on"]}}`, `{"d":{"s":"off"}}`, false},
		"nested object missing parent":           {`{"d":{"s":["on"]}}`, `{"s":"on"}`, false},
		"nested pattern, scalar in event":        {`{"d":{"s":["on"]}}`, `{"d":"on"}`, false},
		"leaf pattern, object in event":          {`{"d":["on"]}`, `{"d":{"on":"on"}}`, false},
		"deep nesting":                           {`{"a":{"b":{"c":{"d":[1]}}}}`, `{"a":{"b":{"c":{"d":1}}}}`, true},
		"key with dot is not a path":             {`{"a.b":["x"]}`, `{"a":{"b":"x"}}`, false},
		"key with dot matches itself":            {`{"a.b":["x"]}`, `{"a.b":"x"}`, true},
		"unicode strings compare exactly":        {`{"a":["caf\u00e9"]}`, `{"a":"café"}`, true},
		"many alternatives use the map":          {`{"a":["1","2","3","4","5","6","7","8","9"]}`, `{"a":"9"}`, true},
		"many alternatives miss":                 {`{"a":["1","2","3","4","5","6","7","8","9"]}`, `{"a":"10"}`, false},
		"non-object event has no fields":         {`{"a":["x"]}`, `"x"`, false},
		"non-object event satisfies absence":     {`{"a":[{"exists":false}]}`, `[1,2]`, true},
		"top-level event array of objects":       {`{"a":["x"]}`, `[{"a":"y"},{"a":"x"}]`, true},
		"pattern string vs event number":         {`{"a":["5"]}`, `{"a":5}`, false},
		"pattern number vs event string":         {`{"a":[5]}`, `{"a":"5"}`, false},
		"numbers compare numerically":            {`{"a":[5]}`, `{"a":5.0}`, true},
		"numbers compare numerically (exponent)": {`{"a":[300]}`, `{"a":3e2}`, true},
		"negative zero equals zero":              {`{"a":[0]}`, `{"a":-0}`, true},
		"number mismatch":                        {`{"a":[5]}`, `{"a":5.5}`, false},
		"large exact numbers":                    {`{"a":[123456789012]}`, `{"a":123456789012}`, true},
		"true matches true":                      {`{"a":[true]}`, `{"a":true}`, true},
		"true does not match string":             {`{"a":[true]}`, `{"a":"true"}`, false},
		"false does not match null":              {`{"a":[false]}`, `{"a":null}`, false},
		"false matches false":                    {`{"a":[false]}`, `{"a":false}`, true},
		"mixed-type alternatives":                {`{"a":["x",5,true,null]}`, `{"a":true}`, true},
	})
}

func TestMatchNullAndEmpty(t *testing.T) {
	t.Parallel()
	runMatchCases(t, map[string]matchCase{
		"null matches null":               {`{"a":[null]}`, `{"a":null}`, true},
		"null does not match missing":     {`{"a":[null]}`, `{"b":1}`, false},
		"null does not match empty":       {`{"a":[null]}`, `{"a":""}`, false},
		"null does not match string null": {`{"a":[null]}`, `{"a":"null"}`, false},
		"empty matches empty":             {`{"a":[""]}`, `{"a":""}`, true},
		"empty does not match null":       {`{"a":[""]}`, `{"a":null}`, false},
		"empty does not match missing":    {`{"a":[""]}`, `{}`, false},
		"null inside event array":         {`{"a":[null]}`, `{"a":["x",null]}`, true},
		"null does not match empty array": {`{"a":[null]}`, `{"a":[]}`, false},
	})
}

func TestMatchArrays(t *testing.T) {
	t.Parallel()
	runMatchCases(t, map[string]matchCase{
		"event array intersects":                  {`{"r":["b"]}`, `{"r":["a","b"]}`, true},
		"event array disjoint":                    {`{"r":["c"]}`, `{"r":["a","b"]}`, false},
		"both arrays intersect":                   {`{"r":["c","a"]}`, `{"r":["a","b"]}`, true},
		"empty event array matches nothing":       {`{"r":["a"]}`, `{"r":[]}`, false},
		"nested event arrays are flattened":       {`{"r":["c"]}`, `{"r":[["a"],["b",["c"]]]}`, true},
		"array of objects, leaf inside":           {`{"e":{"n":["Anna"]}}`, `{"e":[{"n":"John"},{"n":"Anna"}]}`, true},
		"array of objects, no element matches":    {`{"e":{"n":["Zoe"]}}`, `{"e":[{"n":"John"},{"n":"Anna"}]}`, false},
		"array consistency: same element":         {`{"e":{"f":["Anna"],"l":["Smith"]}}`, `{"e":[{"f":"John","l":"Doe"},{"f":"Anna","l":"Smith"}]}`, true},
		"array consistency: different elements":   {`{"e":{"f":["Anna"],"l":["Doe"]}}`, `{"e":[{"f":"John","l":"Doe"},{"f":"Anna","l":"Smith"}]}`, false},
		"multi-level arrays of objects":           {`{"e":{"f":["Peter"]}}`, `{"e":[[{"f":"John"}],[{"f":"Peter"}]]}`, true},
		"array of objects with numbers":           {`{"a":{"b":[{"numeric":[">",10]}]}}`, `{"a":[{"b":1},{"b":11}]}`, true},
		"objects inside a leaf array are skipped": {`{"a":["x"]}`, `{"a":[{"x":"x"},"x"]}`, true},
		"mixed array: scalars and objects":        {`{"a":{"b":["x"]}}`, `{"a":["b",{"b":"x"}]}`, true},
		"anything-but with any element outside":   {`{"a":[{"anything-but":"x"}]}`, `{"a":["x","y"]}`, true},
		"anything-but with every element inside":  {`{"a":[{"anything-but":["x","y"]}]}`, `{"a":["x","y"]}`, false},
		"numeric on array of numbers":             {`{"a":[{"numeric":[">",2]}]}`, `{"a":[1,2,3]}`, true},
	})
}

func TestMatchExists(t *testing.T) {
	t.Parallel()
	runMatchCases(t, map[string]matchCase{
		"exists true, string":                    {`{"a":[{"exists":true}]}`, `{"a":"x"}`, true},
		"exists true, number":                    {`{"a":[{"exists":true}]}`, `{"a":0}`, true},
		"exists true, false":                     {`{"a":[{"exists":true}]}`, `{"a":false}`, true},
		"exists true, null":                      {`{"a":[{"exists":true}]}`, `{"a":null}`, true},
		"exists true, empty string":              {`{"a":[{"exists":true}]}`, `{"a":""}`, true},
		"exists true, missing":                   {`{"a":[{"exists":true}]}`, `{"b":1}`, false},
		"exists true, object is not a leaf":      {`{"a":[{"exists":true}]}`, `{"a":{"b":1}}`, false},
		"exists true, array with values":         {`{"a":[{"exists":true}]}`, `{"a":[1]}`, true},
		"exists true, empty array":               {`{"a":[{"exists":true}]}`, `{"a":[]}`, false},
		"exists false, missing":                  {`{"a":[{"exists":false}]}`, `{"b":1}`, true},
		"exists false, present":                  {`{"a":[{"exists":false}]}`, `{"a":"x"}`, false},
		"exists false, null is present":          {`{"a":[{"exists":false}]}`, `{"a":null}`, false},
		"exists false, object is not a leaf":     {`{"a":[{"exists":false}]}`, `{"a":{"b":1}}`, true},
		"exists false, empty array":              {`{"a":[{"exists":false}]}`, `{"a":[]}`, true},
		"exists false, array of values":          {`{"a":[{"exists":false}]}`, `{"a":["x"]}`, false},
		"exists false, array of objects only":    {`{"a":[{"exists":false}]}`, `{"a":[{"b":1}]}`, true},
		"exists false under missing parent":      {`{"d":{"c":[{"exists":false}]}}`, `{"x":1}`, true},
		"exists false under scalar parent":       {`{"d":{"c":[{"exists":false}]}}`, `{"d":"s"}`, true},
		"exists false under empty parent array":  {`{"d":{"c":[{"exists":false}]}}`, `{"d":[]}`, true},
		"exists false in one element of array":   {`{"d":{"c":[{"exists":false}]}}`, `{"d":[{"c":1},{"e":2}]}`, true},
		"exists false, array element has it":     {`{"d":{"c":[{"exists":false}]}}`, `{"d":[{"c":1}]}`, false},
		"exists false with sibling requirement":  {`{"d":{"c":[{"exists":false}],"s":["x"]}}`, `{"d":{"s":"x"}}`, true},
		"exists false sibling fails when absent": {`{"d":{"c":[{"exists":false}],"s":["x"]}}`, `{}`, false},
		"exists false or a value":                {`{"a":[{"exists":false},"x"]}`, `{"a":"x"}`, true},
		"exists false or a value, other value":   {`{"a":[{"exists":false},"x"]}`, `{"a":"y"}`, false},
		"exists true and false match anything":   {`{"a":[{"exists":true},{"exists":false}]}`, `{}`, true},
	})
}

func TestMatchStringOperators(t *testing.T) {
	t.Parallel()
	runMatchCases(t, map[string]matchCase{
		"prefix":                              {`{"a":[{"prefix":"us-"}]}`, `{"a":"us-east-1"}`, true},
		"prefix mismatch":                     {`{"a":[{"prefix":"us-"}]}`, `{"a":"eu-west-1"}`, false},
		"prefix is case-sensitive":            {`{"a":[{"prefix":"us-"}]}`, `{"a":"US-east-1"}`, false},
		"prefix on number":                    {`{"a":[{"prefix":"1"}]}`, `{"a":123}`, false},
		"prefix equal to value":               {`{"a":[{"prefix":"abc"}]}`, `{"a":"abc"}`, true},
		"prefix longer than value":            {`{"a":[{"prefix":"abcd"}]}`, `{"a":"abc"}`, false},
		"empty prefix matches any string":     {`{"a":[{"prefix":""}]}`, `{"a":"x"}`, true},
		"empty prefix does not match null":    {`{"a":[{"prefix":""}]}`, `{"a":null}`, false},
		"prefix ignore case":                  {`{"a":[{"prefix":{"equals-ignore-case":"EventB"}}]}`, `{"a":"eventbridge"}`, true},
		"prefix ignore case mismatch":         {`{"a":[{"prefix":{"equals-ignore-case":"EventB"}}]}`, `{"a":"event"}`, false},
		"prefix ignore case unicode":          {`{"a":[{"prefix":{"equals-ignore-case":"ÉT"}}]}`, `{"a":"été"}`, true},
		"prefix ignore case kelvin sign":      {`{"a":[{"prefix":{"equals-ignore-case":"k"}}]}`, `{"a":"\u212a1"}`, true},
		"suffix":                              {`{"a":[{"suffix":".png"}]}`, `{"a":"img.png"}`, true},
		"suffix mismatch":                     {`{"a":[{"suffix":".png"}]}`, `{"a":"img.PNG"}`, false},
		"suffix on number":                    {`{"a":[{"suffix":"5"}]}`, `{"a":5}`, false},
		"suffix ignore case":                  {`{"a":[{"suffix":{"equals-ignore-case":".PNG"}}]}`, `{"a":"img.png"}`, true},
		"suffix ignore case too long":         {`{"a":[{"suffix":{"equals-ignore-case":"xIMG.PNG"}}]}`, `{"a":"img.png"}`, false},
		"equals-ignore-case":                  {`{"a":[{"equals-ignore-case":"alice"}]}`, `{"a":"ALICE"}`, true},
		"equals-ignore-case mismatch":         {`{"a":[{"equals-ignore-case":"alice"}]}`, `{"a":"alicia"}`, false},
		"equals-ignore-case on bool":          {`{"a":[{"equals-ignore-case":"true"}]}`, `{"a":true}`, false},
		"wildcard":                            {`{"a":[{"wildcard":"dir/*.png"}]}`, `{"a":"dir/a/b.png"}`, true},
		"wildcard mismatch":                   {`{"a":[{"wildcard":"dir/*.png"}]}`, `{"a":"dir/a.jpg"}`, false},
		"wildcard star matches empty":         {`{"a":[{"wildcard":"dir/*.png"}]}`, `{"a":"dir/.png"}`, true},
		"wildcard anchors do not overlap":     {`{"a":[{"wildcard":"ab*ba"}]}`, `{"a":"aba"}`, false},
		"wildcard several stars":              {`{"a":[{"wildcard":"*a*b*c*"}]}`, `{"a":"xxaxxbxxcxx"}`, true},
		"wildcard several stars out of order": {`{"a":[{"wildcard":"*a*b*c*"}]}`, `{"a":"cba"}`, false},
		"wildcard segments may abut":          {`{"a":[{"wildcard":"*ab*abc"}]}`, `{"a":"ababc"}`, true},
		"wildcard segments may not overlap":   {`{"a":[{"wildcard":"*ab*abc"}]}`, `{"a":"abc"}`, false},
		"wildcard middle after prefix":        {`{"a":[{"wildcard":"a*b*c"}]}`, `{"a":"abbc"}`, true},
		"wildcard lone star":                  {`{"a":[{"wildcard":"*"}]}`, `{"a":""}`, true},
		"wildcard lone star on number":        {`{"a":[{"wildcard":"*"}]}`, `{"a":1}`, false},
		"wildcard without star is exact":      {`{"a":[{"wildcard":"abc"}]}`, `{"a":"abc"}`, true},
		"wildcard escaped star is literal":    {`{"a":[{"wildcard":"a\\*b"}]}`, `{"a":"a*b"}`, true},
		"wildcard escaped star not a star":    {`{"a":[{"wildcard":"a\\*b"}]}`, `{"a":"axb"}`, false},
		"wildcard escaped backslash":          {`{"a":[{"wildcard":"a\\\\*"}]}`, `{"a":"a\\bc"}`, true},
		"wildcard is case-sensitive":          {`{"a":[{"wildcard":"A*"}]}`, `{"a":"abc"}`, false},
	})
}

func TestMatchAnythingBut(t *testing.T) {
	t.Parallel()
	runMatchCases(t, map[string]matchCase{
		"string, other value":                   {`{"a":[{"anything-but":"x"}]}`, `{"a":"y"}`, true},
		"string, same value":                    {`{"a":[{"anything-but":"x"}]}`, `{"a":"x"}`, false},
		"string, missing field":                 {`{"a":[{"anything-but":"x"}]}`, `{}`, false},
		"string, number of another type":        {`{"a":[{"anything-but":"5"}]}`, `{"a":5}`, true},
		"string, null":                          {`{"a":[{"anything-but":"x"}]}`, `{"a":null}`, true},
		"string, bool":                          {`{"a":[{"anything-but":"true"}]}`, `{"a":true}`, true},
		"string, object is not a leaf":          {`{"a":[{"anything-but":"x"}]}`, `{"a":{"b":"y"}}`, false},
		"string list":                           {`{"a":[{"anything-but":["x","y"]}]}`, `{"a":"y"}`, false},
		"string list, outside":                  {`{"a":[{"anything-but":["x","y"]}]}`, `{"a":"z"}`, true},
		"string is case-sensitive":              {`{"a":[{"anything-but":"x"}]}`, `{"a":"X"}`, true},
		"number":                                {`{"a":[{"anything-but":123}]}`, `{"a":123.0}`, false},
		"number, other value":                   {`{"a":[{"anything-but":123}]}`, `{"a":124}`, true},
		"number, string of the number":          {`{"a":[{"anything-but":123}]}`, `{"a":"123"}`, true},
		"number list":                           {`{"a":[{"anything-but":[100,200,300]}]}`, `{"a":200}`, false},
		"number list, outside":                  {`{"a":[{"anything-but":[100,200,300]}]}`, `{"a":250}`, true},
		"prefix":                                {`{"a":[{"anything-but":{"prefix":"init"}}]}`, `{"a":"initializing"}`, false},
		"prefix, outside":                       {`{"a":[{"anything-but":{"prefix":"init"}}]}`, `{"a":"running"}`, true},
		"prefix, number":                        {`{"a":[{"anything-but":{"prefix":"1"}}]}`, `{"a":123}`, true},
		"prefix list":                           {`{"a":[{"anything-but":{"prefix":["us-","eu-"]}}]}`, `{"a":"eu-west-1"}`, false},
		"prefix list, outside":                  {`{"a":[{"anything-but":{"prefix":["us-","eu-"]}}]}`, `{"a":"ap-south-1"}`, true},
		"suffix":                                {`{"a":[{"anything-but":{"suffix":".png"}}]}`, `{"a":"a.png"}`, false},
		"suffix, outside":                       {`{"a":[{"anything-but":{"suffix":".png"}}]}`, `{"a":"a.jpg"}`, true},
		"equals-ignore-case":                    {`{"a":[{"anything-but":{"equals-ignore-case":"init"}}]}`, `{"a":"INIT"}`, false},
		"equals-ignore-case, outside":           {`{"a":[{"anything-but":{"equals-ignore-case":"init"}}]}`, `{"a":"INITX"}`, true},
		"equals-ignore-case list":               {`{"a":[{"anything-but":{"equals-ignore-case":["a","B"]}}]}`, `{"a":"b"}`, false},
		"wildcard":                              {`{"a":[{"anything-but":{"wildcard":"*/lib/*"}}]}`, `{"a":"/usr/lib/x"}`, false},
		"wildcard, outside":                     {`{"a":[{"anything-but":{"wildcard":"*/lib/*"}}]}`, `{"a":"/usr/bin/x"}`, true},
		"wildcard list":                         {`{"a":[{"anything-but":{"wildcard":["*.png","*.jpg"]}}]}`, `{"a":"x.jpg"}`, false},
		"or-ed with exact value":                {`{"a":["x",{"anything-but":"x"}]}`, `{"a":"x"}`, true},
		"anything-but and exists:false, absent": {`{"a":[{"anything-but":"x"},{"exists":false}]}`, `{}`, true},
	})
}

func TestMatchNumeric(t *testing.T) {
	t.Parallel()
	runMatchCases(t, map[string]matchCase{
		"range inside":              {`{"a":[{"numeric":[">",0,"<=",5]}]}`, `{"a":5}`, true},
		"range open bottom":         {`{"a":[{"numeric":[">",0,"<=",5]}]}`, `{"a":0}`, false},
		"range closed bottom":       {`{"a":[{"numeric":[">=",0,"<",5]}]}`, `{"a":0}`, true},
		"range open top":            {`{"a":[{"numeric":[">=",0,"<",5]}]}`, `{"a":5}`, false},
		"range fraction":            {`{"a":[{"numeric":[">",0,"<",1]}]}`, `{"a":0.5}`, true},
		"less than":                 {`{"a":[{"numeric":["<",10]}]}`, `{"a":-3}`, true},
		"less than, equal":          {`{"a":[{"numeric":["<",10]}]}`, `{"a":10}`, false},
		"less or equal":             {`{"a":[{"numeric":["<=",10]}]}`, `{"a":10}`, true},
		"greater than":              {`{"a":[{"numeric":[">",10]}]}`, `{"a":10.000001}`, true},
		"greater or equal":          {`{"a":[{"numeric":[">=",10]}]}`, `{"a":9.99}`, false},
		"equals":                    {`{"a":[{"numeric":["=",3.018e2]}]}`, `{"a":301.8}`, true},
		"equals mismatch":           {`{"a":[{"numeric":["=",301.8]}]}`, `{"a":301.9}`, false},
		"string is not a number":    {`{"a":[{"numeric":[">",0]}]}`, `{"a":"5"}`, false},
		"null is not a number":      {`{"a":[{"numeric":["<",1]}]}`, `{"a":null}`, false},
		"missing":                   {`{"a":[{"numeric":[">",0]}]}`, `{}`, false},
		"beyond the range":          {`{"a":[{"numeric":[">",0]}]}`, `{"a":6e9}`, false},
		"at the range limit":        {`{"a":[{"numeric":[">",0]}]}`, `{"a":5e9}`, true},
		"below the range":           {`{"a":[{"numeric":["<",0]}]}`, `{"a":-6e9}`, false},
		"two ranges are OR":         {`{"a":[{"numeric":["<",0]},{"numeric":[">",10]}]}`, `{"a":11}`, true},
		"two ranges, in neither":    {`{"a":[{"numeric":["<",0]},{"numeric":[">",10]}]}`, `{"a":5}`, false},
		"negative bounds":           {`{"a":[{"numeric":[">=",-10,"<=",-5]}]}`, `{"a":-7}`, true},
		"exact number and range OR": {`{"a":[42,{"numeric":["<",0]}]}`, `{"a":42}`, true},
	})
}

func TestMatchCIDR(t *testing.T) {
	t.Parallel()
	runMatchCases(t, map[string]matchCase{
		"ipv4 inside":                    {`{"ip":[{"cidr":"10.0.0.0/24"}]}`, `{"ip":"10.0.0.255"}`, true},
		"ipv4 outside":                   {`{"ip":[{"cidr":"10.0.0.0/24"}]}`, `{"ip":"10.0.1.0"}`, false},
		"ipv4 host bits are ignored":     {`{"ip":[{"cidr":"10.0.0.7/24"}]}`, `{"ip":"10.0.0.1"}`, true},
		"ipv4 /32":                       {`{"ip":[{"cidr":"10.0.0.1/32"}]}`, `{"ip":"10.0.0.1"}`, true},
		"ipv4 /0":                        {`{"ip":[{"cidr":"0.0.0.0/0"}]}`, `{"ip":"192.168.1.1"}`, true},
		"ipv6 inside":                    {`{"ip":[{"cidr":"2001:db8::/32"}]}`, `{"ip":"2001:DB8:1::5"}`, true},
		"ipv6 outside":                   {`{"ip":[{"cidr":"2001:db8::/32"}]}`, `{"ip":"2001:db9::1"}`, false},
		"ipv4 address vs ipv6 block":     {`{"ip":[{"cidr":"2001:db8::/32"}]}`, `{"ip":"10.0.0.1"}`, false},
		"not an address":                 {`{"ip":[{"cidr":"10.0.0.0/8"}]}`, `{"ip":"10.0.0.x"}`, false},
		"number is not an address":       {`{"ip":[{"cidr":"10.0.0.0/8"}]}`, `{"ip":10}`, false},
		"zoned address is not matched":   {`{"ip":[{"cidr":"fe80::/10"}]}`, `{"ip":"fe80::1%eth0"}`, false},
		"exact ip compares as address":   {`{"ip":["2001:db8::1"]}`, `{"ip":"2001:DB8:0:0::1"}`, true},
		"exact ip, different address":    {`{"ip":["2001:db8::1"]}`, `{"ip":"2001:db8::2"}`, false},
		"exact ipv4 still exact":         {`{"ip":["10.0.0.1"]}`, `{"ip":"10.0.0.1"}`, true},
		"exact ip vs non-address string": {`{"ip":["10.0.0.1"]}`, `{"ip":"10.0.0.1 "}`, false},
	})
}

func TestMatchOr(t *testing.T) {
	t.Parallel()
	const batch = `{"source":"aws.batch","detail-type":"Batch Job State Change","detail":{"status":"FAILED","jobQueue":"q1","attempts":3}}`
	runMatchCases(t, map[string]matchCase{
		"first branch": {
			`{"$or":[{"source":["aws.batch"]},{"source":["aws.ec2"]}]}`, batch, true},
		"second branch": {
			`{"$or":[{"source":["aws.ec2"]},{"detail-type":["Batch Job State Change"]}]}`, batch, true},
		"no branch": {
			`{"$or":[{"source":["aws.ec2"]},{"source":["aws.s3"]}]}`, batch, false},
		"AND with sibling field": {
			`{"source":["aws.batch"],"$or":[{"detail":{"status":["FAILED"]}},{"detail":{"status":["SUCCEEDED"]}}]}`, batch, true},
		"sibling field fails": {
			`{"source":["aws.ec2"],"$or":[{"detail":{"status":["FAILED"]}},{"detail":{"status":["SUCCEEDED"]}}]}`, batch, false},
		"inside a nested object": {
			`{"detail":{"$or":[{"status":["RUNNING"]},{"attempts":[{"numeric":[">",2]}]}]}}`, batch, true},
		"branch with AND inside, both hold": {
			`{"$or":[{"source":["x"]},{"source":["aws.batch"],"detail":{"jobQueue":["q1"]}}]}`, batch, true},
		"branch with AND inside, one fails": {
			`{"$or":[{"source":["x"]},{"source":["aws.batch"],"detail":{"jobQueue":["q2"]}}]}`, batch, false},
		"nested $or": {
			`{"$or":[{"source":["x"]},{"detail":{"$or":[{"jobQueue":["q9"]},{"status":[{"prefix":"FAIL"}]}]}}]}`, batch, true},
		"nested $or, all fail": {
			`{"$or":[{"source":["x"]},{"detail":{"$or":[{"jobQueue":["q9"]},{"status":[{"prefix":"RUN"}]}]}}]}`, batch, false},
		"parallel $or at two levels": {
			`{"$or":[{"source":["aws.batch"]},{"source":["x"]}],"detail":{"$or":[{"status":["x"]},{"jobQueue":["q1"]}]}}`, batch, true},
		"parallel $or, one level fails": {
			`{"$or":[{"source":["aws.batch"]},{"source":["x"]}],"detail":{"$or":[{"status":["x"]},{"jobQueue":["y"]}]}}`, batch, false},
		"two $or keys in one object are ANDed": {
			`{"$or":[{"source":["aws.batch"]},{"source":["x"]}],"$or":[{"detail-type":["y"]},{"detail":{"attempts":[3]}}]}`, batch, true},
		"$or with exists:false branch on missing": {
			`{"$or":[{"x":[{"exists":false}]},{"source":["nope"]}]}`, batch, true},
		"$or under missing parent can match absence": {
			`{"nope":{"$or":[{"a":[{"exists":false}]},{"b":["x"]}]}}`, batch, true},
		"$or branches see the same array element": {
			`{"e":{"$or":[{"f":["Anna"],"l":["Doe"]},{"f":["Zed"]}]}}`, `{"e":[{"f":"John","l":"Doe"},{"f":"Anna","l":"Smith"}]}`, false},
		"$or branch matches within one element": {
			`{"e":{"$or":[{"f":["Anna"],"l":["Smith"]},{"f":["Zed"]}]}}`, `{"e":[{"f":"John","l":"Doe"},{"f":"Anna","l":"Smith"}]}`, true},
		"$or is only a keyword as a key, not a value": {
			`{"k":["$or"]}`, `{"k":"$or"}`, true},
	})
}

func TestMatchInvalidEvent(t *testing.T) {
	t.Parallel()
	p := MustCompile(`{"a":["x"]}`)
	for name, event := range map[string]string{
		"empty":            ``,
		"truncated":        `{"a":`,
		"trailing garbage": `{"a":"x"} x`,
		"number overflow":  `{"a":1e400}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, err := p.Match([]byte(event))
			require.Error(t, err)
			var s Set
			s.Put("r", p)
			_, err = s.Match([]byte(event))
			require.Error(t, err)
		})
	}
}

func TestMatchValueUnknownTypes(t *testing.T) {
	t.Parallel()
	// Values of types encoding/json does not produce are present leaves
	// equal to nothing.
	event := map[string]any{"a": 5, "b": struct{}{}}
	for pattern, want := range map[string]bool{
		`{"a":[5]}`:                      false,
		`{"a":[{"exists":true}]}`:        true,
		`{"a":[{"exists":false}]}`:       false,
		`{"b":[{"anything-but":"x"}]}`:   true,
		`{"b":[{"numeric":[">",0]}]}`:    false,
		`{"b":[{"anything-but":[1,2]}]}`: true,
	} {
		require.Equal(t, want, MustCompile(pattern).MatchValue(event), pattern)
	}
}

func decodeUseNumber(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v))
	return v
}
