package authz

import (
	"container/list"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/operators"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/interpreter"
)

// The CEL constraint follows Tenuo's cel.rs and CelConstraint:
//
//   - The expression is parsed, not type-checked (Tenuo's interpreter is
//     dynamic): an object argument exposes each of its fields as a variable,
//     any other argument is the variable `value`. A name that is not bound is
//     an evaluation error.
//   - Extra functions: time_now(any) returns the evaluation time as chrono's
//     to_rfc3339 writes it ("2024-01-15T10:30:00.123+00:00");
//     time_is_expired(ts) reports whether an RFC 3339 timestamp is before
//     now; time_since(ts) is the whole seconds from ts to now (negative when
//     ts is in the future); net_in_cidr(ip, cidr) and net_is_private(ip)
//     (10/8, 172.16/12, 192.168/16, fc00::/7).
//   - A result that is not a boolean, and any evaluation error, denies.
//   - Narrowing: the child's expression, with all whitespace removed, equals
//     the parent's or starts with "(<parent>)&&" followed by one
//     parenthesised group. ParentExpression is informational; Tenuo does not
//     consult it when narrowing, and neither do we.
//
// Stricter than Tenuo, each time denying where Tenuo allows:
//   - Tenuo's extra functions return false or 0 for an argument that is not a
//     string or does not parse, so `!net_is_private(ip)` or
//     `time_since(t) < 3600` hold for garbage. Ours raise an evaluation
//     error, which denies wherever the result matters. An IPv4-mapped IPv6
//     address (::ffff:10.0.0.1), which Tenuo never finds inside an IPv4
//     network, and an address with a zone are errors too.
//   - Evaluation has a cost limit (celCostLimit) and the expression a size
//     limit (maxCelExpressionBytes); Tenuo has neither.
//   - Tenuo's narrowing rule is textual: removing whitespace also removes it
//     inside string literals ("a b" and "ab" compare equal), and the
//     parenthesis count ignores string literals, so `(P) && (x == "(") ||
//     (y == ")")` passes although it parses as `((P) && …) || …`. We also
//     require the parsed child to be the parent's syntax tree, or a
//     conjunction whose left side is the parent's syntax tree.

const (
	// maxCelExpressionBytes bounds an expression's length.
	maxCELExpressionBytes = 16 << 10
	// celCostLimit bounds the work of one evaluation, in cel-go cost units.
	celCostLimit = 100_000
	// celCacheSize bounds the compiled-program cache (Tenuo's is 1000).
	celCacheSize = 1000
	// maxCelValueDepth bounds the nesting of a value bound to a variable.
	maxCELValueDepth = 64
	// celNowVar is the hidden variable holding the evaluation time. The '@'
	// keeps it out of reach of expressions and of argument field names.
	celNowVar = "@tenuo_now"
)

// celProgram is a parsed and planned expression, shared read-only between
// goroutines.
type celProgram struct {
	expr string
	root celast.Expr
	prg  cel.Program
}

func (c *CEL) Type() ConstraintType { return TypeCEL }
func (c *CEL) Match(v any) error    { return c.match(v, wallClock()) }
func (c *CEL) String() string       { return "Cel(" + strconv.Quote(c.Expression) + ")" }

func (c *CEL) match(v any, ec *evalContext) (err error) {
	p := c.prog
	if p == nil || p.expr != c.Expression {
		if p, err = compileCEL(c.Expression); err != nil {
			return err
		}
	}
	var now time.Time
	if ec != nil {
		now = ec.now
	}
	if now.IsZero() {
		// Narrowing checks run without a verifier clock; Tenuo uses the wall
		// clock there too.
		now = time.Now()
	}
	act, err := newCELActivation(v, now)
	if err != nil {
		return fmt.Errorf("%s cannot bind %s: %v", c, formatValue(v), err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s failed on %s: internal error: %v", c, formatValue(v), r)
		}
	}()
	out, _, evalErr := p.prg.Eval(act)
	if evalErr != nil {
		return fmt.Errorf("%s failed on %s: %v", c, formatValue(v), evalErr)
	}
	b, ok := out.(types.Bool)
	if !ok {
		return fmt.Errorf("%s must return a boolean, got %s for %s", c, out.Type().TypeName(), formatValue(v))
	}
	if !b {
		return noMatch("%s is false for %s", c, formatValue(v))
	}
	return nil
}

func (c *CEL) validate() error {
	p, err := compileCEL(c.Expression)
	if err != nil {
		return err
	}
	if c.ParentExpression != nil && len(*c.ParentExpression) > maxCELExpressionBytes {
		return fmt.Errorf("Cel parent_expression is %d bytes, more than %d", len(*c.ParentExpression), maxCELExpressionBytes)
	}
	c.prog = p
	return nil
}

func (c *CEL) narrowedBy(child Constraint) error {
	ch, ok := child.(*CEL)
	if !ok {
		return incompatible(c, child)
	}
	// Tenuo's textual rule.
	parent, sub := celSquash(c.Expression), celSquash(ch.Expression)
	conj := parent != sub
	if conj {
		prefix := "(" + parent + ")&&"
		if !strings.HasPrefix(sub, prefix) {
			return fmt.Errorf("child %s is neither parent %s nor \"(<parent>) && (<predicate>)\"", ch, c)
		}
		if !celWrapped(sub[len(prefix):]) {
			return fmt.Errorf("child %s: the predicate after \"(<parent>) &&\" must be one parenthesised group", ch)
		}
	}
	// Our structural rule.
	pp, err := celProgramOf(c)
	if err != nil {
		return fmt.Errorf("parent %s: %v", c, err)
	}
	cp, err := celProgramOf(ch)
	if err != nil {
		return fmt.Errorf("child %s: %v", ch, err)
	}
	if !conj {
		if !celSameTree(pp.root, cp.root) {
			return fmt.Errorf("child %s differs from parent %s inside a literal", ch, c)
		}
		return nil
	}
	root := cp.root
	if root.Kind() != celast.CallKind {
		return fmt.Errorf("child %s does not parse as a conjunction", ch)
	}
	call := root.AsCall()
	if call.FunctionName() != operators.LogicalAnd || call.IsMemberFunction() || len(call.Args()) != 2 || !celSameTree(call.Args()[0], pp.root) {
		return fmt.Errorf("child %s does not parse as \"(<parent>) && (<predicate>)\" with parent %s", ch, c)
	}
	return nil
}

// celProgramOf returns c's compiled program, compiling it if c was not
// validated.
func celProgramOf(c *CEL) (*celProgram, error) {
	if p := c.prog; p != nil && p.expr == c.Expression {
		return p, nil
	}
	return compileCEL(c.Expression)
}

// celSquash removes all whitespace from an expression, as Tenuo's
// normalize_cel_whitespace does (Rust's and Go's whitespace sets agree).
func celSquash(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}

// celWrapped reports whether s is one parenthesised group: it opens with '('
// whose matching ')' is its last byte. Like Tenuo, it does not know about
// string literals.
func celWrapped(s string) bool {
	if !strings.HasPrefix(s, "(") || !strings.HasSuffix(s, ")") {
		return false
	}
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 && i != len(s)-1 {
				return false
			}
		}
	}
	return depth == 0
}

// celSameTree reports whether two parsed expressions have the same structure
// and literals, ignoring expression ids and source positions.
func celSameTree(a, b celast.Expr) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	if a.Kind() != b.Kind() {
		return false
	}
	switch a.Kind() {
	case celast.LiteralKind:
		return celSameLiteral(a.AsLiteral(), b.AsLiteral())
	case celast.IdentKind:
		return a.AsIdent() == b.AsIdent()
	case celast.SelectKind:
		x, y := a.AsSelect(), b.AsSelect()
		return x.FieldName() == y.FieldName() && x.IsTestOnly() == y.IsTestOnly() && celSameTree(x.Operand(), y.Operand())
	case celast.CallKind:
		x, y := a.AsCall(), b.AsCall()
		if x.FunctionName() != y.FunctionName() || x.IsMemberFunction() != y.IsMemberFunction() {
			return false
		}
		if x.IsMemberFunction() && !celSameTree(x.Target(), y.Target()) {
			return false
		}
		return celSameTrees(x.Args(), y.Args())
	case celast.ListKind:
		x, y := a.AsList(), b.AsList()
		return slicesEqualInt32(x.OptionalIndices(), y.OptionalIndices()) && celSameTrees(x.Elements(), y.Elements())
	case celast.MapKind:
		x, y := a.AsMap().Entries(), b.AsMap().Entries()
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			p, q := x[i].AsMapEntry(), y[i].AsMapEntry()
			if p.IsOptional() != q.IsOptional() || !celSameTree(p.Key(), q.Key()) || !celSameTree(p.Value(), q.Value()) {
				return false
			}
		}
		return true
	case celast.StructKind:
		x, y := a.AsStruct(), b.AsStruct()
		if x.TypeName() != y.TypeName() || len(x.Fields()) != len(y.Fields()) {
			return false
		}
		for i := range x.Fields() {
			p, q := x.Fields()[i].AsStructField(), y.Fields()[i].AsStructField()
			if p.Name() != q.Name() || p.IsOptional() != q.IsOptional() || !celSameTree(p.Value(), q.Value()) {
				return false
			}
		}
		return true
	case celast.ComprehensionKind:
		x, y := a.AsComprehension(), b.AsComprehension()
		return x.IterVar() == y.IterVar() && x.IterVar2() == y.IterVar2() && x.AccuVar() == y.AccuVar() &&
			celSameTree(x.IterRange(), y.IterRange()) && celSameTree(x.AccuInit(), y.AccuInit()) &&
			celSameTree(x.LoopCondition(), y.LoopCondition()) && celSameTree(x.LoopStep(), y.LoopStep()) &&
			celSameTree(x.Result(), y.Result())
	}
	return false
}

func celSameTrees(a, b []celast.Expr) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !celSameTree(a[i], b[i]) {
			return false
		}
	}
	return true
}

func celSameLiteral(a, b ref.Val) bool {
	if a == nil || b == nil || a.Type() != b.Type() {
		return a == nil && b == nil
	}
	if x, ok := a.(types.Double); ok {
		return math.Float64bits(float64(x)) == math.Float64bits(float64(b.(types.Double)))
	}
	return a.Equal(b) == types.True
}

func slicesEqualInt32(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Compilation and the program cache.

var celEnv = sync.OnceValues(newCELEnv)

// celPrograms caches compiled programs by expression text.
var celPrograms = newCELCache(celCacheSize)

// compileCEL returns the program for expr, from the cache or freshly
// compiled (and then cached).
func compileCEL(expr string) (*celProgram, error) {
	if len(expr) > maxCELExpressionBytes {
		return nil, fmt.Errorf("Cel expression is %d bytes, more than %d", len(expr), maxCELExpressionBytes)
	}
	if !utf8.ValidString(expr) {
		return nil, errors.New("Cel expression is not valid UTF-8")
	}
	if strings.TrimSpace(expr) == "" {
		return nil, errors.New("Cel expression is empty")
	}
	if p := celPrograms.get(expr); p != nil {
		return p, nil
	}
	env, err := celEnv()
	if err != nil {
		return nil, fmt.Errorf("Cel environment: %v", err)
	}
	ast, iss := env.Parse(expr)
	if iss != nil && iss.Err() != nil {
		return nil, fmt.Errorf("invalid Cel expression %s: %v", strconv.Quote(expr), iss.Err())
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize), cel.CostLimit(celCostLimit))
	if err != nil {
		return nil, fmt.Errorf("invalid Cel expression %s: %v", strconv.Quote(expr), err)
	}
	p := &celProgram{expr: expr, root: ast.NativeRep().Expr(), prg: prg}
	celPrograms.put(expr, p)
	return p, nil
}

// celCache is a concurrency-safe LRU cache of compiled programs. Programs
// depend only on their text, so sharing them is safe.
type celCache struct {
	mu     sync.Mutex
	max    int
	order  *list.List               // guarded by mu; front is most recently used
	byExpr map[string]*list.Element // guarded by mu; values are *celProgram
}

func newCELCache(max int) *celCache {
	return &celCache{max: max, order: list.New(), byExpr: make(map[string]*list.Element)}
}

func (c *celCache) get(expr string) *celProgram {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byExpr[expr]
	if !ok {
		return nil
	}
	c.order.MoveToFront(e)
	return e.Value.(*celProgram)
}

func (c *celCache) put(expr string, p *celProgram) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byExpr[expr]; ok {
		c.order.MoveToFront(e)
		return
	}
	c.byExpr[expr] = c.order.PushFront(p)
	for c.order.Len() > c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byExpr, last.Value.(*celProgram).expr)
	}
}

func (c *celCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// newCelEnv builds the environment: the standard library, Tenuo's extra
// functions, and macros that pass the hidden evaluation time to the time
// functions (cel-go binds functions when a program is planned, so the clock
// must come in through a variable).
func newCELEnv() (*cel.Env, error) {
	withNow := func(impl string) cel.MacroFactory {
		return func(eh cel.MacroExprFactory, _ celast.Expr, args []celast.Expr) (celast.Expr, *common.Error) {
			return eh.NewCall(impl, args[0], eh.NewIdent(celNowVar)), nil
		}
	}
	dynNow := []*cel.Type{cel.DynType, cel.TimestampType}
	return cel.NewEnv(
		cel.CrossTypeNumericComparisons(true),
		cel.ParserExpressionSizeLimit(maxCELExpressionBytes),
		cel.Macros(
			cel.GlobalMacro("time_now", 1, withNow("@tenuo_time_now")),
			cel.GlobalMacro("time_is_expired", 1, withNow("@tenuo_time_is_expired")),
			cel.GlobalMacro("time_since", 1, withNow("@tenuo_time_since")),
		),
		cel.Function("@tenuo_time_now",
			cel.Overload("tenuo_time_now", dynNow, cel.StringType, cel.BinaryBinding(celTimeNow))),
		cel.Function("@tenuo_time_is_expired",
			cel.Overload("tenuo_time_is_expired", dynNow, cel.BoolType, cel.BinaryBinding(celTimeIsExpired))),
		cel.Function("@tenuo_time_since",
			cel.Overload("tenuo_time_since", dynNow, cel.IntType, cel.BinaryBinding(celTimeSince))),
		cel.Function("net_in_cidr",
			cel.Overload("tenuo_net_in_cidr", []*cel.Type{cel.DynType, cel.DynType}, cel.BoolType, cel.BinaryBinding(celNetInCIDR))),
		cel.Function("net_is_private",
			cel.Overload("tenuo_net_is_private", []*cel.Type{cel.DynType}, cel.BoolType, cel.UnaryBinding(celNetIsPrivate))),
	)
}

// Extra functions.

func celNow(v ref.Val) (time.Time, bool) {
	ts, ok := v.(types.Timestamp)
	return ts.Time, ok
}

// celTimeNow formats now as chrono's DateTime<Utc>::to_rfc3339 does: UTC,
// "+00:00", and 0, 3, 6 or 9 fraction digits, the fewest that are exact.
func celTimeNow(_, nowVal ref.Val) ref.Val {
	now, ok := celNow(nowVal)
	if !ok {
		return types.NewErr("time_now: no evaluation time")
	}
	return types.String(formatChronoRFC3339(now))
}

func formatChronoRFC3339(t time.Time) string {
	t = t.UTC()
	s := t.Format("2006-01-02T15:04:05")
	switch ns := t.Nanosecond(); {
	case ns == 0:
	case ns%1_000_000 == 0:
		s += fmt.Sprintf(".%03d", ns/1_000_000)
	case ns%1_000 == 0:
		s += fmt.Sprintf(".%06d", ns/1_000)
	default:
		s += fmt.Sprintf(".%09d", ns)
	}
	return s + "+00:00"
}

func celTimeIsExpired(tsVal, nowVal ref.Val) ref.Val {
	now, ok := celNow(nowVal)
	if !ok {
		return types.NewErr("time_is_expired: no evaluation time")
	}
	ts, err := celTimestampArg("time_is_expired", tsVal)
	if err != nil {
		return err
	}
	return types.Bool(ts.Before(now))
}

func celTimeSince(tsVal, nowVal ref.Val) ref.Val {
	now, ok := celNow(nowVal)
	if !ok {
		return types.NewErr("time_since: no evaluation time")
	}
	ts, err := celTimestampArg("time_since", tsVal)
	if err != nil {
		return err
	}
	// Whole seconds, truncated toward zero like chrono's num_seconds, without
	// time.Duration's ±292-year saturation.
	secs := now.Unix() - ts.Unix()
	nanos := now.Nanosecond() - ts.Nanosecond()
	switch {
	case secs > 0 && nanos < 0:
		secs--
	case secs < 0 && nanos > 0:
		secs++
	}
	return types.Int(secs)
}

// celTimestampArg parses an RFC 3339 timestamp argument. Like chrono it
// accepts 't' or ' ' for 'T' and 'z' for 'Z'; anything else that does not
// parse is an error (Tenuo treats it as not expired, or 0 seconds old).
func celTimestampArg(fn string, v ref.Val) (time.Time, ref.Val) {
	s, ok := v.(types.String)
	if !ok {
		return time.Time{}, types.NewErr("%s: want an RFC 3339 timestamp string, got %s", fn, v.Type().TypeName())
	}
	b := []byte(s)
	if len(b) > 10 && (b[10] == 't' || b[10] == ' ') {
		b[10] = 'T'
	}
	if n := len(b); n > 0 && b[n-1] == 'z' {
		b[n-1] = 'Z'
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return time.Time{}, types.NewErr("%s: %q is not an RFC 3339 timestamp", fn, string(s))
	}
	return t, nil
}

func celNetInCIDR(ipVal, cidrVal ref.Val) ref.Val {
	ip, errVal := celIPArg("net_in_cidr", ipVal)
	if errVal != nil {
		return errVal
	}
	s, ok := cidrVal.(types.String)
	if !ok {
		return types.NewErr("net_in_cidr: want a CIDR string, got %s", cidrVal.Type().TypeName())
	}
	prefix, err := parseCELCIDR(string(s))
	if err != nil {
		return types.NewErr("net_in_cidr: %q is not a CIDR block", string(s))
	}
	return types.Bool(prefix.Contains(ip))
}

// parseCelCIDR parses "addr/len", "addr/netmask" (IPv4) or a bare address
// (a single-address block), as Rust's ipnetwork does.
func parseCELCIDR(s string) (netip.Prefix, error) {
	addrPart, lenPart, hasLen := strings.Cut(s, "/")
	addr, err := netip.ParseAddr(addrPart)
	if err != nil || addr.Zone() != "" {
		return netip.Prefix{}, errors.New("bad address")
	}
	bits := addr.BitLen()
	if hasLen {
		if mask, err := netip.ParseAddr(lenPart); err == nil && addr.Is4() && mask.Is4() {
			if bits, err = ipv4MaskBits(mask); err != nil {
				return netip.Prefix{}, err
			}
		} else {
			n, err := strconv.Atoi(lenPart)
			if err != nil || n < 0 || n > addr.BitLen() || lenPart == "" || lenPart[0] == '+' || lenPart[0] == '-' {
				return netip.Prefix{}, errors.New("bad prefix length")
			}
			bits = n
		}
	}
	return addr.Prefix(bits)
}

// ipv4MaskBits returns the prefix length of a contiguous IPv4 netmask.
func ipv4MaskBits(mask netip.Addr) (int, error) {
	b := mask.As4()
	m := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	ones := 0
	for m&0x8000_0000 != 0 {
		ones++
		m <<= 1
	}
	if m != 0 {
		return 0, errors.New("netmask is not contiguous")
	}
	return ones, nil
}

func celNetIsPrivate(ipVal ref.Val) ref.Val {
	ip, errVal := celIPArg("net_is_private", ipVal)
	if errVal != nil {
		return errVal
	}
	if ip.Is4() {
		b := ip.As4()
		return types.Bool(b[0] == 10 || (b[0] == 172 && b[1]&0xf0 == 16) || (b[0] == 192 && b[1] == 168))
	}
	return types.Bool(ip.As16()[0]&0xfe == 0xfc)
}

// celIPArg parses an IP address argument. Zones and IPv4-mapped IPv6
// addresses are refused: Tenuo cannot parse the first and never matches the
// second against IPv4 ranges.
func celIPArg(fn string, v ref.Val) (netip.Addr, ref.Val) {
	s, ok := v.(types.String)
	if !ok {
		return netip.Addr{}, types.NewErr("%s: want an IP address string, got %s", fn, v.Type().TypeName())
	}
	ip, err := netip.ParseAddr(string(s))
	switch {
	case err != nil || ip.Zone() != "":
		return netip.Addr{}, types.NewErr("%s: %q is not an IP address", fn, string(s))
	case ip.Is4In6():
		return netip.Addr{}, types.NewErr("%s: %q is an IPv4-mapped IPv6 address, which is refused", fn, string(s))
	}
	return ip, nil
}

// Binding argument values.

// celActivation binds a value the way Tenuo does: an object's fields as
// variables, anything else as `value`; plus the hidden evaluation time.
type celActivation struct {
	now    types.Timestamp
	fields map[string]ref.Val // the object's fields, when the value is an object
	value  ref.Val            // the value, when it is not an object
}

func newCELActivation(v any, now time.Time) (*celActivation, error) {
	a := &celActivation{now: types.Timestamp{Time: now}}
	if m, ok := v.(map[string]any); ok {
		a.fields = make(map[string]ref.Val, len(m))
		for k, e := range m {
			if !utf8.ValidString(k) {
				return nil, errors.New("field name is not valid UTF-8")
			}
			cv, err := celValue(e, 1)
			if err != nil {
				return nil, fmt.Errorf("field %q: %v", k, err)
			}
			a.fields[k] = cv
		}
		return a, nil
	}
	cv, err := celValue(v, 0)
	if err != nil {
		return nil, err
	}
	a.value = cv
	return a, nil
}

// ResolveName implements interpreter.Activation. Qualified names are never
// bound, so `a.b` always selects field b of variable a.
func (a *celActivation) ResolveName(name string) (any, bool) {
	if name == celNowVar {
		return a.now, true
	}
	if strings.ContainsRune(name, '.') {
		return nil, false
	}
	if a.fields != nil {
		v, ok := a.fields[name]
		return v, ok
	}
	if name == "value" {
		return a.value, true
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (a *celActivation) Parent() interpreter.Activation { return nil }

// celValue converts a value of the value model to a CEL value.
func celValue(v any, depth int) (ref.Val, error) {
	if depth > maxCELValueDepth {
		return nil, errors.New("value is nested too deeply")
	}
	switch x := v.(type) {
	case nil:
		return types.NullValue, nil
	case bool:
		return types.Bool(x), nil
	case int64:
		return types.Int(x), nil
	case float64:
		return types.Double(x), nil
	case string:
		if !utf8.ValidString(x) {
			return nil, errors.New("string is not valid UTF-8")
		}
		return types.String(x), nil
	case []any:
		elems := make([]ref.Val, len(x))
		for i, e := range x {
			cv, err := celValue(e, depth+1)
			if err != nil {
				return nil, err
			}
			elems[i] = cv
		}
		return types.NewRefValList(types.DefaultTypeAdapter, elems), nil
	case map[string]any:
		m := make(map[ref.Val]ref.Val, len(x))
		for k, e := range x {
			if !utf8.ValidString(k) {
				return nil, errors.New("map key is not valid UTF-8")
			}
			cv, err := celValue(e, depth+1)
			if err != nil {
				return nil, err
			}
			m[types.String(k)] = cv
		}
		return types.NewRefValMap(types.DefaultTypeAdapter, m), nil
	}
	return nil, fmt.Errorf("unsupported value type %T", v)
}
