package eventsapi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

type basicAuthInput struct {
	Username *string `json:"Username"`
	Password *string `json:"Password"`
}

type apiKeyAuthInput struct {
	ApiKeyName  *string `json:"ApiKeyName"`
	ApiKeyValue *string `json:"ApiKeyValue"`
}

type oauthClientInput struct {
	ClientID     *string `json:"ClientID"`
	ClientSecret *string `json:"ClientSecret"`
}

type oauthInput struct {
	AuthorizationEndpoint *string                      `json:"AuthorizationEndpoint"`
	HttpMethod            *string                      `json:"HttpMethod"`
	ClientParameters      *oauthClientInput            `json:"ClientParameters"`
	OAuthHttpParameters   *gantry.ConnectionHTTPParams `json:"OAuthHttpParameters"`
}

type authInput struct {
	BasicAuthParameters      *basicAuthInput              `json:"BasicAuthParameters"`
	ApiKeyAuthParameters     *apiKeyAuthInput             `json:"ApiKeyAuthParameters"`
	OAuthParameters          *oauthInput                  `json:"OAuthParameters"`
	InvocationHttpParameters *gantry.ConnectionHTTPParams `json:"InvocationHttpParameters"`
	ConnectivityParameters   any                          `json:"ConnectivityParameters"`
}

type connectionInput struct {
	Name                             *string    `json:"Name"`
	Description                      *string    `json:"Description"`
	AuthorizationType                *string    `json:"AuthorizationType"`
	AuthParameters                   *authInput `json:"AuthParameters"`
	InvocationConnectivityParameters any        `json:"InvocationConnectivityParameters"`
	KmsKeyIdentifier                 *string    `json:"KmsKeyIdentifier"`
}

// connectionStateOutput is the output of Create, Update, Delete and
// DeauthorizeConnection.
type connectionStateOutput struct {
	ConnectionArn      string  `json:"ConnectionArn"`
	ConnectionState    string  `json:"ConnectionState"`
	CreationTime       float64 `json:"CreationTime"`
	LastModifiedTime   float64 `json:"LastModifiedTime"`
	LastAuthorizedTime float64 `json:"LastAuthorizedTime,omitempty"`
}

func stateOut(c *gantry.Connection) connectionStateOutput {
	return connectionStateOutput{ConnectionArn: c.ConnectionArn, ConnectionState: c.ConnectionState,
		CreationTime: c.CreationTime, LastModifiedTime: c.LastModifiedTime, LastAuthorizedTime: c.LastAuthorizedTime}
}

// connectionSummary is ListConnections' element.
type connectionSummary struct {
	Name               string  `json:"Name"`
	ConnectionArn      string  `json:"ConnectionArn"`
	ConnectionState    string  `json:"ConnectionState"`
	StateReason        string  `json:"StateReason,omitempty"`
	AuthorizationType  string  `json:"AuthorizationType"`
	CreationTime       float64 `json:"CreationTime"`
	LastModifiedTime   float64 `json:"LastModifiedTime"`
	LastAuthorizedTime float64 `json:"LastAuthorizedTime,omitempty"`
}

// checkEndpoint accepts an https URL, or an http one on a loopback host
// (127.0.0.1, ::1, localhost) for local testing, which AWS does not allow.
func checkEndpoint(field, v string) error {
	if v == "" || len(v) > 2048 {
		return constraint(field, v, "have length between 1 and 2048")
	}
	u, err := url.Parse(v)
	if err == nil && u.Host != "" && u.Scheme == "https" {
		return nil
	}
	if err == nil && u.Host != "" && u.Scheme == "http" {
		switch h := u.Hostname(); {
		case h == "localhost", h == "::1", strings.HasPrefix(h, "127."):
			return nil
		}
	}
	return validationf("Parameter %s is not valid: %q must be an https:// URL (Gantry also allows http:// on loopback hosts for testing).", field, v)
}

// applyAuth sets a connection's authorization from the input. On create
// (or when the type changes) the block of the type must be complete;
// otherwise the given members replace the stored ones.
func applyAuth(c *gantry.Connection, in *authInput, typ string, full bool) error {
	if in == nil {
		if full {
			return required("authParameters")
		}
		return nil
	}
	if in.ConnectivityParameters != nil {
		return validationf("Parameter ConnectivityParameters is not supported: Gantry connections reach public or local endpoints directly.")
	}
	given := map[string]bool{
		gantry.ConnectionAuthBasic:            in.BasicAuthParameters != nil,
		gantry.ConnectionAuthAPIKey:           in.ApiKeyAuthParameters != nil,
		gantry.ConnectionAuthOAuthClientCreds: in.OAuthParameters != nil,
	}
	for t, ok := range given {
		if ok && t != typ {
			return validationf("Parameter(s) AuthParameters is not valid: parameters of %s were given for AuthorizationType %s.", t, typ)
		}
	}
	if full && !given[typ] {
		names := map[string]string{gantry.ConnectionAuthBasic: "BasicAuthParameters", gantry.ConnectionAuthAPIKey: "ApiKeyAuthParameters", gantry.ConnectionAuthOAuthClientCreds: "OAuthParameters"}
		return validationf("Parameter(s) AuthParameters.%s must be specified for AuthorizationType %s.", names[typ], typ)
	}
	if full {
		ip := c.AuthParameters
		c.AuthParameters = &gantry.ConnectionAuthParameters{}
		if ip != nil {
			c.AuthParameters.InvocationHttpParameters = ip.InvocationHttpParameters
		}
	}
	if c.AuthParameters == nil {
		c.AuthParameters = &gantry.ConnectionAuthParameters{}
	}
	ap := c.AuthParameters
	set := func(dst *string, v *string, field string) error {
		if v != nil {
			if *v == "" || len(*v) > 512 {
				return constraint(field, "***", "have length between 1 and 512")
			}
			*dst = *v
		} else if full {
			return required(field)
		}
		return nil
	}
	switch typ {
	case gantry.ConnectionAuthBasic:
		if b := in.BasicAuthParameters; b != nil {
			if ap.BasicAuthParameters == nil {
				ap.BasicAuthParameters = &gantry.ConnectionBasicAuth{}
			}
			if err := set(&ap.BasicAuthParameters.Username, b.Username, "authParameters.basicAuthParameters.username"); err != nil {
				return err
			}
			if err := set(&ap.BasicAuthParameters.Password, b.Password, "authParameters.basicAuthParameters.password"); err != nil {
				return err
			}
		}
	case gantry.ConnectionAuthAPIKey:
		if k := in.ApiKeyAuthParameters; k != nil {
			if ap.ApiKeyAuthParameters == nil {
				ap.ApiKeyAuthParameters = &gantry.ConnectionAPIKeyAuth{}
			}
			if err := set(&ap.ApiKeyAuthParameters.ApiKeyName, k.ApiKeyName, "authParameters.apiKeyAuthParameters.apiKeyName"); err != nil {
				return err
			}
			if err := set(&ap.ApiKeyAuthParameters.ApiKeyValue, k.ApiKeyValue, "authParameters.apiKeyAuthParameters.apiKeyValue"); err != nil {
				return err
			}
		}
	case gantry.ConnectionAuthOAuthClientCreds:
		if o := in.OAuthParameters; o != nil {
			if ap.OAuthParameters == nil {
				ap.OAuthParameters = &gantry.ConnectionOAuth{}
			}
			op := ap.OAuthParameters
			if o.AuthorizationEndpoint != nil {
				if err := checkEndpoint("AuthorizationEndpoint", *o.AuthorizationEndpoint); err != nil {
					return err
				}
				op.AuthorizationEndpoint = *o.AuthorizationEndpoint
			} else if full {
				return required("authParameters.oAuthParameters.authorizationEndpoint")
			}
			if o.HttpMethod != nil {
				switch *o.HttpMethod {
				case "GET", "POST", "PUT":
					op.HttpMethod = *o.HttpMethod
				default:
					return constraint("authParameters.oAuthParameters.httpMethod", *o.HttpMethod, "satisfy enum value set: [GET, POST, PUT]")
				}
			} else if full {
				return required("authParameters.oAuthParameters.httpMethod")
			}
			if cp := o.ClientParameters; cp != nil {
				if op.ClientParameters == nil {
					op.ClientParameters = &gantry.ConnectionOAuthClient{}
				}
				if err := set(&op.ClientParameters.ClientID, cp.ClientID, "authParameters.oAuthParameters.clientParameters.clientID"); err != nil {
					return err
				}
				if err := set(&op.ClientParameters.ClientSecret, cp.ClientSecret, "authParameters.oAuthParameters.clientParameters.clientSecret"); err != nil {
					return err
				}
			} else if full {
				return required("authParameters.oAuthParameters.clientParameters")
			}
			if o.OAuthHttpParameters != nil {
				if err := checkHTTPParams(o.OAuthHttpParameters); err != nil {
					return err
				}
				op.OAuthHttpParameters = o.OAuthHttpParameters
			}
		}
	}
	if in.InvocationHttpParameters != nil {
		if err := checkHTTPParams(in.InvocationHttpParameters); err != nil {
			return err
		}
		ap.InvocationHttpParameters = in.InvocationHttpParameters
	}
	return nil
}

func checkHTTPParams(p *gantry.ConnectionHTTPParams) error {
	for kind, list := range map[string][]gantry.ConnectionParameter{"HeaderParameters": p.HeaderParameters, "QueryStringParameters": p.QueryStringParameters, "BodyParameters": p.BodyParameters} {
		if len(list) > 100 {
			return validationf("Parameter %s is not valid: at most 100 parameters are allowed.", kind)
		}
		for _, kv := range list {
			if kv.Key == "" || len(kv.Key) > 512 {
				return validationf("Parameter %s is not valid: every Key must be 1 to 512 characters.", kind)
			}
		}
	}
	return nil
}

// redacted returns a connection without its secrets, for Describe.
func redacted(c *gantry.Connection) *gantry.Connection {
	out := *c
	ap := c.AuthParameters
	if ap == nil {
		return &out
	}
	r := &gantry.ConnectionAuthParameters{InvocationHttpParameters: redactParams(ap.InvocationHttpParameters)}
	if b := ap.BasicAuthParameters; b != nil {
		r.BasicAuthParameters = &gantry.ConnectionBasicAuth{Username: b.Username}
	}
	if k := ap.ApiKeyAuthParameters; k != nil {
		r.ApiKeyAuthParameters = &gantry.ConnectionAPIKeyAuth{ApiKeyName: k.ApiKeyName}
	}
	if o := ap.OAuthParameters; o != nil {
		ro := &gantry.ConnectionOAuth{AuthorizationEndpoint: o.AuthorizationEndpoint, HttpMethod: o.HttpMethod, OAuthHttpParameters: redactParams(o.OAuthHttpParameters)}
		if cp := o.ClientParameters; cp != nil {
			ro.ClientParameters = &gantry.ConnectionOAuthClient{ClientID: cp.ClientID}
		}
		r.OAuthParameters = ro
	}
	out.AuthParameters = r
	return &out
}

func redactParams(p *gantry.ConnectionHTTPParams) *gantry.ConnectionHTTPParams {
	if p == nil {
		return nil
	}
	red := func(in []gantry.ConnectionParameter) []gantry.ConnectionParameter {
		var out []gantry.ConnectionParameter
		for _, kv := range in {
			if kv.IsValueSecret {
				kv.Value = ""
			}
			out = append(out, kv)
		}
		return out
	}
	return &gantry.ConnectionHTTPParams{HeaderParameters: red(p.HeaderParameters), QueryStringParameters: red(p.QueryStringParameters), BodyParameters: red(p.BodyParameters)}
}

func checkAuthType(v *string) (string, error) {
	if v == nil {
		return "", required("authorizationType")
	}
	switch *v {
	case gantry.ConnectionAuthBasic, gantry.ConnectionAuthAPIKey, gantry.ConnectionAuthOAuthClientCreds:
		return *v, nil
	}
	return "", constraint("authorizationType", *v, "satisfy enum value set: [BASIC, OAUTH_CLIENT_CREDENTIALS, API_KEY]")
}

func checkDescription(v *string) error {
	if v != nil && len(*v) > 512 {
		return constraint("description", *v, "have length less than or equal to 512")
	}
	return nil
}

func (h *Handler) createConnection(ctx context.Context, in *connectionInput) (any, error) {
	name, err := validName("name", in.Name)
	if err != nil {
		return nil, err
	}
	typ, err := checkAuthType(in.AuthorizationType)
	if err != nil {
		return nil, err
	}
	if err := checkDescription(in.Description); err != nil {
		return nil, err
	}
	if in.InvocationConnectivityParameters != nil {
		return nil, validationf("Parameter InvocationConnectivityParameters is not supported: Gantry connections reach public or local endpoints directly.")
	}
	now := epochSeconds(h.ms())
	id := uuid.NewString()
	c := &gantry.Connection{
		Name: name, ConnectionArn: h.arn("connection/" + name + "/" + id), ConnectionState: gantry.ConnectionStateAuthorized,
		AuthorizationType: typ, SecretArn: h.secretARN(name, id),
		CreationTime: now, LastModifiedTime: now, LastAuthorizedTime: now,
	}
	if in.Description != nil {
		c.Description = *in.Description
	}
	if err := applyAuth(c, in.AuthParameters, typ, true); err != nil {
		return nil, err
	}
	err = h.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		err := tx.ConnectionInsert(ctx, c)
		if errors.Is(err, gantry.ErrAlreadyExists) {
			return &apiError{Code: codeAlreadyExists, Message: fmt.Sprintf("Connection %s already exists.", name)}
		}
		if err != nil {
			return fmt.Errorf("insert connection %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	h.rulesChanged()
	return stateOut(c), nil
}

// secretARN is where AWS would keep the connection's secrets.
func (h *Handler) secretARN(name, id string) string {
	suffix := strings.ReplaceAll(uuid.NewString(), "-", "")[:6]
	return fmt.Sprintf("arn:%s:secretsmanager:%s:%s:secret:events!connection/%s/%s-%s", gantry.Partition, h.cfg.Region, h.cfg.AccountID, name, id, suffix)
}

func connectionNotFound(name string) error {
	return notFoundf("Failed to describe the connection(s). Connection '%s' does not exist.", name)
}

func (h *Handler) getConnection(ctx context.Context, q store.Tx, name string) (*gantry.Connection, error) {
	c, err := q.ConnectionGet(ctx, name)
	if errors.Is(err, gantry.ErrNotFound) {
		return nil, connectionNotFound(name)
	}
	if err != nil {
		return nil, fmt.Errorf("get connection %s: %w", name, err)
	}
	return c, nil
}

type nameInput struct {
	Name *string `json:"Name"`
}

func (h *Handler) describeConnection(ctx context.Context, in *nameInput) (any, error) {
	name, err := validName("name", in.Name)
	if err != nil {
		return nil, err
	}
	c, err := h.getConnection(ctx, h.cfg.Store, name)
	if err != nil {
		return nil, err
	}
	return redacted(c), nil
}

func (h *Handler) updateConnection(ctx context.Context, in *connectionInput) (any, error) {
	name, err := validName("name", in.Name)
	if err != nil {
		return nil, err
	}
	if err := checkDescription(in.Description); err != nil {
		return nil, err
	}
	if in.InvocationConnectivityParameters != nil {
		return nil, validationf("Parameter InvocationConnectivityParameters is not supported: Gantry connections reach public or local endpoints directly.")
	}
	return h.changeConnection(ctx, name, func(ctx context.Context, tx store.Tx, c *gantry.Connection) error {
		typ := c.AuthorizationType
		if in.AuthorizationType != nil {
			var err error
			if typ, err = checkAuthType(in.AuthorizationType); err != nil {
				return err
			}
		}
		changed := typ != c.AuthorizationType
		c.AuthorizationType = typ
		if err := applyAuth(c, in.AuthParameters, typ, changed); err != nil {
			return err
		}
		if in.Description != nil {
			c.Description = *in.Description
		}
		now := epochSeconds(h.ms())
		c.LastModifiedTime, c.LastAuthorizedTime = now, now
		c.ConnectionState, c.StateReason = gantry.ConnectionStateAuthorized, ""
		return tx.ConnectionUpdate(ctx, c)
	})
}

// changeConnection reads connection name, lets change modify (or delete)
// it in the same transaction, and answers with its state as change left it.
func (h *Handler) changeConnection(ctx context.Context, name string, change func(ctx context.Context, tx store.Tx, c *gantry.Connection) error) (any, error) {
	var c *gantry.Connection
	err := h.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		var err error
		if c, err = h.getConnection(ctx, tx, name); err != nil {
			return err
		}
		if err := change(ctx, tx, c); err != nil {
			return fmt.Errorf("connection %s: %w", name, err) // API errors stay visible to errors.As
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	h.rulesChanged()
	return stateOut(c), nil
}

func (h *Handler) deleteConnection(ctx context.Context, in *nameInput) (any, error) {
	name, err := validName("name", in.Name)
	if err != nil {
		return nil, err
	}
	// AWS documents no refusal while API destinations use the connection;
	// their deliveries then fail until the connection is recreated.
	return h.changeConnection(ctx, name, func(ctx context.Context, tx store.Tx, _ *gantry.Connection) error {
		return tx.ConnectionDelete(ctx, name)
	})
}

func (h *Handler) deauthorizeConnection(ctx context.Context, in *nameInput) (any, error) {
	name, err := validName("name", in.Name)
	if err != nil {
		return nil, err
	}
	return h.changeConnection(ctx, name, func(ctx context.Context, tx store.Tx, c *gantry.Connection) error {
		c.ConnectionState, c.StateReason = gantry.ConnectionStateDeauthorized, "Deauthorized by DeauthorizeConnection; UpdateConnection authorizes it again."
		c.LastModifiedTime = epochSeconds(h.ms())
		return tx.ConnectionUpdate(ctx, c)
	})
}

type listConnectionsInput struct {
	NamePrefix      *string `json:"NamePrefix"`
	ConnectionState *string `json:"ConnectionState"`
	NextToken       *string `json:"NextToken"`
	Limit           *int32  `json:"Limit"`
}

type listConnectionsOutput struct {
	Connections []connectionSummary `json:"Connections"`
	NextToken   *string             `json:"NextToken,omitempty"`
}

func (h *Handler) listConnections(ctx context.Context, in *listConnectionsInput) (any, error) {
	var keep func(*gantry.Connection) bool
	if in.ConnectionState != nil {
		keep = func(c *gantry.Connection) bool { return c.ConnectionState == *in.ConnectionState }
	}
	list, next, err := listByName(in.Limit, in.NextToken, in.NamePrefix, keep, func(c *gantry.Connection) string { return c.Name },
		func(p *store.NameListParams) ([]*gantry.Connection, error) { return h.cfg.Store.ConnectionList(ctx, p) })
	if err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	out := listConnectionsOutput{Connections: []connectionSummary{}, NextToken: next}
	for _, c := range list {
		out.Connections = append(out.Connections, connectionSummary{
			Name: c.Name, ConnectionArn: c.ConnectionArn, ConnectionState: c.ConnectionState, StateReason: c.StateReason,
			AuthorizationType: c.AuthorizationType, CreationTime: c.CreationTime, LastModifiedTime: c.LastModifiedTime,
			LastAuthorizedTime: c.LastAuthorizedTime,
		})
	}
	return out, nil
}
