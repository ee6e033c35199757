package eventpattern_test

import (
	"encoding/json"
	"fmt"

	"github.com/gantrybatch/gantry/internal/eventpattern"
)

func ExampleCompile() {
	p, err := eventpattern.Compile([]byte(`{
	  "source": ["aws.batch"],
	  "detail-type": ["Batch Job State Change"],
	  "detail": {"status": ["FAILED"], "container": {"exitCode": [{"numeric": [">", 0]}]}}
	}`))
	if err != nil {
		panic(err)
	}
	ok, _ := p.Match([]byte(`{"source":"aws.batch","detail-type":"Batch Job State Change",
	  "detail":{"status":"FAILED","container":{"exitCode":137}}}`))
	fmt.Println(ok)

	_, err = eventpattern.Compile([]byte(`{"detail":{"status":"FAILED"}}`))
	fmt.Println(err)
	// Output:
	// true
	// invalid event pattern at detail.status: the value of "status" must be an object or an array, not a string
}

func ExampleSet() {
	var rules eventpattern.Set
	rules.Put("failed", eventpattern.MustCompile(`{"detail":{"status":["FAILED"]}}`))
	rules.Put("not-done", eventpattern.MustCompile(`{"detail":{"status":[{"anything-but":["SUCCEEDED","FAILED"]}]}}`))
	rules.Put("nightly", eventpattern.MustCompile(`{"detail":{"jobName":[{"prefix":"nightly-"}]}}`))

	// Decode each event once, then match it against every rule.
	var event any
	if err := json.Unmarshal([]byte(`{"detail":{"status":"RUNNING","jobName":"nightly-etl"}}`), &event); err != nil {
		panic(err)
	}
	fmt.Println(rules.MatchValue(event))
	// Output:
	// [nightly not-done]
}
