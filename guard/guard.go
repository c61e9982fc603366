package guard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
	"github.com/tenuo-mcp/tenuo-mcp/enforce"
	"github.com/tenuo-mcp/tenuo-mcp/guard/internal/jsonkeys"
	"github.com/tenuo-mcp/tenuo-mcp/toolmap"
)

// Config configures a [Guard] built by [New].
type Config struct {
	// TrustedRoots are the keys every warrant chain must start from.
	// Required: with none, New fails (a guard that trusted whatever warrant
	// it was handed would check nothing).
	TrustedRoots []authz.PublicKey
	// ToolMap maps tool names to warrant tools and fields; nil checks each
	// call against the tool of its own name with its arguments as the
	// fields.
	ToolMap *toolmap.Config
	// Audit receives one JSON line per decision (front "guard"); nil
	// discards them.
	Audit io.Writer
	// AuditMode lets every call through and only records what would have
	// been denied.
	AuditMode bool
	// Observe, when set, is told of every decision (for metrics).
	Observe func(*enforce.Call, *enforce.Result)
	// Revoked reports whether a warrant id is revoked; nil revokes nothing.
	Revoked func(authz.WarrantID) bool
	// ClockTolerance widens time checks; zero means authz's default.
	ClockTolerance time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Guard checks in-process calls: every call of a function it wraps is
// decided by one [enforce.Point] with the warrant and key of the caller's
// context (see [WithCredentials]). A Guard is safe for concurrent use.
type Guard struct {
	point *enforce.Point
}

// New returns a guard for cfg. It fails without trusted roots.
func New(cfg Config) (*Guard, error) {
	if len(cfg.TrustedRoots) == 0 {
		return nil, errors.New("guard: no trusted roots configured: refusing to build a guard that would trust any warrant")
	}
	az, err := authz.NewAuthorizer(authz.Config{TrustedRoots: cfg.TrustedRoots, ClockTolerance: cfg.ClockTolerance,
		Now: cfg.Now, Revoked: cfg.Revoked})
	if err != nil {
		return nil, fmt.Errorf("guard: %w", err)
	}
	return &Guard{point: &enforce.Point{
		Authorizer: az,
		ToolMap:    cfg.ToolMap,
		AuditMode:  cfg.AuditMode,
		Audit:      cfg.Audit,
		Observe:    cfg.Observe,
		Now:        cfg.Now,
		// In process, the function receives the Go value that was checked:
		// no JSON reader downstream can act on another number than the one
		// decided, so integers beyond ±2^53 are not refused here.
		AllowInexactNumbers: true,
	}}, nil
}

// NewFromPoint returns a guard that asks p, so that the guarded functions,
// the HTTP middleware and the MCP middleware of one program share one
// decision point (its audit, metrics and cache). It fails when p has no
// authorizer (no trusted roots).
func NewFromPoint(p *enforce.Point) (*Guard, error) {
	if p == nil || p.Authorizer == nil || len(p.Authorizer.TrustedRoots()) == 0 {
		return nil, errors.New("guard: the decision point has no authorizer with trusted roots")
	}
	return &Guard{point: p}, nil
}

// Point returns the decision point the guard asks.
func (g *Guard) Point() *enforce.Point { return g.point }

// DeniedError is the error of a denied call: the wrapped function did not
// run. It unwraps to the [*authz.Denial], so errors.As(err, &denial) gives
// Tenuo's code and errors.Is(err, authz.ErrConstraint) (and the other
// sentinels) tell the verdicts apart.
type DeniedError struct {
	// Result is the decision, as enforce.Point.Check returned it.
	Result *enforce.Result
}

func (e *DeniedError) Error() string {
	d := e.Result.Denial
	if d == nil {
		return "guard: call denied"
	}
	return "guard: call denied: " + d.Error()
}

// Unwrap returns the denial.
func (e *DeniedError) Unwrap() error {
	if e.Result.Denial == nil {
		return nil
	}
	return e.Result.Denial
}

// Check decides one call of tool with args (a JSON object; nil means {}),
// under the credentials of ctx: the scope's warrant, possession proven by
// the scope's key being its leaf's holder (enforce.HeldWarrant: no PoP is
// signed or verified per call). Without a warrant in scope the
// decision point's held warrant applies, if it has one; otherwise the call
// is denied (no warrant). It returns nil when the call may go on (allowed,
// or denied in audit mode), and a *DeniedError otherwise.
func (g *Guard) Check(ctx context.Context, tool string, args json.RawMessage) error {
	return g.check(ctx, tool, args, nil)
}

func (g *Guard) check(ctx context.Context, tool string, args json.RawMessage, malformed error) error {
	if ctx == nil {
		ctx = context.Background()
	}
	if malformed == nil && len(args) > 0 {
		malformed = jsonkeys.Check(args)
	}
	c := &enforce.Call{Front: enforce.FrontGuard, Tool: tool, Arguments: args, Malformed: malformed}
	if s := fromContext(ctx); s != nil && len(s.stack) > 0 {
		if s.held != nil {
			c.Held = s.held
		} else {
			// A warrant without its holder's key: presented with no proof
			// of possession, so the decision point denies it (PoP), naming
			// the warrant.
			c.Envelope = &enforce.Envelope{Warrant: s.stack.Base64(), Source: enforce.SourceArguments}
		}
	}
	r := g.point.Check(ctx, c)
	if r.Forward() {
		return nil
	}
	return &DeniedError{Result: r}
}
