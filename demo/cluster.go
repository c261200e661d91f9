package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/amigo-release/amigo-release/amigo/amigotest"
)

// Regions are the four documented Amigo regions, in the demo's release
// order.
var Regions = []string{"us", "eu-central-1", "ap-southeast-2", "ca-central-1"}

// ClusterOptions configure StartCluster.
type ClusterOptions struct {
	// Addr is where to listen (default "127.0.0.1:0": a free port).
	Addr string
	// Listener, when set, is listened on instead of Addr (for example an
	// amigotest.PipeNet listener, to run the cluster in a testing/synctest
	// bubble); BaseURL is then "http://" + its address. Close closes it.
	Listener net.Listener
	// Regions are the region names, each served under /NAME (default
	// Regions).
	Regions []string
	// Emulator is the template of every region's options (clock, tools
	// repository, latencies, tokens...). Each region gets Seed + i*7919 so
	// that IDs differ between regions, as amigotest.NewTestRegions does.
	Emulator amigotest.Options
}

// Cluster is one emulator per region behind one HTTP listener: region r is
// served at URL(r) = BaseURL + "/" + r, its own independent state.
type Cluster struct {
	// BaseURL is "http://HOST:PORT".
	BaseURL string
	// Names lists the regions in order.
	Names []string
	// Servers are the regions' emulators, for seeding, fault injection and
	// inspection.
	Servers map[string]*amigotest.Server

	hs   *http.Server
	done chan error
	// fresh holds connections that have not sent a request yet (a
	// client's spare dial): Shutdown would wait five seconds for them.
	freshMu   sync.Mutex
	fresh     map[net.Conn]bool
	closeOnce sync.Once
	closeErr  error
}

// StartCluster starts serving every region and returns once the listener
// accepts connections.
func StartCluster(o ClusterOptions) (*Cluster, error) {
	if o.Addr == "" {
		o.Addr = "127.0.0.1:0"
	}
	if len(o.Regions) == 0 {
		o.Regions = Regions
	}
	base := o.Emulator.Seed
	if base == 0 {
		base = 1
	}
	c := &Cluster{Servers: map[string]*amigotest.Server{}, done: make(chan error, 1)}
	mux := http.NewServeMux()
	for i, r := range o.Regions {
		if r == "" || strings.ContainsAny(r, "/?#% ") || c.Servers[r] != nil {
			return nil, fmt.Errorf("demo: bad or repeated region name %q", r)
		}
		eo := o.Emulator
		eo.Seed = base + int64(i)*7919
		srv := amigotest.New(eo)
		c.Servers[r] = srv
		c.Names = append(c.Names, r)
		mux.Handle("/"+r+"/", http.StripPrefix("/"+r, srv.Handler()))
	}
	names := append([]string(nil), c.Names...)
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "no region at this path; regions: /"+strings.Join(names, ", /"), http.StatusNotFound)
	})
	ln := o.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", o.Addr); err != nil {
			c.closeServers()
			return nil, fmt.Errorf("demo: listen on %s: %w", o.Addr, err)
		}
	}
	c.BaseURL = "http://" + ln.Addr().String()
	c.fresh = map[net.Conn]bool{}
	c.hs = &http.Server{Handler: mux, ReadHeaderTimeout: 30 * time.Second, ConnState: c.track}
	go func() { c.done <- c.hs.Serve(ln) }()
	return c, nil
}

// URL is the base URL of region r (a stage's base_url).
func (c *Cluster) URL(r string) string { return c.BaseURL + "/" + r }

// URLs maps every region to its base URL.
func (c *Cluster) URLs() map[string]string {
	out := make(map[string]string, len(c.Names))
	for _, r := range c.Names {
		out[r] = c.URL(r)
	}
	return out
}

// Injected sums the faults injected by every region, by kind.
func (c *Cluster) Injected() map[string]int {
	out := map[string]int{}
	for _, s := range c.Servers {
		for k, v := range s.Injected() {
			out[k] += v
		}
	}
	return out
}

// Requests returns every region's request log.
func (c *Cluster) Requests() map[string][]amigotest.LoggedRequest {
	out := make(map[string][]amigotest.LoggedRequest, len(c.Servers))
	for r, s := range c.Servers {
		out[r] = s.Requests()
	}
	return out
}

// MutatingRequests lists the mutating requests any region answered with a
// success (2xx) or after doing the work (a dropped connection), as
// "region METHOD PATH status" lines, sorted. Refused requests change nothing
// and are left out.
func (c *Cluster) MutatingRequests() []string {
	var out []string
	for r, s := range c.Servers {
		for _, q := range s.Requests() {
			if q.Mutating() && q.Status < 300 {
				out = append(out, fmt.Sprintf("%s %s %s %d", r, q.Method, q.Path, q.Status))
			}
		}
	}
	sort.Strings(out)
	return out
}

// Close stops the listener (in-flight requests get up to five seconds)
// and every region's background work. Calling it again returns the first
// call's result.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.close() })
	return c.closeErr
}

// track remembers which connections have not sent a request yet.
func (c *Cluster) track(conn net.Conn, st http.ConnState) {
	c.freshMu.Lock()
	defer c.freshMu.Unlock()
	if st == http.StateNew {
		c.fresh[conn] = true
	} else {
		delete(c.fresh, conn)
	}
}

func (c *Cluster) close() error {
	// A connection that never sent a request has nothing in flight: close
	// it now rather than let Shutdown wait five seconds for it.
	c.freshMu.Lock()
	for conn := range c.fresh {
		conn.Close()
	}
	c.freshMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.hs.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = c.hs.Close()
	}
	if serr := <-c.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	c.closeServers()
	return err
}

func (c *Cluster) closeServers() {
	for _, s := range c.Servers {
		s.Close()
	}
}
