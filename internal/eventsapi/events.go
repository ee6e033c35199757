package eventsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gantrybatch/gantry/internal/eventpattern"
	"github.com/gantrybatch/gantry/store"
)

// maxEntriesBytes is PutEvents' limit on the total size of its entries.
const maxEntriesBytes = 256 * 1024

// epochTime is a timestamp member: epoch seconds as a JSON number (what
// the SDKs send), or a string holding epoch seconds or RFC 3339.
type epochTime struct{ time.Time }

func (t *epochTime) UnmarshalJSON(b []byte) error {
	var f float64
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if tt, err := time.Parse(time.RFC3339Nano, s); err == nil {
			t.Time = tt
			return nil
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return &fieldError{Msg: fmt.Sprintf("Time: %q is neither epoch seconds nor an RFC 3339 timestamp", s)}
		}
		f = v
	} else if err := json.Unmarshal(b, &f); err != nil {
		return &fieldError{Msg: fmt.Sprintf("Time: %s is not a timestamp (epoch seconds)", b)}
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e11 {
		return &fieldError{Msg: fmt.Sprintf("Time: %v is out of range", f)}
	}
	sec, frac := math.Modf(f)
	t.Time = time.Unix(int64(sec), int64(frac*1e9)).UTC()
	return nil
}

type putEventsEntry struct {
	Source       *string    `json:"Source"`
	DetailType   *string    `json:"DetailType"`
	Detail       *string    `json:"Detail"`
	Resources    []string   `json:"Resources"`
	Time         *epochTime `json:"Time"`
	EventBusName *string    `json:"EventBusName"`
	TraceHeader  *string    `json:"TraceHeader"`
}

type putEventsInput struct {
	Entries    []putEventsEntry `json:"Entries"`
	EndpointId *string          `json:"EndpointId"`
}

type putEventsResultEntry struct {
	EventId      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

type putEventsOutput struct {
	FailedEntryCount int                    `json:"FailedEntryCount"`
	Entries          []putEventsResultEntry `json:"Entries"`
}

// checkEntry validates one PutEvents entry: it returns the error code and
// message of a failed entry, or the event to store.
func (h *Handler) checkEntry(e *putEventsEntry, now time.Time) (code, msg string, ev *store.Event) {
	switch {
	case e.Source == nil || *e.Source == "":
		return "InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument.", nil
	case e.DetailType == nil || *e.DetailType == "":
		return "InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument.", nil
	case e.Detail == nil || *e.Detail == "":
		return "InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument.", nil
	}
	if e.EventBusName != nil && h.checkBus(e.EventBusName) != nil {
		return "ResourceNotFoundException", fmt.Sprintf("Event bus %s does not exist.", *e.EventBusName), nil
	}
	if strings.HasPrefix(*e.Source, "aws.") {
		return "NotAuthorizedForSourceException", "Not authorized for the source.", nil
	}
	detail := bytes.TrimSpace([]byte(*e.Detail))
	var obj map[string]json.RawMessage
	if len(detail) == 0 || detail[0] != '{' || json.Unmarshal(detail, &obj) != nil {
		return "MalformedDetail", "Detail is malformed.", nil
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, detail); err != nil {
		return "MalformedDetail", "Detail is malformed.", nil
	}
	t := now
	if e.Time != nil {
		t = e.Time.Time
	}
	resources := e.Resources
	if resources == nil {
		resources = []string{}
	}
	return "", "", &store.Event{
		UUID: uuid.NewString(), Time: t.UnixMilli(), DetailType: *e.DetailType, Source: *e.Source,
		Resources: resources, Detail: compact.Bytes(),
	}
}

// entrySize is AWS's size of an entry: its time (14 bytes) and its
// strings.
func entrySize(e *putEventsEntry) int {
	n := 0
	if e.Time != nil {
		n += 14
	}
	for _, s := range []*string{e.Source, e.DetailType, e.Detail} {
		if s != nil {
			n += len(*s)
		}
	}
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

func (h *Handler) putEvents(ctx context.Context, in *putEventsInput) (any, error) {
	if in.Entries == nil {
		return nil, required("entries")
	}
	if len(in.Entries) < 1 || len(in.Entries) > 10 {
		return nil, constraint("entries", fmt.Sprintf("[%d entries]", len(in.Entries)), "have length between 1 and 10")
	}
	size := 0
	for i := range in.Entries {
		size += entrySize(&in.Entries[i])
	}
	if size > maxEntriesBytes {
		return nil, validationf("Total size of the entries in the request is over the limit.")
	}
	now := h.cfg.Now()
	out := putEventsOutput{Entries: make([]putEventsResultEntry, len(in.Entries))}
	var events []*store.Event
	for i := range in.Entries {
		code, msg, ev := h.checkEntry(&in.Entries[i], now)
		if ev == nil {
			out.Entries[i] = putEventsResultEntry{ErrorCode: code, ErrorMessage: msg}
			out.FailedEntryCount++
			continue
		}
		out.Entries[i] = putEventsResultEntry{EventId: ev.UUID}
		events = append(events, ev)
	}
	if len(events) == 0 {
		return out, nil
	}
	err := h.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		for _, ev := range events {
			ev.ID = 0
			if err := tx.EventInsert(ctx, ev); err != nil {
				return fmt.Errorf("insert event: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if h.cfg.EventsAdded != nil {
		h.cfg.EventsAdded()
	}
	return out, nil
}

type testEventPatternInput struct {
	Event        *string `json:"Event"`
	EventPattern *string `json:"EventPattern"`
}

type testEventPatternOutput struct {
	Result bool `json:"Result"`
}

// envelopeFields are the members TestEventPattern requires of its Event.
var envelopeFields = []string{"id", "account", "source", "time", "region", "resources", "detail-type"}

func (h *Handler) testEventPattern(_ context.Context, in *testEventPatternInput) (any, error) {
	if in.Event == nil {
		return nil, required("event")
	}
	if in.EventPattern == nil {
		return nil, required("eventPattern")
	}
	p, err := eventpattern.Compile([]byte(*in.EventPattern))
	if err != nil {
		return nil, checkPattern(*in.EventPattern)
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal([]byte(*in.Event), &env); err != nil || env == nil {
		return nil, validationf("Parameter Event is not valid. Reason: the event must be a JSON object.")
	}
	for _, f := range envelopeFields {
		v, ok := env[f]
		if !ok {
			return nil, validationf("Parameter Event is not valid. Reason: the required field %q is missing.", f)
		}
		if f == "resources" {
			var rs []string
			if json.Unmarshal(v, &rs) != nil {
				return nil, validationf("Parameter Event is not valid. Reason: \"resources\" must be a list of strings.")
			}
			continue
		}
		var s string
		if json.Unmarshal(v, &s) != nil {
			return nil, validationf("Parameter Event is not valid. Reason: %q must be a string.", f)
		}
		if f == "time" {
			if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
				return nil, validationf("Parameter Event is not valid. Reason: \"time\" %q is not an RFC 3339 timestamp.", s)
			}
		}
	}
	if d, ok := env["detail"]; ok && (len(bytes.TrimSpace(d)) == 0 || bytes.TrimSpace(d)[0] != '{') {
		return nil, validationf("Parameter Event is not valid. Reason: \"detail\" must be a JSON object.")
	}
	ok, err := p.Match([]byte(*in.Event))
	if err != nil {
		return nil, validationf("Parameter Event is not valid. Reason: %v", err)
	}
	return testEventPatternOutput{Result: ok}, nil
}
