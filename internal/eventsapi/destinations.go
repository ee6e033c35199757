package eventsapi

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gantrybatch/gantry"
	"github.com/gantrybatch/gantry/store"
)

type apiDestinationInput struct {
	Name                         *string `json:"Name"`
	Description                  *string `json:"Description"`
	ConnectionArn                *string `json:"ConnectionArn"`
	InvocationEndpoint           *string `json:"InvocationEndpoint"`
	HttpMethod                   *string `json:"HttpMethod"`
	InvocationRateLimitPerSecond *int32  `json:"InvocationRateLimitPerSecond"`
}

// apiDestinationStateOutput is the output of Create and
// UpdateApiDestination.
type apiDestinationStateOutput struct {
	ApiDestinationArn   string  `json:"ApiDestinationArn"`
	ApiDestinationState string  `json:"ApiDestinationState"`
	CreationTime        float64 `json:"CreationTime"`
	LastModifiedTime    float64 `json:"LastModifiedTime"`
}

func destStateOut(d *gantry.APIDestination) apiDestinationStateOutput {
	return apiDestinationStateOutput{ApiDestinationArn: d.ApiDestinationArn, ApiDestinationState: d.ApiDestinationState,
		CreationTime: d.CreationTime, LastModifiedTime: d.LastModifiedTime}
}

var httpMethods = []string{"POST", "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"}

// applyDestination sets the given members of in on d; on create every
// required member must be given.
func (h *Handler) applyDestination(ctx context.Context, tx store.Tx, d *gantry.APIDestination, in *apiDestinationInput, create bool) error {
	if err := checkDescription(in.Description); err != nil {
		return err
	}
	if in.Description != nil {
		d.Description = *in.Description
	}
	if in.ConnectionArn != nil {
		if err := h.checkConnectionARN(ctx, tx, *in.ConnectionArn); err != nil {
			return err
		}
		d.ConnectionArn = *in.ConnectionArn
	} else if create {
		return required("connectionArn")
	}
	if in.InvocationEndpoint != nil {
		if err := checkEndpoint("InvocationEndpoint", *in.InvocationEndpoint); err != nil {
			return err
		}
		d.InvocationEndpoint = *in.InvocationEndpoint
	} else if create {
		return required("invocationEndpoint")
	}
	if in.HttpMethod != nil {
		if !slices.Contains(httpMethods, *in.HttpMethod) {
			return constraint("httpMethod", *in.HttpMethod, "satisfy enum value set: [POST, GET, HEAD, OPTIONS, PUT, PATCH, DELETE]")
		}
		d.HttpMethod = *in.HttpMethod
	} else if create {
		return required("httpMethod")
	}
	if in.InvocationRateLimitPerSecond != nil {
		if *in.InvocationRateLimitPerSecond < 1 {
			return constraint("invocationRateLimitPerSecond", *in.InvocationRateLimitPerSecond, "have value greater than or equal to 1")
		}
		d.InvocationRateLimitPerSecond = *in.InvocationRateLimitPerSecond
	} else if create {
		d.InvocationRateLimitPerSecond = gantry.DefaultInvocationRatePerSecond
	}
	return nil
}

// checkConnectionARN checks that a connection ARN names an existing
// connection (arn:aws:events:REGION:ACCOUNT:connection/NAME/UUID).
func (h *Handler) checkConnectionARN(ctx context.Context, tx store.Tx, arn string) error {
	if arn == "" || len(arn) > 1600 {
		return constraint("connectionArn", arn, "have length between 1 and 1600")
	}
	rest, ok := strings.CutPrefix(arn, h.arn("connection/"))
	name, _, _ := strings.Cut(rest, "/")
	if !ok || checkName("connectionArn", name, 64) != nil {
		return validationf("Parameter ConnectionArn is not valid: %q is not a connection ARN of this Gantry (%sNAME/UUID).", arn, h.arn("connection/"))
	}
	c, err := tx.ConnectionGet(ctx, name)
	if errors.Is(err, gantry.ErrNotFound) {
		return notFoundf("Connection '%s' does not exist.", arn)
	}
	if err != nil {
		return fmt.Errorf("get connection %s: %w", name, err)
	}
	if c.ConnectionArn != arn {
		return notFoundf("Connection '%s' does not exist.", arn)
	}
	return nil
}

func (h *Handler) createAPIDestination(ctx context.Context, in *apiDestinationInput) (any, error) {
	name, err := validName("name", in.Name)
	if err != nil {
		return nil, err
	}
	now := epochSeconds(h.ms())
	d := &gantry.APIDestination{
		Name: name, ApiDestinationArn: h.arn("api-destination/" + name + "/" + uuid.NewString()),
		ApiDestinationState: gantry.APIDestinationStateActive, CreationTime: now, LastModifiedTime: now,
	}
	err = h.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := h.applyDestination(ctx, tx, d, in, true); err != nil {
			return err
		}
		err := tx.APIDestinationInsert(ctx, d)
		if errors.Is(err, gantry.ErrAlreadyExists) {
			return &apiError{Code: codeAlreadyExists, Message: fmt.Sprintf("An api-destination '%s' already exists.", name)}
		}
		if err != nil {
			return fmt.Errorf("insert API destination %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	h.rulesChanged()
	return destStateOut(d), nil
}

func destinationNotFound(name string) error {
	return notFoundf("Failed to describe the api-destination(s). An api-destination '%s' does not exist.", name)
}

func (h *Handler) getDestination(ctx context.Context, q store.Tx, name string) (*gantry.APIDestination, error) {
	d, err := q.APIDestinationGet(ctx, name)
	if errors.Is(err, gantry.ErrNotFound) {
		return nil, destinationNotFound(name)
	}
	if err != nil {
		return nil, fmt.Errorf("get API destination %s: %w", name, err)
	}
	return d, nil
}

func (h *Handler) describeAPIDestination(ctx context.Context, in *nameInput) (any, error) {
	name, err := validName("name", in.Name)
	if err != nil {
		return nil, err
	}
	return h.getDestination(ctx, h.cfg.Store, name)
}

func (h *Handler) updateAPIDestination(ctx context.Context, in *apiDestinationInput) (any, error) {
	name, err := validName("name", in.Name)
	if err != nil {
		return nil, err
	}
	var d *gantry.APIDestination
	err = h.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		var err error
		if d, err = h.getDestination(ctx, tx, name); err != nil {
			return err
		}
		if err := h.applyDestination(ctx, tx, d, in, false); err != nil {
			return err
		}
		d.LastModifiedTime = epochSeconds(h.ms())
		if err := tx.APIDestinationUpdate(ctx, d); err != nil {
			return fmt.Errorf("update API destination %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	h.rulesChanged()
	return destStateOut(d), nil
}

func (h *Handler) deleteAPIDestination(ctx context.Context, in *nameInput) (any, error) {
	name, err := validName("name", in.Name)
	if err != nil {
		return nil, err
	}
	err = h.cfg.Store.InTx(ctx, func(ctx context.Context, tx store.Tx) error {
		if _, err := h.getDestination(ctx, tx, name); err != nil {
			return err
		}
		if err := tx.APIDestinationDelete(ctx, name); err != nil {
			return fmt.Errorf("delete API destination %s: %w", name, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	h.rulesChanged()
	return emptyOutput{}, nil
}

type listAPIDestinationsInput struct {
	NamePrefix    *string `json:"NamePrefix"`
	ConnectionArn *string `json:"ConnectionArn"`
	NextToken     *string `json:"NextToken"`
	Limit         *int32  `json:"Limit"`
}

type listAPIDestinationsOutput struct {
	ApiDestinations []*gantry.APIDestination `json:"ApiDestinations"`
	NextToken       *string                  `json:"NextToken,omitempty"`
}

func (h *Handler) listAPIDestinations(ctx context.Context, in *listAPIDestinationsInput) (any, error) {
	var keep func(*gantry.APIDestination) bool
	if in.ConnectionArn != nil {
		keep = func(d *gantry.APIDestination) bool { return d.ConnectionArn == *in.ConnectionArn }
	}
	list, next, err := listByName(in.Limit, in.NextToken, in.NamePrefix, keep, func(d *gantry.APIDestination) string { return d.Name },
		func(p *store.NameListParams) ([]*gantry.APIDestination, error) {
			return h.cfg.Store.APIDestinationList(ctx, p)
		})
	if err != nil {
		return nil, fmt.Errorf("list API destinations: %w", err)
	}
	return listAPIDestinationsOutput{ApiDestinations: append([]*gantry.APIDestination{}, list...), NextToken: next}, nil
}
