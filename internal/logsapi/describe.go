package logsapi

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/joblog"
)

const maxDescribeLimit = 50

type describeLogStreamsInput struct {
	groupRef
	LogStreamNamePrefix *string `json:"logStreamNamePrefix"`
	OrderBy             *string `json:"orderBy"`
	Descending          *bool   `json:"descending"`
	NextToken           *string `json:"nextToken"`
	Limit               *int    `json:"limit"`
}

type logStream struct {
	LogStreamName       string `json:"logStreamName"`
	CreationTime        int64  `json:"creationTime"`
	FirstEventTimestamp int64  `json:"firstEventTimestamp,omitempty"`
	LastEventTimestamp  int64  `json:"lastEventTimestamp,omitempty"`
	LastIngestionTime   int64  `json:"lastIngestionTime,omitempty"`
	Arn                 string `json:"arn"`
	StoredBytes         int64  `json:"storedBytes"`
}

type describeLogStreamsOutput struct {
	LogStreams []logStream `json:"logStreams"`
	NextToken  string      `json:"nextToken,omitempty"`
}

// streamToken is DescribeLogStreams' nextToken: the sort key of the last
// stream returned.
type streamToken struct {
	Name string `json:"n"`
	Time int64  `json:"t,omitempty"`
}

func (h *Handler) describeLogStreams(_ context.Context, in *describeLogStreamsInput) (any, error) {
	group, err := h.resolve(in.groupRef)
	if err != nil {
		return nil, err
	}
	byTime := false
	if in.OrderBy != nil {
		switch *in.OrderBy {
		case "LogStreamName":
		case "LastEventTime":
			byTime = true
		default:
			return nil, invalidParam("orderBy: %q must be LogStreamName or LastEventTime", *in.OrderBy)
		}
	}
	prefix := ""
	if in.LogStreamNamePrefix != nil {
		if byTime {
			return nil, invalidParam("logStreamNamePrefix cannot be specified when orderBy is LastEventTime")
		}
		prefix = *in.LogStreamNamePrefix
	}
	n, err := limit("limit", in.Limit, maxDescribeLimit, maxDescribeLimit)
	if err != nil {
		return nil, err
	}
	desc := in.Descending != nil && *in.Descending
	var tok *streamToken
	if in.NextToken != nil {
		tok = &streamToken{}
		if err := decodeToken(*in.NextToken, tok); err != nil {
			return nil, err
		}
	}
	streams, err := h.cfg.Store.Streams(group, prefix)
	if errors.Is(err, gantry.ErrNotFound) {
		return nil, notFound("The specified log group does not exist: %s", group)
	}
	if err != nil {
		return nil, err
	}
	key := func(s joblog.StreamInfo) streamToken {
		if byTime {
			return streamToken{Name: s.Name, Time: s.LastEventTimestamp}
		}
		return streamToken{Name: s.Name}
	}
	compare := func(a, b streamToken) int {
		c := cmp.Or(cmp.Compare(a.Time, b.Time), cmp.Compare(a.Name, b.Name))
		if desc {
			return -c
		}
		return c
	}
	slices.SortFunc(streams, func(a, b joblog.StreamInfo) int { return compare(key(a), key(b)) })
	if tok != nil {
		i, _ := slices.BinarySearchFunc(streams, *tok, func(s joblog.StreamInfo, t streamToken) int {
			if compare(key(s), t) <= 0 {
				return -1
			}
			return 1
		})
		streams = streams[i:]
	}
	out := &describeLogStreamsOutput{LogStreams: []logStream{}}
	for i, s := range streams {
		if i == n {
			out.NextToken = encodeToken(key(streams[i-1]))
			break
		}
		out.LogStreams = append(out.LogStreams, logStream{
			LogStreamName:       s.Name,
			CreationTime:        s.CreationTime,
			FirstEventTimestamp: s.FirstEventTimestamp,
			LastEventTimestamp:  s.LastEventTimestamp,
			LastIngestionTime:   s.LastIngestionTime,
			Arn:                 h.streamARN(group, s.Name),
			StoredBytes:         s.StoredBytes,
		})
	}
	return out, nil
}

type describeLogGroupsInput struct {
	LogGroupNamePrefix  *string `json:"logGroupNamePrefix"`
	LogGroupNamePattern *string `json:"logGroupNamePattern"`
	NextToken           *string `json:"nextToken"`
	Limit               *int    `json:"limit"`
}

type logGroup struct {
	LogGroupName      string `json:"logGroupName"`
	Arn               string `json:"arn"`
	LogGroupArn       string `json:"logGroupArn"`
	CreationTime      int64  `json:"creationTime"`
	RetentionInDays   int    `json:"retentionInDays,omitempty"`
	StoredBytes       int64  `json:"storedBytes"`
	MetricFilterCount int    `json:"metricFilterCount"`
	LogGroupClass     string `json:"logGroupClass"`
}

type describeLogGroupsOutput struct {
	LogGroups []logGroup `json:"logGroups"`
	NextToken string     `json:"nextToken,omitempty"`
}

func (h *Handler) describeLogGroups(_ context.Context, in *describeLogGroupsInput) (any, error) {
	if in.LogGroupNamePrefix != nil && in.LogGroupNamePattern != nil {
		return nil, invalidParam("logGroupNamePrefix and logGroupNamePattern cannot both be specified")
	}
	n, err := limit("limit", in.Limit, maxDescribeLimit, maxDescribeLimit)
	if err != nil {
		return nil, err
	}
	prefix, substr := "", ""
	if in.LogGroupNamePrefix != nil {
		prefix = *in.LogGroupNamePrefix
	}
	if in.LogGroupNamePattern != nil {
		substr = *in.LogGroupNamePattern
	}
	var after string
	if in.NextToken != nil {
		var tok streamToken
		if err := decodeToken(*in.NextToken, &tok); err != nil {
			return nil, err
		}
		after = tok.Name
	}
	groups, err := h.cfg.Store.DescribeGroups(prefix)
	if err != nil {
		return nil, err
	}
	out := &describeLogGroupsOutput{LogGroups: []logGroup{}}
	for _, g := range groups { // sorted by name
		if (after != "" && g.Name <= after) || !strings.Contains(g.Name, substr) {
			continue
		}
		if len(out.LogGroups) == n {
			out.NextToken = encodeToken(streamToken{Name: out.LogGroups[n-1].LogGroupName})
			break
		}
		out.LogGroups = append(out.LogGroups, logGroup{
			LogGroupName:    g.Name,
			Arn:             h.groupARN(g.Name) + ":*",
			LogGroupArn:     h.groupARN(g.Name),
			CreationTime:    g.CreationTime,
			RetentionInDays: g.RetentionInDays,
			StoredBytes:     g.StoredBytes,
			LogGroupClass:   "STANDARD",
		})
	}
	return out, nil
}

type putRetentionPolicyInput struct {
	LogGroupName    *string `json:"logGroupName"`
	RetentionInDays *int    `json:"retentionInDays"`
}

func (h *Handler) putRetentionPolicy(_ context.Context, in *putRetentionPolicyInput) (any, error) {
	if in.LogGroupName == nil {
		return nil, invalidParam("logGroupName is required")
	}
	if err := validGroupName("logGroupName", *in.LogGroupName); err != nil {
		return nil, err
	}
	if in.RetentionInDays == nil {
		return nil, invalidParam("retentionInDays is required")
	}
	if !slices.Contains(joblog.RetentionDays, *in.RetentionInDays) {
		return nil, invalidParam("retentionInDays: %d is not one of %v", *in.RetentionInDays, joblog.RetentionDays)
	}
	return h.setRetention(*in.LogGroupName, *in.RetentionInDays)
}

type deleteRetentionPolicyInput struct {
	LogGroupName *string `json:"logGroupName"`
}

func (h *Handler) deleteRetentionPolicy(_ context.Context, in *deleteRetentionPolicyInput) (any, error) {
	if in.LogGroupName == nil {
		return nil, invalidParam("logGroupName is required")
	}
	if err := validGroupName("logGroupName", *in.LogGroupName); err != nil {
		return nil, err
	}
	return h.setRetention(*in.LogGroupName, 0)
}

func (h *Handler) setRetention(group string, days int) (any, error) {
	err := h.cfg.Store.SetRetention(group, days)
	if errors.Is(err, gantry.ErrNotFound) {
		return nil, notFound("The specified log group does not exist: %s", group)
	}
	if errors.Is(err, joblog.ErrInvalidRetention) {
		return nil, invalidParam("retentionInDays: %d is not one of %v", days, joblog.RetentionDays)
	}
	if err != nil {
		return nil, err
	}
	return emptyOutput{}, nil
}
