package gantry

// This file holds the EventBridge resources Gantry serves (issue 7): rules,
// their targets, connections and API destinations, in the EventBridge JSON
// 1.1 wire shape (PascalCase members; timestamps are epoch seconds).

// Rule states.
const (
	RuleStateEnabled  = "ENABLED"
	RuleStateDisabled = "DISABLED"
)

// DefaultEventBus is the one event bus Gantry has.
const DefaultEventBus = "default"

// Rule is an EventBridge rule: an event pattern, a schedule, or both.
type Rule struct {
	Name               string `json:"Name"`
	Arn                string `json:"Arn"`
	EventPattern       string `json:"EventPattern,omitempty"`
	ScheduleExpression string `json:"ScheduleExpression,omitempty"`
	// ScheduleExpressionTimezone is an IANA zone for cron() schedules (the
	// EventBridge Scheduler member; a Gantry extension on rules). Empty is UTC.
	ScheduleExpressionTimezone string `json:"ScheduleExpressionTimezone,omitempty"`
	State                      string `json:"State"`
	Description                string `json:"Description,omitempty"`
	RoleArn                    string `json:"RoleArn,omitempty"`
	EventBusName               string `json:"EventBusName"`
	ManagedBy                  string `json:"ManagedBy,omitempty"`
	CreatedBy                  string `json:"CreatedBy,omitempty"`
	// Tags are kept with the rule (TagResource/ListTagsForResource).
	Tags []RuleTag `json:"Tags,omitempty"`
	// CreatedAt is epoch milliseconds (not in the wire shape of DescribeRule).
	CreatedAt int64 `json:"GantryCreatedAt,omitempty"`
}

// RuleTag is an EventBridge tag.
type RuleTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

// Target is where a rule sends matching events.
type Target struct {
	Id               string                  `json:"Id"`
	Arn              string                  `json:"Arn"`
	RoleArn          string                  `json:"RoleArn,omitempty"`
	Input            string                  `json:"Input,omitempty"`
	InputPath        string                  `json:"InputPath,omitempty"`
	InputTransformer *InputTransformer       `json:"InputTransformer,omitempty"`
	BatchParameters  *BatchTargetParameters  `json:"BatchParameters,omitempty"`
	HttpParameters   *HttpTargetParameters   `json:"HttpParameters,omitempty"`
	RetryPolicy      *TargetRetryPolicy      `json:"RetryPolicy,omitempty"`
	DeadLetterConfig *TargetDeadLetterConfig `json:"DeadLetterConfig,omitempty"`
}

// InputTransformer shapes the input of a target from the event.
type InputTransformer struct {
	InputPathsMap map[string]string `json:"InputPathsMap,omitempty"`
	InputTemplate string            `json:"InputTemplate"`
}

// BatchTargetParameters configures a Batch job queue target.
type BatchTargetParameters struct {
	JobDefinition   string                      `json:"JobDefinition"`
	JobName         string                      `json:"JobName"`
	ArrayProperties *BatchTargetArrayProperties `json:"ArrayProperties,omitempty"`
	RetryStrategy   *BatchTargetRetryStrategy   `json:"RetryStrategy,omitempty"`
}

// BatchTargetArrayProperties is the array size of the submitted job.
type BatchTargetArrayProperties struct {
	Size int32 `json:"Size,omitempty"`
}

// BatchTargetRetryStrategy is the attempts of the submitted job.
type BatchTargetRetryStrategy struct {
	Attempts int32 `json:"Attempts,omitempty"`
}

// HttpTargetParameters adds path, header and query values to an API
// destination or webhook call.
type HttpTargetParameters struct {
	PathParameterValues   []string          `json:"PathParameterValues,omitempty"`
	HeaderParameters      map[string]string `json:"HeaderParameters,omitempty"`
	QueryStringParameters map[string]string `json:"QueryStringParameters,omitempty"`
}

// TargetRetryPolicy bounds the delivery retries of one target. AWS's
// defaults are 185 attempts and 86,400 seconds.
type TargetRetryPolicy struct {
	MaximumRetryAttempts     *int32 `json:"MaximumRetryAttempts,omitempty"`
	MaximumEventAgeInSeconds *int32 `json:"MaximumEventAgeInSeconds,omitempty"`
}

// TargetDeadLetterConfig names an SQS queue for undeliverable events. Gantry
// keeps a dead-letter record in its own store whatever the Arn.
type TargetDeadLetterConfig struct {
	Arn string `json:"Arn,omitempty"`
}

// Connection authorization types.
const (
	ConnectionAuthBasic             = "BASIC"
	ConnectionAuthAPIKey            = "API_KEY"
	ConnectionAuthOAuthClientCreds  = "OAUTH_CLIENT_CREDENTIALS"
	ConnectionStateAuthorized       = "AUTHORIZED"
	ConnectionStateDeauthorized     = "DEAUTHORIZED"
	APIDestinationStateActive       = "ACTIVE"
	APIDestinationStateInactive     = "INACTIVE"
	DefaultInvocationRatePerSecond  = 300
	DefaultEventMaximumRetries      = 185
	DefaultEventMaximumAgeInSeconds = 86400
)

// Connection holds the credentials an API destination calls with. The
// secrets (passwords, API key values, client secrets) are stored but never
// returned by Describe/List.
type Connection struct {
	Name               string                    `json:"Name"`
	ConnectionArn      string                    `json:"ConnectionArn"`
	ConnectionState    string                    `json:"ConnectionState"`
	StateReason        string                    `json:"StateReason,omitempty"`
	AuthorizationType  string                    `json:"AuthorizationType"`
	AuthParameters     *ConnectionAuthParameters `json:"AuthParameters,omitempty"`
	Description        string                    `json:"Description,omitempty"`
	SecretArn          string                    `json:"SecretArn,omitempty"`
	CreationTime       float64                   `json:"CreationTime"`
	LastModifiedTime   float64                   `json:"LastModifiedTime"`
	LastAuthorizedTime float64                   `json:"LastAuthorizedTime,omitempty"`
}

// ConnectionAuthParameters is one of Basic, ApiKey or OAuth, plus extra
// parameters sent with every invocation.
type ConnectionAuthParameters struct {
	BasicAuthParameters      *ConnectionBasicAuth  `json:"BasicAuthParameters,omitempty"`
	ApiKeyAuthParameters     *ConnectionAPIKeyAuth `json:"ApiKeyAuthParameters,omitempty"`
	OAuthParameters          *ConnectionOAuth      `json:"OAuthParameters,omitempty"`
	InvocationHttpParameters *ConnectionHTTPParams `json:"InvocationHttpParameters,omitempty"`
}

// ConnectionBasicAuth is HTTP basic authentication.
type ConnectionBasicAuth struct {
	Username string `json:"Username"`
	Password string `json:"Password,omitempty"`
}

// ConnectionAPIKeyAuth sends a header ApiKeyName: ApiKeyValue.
type ConnectionAPIKeyAuth struct {
	ApiKeyName  string `json:"ApiKeyName"`
	ApiKeyValue string `json:"ApiKeyValue,omitempty"`
}

// ConnectionOAuth is the OAuth client-credentials flow.
type ConnectionOAuth struct {
	AuthorizationEndpoint string                 `json:"AuthorizationEndpoint"`
	HttpMethod            string                 `json:"HttpMethod"`
	ClientParameters      *ConnectionOAuthClient `json:"ClientParameters,omitempty"`
	OAuthHttpParameters   *ConnectionHTTPParams  `json:"OAuthHttpParameters,omitempty"`
}

// ConnectionOAuthClient is the OAuth client id and secret.
type ConnectionOAuthClient struct {
	ClientID     string `json:"ClientID"`
	ClientSecret string `json:"ClientSecret,omitempty"`
}

// ConnectionHTTPParams are extra headers, query strings and body fields.
type ConnectionHTTPParams struct {
	HeaderParameters      []ConnectionParameter `json:"HeaderParameters,omitempty"`
	QueryStringParameters []ConnectionParameter `json:"QueryStringParameters,omitempty"`
	BodyParameters        []ConnectionParameter `json:"BodyParameters,omitempty"`
}

// ConnectionParameter is one key/value; secret values are not returned.
type ConnectionParameter struct {
	Key           string `json:"Key"`
	Value         string `json:"Value,omitempty"`
	IsValueSecret bool   `json:"IsValueSecret,omitempty"`
}

// APIDestination is an HTTP endpoint a rule target can call.
type APIDestination struct {
	Name                         string  `json:"Name"`
	ApiDestinationArn            string  `json:"ApiDestinationArn"`
	ApiDestinationState          string  `json:"ApiDestinationState"`
	ConnectionArn                string  `json:"ConnectionArn"`
	InvocationEndpoint           string  `json:"InvocationEndpoint"`
	HttpMethod                   string  `json:"HttpMethod"`
	InvocationRateLimitPerSecond int32   `json:"InvocationRateLimitPerSecond,omitempty"`
	Description                  string  `json:"Description,omitempty"`
	CreationTime                 float64 `json:"CreationTime"`
	LastModifiedTime             float64 `json:"LastModifiedTime"`
}
