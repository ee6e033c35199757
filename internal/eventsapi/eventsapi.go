package eventsapi

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/internal/awsjson"
	"github.com/gantrybatch/gantry/store"
)

// TargetPrefix is the X-Amz-Target prefix of EventBridge.
const TargetPrefix = "AWSEvents"

const (
	contentType  = awsjson.ContentType
	maxBodyBytes = 1 << 20
)

// Error codes.
const (
	codeValidation     = "ValidationException"
	codeNotFound       = "ResourceNotFoundException"
	codeAlreadyExists  = "ResourceAlreadyExistsException"
	codeInvalidPattern = "InvalidEventPatternException"
	codeLimitExceeded  = "LimitExceededException"
	codeUnknownOp      = "UnknownOperationException"
	codeInternal       = "InternalException"
)

// Config configures a Handler.
type Config struct {
	// Store holds rules, targets, connections, API destinations and the
	// event outbox. Required.
	Store store.Store
	// Region and AccountID appear in ARNs (defaults us-east-1 and
	// 000000000000, as gantry's).
	Region    string
	AccountID string
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
	// RulesChanged, if set, is called after any change to rules, targets,
	// connections or API destinations has committed.
	RulesChanged func()
	// EventsAdded, if set, is called after PutEvents has committed events
	// to the outbox.
	EventsAdded func()
}

// Handler serves the AWSEvents target. Register it in
// httpapi.Server.Targets under TargetPrefix, and its Routes in
// httpapi.Server.Extra.
type Handler struct {
	cfg Config
	srv *awsjson.Server
}

var _ http.Handler = (*Handler)(nil)

// New returns the handler. It panics without a Store.
func New(cfg Config) *Handler {
	if cfg.Store == nil {
		panic("eventsapi: Store is required")
	}
	cfg.Region = cmp.Or(cfg.Region, "us-east-1")
	cfg.AccountID = cmp.Or(cfg.AccountID, "000000000000")
	cfg.Logger = cmp.Or(cfg.Logger, slog.Default())
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{cfg: cfg}
	h.srv = &awsjson.Server{
		Service: "EventBridge", Article: "an", LogName: "events", TargetPrefix: TargetPrefix,
		BadInputCode: codeValidation, InternalCode: codeInternal, UnknownCode: codeUnknownOp,
		MaxBodyBytes: maxBodyBytes, Logger: cfg.Logger,
	}
	h.srv.Ops = map[string]awsjson.Op{
		"PutRule":               op(h.putRule),
		"DescribeRule":          op(h.describeRule),
		"ListRules":             op(h.listRules),
		"DeleteRule":            op(h.deleteRule),
		"EnableRule":            op(h.enableRule),
		"DisableRule":           op(h.disableRule),
		"ListRuleNamesByTarget": op(h.listRuleNamesByTarget),
		"TagResource":           op(h.tagResource),
		"UntagResource":         op(h.untagResource),
		"ListTagsForResource":   op(h.listTagsForResource),
		"DescribeEventBus":      op(h.describeEventBus),
		"ListEventBuses":        op(h.listEventBuses),

		"PutTargets":        op(h.putTargets),
		"RemoveTargets":     op(h.removeTargets),
		"ListTargetsByRule": op(h.listTargetsByRule),

		"TestEventPattern": op(h.testEventPattern),
		"PutEvents":        op(h.putEvents),

		"CreateConnection":      op(h.createConnection),
		"DescribeConnection":    op(h.describeConnection),
		"UpdateConnection":      op(h.updateConnection),
		"DeleteConnection":      op(h.deleteConnection),
		"ListConnections":       op(h.listConnections),
		"DeauthorizeConnection": op(h.deauthorizeConnection),

		"CreateApiDestination":   op(h.createAPIDestination),
		"DescribeApiDestination": op(h.describeAPIDestination),
		"UpdateApiDestination":   op(h.updateAPIDestination),
		"DeleteApiDestination":   op(h.deleteAPIDestination),
		"ListApiDestinations":    op(h.listAPIDestinations),
	}
	return h
}

// apiError is an error for the caller, in the JSON 1.1 error shape.
type apiError = awsjson.Error

// fieldError is returned by custom unmarshalers (epochTime).
type fieldError = awsjson.FieldError

func validationf(format string, args ...any) error {
	return &apiError{Code: codeValidation, Message: fmt.Sprintf(format, args...)}
}

func notFoundf(format string, args ...any) error {
	return &apiError{Code: codeNotFound, Message: fmt.Sprintf(format, args...)}
}

// constraint is AWS's message for a member that breaks its model
// constraint, e.g. `Value 'a b' at 'name' failed to satisfy constraint:
// Member must satisfy regular expression pattern: [\.\-_A-Za-z0-9]+`.
func constraint(field string, value any, rule string) error {
	v := "null"
	switch x := value.(type) {
	case nil:
	case string:
		v = "'" + x + "'"
	default:
		v = fmt.Sprintf("'%v'", x)
	}
	return validationf("1 validation error detected: Value %s at '%s' failed to satisfy constraint: Member must %s", v, field, rule)
}

func required(field string) error { return constraint(field, nil, "not be null") }

// ServeHTTP dispatches on X-Amz-Target.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.srv.ServeHTTP(w, r) }

// op adapts a typed operation: it decodes the body into In.
func op[In any](fn func(context.Context, *In) (any, error)) awsjson.Op {
	return awsjson.Typed(codeValidation, fn)
}

// ms is the clock in epoch milliseconds.
func (h *Handler) ms() int64 { return h.cfg.Now().UnixMilli() }

// epochSeconds turns epoch milliseconds into the wire's epoch seconds.
func epochSeconds(ms int64) float64 { return float64(ms) / 1000 }

// arn builds an EventBridge ARN: arn:aws:events:REGION:ACCOUNT:resource.
func (h *Handler) arn(resource string) string {
	return fmt.Sprintf("arn:%s:events:%s:%s:%s", gantry.Partition, h.cfg.Region, h.cfg.AccountID, resource)
}

func (h *Handler) ruleARN(name string) string { return h.arn("rule/" + name) }

func (h *Handler) busARN() string { return h.arn("event-bus/" + gantry.DefaultEventBus) }

// checkBus accepts an absent EventBusName, "default" or its ARN.
func (h *Handler) checkBus(bus *string) error {
	if bus == nil || *bus == "" || *bus == gantry.DefaultEventBus || *bus == h.busARN() {
		return nil
	}
	return notFoundf("Event bus %s does not exist.", *bus)
}

// validName checks an EventBridge resource name: 1-64 of [.\-_A-Za-z0-9].
func validName(field string, v *string) (string, error) {
	if v == nil {
		return "", required(field)
	}
	return *v, checkName(field, *v, 64)
}

func checkName(field, v string, max int) error {
	if v == "" || len(v) > max {
		return constraint(field, v, fmt.Sprintf("have length between 1 and %d", max))
	}
	for _, c := range []byte(v) {
		if !isNameChar(c) {
			return constraint(field, v, `satisfy regular expression pattern: [\.\-_A-Za-z0-9]+`)
		}
	}
	return nil
}

func isNameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
}

// pageLimit checks an optional Limit against [1, 100].
func pageLimit(v *int32) (int, error) {
	if v == nil {
		return 100, nil
	}
	if *v < 1 || *v > 100 {
		return 0, constraint("limit", *v, "have value between 1 and 100")
	}
	return int(*v), nil
}

// encodeToken makes the NextToken of listings by name (or target id): the
// last name returned, opaque to clients.
func encodeToken(last string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("n:" + last))
}

// decodeToken returns the name a NextToken carries ("" for none).
func decodeToken(tok *string) (string, error) {
	if tok == nil || *tok == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(*tok)
	if err != nil || !bytes.HasPrefix(b, []byte("n:")) {
		return "", validationf("The NextToken provided is invalid.")
	}
	return string(b[2:]), nil
}

// page lists by name with NamePrefix, NextToken and Limit: it asks for one
// more than the limit to know whether a NextToken is due.
func page[T any](items []T, limit int, name func(T) string) ([]T, *string) {
	if len(items) <= limit {
		return items, nil
	}
	items = items[:limit]
	tok := encodeToken(name(items[len(items)-1]))
	return items, &tok
}

// listByName runs a name-ordered List operation: Limit (1-100, default
// 100), NextToken and NamePrefix go to list; keep, if set, filters in
// memory (every name after the token is then read, as such filters have
// no index). It returns one page and the NextToken of the next.
func listByName[T any](limitVal *int32, token, prefix *string, keep func(T) bool, name func(T) string,
	list func(*store.NameListParams) ([]T, error)) ([]T, *string, error) {
	limit, err := pageLimit(limitVal)
	if err != nil {
		return nil, nil, err
	}
	after, err := decodeToken(token)
	if err != nil {
		return nil, nil, err
	}
	p := &store.NameListParams{AfterName: after}
	if prefix != nil {
		p.NamePrefix = *prefix
	}
	if keep == nil {
		p.Limit = limit + 1
	}
	items, err := list(p)
	if err != nil {
		return nil, nil, err
	}
	if keep != nil {
		kept := items[:0]
		for _, it := range items {
			if keep(it) {
				kept = append(kept, it)
			}
		}
		items = kept
	}
	items, next := page(items, limit, name)
	return items, next, nil
}

// emptyOutput is the `{}` of operations without output.
type emptyOutput struct{}

// rulesChanged reports a committed change of rules, targets, connections
// or API destinations.
func (h *Handler) rulesChanged() {
	if h.cfg.RulesChanged != nil {
		h.cfg.RulesChanged()
	}
}
