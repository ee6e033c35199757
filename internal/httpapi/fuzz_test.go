package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/control"
	"github.com/gantrybatch/gantry/internal/httpapi"
	"github.com/gantrybatch/gantry/store/storesqlite"
)

var operations = []string{
	"createcomputeenvironment", "updatecomputeenvironment", "deletecomputeenvironment", "describecomputeenvironments",
	"createjobqueue", "updatejobqueue", "deletejobqueue", "describejobqueues",
	"registerjobdefinition", "deregisterjobdefinition", "describejobdefinitions",
	"submitjob", "describejobs", "listjobs", "canceljob", "terminatejob",
	"createschedulingpolicy", "updateschedulingpolicy", "deleteschedulingpolicy", "describeschedulingpolicies",
	"listschedulingpolicies", "getjobqueuesnapshot",
}

// FuzzRequestDecoding sends arbitrary bodies to every operation and checks
// that the server never answers 5xx and always answers well-formed JSON.
func FuzzRequestDecoding(f *testing.F) {
	seeds := []string{
		``, `{}`, `null`, `[]`, `{"jobName":`, `{"jobName":"j","jobQueue":"q","jobDefinition":"d"}`,
		`{"computeEnvironmentName":"ce","type":"MANAGED","computeResources":{"type":"EC2","maxvCpus":4,"subnets":["s"],"instanceRole":"r"}}`,
		`{"jobQueueName":"q","priority":1,"computeEnvironmentOrder":[{"order":1,"computeEnvironment":"ce"}]}`,
		`{"jobDefinitionName":"d","type":"container","containerProperties":{"image":"i","command":["true"]}}`,
		`{"jobs":["a","b"]}`, `{"jobQueue":"q","filters":[{"name":"JOB_NAME","values":["*"]}]}`,
		`{"priority":1e400}`, `{"maxResults":-1}`, `{"nextToken":"!!!"}`, `{"jobDefinition":"arn:aws:batch:x:y:job-definition/a:0"}`,
		`{"containerOverrides":{"resourceRequirements":[{"type":"VCPU","value":"NaN"}]}}`,
		"{\"jobName\":\"\xff\xfe\"}",
	}
	for i := range operations {
		for _, s := range seeds {
			f.Add(i, s)
		}
	}
	st, err := storesqlite.Open(context.Background(), storesqlite.Config{Path: filepath.Join(f.TempDir(), "fuzz.db")})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	svc := control.New(control.Config{Store: st, ARN: gantry.ARNBuilder{Region: "us-east-1", AccountID: "000000000000"}})
	srv := httptest.NewServer(httpapi.WithRequestID(nil, (&httpapi.Server{Control: svc}).Handler()))
	f.Cleanup(srv.Close)
	// Resources for the bodies above to refer to.
	for _, body := range seeds[6:9] {
		for _, op := range []string{"createcomputeenvironment", "createjobqueue", "registerjobdefinition"} {
			resp, err := http.Post(srv.URL+"/v1/"+op, "application/json", strings.NewReader(body))
			if err == nil {
				resp.Body.Close()
			}
		}
	}
	// A request that hangs must fail with its input recorded, rather than
	// stall the fuzzing worker until -fuzztime runs out.
	client := &http.Client{Timeout: 10 * time.Second}
	f.Fuzz(func(t *testing.T, opIndex int, body string) {
		if opIndex < 0 {
			opIndex = -opIndex
		}
		op := operations[opIndex%len(operations)]
		resp, err := client.Post(srv.URL+"/v1/"+op, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatalf("%s %q: %v", op, body, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 {
			t.Fatalf("%s %q: status %d: %s", op, body, resp.StatusCode, b)
		}
		if !json.Valid(b) {
			t.Fatalf("%s %q: invalid JSON response %q", op, body, b)
		}
		if resp.StatusCode != 200 {
			var e map[string]string
			_ = json.Unmarshal(b, &e)
			if e["__type"] == "" || resp.Header.Get("X-Amzn-ErrorType") != e["__type"] {
				t.Fatalf("%s %q: bad error shape %q", op, body, b)
			}
		}
	})
}
