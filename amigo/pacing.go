package amigo

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/amigo-release/amigo-release/internal/clock"
)

// Op names an API operation by its OpenAPI operationId.
type Op string

// The 14 operations of the Amigo Tool API.
const (
	OpSignIn            Op = "sign-in-with-api-key"
	OpListTools         Op = "get-tools"
	OpCreateTool        Op = "create-tool"
	OpModifyTool        Op = "modify-tool"
	OpDeprecateTool     Op = "deprecate-tool"
	OpModifyEnvvars     Op = "modify-tool-envvars"
	OpTestTool          Op = "test-tool"
	OpPublishVersion    Op = "publish-tool-version"
	OpListVersions      Op = "get-tool-versions"
	OpDeprecateVersions Op = "deprecate-tool-version"
	OpInvoke            Op = "invoke-tool-version"
	OpListInvocations   Op = "get-tool-invocations"
	OpSearchInvocations Op = "search-tool-invocations"
	OpDownloadScaffold  Op = "get-tool-scaffold-release"
)

// Ops lists every operation, in the order of the API documentation.
var Ops = []Op{
	OpSignIn, OpListTools, OpCreateTool, OpModifyTool, OpDeprecateTool, OpModifyEnvvars,
	OpTestTool, OpPublishVersion, OpListVersions, OpDeprecateVersions, OpInvoke,
	OpListInvocations, OpSearchInvocations, OpDownloadScaffold,
}

// DefaultLimits are the documented rate limits, in requests per minute per
// user and endpoint.
func DefaultLimits() map[Op]int {
	return map[Op]int{
		OpSignIn:            5,
		OpListTools:         50,
		OpCreateTool:        20,
		OpModifyTool:        20,
		OpDeprecateTool:     20,
		OpModifyEnvvars:     20,
		OpTestTool:          1,
		OpPublishVersion:    10,
		OpListVersions:      50,
		OpDeprecateVersions: 20,
		OpInvoke:            10,
		OpListInvocations:   50,
		OpSearchInvocations: 50,
		OpDownloadScaffold:  50,
	}
}

// DefaultPaceMargin stretches every pacing interval by 5%, so that requests
// still arrive inside the server's budget when the network delays one of
// them a little more than the one before.
const DefaultPaceMargin = 0.05

// PacerConfig configures a Pacer.
type PacerConfig struct {
	// Clock measures and waits; default clock.Real{}.
	Clock clock.Clock
	// Limits overrides DefaultLimits per operation, in requests per minute.
	// A limit of 0 or less turns pacing off for that operation.
	Limits map[Op]int
	// Margin stretches each interval by this fraction: 0 means
	// DefaultPaceMargin, a negative value means no margin.
	Margin float64
}

// Pacer spaces requests so that none exceeds the per-minute limit of its
// endpoint. It keeps one token bucket (burst 1, so requests are evenly
// spaced) per server, user and operation, so one Pacer can be shared by
// every Client of a process: clients talking to the same server as the same
// user share buckets, others do not interfere. A Pacer is safe for
// concurrent use.
type Pacer struct {
	clk    clock.Clock
	limits map[Op]int
	margin float64

	mu      sync.Mutex
	buckets map[paceKey]*rate.Limiter
}

type paceKey struct {
	server, user string
	op           Op
}

// NewPacer returns a Pacer. It fails on a negative limit, naming the
// operation.
func NewPacer(cfg PacerConfig) (*Pacer, error) {
	p := &Pacer{
		clk:     cfg.Clock,
		limits:  DefaultLimits(),
		margin:  cfg.Margin,
		buckets: map[paceKey]*rate.Limiter{},
	}
	if p.clk == nil {
		p.clk = clock.Real{}
	}
	switch {
	case cfg.Margin == 0:
		p.margin = DefaultPaceMargin
	case cfg.Margin < 0:
		p.margin = 0
	case math.IsNaN(cfg.Margin) || cfg.Margin > 10:
		return nil, fmt.Errorf("PacerConfig.Margin %v is out of range: use a small fraction such as 0.05", cfg.Margin)
	}
	for op, n := range cfg.Limits {
		if n < 0 {
			return nil, fmt.Errorf("PacerConfig.Limits[%s] is %d: use a per-minute count, or 0 to turn pacing off", op, n)
		}
		p.limits[op] = n
	}
	return p, nil
}

// Interval is the spacing the Pacer keeps between two requests of op by the
// same user on the same server; 0 when op is not paced.
func (p *Pacer) Interval(op Op) time.Duration {
	n := p.limits[op]
	if n <= 0 {
		return 0
	}
	return time.Duration(float64(time.Minute) / float64(n) * (1 + p.margin))
}

// Wait blocks (on the Pacer's clock) until a request of op to server by user
// may be sent, and returns how long it waited. It returns ctx.Err() if ctx
// ends first; the slot is then given back.
func (p *Pacer) Wait(ctx context.Context, server, user string, op Op) (time.Duration, error) {
	lim := p.bucket(server, user, op)
	if lim == nil {
		return 0, ctx.Err()
	}
	now := p.clk.Now()
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return 0, fmt.Errorf("pacer cannot reserve a slot for %s", op)
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return 0, ctx.Err()
	}
	if err := p.clk.Sleep(ctx, d); err != nil {
		r.CancelAt(p.clk.Now())
		return 0, err
	}
	return d, nil
}

func (p *Pacer) bucket(server, user string, op Op) *rate.Limiter {
	iv := p.Interval(op)
	if iv <= 0 {
		return nil
	}
	k := paceKey{server, user, op}
	p.mu.Lock()
	defer p.mu.Unlock()
	lim, ok := p.buckets[k]
	if !ok {
		lim = rate.NewLimiter(rate.Every(iv), 1)
		p.buckets[k] = lim
	}
	return lim
}
