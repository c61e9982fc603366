package value

import "errors"

// A number approved must be the number the server acts on. The value model
// reads an integer literal exactly, as an int64, and every other number as
// the nearest float64 (an integral one then becoming the int64 of that same
// double). A server that parses JSON numbers as IEEE-754 doubles — any
// JavaScript server, and many others — reads every literal as its nearest
// double. The two readings agree on every number except an integer literal
// that no double holds exactly: 9007199254740993 is checked as …993 and
// acted on as …992, so `notoneof:9007199254740992` would let the server act
// on the very value it excludes.
//
// Numbers written with a fraction or an exponent never differ:
// 9.007199254740995e15 is read here as the nearest double,
// 9007199254740996, exactly as a double-reading server reads it, and the
// constraint checks that value. (A server that reads decimals exactly would
// see …995; such servers are not the ones this rule is about, or 0.1 would
// have to be refused too.)

// Inexact locates a number whose exact value differs from the value of its
// nearest IEEE-754 double.
type Inexact struct {
	Path   string // JSON path of the number: "$.a", "$.meta.ids[3]"
	Key    string // top-level key holding it; "" when the document is the number
	Offset int    // byte offset of the number in the document
}

// errFound stops a parse run by [FirstInexactNumber] at the first finding.
var errFound = errors.New("inexact number found")

// ExactDouble reports whether n is exactly representable as a float64, that
// is whether a parser reading the integer as a double gets n back. Every
// integer in [-2^53, 2^53] is; beyond, only those the coarser spacing hits.
func ExactDouble(n int64) bool {
	f := float64(n)
	if f >= 0x1p63 { // n near MaxInt64 rounds up to 2^63, outside int64
		return false
	}
	return int64(f) == n
}

// FirstInexactNumber returns the first number in the JSON document doc, in
// document order and at any depth, that a double-parsing reader would read
// as another value than the value model does: an integer literal outside
// ±2^53 that no float64 holds exactly. found is false when there is none,
// and also when doc is not JSON this package reads (malformed, a duplicate
// key, an integer beyond int64, nesting beyond 1000) before such a number:
// [Parse] refuses those documents on its own. The scan does not apply
// [DefaultLimits], so it finds such a number in a document of any size.
func FirstInexactNumber(doc []byte) (Inexact, bool) {
	if !hasLongDigitRun(doc) {
		return Inexact{}, false
	}
	n := len(doc) + 1
	p := &parser{data: doc, findInexact: true, track: true, lim: Limits{
		MaxBytes: n, MaxDepth: hardMaxDepth, MaxNodes: n, MaxStringBytes: n, MaxTotalStringBytes: n, MaxItems: n,
	}}
	if _, err := p.document(false, nil); err == errFound {
		return p.inexact, true
	}
	return Inexact{}, false
}

// minInexactDigits is the fewest digits an inexact integer has: every
// integer of 15 digits or fewer is below 10^15 < 2^53, so exact.
const minInexactDigits = 16

// hasLongDigitRun reports whether doc holds minInexactDigits digits in a
// row: without such a run it holds no inexact integer, and the scan is
// skipped (most calls).
func hasLongDigitRun(doc []byte) bool {
	run := 0
	for _, c := range doc {
		if c < '0' || c > '9' {
			run = 0
			continue
		}
		if run++; run >= minInexactDigits {
			return true
		}
	}
	return false
}
