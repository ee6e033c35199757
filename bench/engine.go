package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// EngineStats is what the Docker engine's event stream shows of a run's
// containers, whoever started them (Gantry, moto, the docker CLI). All
// durations are in milliseconds.
type EngineStats struct {
	// Containers is how many of the run's containers the engine created.
	Containers int `json:"containers"`
	// Per container: create -> start (for Gantry this includes its attach
	// and executable check, for the CLI its attach), start -> die (the
	// process), die -> destroy (removal), and create -> destroy.
	CreateToStart   Dist `json:"create_to_start_ms"`
	StartToDie      Dist `json:"start_to_die_ms"`
	DieToDestroy    Dist `json:"die_to_destroy_ms"`
	CreateToDestroy Dist `json:"create_to_destroy_ms"`
	// MeanLive is the containers' summed create -> destroy time over the
	// run's wall time: how many existed on average. PeakLive is the most
	// at once.
	MeanLive float64 `json:"mean_live"`
	PeakLive int     `json:"peak_live"`
	// DestroyToNextCreate pairs, in order, each container created once
	// Parallelism containers existed with the earliest unpaired destroy
	// before it: the time a slot stayed empty between two containers
	// (outside the engine). Only computed when PeakLive <= Parallelism.
	DestroyToNextCreate Dist `json:"destroy_to_next_create_ms"`
	// For Batch endpoints: the job's startedAt minus the engine's start,
	// and its stoppedAt minus the engine's die (the endpoint's bookkeeping
	// around the container; millisecond timestamps).
	StartToStartedAt Dist `json:"start_to_started_at_ms"`
	DieToStoppedAt   Dist `json:"die_to_stopped_at_ms"`
}

// engineGrace is how long past the end of a run the engine's events are
// recorded: removal may trail it (moto removes a container after recording
// its job finished).
const engineGrace = 2 * time.Second

// containerEvents are the engine's times for one container.
type containerEvents struct {
	create, start, die, destroy time.Time
}

// dockerEvent is one line of `docker events --format '{{json .}}'`.
type dockerEvent struct {
	Action string `json:"Action"`
	ID     string `json:"id"`
	Actor  struct {
		Attributes map[string]string `json:"Attributes"`
	} `json:"Actor"`
	TimeNano int64 `json:"timeNano"`
}

// eventRecorder streams the engine's container events while a run goes
// on. (Reading them afterwards does not work: the engine keeps only its
// last 256 events.)
type eventRecorder struct {
	cancel context.CancelFunc
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan struct{} // closed when the stream has been read to its end

	evs   map[string]*containerEvents
	attrs map[string]map[string]string
	err   error

	closeOnce sync.Once
	waitErr   error
}

// startEvents starts `docker events` from now on. The caller must call
// stop.
func startEvents(ctx context.Context, dockerCLI string) (*eventRecorder, error) {
	// The engine replays what it has since "since", so no event between
	// now and the subscription is lost.
	since := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	r := &eventRecorder{cancel: cancel, done: make(chan struct{}), evs: map[string]*containerEvents{}, attrs: map[string]map[string]string{}}
	r.cmd = exec.CommandContext(ctx, dockerCLI, "events", "--since", fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()),
		"--filter", "type=container", "--format", "{{json .}}")
	r.cmd.Stderr = &r.stderr
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		cancel()
		return nil, err
	}
	if err := r.cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("docker events: %w", err)
	}
	go func() {
		defer close(r.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
		for sc.Scan() {
			r.add(sc.Bytes())
		}
		r.err = sc.Err()
	}()
	return r, nil
}

func (r *eventRecorder) add(line []byte) {
	var e dockerEvent
	if err := json.Unmarshal(line, &e); err != nil || e.ID == "" {
		return
	}
	c := r.evs[e.ID]
	if c == nil {
		c = &containerEvents{}
		r.evs[e.ID] = c
		r.attrs[e.ID] = e.Actor.Attributes
	}
	t := time.Unix(0, e.TimeNano)
	switch e.Action {
	case "create":
		c.create = t
	case "start":
		c.start = t
	case "die":
		c.die = t
	case "destroy":
		c.destroy = t
	}
}

// close ends the stream and waits for the process. It is idempotent.
func (r *eventRecorder) close() error {
	r.closeOnce.Do(func() {
		r.cancel()
		<-r.done
		r.waitErr = r.cmd.Wait()
	})
	return r.waitErr
}

// stop waits until engineGrace after until (or ctx ends), stops the stream
// and returns the events by container id, with the attributes of each
// container's first event.
func (r *eventRecorder) stop(ctx context.Context, until time.Time) (map[string]*containerEvents, map[string]map[string]string, error) {
	select {
	case <-time.After(time.Until(until.Add(engineGrace))):
	case <-ctx.Done():
	case <-r.done: // the stream ended early
	}
	werr := r.close()
	if r.err != nil {
		return nil, nil, fmt.Errorf("docker events: %w", r.err)
	}
	if werr != nil && r.cmd.ProcessState != nil && !r.cmd.ProcessState.Success() && len(r.evs) == 0 && r.stderr.Len() > 0 {
		return nil, nil, fmt.Errorf("docker events: %w: %s", werr, strings.TrimSpace(r.stderr.String()))
	}
	return r.evs, r.attrs, nil
}

// jobIDPattern finds AWS-style job ids (UUIDs, with an array index
// after ':' or '-') in container names and labels: Gantry labels its
// containers gantry.job-id=<id>, moto names them <job name>-<id> with ':'
// turned into '-'.
var jobIDPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?:-[0-9]+)?`)

// normJobID maps a job id to the form jobIDPattern finds.
func normJobID(id string) string { return strings.ReplaceAll(id, ":", "-") }

// matchByJobID returns a matcher of containers to job ids (in normJobID
// form) found in any of the container's attributes.
func matchByJobID(keys map[string]bool) func(map[string]string) (string, bool) {
	return func(attrs map[string]string) (string, bool) {
		for _, v := range attrs {
			for _, m := range jobIDPattern.FindAllString(normJobID(v), -1) {
				if keys[m] {
					return m, true
				}
			}
		}
		return "", false
	}
}

// matchByName returns a matcher of containers to their names in keys.
func matchByName(keys map[string]bool) func(map[string]string) (string, bool) {
	return func(attrs map[string]string) (string, bool) {
		n := attrs["name"]
		return n, keys[n]
	}
}

// jobTimes are a job's endpoint timestamps (ms since the epoch; 0 unknown),
// for relating them to the engine's.
type jobTimes struct{ startedAt, stoppedAt int64 }

// engineStats summarizes the recorded containers that match picks (one per
// key; the first created wins) over the run's [since, until]. jobs, when
// not nil, holds the endpoint's timestamps by the same keys.
func engineStats(evs map[string]*containerEvents, attrs map[string]map[string]string, since, until time.Time, parallelism int,
	match func(map[string]string) (string, bool), jobs map[string]jobTimes,
) *EngineStats {
	byKey := map[string]*containerEvents{}
	for id, c := range evs {
		k, ok := match(attrs[id])
		if !ok || c.create.IsZero() {
			continue
		}
		if prev := byKey[k]; prev == nil || c.create.Before(prev.create) {
			byKey[k] = c
		}
	}
	st := &EngineStats{Containers: len(byKey)}
	var c2s, s2d, d2x, c2x, startedAt, stoppedAt []float64
	var spans []interval
	var creates, destroys []time.Time
	var live time.Duration
	for k, c := range byKey {
		if !c.start.IsZero() {
			c2s = append(c2s, ms(c.start.Sub(c.create)))
		}
		if !c.start.IsZero() && !c.die.IsZero() {
			s2d = append(s2d, ms(c.die.Sub(c.start)))
		}
		if !c.die.IsZero() && !c.destroy.IsZero() {
			d2x = append(d2x, ms(c.destroy.Sub(c.die)))
		}
		creates = append(creates, c.create)
		end := c.destroy
		if end.IsZero() {
			end = until.Add(engineGrace) // still there after the run
		} else {
			destroys = append(destroys, c.destroy)
			c2x = append(c2x, ms(c.destroy.Sub(c.create)))
		}
		live += end.Sub(c.create)
		spans = append(spans, interval{ms(c.create.Sub(since)), ms(end.Sub(since))})
		if j, ok := jobs[k]; ok {
			if j.startedAt > 0 && !c.start.IsZero() {
				startedAt = append(startedAt, float64(j.startedAt-c.start.UnixMilli()))
			}
			if j.stoppedAt > 0 && !c.die.IsZero() {
				stoppedAt = append(stoppedAt, float64(j.stoppedAt-c.die.UnixMilli()))
			}
		}
	}
	st.CreateToStart, st.StartToDie, st.DieToDestroy, st.CreateToDestroy = NewDist(c2s), NewDist(s2d), NewDist(d2x), NewDist(c2x)
	st.StartToStartedAt, st.DieToStoppedAt = NewDist(startedAt), NewDist(stoppedAt)
	if wall := until.Sub(since); wall > 0 {
		st.MeanLive = live.Seconds() / wall.Seconds()
	}
	st.PeakLive = peakOverlap(spans)
	if parallelism > 0 && st.PeakLive <= parallelism {
		st.DestroyToNextCreate = NewDist(slotGaps(creates, destroys, parallelism))
	}
	return st
}

// slotGaps pairs each create after the first p with the earliest unpaired
// destroy before it and returns the gaps in milliseconds.
func slotGaps(creates, destroys []time.Time, p int) []float64 {
	slices.SortFunc(creates, time.Time.Compare)
	slices.SortFunc(destroys, time.Time.Compare)
	var gaps []float64
	next := 0
	for _, c := range creates[min(p, len(creates)):] {
		if next < len(destroys) && !destroys[next].After(c) {
			gaps = append(gaps, ms(c.Sub(destroys[next])))
			next++
		}
	}
	return gaps
}
