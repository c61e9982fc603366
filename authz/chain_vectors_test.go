package authz

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chVerdictCase is one line of testdata/chain_verdicts.json.
type chVerdictCase struct {
	Name      string   `json:"name"`
	Chain     []string `json:"chain"`
	At        int64    `json:"at"`
	Strict    bool     `json:"strict"`
	Untrusted bool     `json:"untrusted"`
	Roots     []string `json:"roots"` // trusted keys by name; default the control plane
	Expect    string   `json:"expect"`
	Error     string   `json:"error"`
	Code      Code     `json:"code"` // the denial's code, when the case names one
}

var chSentinels = map[string]error{
	"ErrMalformed": ErrMalformed, "ErrTooLarge": ErrTooLarge, "ErrBadSignature": ErrBadSignature,
	"ErrExpired": ErrExpired, "ErrNotYetValid": ErrNotYetValid, "ErrUntrustedRoot": ErrUntrustedRoot,
	"ErrBrokenChain": ErrBrokenChain, "ErrAttenuation": ErrAttenuation, "ErrRevoked": ErrRevoked,
}

// chVectorKeys returns the vectors' signing keys by name and by public key.
func chVectorKeys(t testing.TB, f vecFile) (map[string]*SigningKey, map[PublicKey]*SigningKey) {
	t.Helper()
	byName := map[string]*SigningKey{}
	byPub := map[PublicKey]*SigningKey{}
	for name, seedHex := range f.Keys {
		k, err := NewSigningKeyFromSeed(vecHex(t, seedHex))
		if err != nil {
			t.Fatal(err)
		}
		byName[strings.TrimSuffix(name, "_seed")] = k
		byPub[k.Public()] = k
	}
	return byName, byPub
}

// chStack decodes the vectors with the given labels into a stack.
func chStack(t testing.TB, f vecFile, labels ...string) Stack {
	t.Helper()
	var s Stack
	for _, l := range labels {
		found := false
		for _, v := range f.Vectors {
			if v.Label == l {
				w, err := ParseWarrant(vecEnvelope(t, v))
				if err != nil {
					t.Fatalf("%s: %v", l, err)
				}
				s = append(s, w)
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("no vector labelled %q", l)
		}
	}
	return s
}

func TestTenuoChainVerdicts(t *testing.T) {
	f := vecLoad(t)
	keys, _ := chVectorKeys(t, f)
	data, err := os.ReadFile(filepath.Join("testdata", "chain_verdicts.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var file struct {
		Comment string          `json:"comment"`
		Cases   []chVerdictCase `json:"cases"`
	}
	if err := dec.Decode(&file); err != nil {
		t.Fatalf("chain_verdicts.json: %v", err)
	}
	if len(file.Cases) < 40 {
		t.Fatalf("only %d cases", len(file.Cases))
	}
	for _, c := range file.Cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			if c.At == 0 || len(c.Chain) == 0 {
				t.Fatal("case needs a chain and a clock")
			}
			s := chStack(t, f, c.Chain...)
			roots := []PublicKey{keys["control_plane"].Public()}
			if c.Untrusted {
				roots = []PublicKey{keys["attacker"].Public()}
			}
			if len(c.Roots) > 0 {
				roots = nil
				for _, name := range c.Roots {
					k, ok := keys[name]
					if !ok {
						t.Fatalf("no key named %q", name)
					}
					roots = append(roots, k.Public())
				}
			}
			vc, err := verifyChain(s, chainOptions{TrustedRoots: roots, Now: time.Unix(c.At, 0),
				ClockTolerance: DefaultClockTolerance, StrictSession: c.Strict})
			switch c.Expect {
			case "allow":
				if err != nil {
					t.Fatalf("want allow, got %v", err)
				}
				if vc.Root != roots[0] || vc.Leaf() != s.Leaf() {
					t.Fatalf("verified chain reports root %s leaf %v", vc.Root.Hex(), vc.Leaf().ID)
				}
			case "deny":
				sentinel, ok := chSentinels[c.Error]
				if !ok {
					t.Fatalf("unknown sentinel %q", c.Error)
				}
				if err == nil {
					t.Fatalf("want deny (%s), got allow", c.Error)
				}
				if !errors.Is(err, sentinel) {
					t.Fatalf("want %s, got %v", c.Error, err)
				}
				var d *Denial
				if !errors.As(err, &d) || d.Code == 0 || d.WarrantID == "" || d.Message == "" {
					t.Fatalf("denial lacks code, warrant id or message: %#v", err)
				}
				if c.Code != 0 && d.Code != c.Code {
					t.Fatalf("want code %d, got %v", c.Code, err)
				}
			default:
				t.Fatalf("unknown expectation %q", c.Expect)
			}
		})
	}
}

// TestTenuoA4 checks A.4, which is only in the markdown: a child signed by a
// key that is not its parent's holder must be refused although every
// signature is valid.
func TestTenuoA4(t *testing.T) {
	f := vecLoad(t)
	keys, _ := chVectorKeys(t, f)
	md, err := os.ReadFile(filepath.Join(vecDir(t), "tenuo-test-vectors.md"))
	if err != nil {
		t.Fatal(err)
	}
	sec := string(md)
	start := strings.Index(sec, "## A.4 ")
	end := strings.Index(sec, "## A.5 ")
	if start < 0 || end < start {
		t.Fatal("A.4 section not found")
	}
	sec = sec[start:end]
	payloadHex := chCodeBlock(t, sec, "**Invalid Child Payload CBOR")
	sigHex := chCodeBlock(t, sec, "**Invalid Child Signature")
	env := vecEnvelope(t, vecWarrant{PayloadHex: payloadHex, SignatureHex: sigHex})
	child, err := ParseWarrant(env)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifySignature(child.Issuer, envelopeMessage(child.PayloadBytes()), child.signature[:]); err != nil {
		t.Fatalf("A.4's signature should be valid on its own: %v", err)
	}
	s := append(chStack(t, f, "Level 0"), child)
	_, err = verifyChain(s, chainOptions{TrustedRoots: []PublicKey{keys["control_plane"].Public()},
		Now: time.Unix(1704067200, 0), ClockTolerance: DefaultClockTolerance})
	var d *Denial
	if !errors.As(err, &d) || d.Code != CodeInvalidIssuer || !errors.Is(err, ErrBrokenChain) {
		t.Fatalf("want invalid-issuer denial, got %v", err)
	}
}

// chCodeBlock returns the hex in the first ``` block after marker, joined.
func chCodeBlock(t *testing.T, sec, marker string) string {
	t.Helper()
	i := strings.Index(sec, marker)
	if i < 0 {
		t.Fatalf("%q not found", marker)
	}
	rest := sec[i:]
	a := strings.Index(rest, "```")
	b := strings.Index(rest[a+3:], "```")
	if a < 0 || b < 0 {
		t.Fatalf("no code block after %q", marker)
	}
	return strings.Join(strings.Fields(rest[a+3:a+3+b]), "")
}

// TestTenuoApprovalVectors runs the approval step on A.21.1 (2 of 3) and
// A.21.2 (2 of 2) with approvals signed here by the vectors' approver keys.
func TestTenuoApprovalVectors(t *testing.T) {
	f := vecLoad(t)
	keys, _ := chVectorKeys(t, f)
	now := time.Unix(1704067200, 0)
	for _, c := range []struct {
		label string
		need  int
	}{{"A.21.1", 2}, {"A.21.2", 2}} {
		t.Run(c.label, func(t *testing.T) {
			w := chStack(t, f, c.label).Leaf()
			if got := approvalThreshold(&w.Payload); got != uint64(c.need) {
				t.Fatalf("threshold %d, want %d", got, c.need)
			}
			tool := sortedToolNames(w.Tools)[0]
			args := map[string]any{"amount": int64(5000)}
			hash, err := RequestHash(w.ID, tool, args, w.Holder)
			if err != nil {
				t.Fatal(err)
			}
			sign := func(name string) []byte {
				a, err := NewApproval(keys[name], hash, name+"@example.com", now, 5*time.Minute, nil)
				if err != nil {
					t.Fatal(err)
				}
				return a.Bytes()
			}
			err = checkApprovals(&w.Payload, tool, args, nil, now, DefaultClockTolerance)
			if !errors.Is(err, ErrApprovalRequired) {
				t.Fatalf("no approvals: %v", err)
			}
			err = checkApprovals(&w.Payload, tool, args, [][]byte{sign("approver1")}, now, DefaultClockTolerance)
			if !errors.Is(err, ErrInsufficientApprovals) {
				t.Fatalf("one approval: %v", err)
			}
			err = checkApprovals(&w.Payload, tool, args, [][]byte{sign("approver1"), sign("approver2")}, now, DefaultClockTolerance)
			if err != nil {
				t.Fatalf("two approvals: %v", err)
			}
			err = checkApprovals(&w.Payload, tool, args, [][]byte{sign("approver1"), sign("attacker")}, now, DefaultClockTolerance)
			if !errors.Is(err, ErrInsufficientApprovals) {
				t.Fatalf("outsider approval counted: %v", err)
			}
			err = checkApprovals(&w.Payload, tool, args, [][]byte{sign("approver1"), sign("approver2")}, now.Add(time.Hour), DefaultClockTolerance)
			if !errors.Is(err, ErrInsufficientApprovals) {
				t.Fatalf("expired approvals counted: %v", err)
			}
		})
	}
}

// TestTenuoRevocationVector revokes A.22's child, then its root, with a
// signed revocation list made here by the control plane key.
func TestTenuoRevocationVector(t *testing.T) {
	f := vecLoad(t)
	keys, _ := chVectorKeys(t, f)
	cp := keys["control_plane"]
	now := time.Unix(1704067200, 0)
	s := chStack(t, f, "A.22 Root", "A.22 Child")
	opt := chainOptions{TrustedRoots: []PublicKey{cp.Public()}, Now: now, ClockTolerance: DefaultClockTolerance}
	for _, revoke := range []int{1, 0} {
		b, err := NewRevocationList(cp, 7, []string{s[revoke].ID.String()}, now)
		if err != nil {
			t.Fatal(err)
		}
		srl, err := ParseRevocationList(b, cp.Public())
		if err != nil {
			t.Fatal(err)
		}
		opt.Revoked = srl.IsRevoked
		if _, err := verifyChain(s, opt); !errors.Is(err, ErrRevoked) {
			t.Fatalf("revoking warrant %d: want ErrRevoked, got %v", revoke, err)
		}
	}
	b, _ := NewRevocationList(cp, 7, nil, now)
	if _, err := ParseRevocationList(b, keys["attacker"].Public()); !errors.Is(err, ErrRevoked) {
		t.Fatalf("list checked against the wrong key: %v", err)
	}
	forged := append([]byte(nil), b...)
	forged[len(forged)-5] ^= 1
	if _, err := ParseRevocationList(forged, cp.Public()); err == nil {
		t.Fatal("forged list accepted")
	}
	v7, _ := ParseRevocationList(b, cp.Public())
	b6, _ := NewRevocationList(cp, 6, nil, now)
	v6, _ := ParseRevocationList(b6, cp.Public())
	if err := CheckRollback(v7, v6); !errors.Is(err, ErrRevoked) {
		t.Fatalf("rollback: %v", err)
	}
	if err := CheckRollback(v6, v7); err != nil {
		t.Fatal(err)
	}
}

// TestTenuoPoPWrongHolder is A.20.1: a PoP signed by a key other than the
// holder's fails.
func TestTenuoPoPWrongHolder(t *testing.T) {
	f := vecLoad(t)
	keys, byPub := chVectorKeys(t, f)
	w := chStack(t, f, "A.20.1").Leaf()
	holder, ok := byPub[w.Holder]
	if !ok {
		t.Fatal("A.20.1's holder is not one of the vector keys")
	}
	now := time.Unix(1704067200, 0)
	tool := sortedToolNames(w.Tools)[0]
	args := map[string]any{"path": "/data/x"}
	good, _ := SignPoP(holder, w.ID, tool, args, now)
	if err := verifyPoP(w.Holder, w.ID, tool, args, good[:], now); err != nil {
		t.Fatalf("holder's own PoP: %v", err)
	}
	bad, _ := SignPoP(keys["attacker"], w.ID, tool, args, now)
	if err := verifyPoP(w.Holder, w.ID, tool, args, bad[:], now); !errors.Is(err, ErrPoP) {
		t.Fatalf("attacker's PoP: %v", err)
	}
}

// TestTenuoConstraintVectors checks the inputs Tenuo's vectors page lists
// for A.19.x and A.25.x against the decoded warrants' constraints.
func TestTenuoConstraintVectors(t *testing.T) {
	f := vecLoad(t)
	now := time.Unix(1704067200, 0)
	cases := []struct {
		label   string
		allow   []map[string]any
		deny    []map[string]any
		wantArg string // the argument a denial names
	}{
		{"A.19.1 Range", []map[string]any{{"count": 50.0}, {"count": int64(50)}}, []map[string]any{{"count": 150.0}}, "count"},
		{"A.19.2 OneOf", []map[string]any{{"env": "staging"}}, []map[string]any{{"env": "development"}}, "env"},
		{"A.19.3 CIDR", []map[string]any{{"ip": "10.1.2.3"}}, []map[string]any{{"ip": "192.168.1.1"}}, "ip"},
		{"A.25.1 UrlSafe", []map[string]any{{"url": "https://api.example.com/data"}}, []map[string]any{{"url": "http://169.254.169.254/"}, {"url": "http://127.0.0.1/"}}, "url"},
		{"A.25.2 Subpath", []map[string]any{{"path": "/home/agent/workspace/file.txt"}}, []map[string]any{{"path": "/home/agent/workspace/../../../etc/passwd"}, {"path": "/etc/passwd"}}, "path"},
		{"A.25.3 Contains", []map[string]any{{"tags": []any{"approved", "reviewed", "urgent"}}}, []map[string]any{{"tags": []any{"approved", "urgent"}}}, "tags"},
		{"A.25.4 Subset", []map[string]any{{"permissions": []any{"read", "write"}}}, []map[string]any{{"permissions": []any{"read", "admin"}}}, "permissions"},
		{"A.25.5 UrlPattern", []map[string]any{{"endpoint": "https://api.example.com/v1/users"}}, []map[string]any{{"endpoint": "https://evil.com/api"}}, "endpoint"},
		{"A.25.6 All", []map[string]any{{"amount": 500.0, "currency": "USD"}}, []map[string]any{{"amount": 500.0, "currency": "GBP"}}, ""},
		{"A.25.7 Any", []map[string]any{{"path": "/public/readme.txt"}, {"path": "/shared/data.json"}}, []map[string]any{{"path": "/private/secret.txt"}}, "path"},
		{"A.25.8 Not", []map[string]any{{"path": "/public/readme.txt"}}, []map[string]any{{"path": "/secret/keys.txt"}}, "path"},
	}
	for _, c := range cases {
		t.Run(c.label, func(t *testing.T) {
			w := chStack(t, f, c.label).Leaf()
			tools := sortedToolNames(w.Tools)
			if len(tools) != 1 {
				t.Fatalf("want one tool, got %v", tools)
			}
			set := w.Tools[tools[0]]
			for _, in := range c.allow {
				if err := checkConstraints(set, in, now); err != nil {
					t.Errorf("%v must be allowed: %v", in, err)
				}
			}
			for _, in := range c.deny {
				err := checkConstraints(set, in, now)
				var d *Denial
				if !errors.As(err, &d) || !errors.Is(err, ErrConstraint) || d.Code != CodeConstraintViolation {
					t.Errorf("%v must be denied as a constraint violation, got %v", in, err)
					continue
				}
				if c.wantArg != "" && d.Arg != c.wantArg {
					t.Errorf("%v: denial names %q, want %q", in, d.Arg, c.wantArg)
				}
			}
		})
	}
}
