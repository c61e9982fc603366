package authz

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// popMetaVector is meta-pop.json: one MCP call signed by Tenuo 0.3.
type popMetaVector struct {
	ArgsJSON         string `json:"args_json"`
	HolderSeedHex    string `json:"holder_seed_hex"`
	RejectedArgsJSON string `json:"rejected_args_json"`
	Signature        string `json:"signature"`
	Timestamp        int64  `json:"timestamp"`
	Tool             string `json:"tool"`
	Warrant          string `json:"warrant"`
}

// popVector is the decoded vector, ready to use.
type popVector struct {
	popMetaVector
	holder *SigningKey
	id     WarrantID
	args   map[string]any
	sig    []byte
	at     time.Time
}

// loadPopVector reads meta-pop.json from the repository's Tenuo vectors
// and decodes it.
func loadPopVector(t testing.TB) popVector {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(vecDir(t), "meta-pop.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v popVector
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v.popMetaVector); err != nil {
		t.Fatalf("meta-pop.json: %v", err)
	}
	seed, err := hex.DecodeString(v.HolderSeedHex)
	if err != nil {
		t.Fatalf("holder_seed_hex: %v", err)
	}
	if v.holder, err = NewSigningKeyFromSeed(seed); err != nil {
		t.Fatal(err)
	}
	stack, err := ParseText(v.Warrant)
	if err != nil {
		t.Fatalf("ParseText(warrant): %v", err)
	}
	leaf := stack.Leaf()
	if leaf == nil {
		t.Fatal("warrant stack is empty")
	}
	if leaf.Holder != v.holder.Public() {
		t.Fatalf("warrant holder %s is not the key of holder_seed_hex (%s)", leaf.Holder, v.holder.Public())
	}
	v.id = leaf.ID
	if v.args, err = CanonicalArgs([]byte(v.ArgsJSON)); err != nil {
		t.Fatalf("CanonicalArgs(args_json): %v", err)
	}
	if v.sig, err = base64.RawURLEncoding.DecodeString(v.Signature); err != nil {
		t.Fatalf("signature: %v", err)
	}
	v.at = time.Unix(v.Timestamp, 0)
	return v
}

// wantDenial fails unless err is a *Denial with code wrapping sentinel.
func wantDenial(t *testing.T, err error, code Code, sentinel error) *Denial {
	t.Helper()
	var d *Denial
	if !errors.As(err, &d) {
		t.Fatalf("error %v (%T) is not a *Denial", err, err)
	}
	if d.Code != code || !errors.Is(err, sentinel) {
		t.Fatalf("got %v (code %d), want code %d wrapping %v", err, d.Code, code, sentinel)
	}
	return d
}

func TestPoPVector(t *testing.T) {
	v := loadPopVector(t)

	// Ed25519 is deterministic: our message must be Tenuo's byte for byte.
	sig, err := SignPoP(v.holder, v.id, v.Tool, v.args, v.at)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sig[:], v.sig) {
		t.Fatalf("SignPoP = %x, want the vector's %x", sig, v.sig)
	}
	if err := verifyPoP(v.holder.Public(), v.id, v.Tool, v.args, v.sig, v.at); err != nil {
		t.Fatalf("verifyPoP(vector): %v", err)
	}
	if _, ok := v.args["note"]; !ok || v.args["note"] != nil {
		t.Fatalf("null argument not kept: %#v", v.args)
	}

	rejected, err := CanonicalArgs([]byte(v.RejectedArgsJSON))
	if err != nil {
		t.Fatal(err)
	}
	err = verifyPoP(v.holder.Public(), v.id, v.Tool, rejected, v.sig, v.at)
	d := wantDenial(t, err, CodePopSignatureInvalid, ErrPoP)
	if d.Tool != v.Tool || d.WarrantID != v.id.String() {
		t.Errorf("denial names tool %q warrant %q", d.Tool, d.WarrantID)
	}
}

func TestPoPVectorClockSkew(t *testing.T) {
	v := loadPopVector(t)
	// The vector was signed in the window [1699999980, 1700000010).
	tests := []struct {
		skew int64
		ok   bool
	}{
		{0, true},
		{-21, true}, // 1699999979: previous window
		{9, true},   // 1700000009: last second of the window
		{55, true},  // window +2
		{-55, true}, // window −2
		{69, true},  // 1700000069: last second whose window −2 is the signing window
		{70, false}, // window −3
		{-81, false},
		{-80, true},
		{90, false},
		{-90, false},
		{3600, false},
	}
	for _, tt := range tests {
		err := verifyPoP(v.holder.Public(), v.id, v.Tool, v.args, v.sig, v.at.Add(time.Duration(tt.skew)*time.Second))
		if tt.ok && err != nil {
			t.Errorf("skew %+d s: %v", tt.skew, err)
		}
		if !tt.ok {
			if err == nil {
				t.Errorf("skew %+d s: verified, want a denial", tt.skew)
				continue
			}
			d := wantDenial(t, err, CodePopSignatureInvalid, ErrPoP)
			if !strings.Contains(d.Message, "±60 s") {
				t.Errorf("skew %+d s: message %q does not give the tolerance", tt.skew, d.Message)
			}
		}
	}
}

// TestPoPVectorEquivalentText checks that JSON texts with the same canonical
// arguments verify under the vector's signature, and that texts with other
// arguments do not.
func TestPoPVectorEquivalentText(t *testing.T) {
	v := loadPopVector(t)
	tests := []struct {
		name string
		json string
		ok   bool
	}{
		{"vector", `{"limit":1,"note":null,"path":"/data/ok"}`, true},
		{"1.0 signs as 1", `{"limit":1.0,"note":null,"path":"/data/ok"}`, true},
		{"1e0 signs as 1", `{"limit":1e0,"note":null,"path":"/data/ok"}`, true},
		{"10e-1 signs as 1", `{"limit":10e-1,"note":null,"path":"/data/ok"}`, true},
		{"key order", `{"path":"/data/ok","limit":1,"note":null}`, true},
		{"whitespace and escapes", " {\n \"limit\" : 1 ,\"no\\u0074e\":null, \"path\":\"\\/data\\/ok\"}\t", true},
		{"null dropped", `{"limit":1,"path":"/data/ok"}`, false},
		{"null becomes false", `{"limit":1,"note":false,"path":"/data/ok"}`, false},
		{"extra argument", `{"limit":1,"note":null,"path":"/data/ok","x":null}`, false},
		{"1.5", `{"limit":1.5,"note":null,"path":"/data/ok"}`, false},
		{"string 1", `{"limit":"1","note":null,"path":"/data/ok"}`, false},
		{"list", `{"limit":[1],"note":null,"path":"/data/ok"}`, false},
		{"other path", `{"limit":1,"note":null,"path":"/data/ok/"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, err := CanonicalArgs([]byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			err = verifyPoP(v.holder.Public(), v.id, v.Tool, args, v.sig, v.at)
			if tt.ok && err != nil {
				t.Fatalf("equivalent arguments denied: %v", err)
			}
			if !tt.ok {
				wantDenial(t, err, CodePopSignatureInvalid, ErrPoP)
			}
		})
	}
}

func TestCanonicalArgsInvalid(t *testing.T) {
	tests := []struct {
		name    string
		json    string
		tooBig  bool
		arg     string // Denial.Arg
		message string // part of the message
	}{
		{"empty", ``, false, "", "empty input"},
		{"array", `[]`, false, "", "must be a JSON object"},
		{"null", `null`, false, "", "must be a JSON object"},
		{"number", `1`, false, "", "must be a JSON object"},
		{"two objects", `{}{}`, false, "", "after the top-level object"},
		{"trailing garbage", `{"a":1}x`, false, "", "after the top-level object"},
		{"syntax", `{"a":}`, false, "a", "expected a value"},
		{"int64 overflow", `{"n":9223372036854775808}`, false, "n", "does not fit"},
		{"float overflow", `{"n":1e400}`, false, "n", "out of the float64 range"},
		{"NaN", `{"n":NaN}`, false, "n", "expected a value"},
		{"Infinity", `{"n":-Infinity}`, false, "n", "invalid number"},
		{"duplicate", `{"a":1,"a":2}`, false, "a", `duplicate key "a"`},
		{"duplicate after unescaping", `{"a":1,"\u0061":2}`, false, "a", `duplicate key "a"`},
		{"nested duplicate", `{"m":[{"k":1,"k":2}]}`, false, "m", "path $.m[0].k"},
		{"invalid UTF-8", "{\"s\":\"\xc3\x28\"}", false, "s", "invalid UTF-8"},
		{"lone surrogate", `{"s":"\ud800"}`, false, "s", "lone high surrogate"},
		{"control character", "{\"s\":\"a\x1fb\"}", false, "s", "control character"},
		{"depth 10", `{"x":[[[[[[[[[0]]]]]]]]]}`, true, "x", "nesting deeper than 9"},
		{"over 256 KiB", `{"s":"` + strings.Repeat(" ", 256<<10) + `"}`, true, "", "over the limit"},
		{"4097 values", `{"r":[` + strings.Repeat(`[`+strings.Repeat("0,", 176)+`0],`, 22) + `[` + strings.Repeat("0,", 177) + `0]]}`, true, "r", "more than 4096 values"},
		{"string over 64 KiB", `{"s":"` + strings.Repeat("x", 64<<10+1) + `"}`, true, "s", "over the limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, err := CanonicalArgs([]byte(tt.json))
			if err == nil {
				t.Fatalf("CanonicalArgs accepted it: %#v", args)
			}
			d := wantDenial(t, err, CodePopChallengeInvalid, ErrBadArguments)
			if errors.Is(err, ErrTooLarge) != tt.tooBig {
				t.Errorf("errors.Is(ErrTooLarge) = %v, want %v", !tt.tooBig, tt.tooBig)
			}
			if errors.Is(err, ErrPoP) {
				t.Errorf("bad arguments must not read as a bad signature: %v", err)
			}
			if d.Arg != tt.arg {
				t.Errorf("Arg = %q, want %q", d.Arg, tt.arg)
			}
			if !strings.Contains(d.Message, tt.message) || !strings.Contains(d.Message, "at byte") {
				t.Errorf("message %q lacks %q or the offset", d.Message, tt.message)
			}
		})
	}
}

func TestPoPWindow(t *testing.T) {
	tests := []struct{ unix, want int64 }{
		{1700000000, 1699999980},
		{1699999980, 1699999980},
		{1700000009, 1699999980},
		{1700000010, 1700000010},
		{0, 0},
		{29, 0},
		{30, 30},
		{-1, -30}, // floor, not truncation toward zero
		{-29, -30},
		{-30, -30},
		{-31, -60},
	}
	for _, tt := range tests {
		if got := PoPWindow(time.Unix(tt.unix, 999_999_999)); got != tt.want {
			t.Errorf("PoPWindow(%d) = %d, want %d", tt.unix, got, tt.want)
		}
	}
}

func TestPoPMessageBytes(t *testing.T) {
	var id WarrantID
	for i := range id {
		id[i] = byte(i)
	}
	args := map[string]any{"b": int64(1), "a": []any{1.5, nil}, "c": map[string]any{"z": "", "y": true}}
	head := "tenuo-warrant-v1" + "tenuo-pop-v1"
	body := "84" + // array of 4
		"7820" + hex.EncodeToString([]byte("000102030405060708090a0b0c0d0e0f")) +
		"6174" + // "t"
		"83" + // 3 pairs, sorted by key
		"82" + "6161" + "82f93e00f6" + // ["a", [1.5 (f16), null]]
		"82" + "6162" + "01" + // ["b", 1]
		"82" + "6163" + "a2" + "6179f5" + "617a60" // ["c", {"y": true, "z": ""}]
	tests := []struct {
		window int64
		tail   string
	}{
		{60, "183c"},
		{0, "00"},
		{-30, "381d"},
		{1699999980, "1a6553f0ec"},
		{math.MaxInt64, "1b7fffffffffffffff"},
	}
	for _, tt := range tests {
		got, err := PoPMessage(id, "t", args, tt.window)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := hex.DecodeString(body + tt.tail)
		want = append([]byte(head), want...)
		if !bytes.Equal(got, want) {
			t.Errorf("window %d:\n got %x\nwant %x", tt.window, got, want)
		}
	}
	empty, err := PoPMessage(id, "t", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := head + "\x84\x78\x20000102030405060708090a0b0c0d0e0f\x61t\x80\x00"; string(empty) != want {
		t.Errorf("no arguments: got %x", empty)
	}
}

func TestPoPBadArgumentValues(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	deep := any(int64(0))
	for range maxArgDepth {
		deep = []any{deep}
	}
	tests := []struct {
		name string
		args map[string]any
		arg  string
	}{
		{"Go int", map[string]any{"n": 1}, "n"},
		{"float32", map[string]any{"n": float32(1)}, "n"},
		{"NaN", map[string]any{"n": math.NaN()}, "n"},
		{"infinity", map[string]any{"n": []any{math.Inf(-1)}}, "n"},
		{"typed slice", map[string]any{"l": []string{"a"}}, "l"},
		{"invalid UTF-8 value", map[string]any{"s": "\xff"}, "s"},
		{"invalid UTF-8 nested key", map[string]any{"m": map[string]any{"\xff": nil}}, "m"},
		{"invalid UTF-8 argument name", map[string]any{"\xff": nil}, ""},
		{"map containing itself", cyclic, "self"},
		{"too deep", map[string]any{"d": deep}, "d"},
	}
	k, err := NewSigningKeyFromSeed(bytes.Repeat([]byte{7}, SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	var id WarrantID
	sig := make([]byte, SignatureSize)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PoPMessage(id, "t", tt.args, 0)
			if d := wantDenial(t, err, CodePopChallengeInvalid, ErrBadArguments); d.Arg != tt.arg {
				t.Errorf("Arg = %q, want %q", d.Arg, tt.arg)
			}
			_, err = SignPoP(k, id, "t", tt.args, time.Unix(0, 0))
			wantDenial(t, err, CodePopChallengeInvalid, ErrBadArguments)
			err = verifyPoP(k.Public(), id, "t", tt.args, sig, time.Unix(0, 0))
			wantDenial(t, err, CodePopChallengeInvalid, ErrBadArguments)
		})
	}
	if _, err := PoPMessage(id, "\xff", nil, 0); err == nil {
		t.Error("tool name with invalid UTF-8 accepted")
	}
	// Exactly maxArgDepth levels is fine.
	ok := any(int64(0))
	for range maxArgDepth - 1 {
		ok = []any{ok}
	}
	if _, err := PoPMessage(id, "t", map[string]any{"d": ok}, 0); err != nil {
		t.Errorf("depth %d refused: %v", maxArgDepth, err)
	}
}

func TestPoPSignVerify(t *testing.T) {
	holder, err := NewSigningKeyFromSeed(bytes.Repeat([]byte{0x42}, SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewSigningKeyFromSeed(bytes.Repeat([]byte{0x43}, SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	id := WarrantID{0x01, 0x9a, 0xbc}
	args, err := CanonicalArgs([]byte(`{"path":"/data/x","opts":{"depth":2,"ratio":0.1,"tags":["a","b"]},"n":null}`))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1754000000, 0)
	sig, err := SignPoP(holder, id, "read_file", args, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyPoP(holder.Public(), id, "read_file", args, sig[:], now); err != nil {
		t.Fatalf("round trip: %v", err)
	}
	if err := verifyPoP(holder.Public(), id, "read_file", args, sig[:], now.Add(-61*time.Second)); err != nil {
		t.Fatalf("verifier 61 s behind, still in window +2: %v", err)
	}

	changed := func(f func(m map[string]any)) map[string]any {
		m, _ := CanonicalArgs([]byte(`{"path":"/data/x","opts":{"depth":2,"ratio":0.1,"tags":["a","b"]},"n":null}`))
		f(m)
		return m
	}
	badS := sig
	badS[63] |= 0xf0           // S ≥ L: non-canonical
	smallOrder := PublicKey{1} // the identity point
	tests := []struct {
		name   string
		holder PublicKey
		id     WarrantID
		tool   string
		args   map[string]any
		sig    []byte
		msg    string
	}{
		{"wrong holder", other.Public(), id, "read_file", args, sig[:], "any 30-second window"},
		{"wrong warrant", holder.Public(), WarrantID{0x01, 0x9a, 0xbd}, "read_file", args, sig[:], "any 30-second window"},
		{"wrong tool", holder.Public(), id, "write_file", args, sig[:], "any 30-second window"},
		{"nested value changed", holder.Public(), id, "read_file", changed(func(m map[string]any) {
			m["opts"].(map[string]any)["depth"] = int64(3)
		}), sig[:], "any 30-second window"},
		{"list order changed", holder.Public(), id, "read_file", changed(func(m map[string]any) {
			m["opts"].(map[string]any)["tags"] = []any{"b", "a"}
		}), sig[:], "any 30-second window"},
		{"int becomes float", holder.Public(), id, "read_file", changed(func(m map[string]any) {
			m["opts"].(map[string]any)["depth"] = 2.0
		}), sig[:], "any 30-second window"},
		{"short signature", holder.Public(), id, "read_file", args, sig[:63], "PoP signature must be 64 bytes, got 63"},
		{"long signature", holder.Public(), id, "read_file", args, append(sig[:], 0), "PoP signature must be 64 bytes, got 65"},
		{"no signature", holder.Public(), id, "read_file", args, nil, "PoP signature must be 64 bytes, got 0"},
		{"non-canonical S", holder.Public(), id, "read_file", args, badS[:], "not below the group order"},
		{"small-order holder key", smallOrder, id, "read_file", args, sig[:], "small-order"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := verifyPoP(tt.holder, tt.id, tt.tool, tt.args, tt.sig, now)
			d := wantDenial(t, err, CodePopSignatureInvalid, ErrPoP)
			if !strings.Contains(d.Message, tt.msg) {
				t.Errorf("message %q lacks %q", d.Message, tt.msg)
			}
		})
	}

	if _, err := SignPoP(nil, id, "t", nil, now); err == nil {
		t.Error("SignPoP with a nil key succeeded")
	}
	if _, err := SignPoP(&SigningKey{}, id, "t", nil, now); err == nil {
		t.Error("SignPoP with the zero key succeeded")
	}
}

// TestPoPVerifyExtremeTimes checks that windows near the ends of int64 do
// not wrap around and that nothing panics.
func TestPoPVerifyExtremeTimes(t *testing.T) {
	k, err := NewSigningKeyFromSeed(bytes.Repeat([]byte{9}, SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	var id WarrantID
	for _, now := range []time.Time{time.Unix(math.MaxInt64-5, 0), time.Unix(math.MinInt64+100, 0)} {
		sig, err := SignPoP(k, id, "t", nil, now)
		if err != nil {
			t.Fatal(err)
		}
		if err := verifyPoP(k.Public(), id, "t", nil, sig[:], now); err != nil {
			t.Errorf("unix %d: %v", now.Unix(), err)
		}
	}
	if got, ok := shiftWindow(math.MaxInt64-40, 2); ok {
		t.Errorf("shiftWindow overflowed to %d", got)
	}
	if got, ok := shiftWindow(math.MinInt64+40, -2); ok {
		t.Errorf("shiftWindow underflowed to %d", got)
	}
}

func BenchmarkCanonicalArgs(b *testing.B) {
	text := []byte(`{"path":"/data/reports/2024/q3.csv","limit":100,"offset":0,"encoding":"utf-8","follow":false,"note":null}`)
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CanonicalArgs(text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyPoP(b *testing.B) {
	v := loadPopVector(b)
	pub := v.holder.Public()
	for _, bc := range []struct {
		name string
		skew time.Duration
	}{
		{"current-window", 0},
		{"window+2", 55 * time.Second}, // found at the last of five tries
	} {
		b.Run(bc.name, func(b *testing.B) {
			at := v.at.Add(bc.skew)
			b.ReportAllocs()
			for b.Loop() {
				if err := verifyPoP(pub, v.id, v.Tool, v.args, v.sig, at); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzCanonicalArgs checks that CanonicalArgs never panics, that every
// failure is a 1602 denial, and that every map it returns can be signed.
func FuzzCanonicalArgs(f *testing.F) {
	for _, s := range []string{
		`{"limit":1,"note":null,"path":"/data/ok"}`,
		`{"limit":1.0,"note":null,"path":"\/data\/ok"}`,
		`{"a":1,"\u0061":2}`,
		`{"m":{"l":[1.5,-0.0,1e300,"\ud83d\ude00",{"k":[]}]}}`,
		`{"n":9223372036854775808}`,
		`[]`,
	} {
		f.Add([]byte(s))
	}
	var id WarrantID
	f.Fuzz(func(t *testing.T, data []byte) {
		args, err := CanonicalArgs(data)
		if err != nil {
			var d *Denial
			if !errors.As(err, &d) || d.Code != CodePopChallengeInvalid || !errors.Is(err, ErrBadArguments) {
				t.Fatalf("error %v is not a 1602 bad-arguments denial", err)
			}
			return
		}
		msg, err := PoPMessage(id, "t", args, 0)
		if err != nil {
			t.Fatalf("canonical arguments %q cannot be signed: %v", data, err)
		}
		if !bytes.HasPrefix(msg, []byte("tenuo-warrant-v1tenuo-pop-v1\x84")) {
			t.Fatalf("message prefix %q", msg[:min(len(msg), 40)])
		}
	})
}
