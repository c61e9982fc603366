package authz

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz/internal/cbor"
)

// MaxRevocationListBytes bounds a signed revocation list.
const MaxRevocationListBytes = 16 << 20

// RevocationList is a verified signed revocation list (SRL): warrant ids that
// must be denied anywhere in a chain, with a version that never goes back.
// It names warrant ids, so it denies the warrants presented: a delegated
// warrant presented alone (trusted on its issuer's signature) carries no
// parents, and a revoked parent cannot be seen behind it. Revoke the
// delegated warrants too, or stop trusting their issuer; Tenuo has the same
// limit.
type RevocationList struct {
	Version  uint64
	IssuedAt string // as the issuer wrote it (RFC 3339)
	Issuer   PublicKey
	ids      map[string]struct{} // revoked ids as text ("tnu_wrt_…")
}

// Len returns the number of revoked ids.
func (l *RevocationList) Len() int { return len(l.ids) }

// IDs returns the revoked ids ("tnu_wrt_…"), sorted.
func (l *RevocationList) IDs() []string {
	out := make([]string, 0, len(l.ids))
	for id := range l.ids {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

// IsRevoked reports whether the warrant id is on the list.
func (l *RevocationList) IsRevoked(id WarrantID) bool {
	if l == nil {
		return false
	}
	_, ok := l.ids[id.String()]
	return ok
}

func srlMessage(payload []byte) []byte {
	m := make([]byte, 0, len(domainWarrant)+len(domainSRL)+len(payload))
	m = append(m, domainWarrant...)
	m = append(m, domainSRL...)
	return append(m, payload...)
}

// NewRevocationList signs a revocation list of ids (each "tnu_wrt_…").
func NewRevocationList(k *SigningKey, version uint64, ids []string, now time.Time) ([]byte, error) {
	p := cbor.AppendMapHeader(nil, 4)
	p = cbor.AppendText(p, "revoked_ids")
	p = cbor.AppendArrayHeader(p, len(ids))
	for _, id := range ids {
		if !strings.HasPrefix(id, WarrantIDPrefix) {
			return nil, fmt.Errorf("revocation list: %q is not a warrant id (tnu_wrt_…)", id)
		}
		p = cbor.AppendText(p, id)
	}
	p = cbor.AppendText(p, "version")
	p = cbor.AppendUint(p, version)
	p = cbor.AppendText(p, "issued_at")
	p = cbor.AppendText(p, now.UTC().Format(time.RFC3339))
	p = cbor.AppendText(p, "issuer")
	p = appendPublicKey(p, k.Public())
	sig := k.Sign(srlMessage(p))
	b := cbor.AppendMapHeader(nil, 2)
	b = cbor.AppendText(b, "payload")
	b = append(b, p...)
	b = cbor.AppendText(b, "signature")
	b = cbor.AppendArrayHeader(b, 2)
	b = cbor.AppendUint(b, 1)
	b = cbor.AppendBytes(b, sig[:])
	return b, nil
}

// ParseRevocationList decodes a signed revocation list and verifies it was
// signed by issuer. The signature covers the payload's CBOR as sent.
func ParseRevocationList(b []byte, issuer PublicKey) (*RevocationList, error) {
	bad := func(format string, args ...any) error {
		return deny(CodeSRLInvalid, ErrRevoked, "revocation list: "+format, args...)
	}
	if len(b) > MaxRevocationListBytes {
		return nil, bad("%d bytes exceed the limit of %d", len(b), MaxRevocationListBytes)
	}
	it, err := cbor.Decode(b, cbor.Limits{MaxDepth: 4})
	if err != nil {
		return nil, bad("%v", err)
	}
	f, err := mapFields(&it, "revocation list", "payload", "signature")
	if err != nil {
		return nil, bad("%v", err)
	}
	if f.get("payload") == nil || f.get("signature") == nil {
		return nil, bad("missing payload or signature")
	}
	sig := f.get("signature")
	if sig.Kind != cbor.KindArray || len(sig.Items) != 2 || sig.Items[0].Kind != cbor.KindUint || sig.Items[0].Uint != 1 ||
		sig.Items[1].Kind != cbor.KindBytes || len(sig.Items[1].Bytes) != SignatureSize {
		return nil, bad("signature must be [1, 64 bytes]")
	}
	payload := f.get("payload")
	pf, err := mapFields(payload, "revocation list payload", "revoked_ids", "version", "issued_at", "issuer")
	if err != nil {
		return nil, bad("%v", err)
	}
	for _, k := range []string{"revoked_ids", "version", "issued_at", "issuer"} {
		if pf.get(k) == nil {
			return nil, bad("payload: missing %q", k)
		}
	}
	l := &RevocationList{}
	if l.Issuer, err = decodePublicKey(pf.get("issuer"), "issuer"); err != nil {
		return nil, bad("%v", err)
	}
	if !l.Issuer.Equal(issuer) {
		return nil, bad("signed by %s, not by the configured key %s", l.Issuer.Hex(), issuer.Hex())
	}
	if err := verifySignature(issuer, srlMessage(payload.Raw), sig.Items[1].Bytes); err != nil {
		return nil, bad("signature does not verify under %s", issuer.Hex())
	}
	if l.Version, err = wantUint(pf.get("version"), "version"); err != nil {
		return nil, bad("%v", err)
	}
	if l.IssuedAt, err = wantText(pf.get("issued_at"), "issued_at"); err != nil {
		return nil, bad("%v", err)
	}
	ids, err := decodeTextList(pf.get("revoked_ids"), "revoked_ids")
	if err != nil {
		return nil, bad("%v", err)
	}
	l.ids = make(map[string]struct{}, len(ids))
	for _, id := range ids {
		l.ids[id] = struct{}{}
	}
	return l, nil
}

// CheckRollback refuses next when its version is lower than current's.
func CheckRollback(current, next *RevocationList) error {
	if current != nil && next.Version < current.Version {
		return deny(CodeSRLVersionRollback, ErrRevoked,
			"revocation list version %d is older than the loaded version %d", next.Version, current.Version)
	}
	return nil
}
