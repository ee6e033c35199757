package gantry

import (
	"errors"
	"testing"
)

func TestCheckTransition(t *testing.T) {
	t.Parallel()
	allowed := map[[2]JobStatus]bool{
		{JobStatusSubmitted, JobStatusPending}: true, {JobStatusSubmitted, JobStatusRunnable}: true, {JobStatusSubmitted, JobStatusFailed}: true,
		{JobStatusPending, JobStatusRunnable}: true, {JobStatusPending, JobStatusFailed}: true, {JobStatusPending, JobStatusSucceeded}: true,
		{JobStatusRunnable, JobStatusStarting}: true, {JobStatusRunnable, JobStatusFailed}: true,
		{JobStatusStarting, JobStatusRunning}: true, {JobStatusStarting, JobStatusRunnable}: true, {JobStatusStarting, JobStatusFailed}: true,
		{JobStatusRunning, JobStatusSucceeded}: true, {JobStatusRunning, JobStatusFailed}: true, {JobStatusRunning, JobStatusRunnable}: true,
	}
	// Every pair of statuses, so a new edge cannot slip in unnoticed.
	for _, from := range JobStatuses {
		for _, to := range JobStatuses {
			err := CheckTransition(from, to)
			if want := allowed[[2]JobStatus{from, to}]; want != (err == nil) {
				t.Errorf("CheckTransition(%s, %s) = %v, want allowed=%v", from, to, err, want)
			}
			if err != nil && !errors.Is(err, ErrInvalidTransition) {
				t.Errorf("CheckTransition(%s, %s) error %v does not wrap ErrInvalidTransition", from, to, err)
			}
		}
	}
	for _, s := range JobStatuses {
		if s.Terminal() != (s == JobStatusSucceeded || s == JobStatusFailed) {
			t.Errorf("%s.Terminal() wrong", s)
		}
	}
	if JobStatus("DONE").Valid() {
		t.Error("DONE must not be a valid status")
	}
}
