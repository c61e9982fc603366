package authz

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/authz/internal/cbor"
	"github.com/tenuo-mcp/tenuo-mcp/internal/testfiles"
)

// vecDir returns testdata/tenuo-vectors in the repository (Tenuo's
// vectors; see testdata/PROVENANCE.md).
func vecDir(t testing.TB) string {
	t.Helper()
	return testfiles.TenuoVectors(t)
}

type vecWarrant struct {
	Section       string `json:"section"`
	Label         string `json:"label"`
	WarrantID     string `json:"warrant_id"`
	PayloadHex    string `json:"payload_hex"`
	SignatureHex  string `json:"signature_hex"`
	IssuerPubHex  string `json:"issuer_pub_hex"`
	HolderPubHex  string `json:"holder_pub_hex"`
	PayloadSHA256 string `json:"payload_sha256_hex"`
	SignedMessage string `json:"signed_message"`
}

type vecFile struct {
	Source  string            `json:"source"`
	Keys    map[string]string `json:"keys"`
	Vectors []vecWarrant      `json:"vectors"`
}

// vecLoad reads warrants.json strictly: an unknown wireField or an
// empty vector list fails the test.
func vecLoad(t testing.TB) vecFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(vecDir(t), "warrants.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f vecFile
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("warrants.json: %v", err)
	}
	if len(f.Vectors) == 0 {
		t.Fatal("warrants.json holds no vectors")
	}
	return f
}

func vecHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// vecEnvelope builds [1, payload, [1, sig]] for a vector.
func vecEnvelope(t testing.TB, v vecWarrant) []byte {
	t.Helper()
	payload, sig := vecHex(t, v.PayloadHex), vecHex(t, v.SignatureHex)
	b := cbor.AppendArrayHeader(nil, 3)
	b = cbor.AppendUint(b, 1)
	b = cbor.AppendBytes(b, payload)
	b = cbor.AppendArrayHeader(b, 2)
	b = cbor.AppendUint(b, 1)
	return cbor.AppendBytes(b, sig)
}

func TestTenuoWarrantVectors(t *testing.T) {
	f := vecLoad(t)
	for _, v := range f.Vectors {
		t.Run(v.Label, func(t *testing.T) {
			t.Parallel()
			env := vecEnvelope(t, v)
			w, err := ParseWarrant(env)
			if err != nil {
				t.Fatalf("ParseWarrant: %v", err)
			}
			if got := w.ID.String(); got != v.WarrantID {
				t.Errorf("id = %s, want %s", got, v.WarrantID)
			}
			if got := w.Issuer.Hex(); got != v.IssuerPubHex {
				t.Errorf("issuer = %s, want %s", got, v.IssuerPubHex)
			}
			if got := w.Holder.Hex(); got != v.HolderPubHex {
				t.Errorf("holder = %s, want %s", got, v.HolderPubHex)
			}
			payload := vecHex(t, v.PayloadHex)
			if !bytes.Equal(w.PayloadBytes(), payload) {
				t.Error("PayloadBytes differ from the signed payload")
			}
			if !bytes.Equal(w.Bytes(), env) {
				t.Error("Bytes differ from the envelope")
			}
			if sig := w.Signature(); hex.EncodeToString(sig[:]) != v.SignatureHex {
				t.Error("signature differs")
			}
			h := w.PayloadHash()
			if got := hex.EncodeToString(h[:]); got != v.PayloadSHA256 {
				t.Errorf("PayloadHash = %s, want %s", got, v.PayloadSHA256)
			}
			re, err := EncodePayload(&w.Payload)
			if err != nil {
				t.Fatalf("EncodePayload: %v", err)
			}
			if !bytes.Equal(re, payload) {
				t.Errorf("re-encoded payload differs:\n got %x\nwant %x", re, payload)
			}
			// The cxEnvelope rebuilt from the decoded parts is the same bytes.
			if nw := newWarrant(w.Payload, re, w.Signature()); !bytes.Equal(nw.Bytes(), env) {
				t.Error("newWarrant envelope differs")
			}
			// As a one-element stack, in every text form.
			s := Stack{w}
			for name, text := range map[string]string{"base64": s.Base64(), "pem": s.PEM(), "warrant-pem": w.PEM(), "warrant-base64": w.Base64()} {
				got, err := ParseText(text)
				if err != nil {
					t.Fatalf("ParseText(%s): %v", name, err)
				}
				if len(got) != 1 || !bytes.Equal(got[0].Bytes(), env) {
					t.Errorf("ParseText(%s) did not give back the warrant", name)
				}
			}
		})
	}
}

// TestTenuoStackVector decodes Tenuo's printed A.8 WarrantStack (the A.3
// chain) and checks it against the individual vectors.
func TestTenuoStackVector(t *testing.T) {
	md, err := os.ReadFile(filepath.Join(vecDir(t), "tenuo-test-vectors.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(md)
	start := strings.Index(text, "**WarrantStack CBOR")
	if start < 0 {
		t.Fatal("A.8 stack not found in tenuo-test-vectors.md")
	}
	fenced := func(from string) string {
		i := strings.Index(text[start:], from)
		if i < 0 {
			t.Fatalf("%q not found after the A.8 heading", from)
		}
		parts := strings.SplitN(text[start+i:], "```", 3)
		if len(parts) < 3 {
			t.Fatalf("no code block after %q", from)
		}
		return parts[1]
	}
	stackBytes := vecHex(t, strings.Join(strings.Fields(fenced("**WarrantStack CBOR")), ""))
	b64 := fenced("**Base64")

	f := vecLoad(t)
	want := map[string][]byte{}
	for _, v := range f.Vectors {
		want[v.Label] = vecEnvelope(t, v)
	}
	levels := []string{"Level 0", "Level 1", "Level 2"}

	for name, parse := range map[string]func() (Stack, error){
		"cbor":   func() (Stack, error) { return ParseStack(stackBytes) },
		"base64": func() (Stack, error) { return ParseText(b64) },
	} {
		t.Run(name, func(t *testing.T) {
			s, err := parse()
			if err != nil {
				t.Fatal(err)
			}
			if len(s) != len(levels) {
				t.Fatalf("stack has %d warrants, want %d", len(s), len(levels))
			}
			for i, l := range levels {
				if !bytes.Equal(s[i].Bytes(), want[l]) {
					t.Errorf("stack[%d] is not vector %s", i, l)
				}
			}
			if !bytes.Equal(s.Bytes(), stackBytes) {
				t.Error("Stack.Bytes differs from Tenuo's stack encoding")
			}
			if got := s.Base64(); got != strings.Join(strings.Fields(b64), "") {
				t.Error("Stack.Base64 differs from Tenuo's base64")
			}
			if p := s.Leaf().ParentHash; p == nil || *p != s[1].PayloadHash() {
				t.Error("leaf parent_hash is not the hash of its parent's payload")
			}
		})
	}
}

// TestMetaPopWarrantText parses the warrant text of Tenuo's MCP _meta vector.
func TestMetaPopWarrantText(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(vecDir(t), "meta-pop.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Warrant       string `json:"warrant"`
		HolderSeedHex string `json:"holder_seed_hex"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	s, err := ParseText(v.Warrant)
	if err != nil {
		t.Fatalf("ParseText: %v", err)
	}
	if len(s) != 1 {
		t.Fatalf("got %d warrants, want 1", len(s))
	}
	w := s[0]
	holder, err := NewSigningKeyFromSeed(vecHex(t, v.HolderSeedHex))
	if err != nil {
		t.Fatal(err)
	}
	if w.Holder != holder.Public() {
		t.Errorf("holder = %s, want the key of holder_seed_hex %s", w.Holder, holder.Public())
	}
	if _, ok := w.Tools["read_file"]; !ok {
		t.Errorf("tools = %v, want read_file", w.Tools)
	}
	re, err := EncodePayload(&w.Payload)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(re, w.PayloadBytes()) {
		t.Errorf("re-encoded payload differs:\n got %x\nwant %x", re, w.PayloadBytes())
	}
	if got := s.Base64(); got != v.Warrant {
		t.Errorf("Base64 = %s, want Tenuo's %s", got, v.Warrant)
	}
}
