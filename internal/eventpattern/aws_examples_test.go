package eventpattern

import "testing"

// The examples in this file come from the EventBridge user guide (event
// patterns, content filtering, comparison operators, arrays, null values)
// and the Event Ruler README that documents the same language.

// ec2Event is the guide's sample event.
const ec2Event = `{
  "version": "0",
  "id": "ddddd4-aaaa-7777-4444-345dd43cc333",
  "detail-type": "EC2 Instance State-change Notification",
  "source": "aws.ec2",
  "account": "012345679012",
  "time": "2017-10-02T16:24:49Z",
  "region": "us-east-1",
  "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
  "detail": {
    "c-count": 5,
    "d-count": 3,
    "x-limit": 301.8,
    "source-ip": "10.0.0.33",
    "instance-id": "i-000000aaaaaa00000",
    "state": "running"
  }
}`

func TestAWSExamplesContentFiltering(t *testing.T) {
	t.Parallel()
	runMatchCases(t, map[string]matchCase{
		"simple matching: resources, detail-type and one of two states": {`{
			"detail-type": ["EC2 Instance State-change Notification"],
			"resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-000000aaaaaa00000"],
			"detail": {"state": ["initializing", "running"]}}`, ec2Event, true},
		"prefix matching on the date part of time": {
			`{"time": [{"prefix": "2017-10-02"}]}`, ec2Event, true},
		"prefix matching: European regions only": {
			`{"source": ["aws.ec2"], "region": [{"prefix": "eu-"}]}`, ec2Event, false},
		"suffix matching on source": {
			`{"source": [{"suffix": "ec2"}]}`, ec2Event, true},
		"equals-ignore-case on source": {
			`{"source": [{"equals-ignore-case": "AWS.EC2"}]}`, ec2Event, true},
		"wildcard: Simple*Service does not match aws.ec2": {
			`{"source": [{"wildcard": "Simple*Service"}]}`, ec2Event, false},
		"anything-but a string": {
			`{"detail": {"state": [{"anything-but": "initializing"}]}}`, ec2Event, true},
		"anything-but a number equal to the value": {
			`{"detail": {"x-limit": [{"anything-but": 301.8}]}}`, ec2Event, false},
		"anything-but a list of strings": {
			`{"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}`, ec2Event, true},
		"anything-but a list of numbers": {
			`{"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}}`, ec2Event, true},
		"anything-but a prefix": {
			`{"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}`, ec2Event, true},
		"anything-but: all events except CloudTrail API calls": {
			`{"detail-type": [{"anything-but": "AWS API Call via CloudTrail"}]}`, ec2Event, true},
		"anything-but: events not from EC2 or S3": {
			`{"source": [{"anything-but": ["aws.ec2", "aws.s3"]}]}`, ec2Event, false},
		"anything-but prefix: only your own events, not aws.*": {
			`{"source": [{"anything-but": {"prefix": "aws."}}]}`, ec2Event, false},
		"numeric matching, every field must hold": {`{"detail": {
			"c-count": [{"numeric": [">", 0, "<=", 5]}],
			"d-count": [{"numeric": ["<", 10]}],
			"x-limit": [{"numeric": ["=", 3.018e2]}]}}`, ec2Event, true},
		"numeric matching fails when one field fails": {`{"detail": {
			"c-count": [{"numeric": [">", 0, "<", 5]}],
			"d-count": [{"numeric": ["<", 10]}]}}`, ec2Event, false},
		"IP address matching": {
			`{"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}`, ec2Event, true},
		"exists: events with a detail.state": {
			`{"detail": {"state": [{"exists": true}]}}`, ec2Event, true},
		"exists false: events without detail.state": {
			`{"detail": {"state": [{"exists": false}]}}`, ec2Event, false},
		"complex example combining operators": {`{
			"time": [{"prefix": "2017-10-02"}],
			"detail": {
				"state": [{"anything-but": "initializing"}],
				"c-count": [{"numeric": [">", 0, "<=", 5]}],
				"d-count": [{"numeric": ["<", 10]}],
				"x-limit": [{"anything-but": [100, 200, 300]}],
				"source-ip": [{"cidr": "10.0.0.0/8"}]}}`, ec2Event, true},
	})
}

func TestAWSExamplesExists(t *testing.T) {
	t.Parallel()
	const pattern = `{"detail": {"c-count": [{"exists": false}]}}`
	runMatchCases(t, map[string]matchCase{
		"exists false matches an event without detail.c-count": {pattern, `{
			"detail-type": ["EC2 Instance State-change Notification"],
			"detail": {"state": ["initializing", "running"]}}`, true},
		"exists false also matches when c-count is not a leaf": {pattern, `{
			"detail-type": ["EC2 Instance State-change Notification"],
			"detail": {"state": ["initializing", "running"], "c-count": {"c1": 100}}}`, true},
		"exists false fails when c-count is a leaf": {pattern, `{"detail": {"c-count": 1}}`, false},
		"existence: select events with a description for indexing": {
			`{"detail": {"description": [{"exists": true}]}}`, `{"detail": {"description": "x"}}`, true},
	})
}

func TestAWSExamplesNullAndEmpty(t *testing.T) {
	t.Parallel()
	const event = `{
	  "version": "0",
	  "id": "3e3c153a-8339-4e30-8c35-687ebef853fe",
	  "detail-type": "EC2 Instance Launch Successful",
	  "source": "aws.autoscaling",
	  "account": "123456789012",
	  "time": "2015-11-11T21:31:47Z",
	  "region": "us-east-1",
	  "resources": [],
	  "detail": {"eventVersion": "", "responseElements": null}
	}`
	runMatchCases(t, map[string]matchCase{
		"empty string matches eventVersion":           {`{"detail": {"eventVersion": [""]}}`, event, true},
		"null matches responseElements":               {`{"detail": {"responseElements": [null]}}`, event, true},
		"null and empty string are not interchangeab": {`{"detail": {"eventVersion": [null]}}`, event, false},
		"empty string does not match null":            {`{"detail": {"responseElements": [""]}}`, event, false},
		"an empty resources array matches no value":   {`{"resources": [""]}`, event, false},
	})
}

func TestAWSExamplesOperatorTable(t *testing.T) {
	t.Parallel()
	// The comparison operator summary, each with an event it selects or not.
	runMatchCases(t, map[string]matchCase{
		"and: Location is New York and Day is Monday": {
			`{"Location": ["New York"], "Day": ["Monday"]}`, `{"Location": "New York", "Day": "Monday"}`, true},
		"anything-but: State is any value besides initializing": {
			`{"state": [{"anything-but": "initializing"}]}`, `{"state": "initializing"}`, false},
		"anything-but begins with: Region is not in the US": {
			`{"Region": [{"anything-but": {"prefix": "us-"}}]}`, `{"Region": "eu-west-1"}`, true},
		"anything-but ends with: FileName does not end with .png": {
			`{"FileName": [{"anything-but": {"suffix": ".png"}}]}`, `{"FileName": "a.png"}`, false},
		"anything-but ignore case: State is not initializing in any case": {
			`{"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]}`, `{"state": "INITIALIZING"}`, false},
		"anything-but wildcard: FilePath does not include /lib/": {
			`{"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}`, `{"FilePath": "/usr/local/bin/x"}`, true},
		"begins with: Region is in the US": {
			`{"Region": [{"prefix": "us-"}]}`, `{"Region": "us-west-2"}`, true},
		"begins with ignore case: service starts with eventb": {
			`{"service": [{"prefix": {"equals-ignore-case": "eventb"}}]}`, `{"service": "EventBridge"}`, true},
		"empty: LastName is empty": {
			`{"LastName": [""]}`, `{"LastName": ""}`, true},
		"equals: Name is Alice": {
			`{"Name": ["Alice"]}`, `{"Name": "alice"}`, false},
		"equals ignore case: Name is Alice": {
			`{"Name": [{"equals-ignore-case": "alice"}]}`, `{"Name": "ALICE"}`, true},
		"ends with: FileName ends with .png": {
			`{"FileName": [{"suffix": ".png"}]}`, `{"FileName": "photo.png"}`, true},
		"ends with ignore case: service ends with tbridge": {
			`{"service": [{"suffix": {"equals-ignore-case": "tbridge"}}]}`, `{"service": "EVENTBRIDGE"}`, true},
		"exists: ProductName exists": {
			`{"ProductName": [{"exists": true}]}`, `{"ProductName": "x"}`, true},
		"does not exist: ProductName does not exist": {
			`{"ProductName": [{"exists": false}]}`, `{"Other": "x"}`, true},
		"not: Weather is anything but Raining": {
			`{"Weather": [{"anything-but": ["Raining"]}]}`, `{"Weather": "Sunny"}`, true},
		"null: UserID is null": {
			`{"UserID": [null]}`, `{"UserID": null}`, true},
		"numeric equals: Price is 100": {
			`{"Price": [{"numeric": ["=", 100]}]}`, `{"Price": 100}`, true},
		"numeric range: Price is more than 10 and at most 20": {
			`{"Price": [{"numeric": [">", 10, "<=", 20]}]}`, `{"Price": 20}`, true},
		"or: PaymentType is Credit or Debit": {
			`{"PaymentType": ["Credit", "Debit"]}`, `{"PaymentType": "Debit"}`, true},
		"or across fields: Location is New York or Day is Monday": {
			`{"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]}`, `{"Location": "Boston", "Day": "Monday"}`, true},
		"wildcard: any file with .png in the dir folder": {
			`{"FileName": [{"wildcard": "dir/*.png"}]}`, `{"FileName": "dir/cat.png"}`, true},
	})
}

func TestAWSExamplesArrays(t *testing.T) {
	t.Parallel()
	const event = `{"resources": [
		"arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
		"arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
		"arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"]}`
	const employees = `{"employees": [
		{"firstName": "John", "lastName": "Doe"},
		{"firstName": "Anna", "lastName": "Smith"},
		{"firstName": "Peter", "lastName": "Jones"}]}`
	runMatchCases(t, map[string]matchCase{
		"a pattern array matches when it intersects the event array": {`{"resources": [
			"arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
			"arn:aws:ec2:us-east-1:999999999999:instance/i-b188560f"]}`, event, true},
		"no common value, no match": {`{"resources": [
			"arn:aws:ec2:us-east-1:999999999999:instance/i-b188560f"]}`, event, false},
		"objects in an event array are matched through the array": {
			`{"employees": {"firstName": ["Anna"]}}`, employees, true},
		"two fields must come from the same array element": {
			`{"employees": {"firstName": ["Anna"], "lastName": ["Jones"]}}`, employees, false},
	})
}

func TestAWSExamplesOr(t *testing.T) {
	t.Parallel()
	const metric = `{"source": "aws.cloudwatch", "metricType": "MetricType", "namespace": "AWS/EC2", "metricId": 1234}`
	runMatchCases(t, map[string]matchCase{
		"source AND (metricName OR namespace)": {`{
			"source": ["aws.cloudwatch"],
			"$or": [{"metricName": ["CPUUtilization", "ReadLatency"]}, {"namespace": ["AWS/EC2", "AWS/ES"]}]}`, metric, true},
		"source AND (metricName OR (metricType AND namespace) OR scope)": {`{
			"source": ["aws.cloudwatch"],
			"$or": [
				{"metricName": ["CPUUtilization", "ReadLatency"]},
				{"metricType": ["MetricType"], "namespace": ["AWS/EC2", "AWS/ES"]},
				{"scope": ["Service"]}]}`, metric, true},
		"nested OR and AND": {`{
			"source": ["aws.cloudwatch"],
			"$or": [
				{"metricName": ["CPUUtilization", "ReadLatency"]},
				{"metricType": ["MetricType"], "namespace": ["AWS/EC2", "AWS/ES"],
				 "$or": [{"metricId": [1234]}, {"spaceId": [1000]}]},
				{"scope": ["Service"]}]}`, metric, true},
		"nested OR and AND, inner OR fails": {`{
			"source": ["aws.cloudwatch"],
			"$or": [
				{"metricName": ["CPUUtilization", "ReadLatency"]},
				{"metricType": ["MetricType"], "namespace": ["AWS/EC2", "AWS/ES"],
				 "$or": [{"metricId": [999]}, {"spaceId": [1000]}]},
				{"scope": ["Service"]}]}`, metric, false},
		"numeric alternatives in $or": {`{"detail": {"$or": [
			{"c-count": [{"numeric": [">", 0, "<=", 5]}]},
			{"d-count": [{"numeric": ["<", 10]}]},
			{"x-limit": [{"numeric": ["=", 3.018e2]}]}]}}`, `{"detail": {"c-count": 50, "d-count": 50, "x-limit": 301.8}}`, true},
	})
}

func TestAWSExampleBatch(t *testing.T) {
	t.Parallel()
	// The reference's example rule against the Batch job state change event
	// used by the benchmarks.
	const pattern = `{"source":["aws.batch"],"detail-type":["Batch Job State Change"],"detail":{"status":["FAILED"]}}`
	runMatchCases(t, map[string]matchCase{
		"a RUNNABLE job does not match the FAILED rule": {pattern, batchJobEvent, false},
		"the same rule on RUNNABLE":                     {`{"source":["aws.batch"],"detail-type":["Batch Job State Change"],"detail":{"status":["RUNNABLE"]}}`, batchJobEvent, true},
		"container command element":                     {`{"detail":{"container":{"command":["600"]}}}`, batchJobEvent, true},
		"resource requirement inside an array":          {`{"detail":{"container":{"resourceRequirements":{"type":["VCPU"],"value":["2"]}}}}`, batchJobEvent, true},
		"resource requirement fields from two elements": {`{"detail":{"container":{"resourceRequirements":{"type":["VCPU"],"value":["2048"]}}}}`, batchJobEvent, false},
		"empty attempts has no values":                  {`{"detail":{"attempts":[{"exists":false}]}}`, batchJobEvent, true},
		"createdAt in ms is beyond the numeric range":   {`{"detail":{"createdAt":[{"numeric":[">",0]}]}}`, batchJobEvent, false},
		"propagateTags false":                           {`{"detail":{"propagateTags":[false]}}`, batchJobEvent, true},
	})
}
