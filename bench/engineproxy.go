package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// EngineProxy forwards Docker Engine API requests to the engine's unix
// socket and records every call's route and duration, to show which engine
// calls a client (Gantry's Docker executor, moto, the docker CLI) makes per
// container and what each costs under load. Point the client at the proxy
// (gantry server --docker-host unix://PROXY, DOCKER_HOST=unix://PROXY).
//
// It adds a hop to every call, so profile with it, and time without it.
type EngineProxy struct {
	rp *httputil.ReverseProxy

	mu    sync.Mutex
	calls map[string][]float64 // ms, by "METHOD /route"
}

// NewEngineProxy returns a proxy to the engine listening on the unix
// socket upstream (e.g. /var/run/docker.sock).
func NewEngineProxy(upstream string) *EngineProxy {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", upstream)
		},
		MaxIdleConnsPerHost: 64,
	}
	p := &EngineProxy{calls: map[string][]float64{}}
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme = "http"
			r.Out.URL.Host = "docker"
			r.Out.Host = "docker"
		},
		Transport:     tr,
		FlushInterval: -1, // stream events, logs and waits as they come
	}
	return p
}

// ServeHTTP forwards one call (attach's upgraded connection included) and
// records it when it ends.
func (p *EngineProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t0 := time.Now()
	p.rp.ServeHTTP(w, r)
	d := ms(time.Since(t0))
	key := EngineRoute(r.Method, r.URL.Path)
	p.mu.Lock()
	p.calls[key] = append(p.calls[key], d)
	p.mu.Unlock()
}

// EngineCall is one route's record.
type EngineCall struct {
	Route string
	Dist  Dist // ms
}

// Calls returns the record so far, by route.
func (p *EngineProxy) Calls() []EngineCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]EngineCall, 0, len(p.calls))
	for k, v := range p.calls {
		out = append(out, EngineCall{Route: k, Dist: NewDist(v)})
	}
	slices.SortFunc(out, func(a, b EngineCall) int { return strings.Compare(a.Route, b.Route) })
	return out
}

// WriteEngineCalls writes calls as a Markdown table; perContainer, when
// positive, adds each route's calls per container.
func WriteEngineCalls(w io.Writer, calls []EngineCall, perContainer int) {
	head := []string{"engine call", "count", "per container", "p50 ms", "p90 ms", "max ms", "total s"}
	var rows [][]string
	for _, c := range calls {
		per := "–"
		if perContainer > 0 {
			per = fmt.Sprintf("%.2f", float64(c.Dist.N)/float64(perContainer))
		}
		rows = append(rows, []string{"`" + c.Route + "`", fmt.Sprint(c.Dist.N), per,
			fmt.Sprintf("%.1f", c.Dist.P50), fmt.Sprintf("%.1f", c.Dist.P90), fmt.Sprintf("%.1f", c.Dist.Max),
			fmt.Sprintf("%.2f", c.Dist.Mean*float64(c.Dist.N)/1000)})
	}
	writeTable(w, head, rows)
}

var apiVersionPrefix = regexp.MustCompile(`^/v[0-9]+\.[0-9]+`)

// EngineRoute names an engine call by method and path, with the API
// version dropped and object ids and names replaced by {id}.
func EngineRoute(method, path string) string {
	p := strings.Trim(apiVersionPrefix.ReplaceAllString(path, ""), "/")
	seg := strings.Split(p, "/")
	switch {
	case len(seg) >= 2 && seg[0] == "images":
		// Image names contain slashes: /images/{name}/json.
		if last := seg[len(seg)-1]; last == "json" || last == "history" || last == "push" || last == "tag" {
			seg = []string{"images", "{id}", last}
		} else if seg[1] != "create" && seg[1] != "load" && seg[1] != "search" && seg[1] != "get" && seg[1] != "prune" {
			seg = []string{"images", "{id}"}
		}
	case len(seg) >= 2 && (seg[0] == "containers" || seg[0] == "exec" || seg[0] == "networks" || seg[0] == "volumes"):
		switch seg[1] {
		case "create", "json", "prune":
		default:
			seg[1] = "{id}"
		}
	}
	return method + " /" + strings.Join(seg, "/")
}
