package cbor

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	fx "github.com/fxamacker/cbor/v2"
	"github.com/x448/float16"
)

// Kind is the kind of a decoded data item.
type Kind uint8

// The kinds of data items the strict reader accepts.
const (
	KindUint Kind = iota + 1
	KindNeg
	KindBytes
	KindText
	KindArray
	KindMap
	KindBool
	KindNull
	KindFloat
)

var kindNames = [...]string{
	KindUint:  "unsigned integer",
	KindNeg:   "negative integer",
	KindBytes: "byte string",
	KindText:  "text string",
	KindArray: "array",
	KindMap:   "map",
	KindBool:  "boolean",
	KindNull:  "null",
	KindFloat: "float",
}

// String names the kind for error messages.
func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Item is one decoded data item. Byte and text strings, and Raw, alias the
// input: callers that keep them must not modify the input.
type Item struct {
	Kind Kind
	// Uint is the argument of an unsigned or negative integer: a negative
	// integer's value is -1 - Uint.
	Uint  uint64
	Bytes []byte  // content of a byte or text string
	Float float64 // KindFloat
	Bool  bool    // KindBool
	Items []Item  // KindArray elements
	Pairs []Pair  // KindMap entries, in wire order
	Raw   []byte  // the item's complete encoding
}

// Pair is one map entry.
type Pair struct {
	Key, Value Item
}

// Text returns the content of a text string.
func (it *Item) Text() string { return string(it.Bytes) }

// Int returns the item as an int64 when it is an integer that fits.
func (it *Item) Int() (int64, bool) {
	switch it.Kind {
	case KindUint:
		if it.Uint > math.MaxInt64 {
			return 0, false
		}
		return int64(it.Uint), true
	case KindNeg:
		if it.Uint > math.MaxInt64 {
			return 0, false
		}
		return -1 - int64(it.Uint), true
	}
	return 0, false
}

// Error is a decoding failure: the input is not one well-formed data item of
// the strict profile. Nested reports a nesting limit, Offset the byte where
// the problem was found (-1 when unknown).
type Error struct {
	Offset int
	Msg    string
	Nested bool
}

// Error describes the failure and where it was found.
func (e *Error) Error() string {
	if e.Offset < 0 {
		return "cbor: " + e.Msg
	}
	return fmt.Sprintf("cbor: %s at offset %d", e.Msg, e.Offset)
}

// Limits bound what Decode accepts.
type Limits struct {
	MaxDepth int // arrays and maps nested deeper are refused
	MaxItems int // more data items in all are refused; 0 means no limit
}

// gate is fxamacker/cbor's well-formedness check configured for the strict
// profile: no indefinite lengths, no tags, bounded nesting and counts. It runs
// before our own reader as an independent first line; duplicate map keys,
// which a well-formedness check does not see, are the reader's to refuse.
var gate = func() fx.DecMode {
	dm, err := fx.DecOptions{
		IndefLength:      fx.IndefLengthForbidden,
		TagsMd:           fx.TagsForbidden,
		MaxNestedLevels:  1024,
		MaxArrayElements: 1 << 20,
		MaxMapPairs:      1 << 20,
	}.DecMode()
	if err != nil {
		panic(err) // static options: cannot fail
	}
	return dm
}()

// Decode parses data as exactly one data item of the strict profile:
// definite lengths only, no tags, no simple values other than false, true and
// null, valid UTF-8 text, no duplicate map keys, no trailing bytes, arrays and
// maps nested at most lim.MaxDepth deep.
func Decode(data []byte, lim Limits) (Item, error) {
	if err := gate.Wellformed(data); err != nil {
		var nl *fx.MaxNestedLevelError
		if errors.As(err, &nl) {
			return Item{}, &Error{Offset: -1, Msg: "nesting too deep", Nested: true}
		}
		return Item{}, &Error{Offset: -1, Msg: trimPrefix(err.Error())}
	}
	r := reader{data: data, lim: lim}
	if elems, pairs := countContainers(data); elems+pairs <= len(data) {
		r.itemArena = make([]Item, 0, elems)
		r.pairArena = make([]Pair, 0, pairs)
	}
	var it Item
	err := r.item(&it, 0)
	if err != nil {
		return Item{}, err
	}
	if r.off != len(data) {
		return Item{}, &Error{Offset: r.off, Msg: fmt.Sprintf("%d trailing bytes", len(data)-r.off)}
	}
	return it, nil
}

func trimPrefix(s string) string {
	if len(s) > 6 && s[:6] == "cbor: " {
		return s[6:]
	}
	return s
}

type reader struct {
	data  []byte
	off   int
	lim   Limits
	items int // data items read so far

	// itemArena and pairArena hold every array element and map entry of the
	// document, carved out as the reader goes: two allocations per Decode
	// instead of one per container (warrants are decoded on the hot path).
	itemArena []Item
	pairArena []Pair
}

// countContainers walks the heads of a well-formed document and returns how
// many array elements and map entries it holds in all. It trusts the
// structure only as far as bounds go: on anything odd it returns what it
// counted, and the reader (which checks everything) falls back to make.
func countContainers(data []byte) (elems, pairs int) {
	off, pending := 0, 1
	for pending > 0 && off < len(data) {
		pending--
		b := data[off]
		major, info := b>>5, b&0x1f
		off++
		var arg uint64
		switch {
		case info < 24:
			arg = uint64(info)
		case info <= 27:
			n := 1 << (info - 24)
			if off+n > len(data) {
				return
			}
			for i := 0; i < n; i++ {
				arg = arg<<8 | uint64(data[off+i])
			}
			off += n
		default:
			return
		}
		switch major {
		case majorBytes, majorText:
			if arg > uint64(len(data)-off) {
				return
			}
			off += int(arg)
		case majorArray:
			if arg > uint64(len(data)) {
				return
			}
			elems += int(arg)
			pending += int(arg)
		case majorMap:
			if arg > uint64(len(data)) {
				return
			}
			pairs += int(arg)
			pending += 2 * int(arg)
		}
	}
	return
}

// takeItems returns an empty slice with room for n elements, from the arena
// when it has room.
func (r *reader) takeItems(n int) []Item {
	if len(r.itemArena)+n <= cap(r.itemArena) {
		s := r.itemArena[len(r.itemArena) : len(r.itemArena) : len(r.itemArena)+n]
		r.itemArena = r.itemArena[:len(r.itemArena)+n]
		return s
	}
	return make([]Item, 0, n)
}

func (r *reader) takePairs(n int) []Pair {
	if len(r.pairArena)+n <= cap(r.pairArena) {
		s := r.pairArena[len(r.pairArena) : len(r.pairArena) : len(r.pairArena)+n]
		r.pairArena = r.pairArena[:len(r.pairArena)+n]
		return s
	}
	return make([]Pair, 0, n)
}

func (r *reader) fail(format string, args ...any) error {
	return &Error{Offset: r.off, Msg: fmt.Sprintf(format, args...)}
}

// head reads an initial byte and its argument.
func (r *reader) head() (major byte, info byte, arg uint64, err error) {
	if r.off >= len(r.data) {
		return 0, 0, 0, r.fail("unexpected end of data")
	}
	b := r.data[r.off]
	r.off++
	major, info = b>>5, b&0x1f
	var n int
	switch {
	case info < 24:
		return major, info, uint64(info), nil
	case info == 24:
		n = 1
	case info == 25:
		n = 2
	case info == 26:
		n = 4
	case info == 27:
		n = 8
	default:
		r.off--
		if info == 31 {
			return 0, 0, 0, r.fail("indefinite-length items are not allowed")
		}
		return 0, 0, 0, r.fail("reserved additional information %d", info)
	}
	if len(r.data)-r.off < n {
		return 0, 0, 0, r.fail("unexpected end of data")
	}
	for i := 0; i < n; i++ {
		arg = arg<<8 | uint64(r.data[r.off+i])
	}
	r.off += n
	return major, info, arg, nil
}

// item decodes one data item into *it (in place: items are large, and
// copying them through return values dominated decoding).
func (r *reader) item(it *Item, depth int) error {
	start := r.off
	if r.items++; r.lim.MaxItems > 0 && r.items > r.lim.MaxItems {
		return &Error{Offset: start, Msg: fmt.Sprintf("more than %d data items", r.lim.MaxItems)}
	}
	major, info, arg, err := r.head()
	if err != nil {
		return err
	}
	switch major {
	case majorUint:
		*it = Item{Kind: KindUint, Uint: arg}
	case majorNeg:
		*it = Item{Kind: KindNeg, Uint: arg}
	case majorBytes, majorText:
		if arg > uint64(len(r.data)-r.off) {
			return r.fail("string length %d exceeds the remaining data", arg)
		}
		b := r.data[r.off : r.off+int(arg) : r.off+int(arg)]
		r.off += int(arg)
		if major == majorText {
			if !utf8.Valid(b) {
				return &Error{Offset: start, Msg: "text string is not valid UTF-8"}
			}
			*it = Item{Kind: KindText, Bytes: b}
		} else {
			*it = Item{Kind: KindBytes, Bytes: b}
		}
	case majorArray, majorMap:
		if depth >= r.lim.MaxDepth {
			return &Error{Offset: start, Msg: "nesting too deep", Nested: true}
		}
		// Every element takes at least one byte: a count beyond the
		// remaining data is malformed, and checking it bounds allocation.
		per := uint64(1)
		if major == majorMap {
			per = 2
		}
		if arg > uint64(len(r.data)-r.off)/per {
			return r.fail("%d elements exceed the remaining data", arg)
		}
		if major == majorArray {
			*it = Item{Kind: KindArray, Items: r.takeItems(int(arg))[:arg]}
			for i := range it.Items {
				if err := r.item(&it.Items[i], depth+1); err != nil {
					return err
				}
			}
		} else {
			*it = Item{Kind: KindMap, Pairs: r.takePairs(int(arg))[:arg]}
			var seen map[string]struct{} // for large maps; small ones are scanned
			if arg > 16 {
				seen = make(map[string]struct{}, arg)
			}
			for i := range it.Pairs {
				koff := r.off
				k := &it.Pairs[i].Key
				if err := r.item(k, depth+1); err != nil {
					return err
				}
				dup := false
				if seen != nil {
					id := keyID(k)
					_, dup = seen[id]
					seen[id] = struct{}{}
				} else {
					for j := range it.Pairs[:i] {
						if keyEqual(&it.Pairs[j].Key, k) {
							dup = true
							break
						}
					}
				}
				if dup {
					return &Error{Offset: koff, Msg: "duplicate map key " + keyString(k)}
				}
				if err := r.item(&it.Pairs[i].Value, depth+1); err != nil {
					return err
				}
			}
		}
	case 6:
		return &Error{Offset: start, Msg: "tags are not allowed"}
	case majorSimple:
		switch info {
		case 20, 21:
			*it = Item{Kind: KindBool, Bool: info == 21}
		case 22:
			*it = Item{Kind: KindNull}
		case 25:
			*it = Item{Kind: KindFloat, Float: float64(float16.Frombits(uint16(arg)).Float32())}
		case 26:
			*it = Item{Kind: KindFloat, Float: float64(math.Float32frombits(uint32(arg)))}
		case 27:
			*it = Item{Kind: KindFloat, Float: math.Float64frombits(arg)}
		default:
			return &Error{Offset: start, Msg: fmt.Sprintf("simple value %d is not allowed", arg)}
		}
	}
	it.Raw = r.data[start:r.off:r.off]
	return nil
}

// keyID identifies a map key by value: keys of different kinds differ;
// integers compare by value (whatever their encoded width), strings by
// content, anything else by its encoding.
func keyID(k *Item) string {
	switch k.Kind {
	case KindUint, KindNeg:
		v := k.Uint
		return string([]byte{byte(k.Kind), byte(v >> 56), byte(v >> 48), byte(v >> 40),
			byte(v >> 32), byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	case KindBytes, KindText:
		return string(byte(k.Kind)) + string(k.Bytes)
	}
	return string(byte(k.Kind)) + string(k.Raw)
}

// keyEqual reports whether two map keys are the same key, as keyID would
// say, without allocating.
func keyEqual(a, b *Item) bool {
	if a.Kind != b.Kind {
		return false
	}
	switch a.Kind {
	case KindUint, KindNeg:
		return a.Uint == b.Uint
	case KindBytes, KindText:
		return string(a.Bytes) == string(b.Bytes)
	}
	return string(a.Raw) == string(b.Raw)
}

func keyString(k *Item) string {
	switch k.Kind {
	case KindUint:
		return fmt.Sprintf("%d", k.Uint)
	case KindNeg:
		if k.Uint < math.MaxUint64 {
			return fmt.Sprintf("-%d", k.Uint+1)
		}
		return "-18446744073709551616"
	case KindText:
		return fmt.Sprintf("%q", k.Bytes)
	}
	return "of kind " + k.Kind.String()
}
