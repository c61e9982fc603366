package authz

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func TestDecodeBase64(t *testing.T) {
	data := []byte{0xfb, 0xff, 0xbf, 0x00, 0x01, 0x7e, 0x3f} // uses + / - _ positions
	std, url := base64.StdEncoding.EncodeToString(data), base64.URLEncoding.EncodeToString(data)
	long := bytes.Repeat(data, 40) // its text is longer than DecodeBase64's stack buffer
	tests := []struct {
		name string
		in   string
		want []byte // nil: must fail
	}{
		{"standard padded", std, data},
		{"standard unpadded", strings.TrimRight(std, "="), data},
		{"url padded", url, data},
		{"url unpadded", strings.TrimRight(url, "="), data},
		{"whitespace everywhere", " " + url[:3] + "\n\t" + url[3:7] + "\r\n " + url[7:] + "\n", data},
		{"empty", "", []byte{}},
		{"long, url unpadded", base64.RawURLEncoding.EncodeToString(long), long},
		{"long, standard padded, wrapped", base64.StdEncoding.EncodeToString(long)[:100] + "\n" + base64.StdEncoding.EncodeToString(long)[100:], long},
		{"long, mixed alphabets", base64.RawStdEncoding.EncodeToString(long) + "-_", nil},
		{"mixed alphabets", "+_" + std[2:], nil},
		{"bad character", std[:4] + "*" + std[5:], nil},
		{"data after padding", "AA==AA", nil},
		{"too much padding", "AA===", nil},
		{"padding on a full quantum", "AAAA=", nil},
		{"wrong padding count", "AAA==", nil},
		{"one char in the last quantum", "AAAAA", nil},
		{"non-zero trailing bits", "AB", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeBase64(tc.in)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("DecodeBase64(%q) = %x, want an error", tc.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeBase64(%q): %v", tc.in, err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("DecodeBase64(%q) = %x, want %x", tc.in, got, tc.want)
			}
		})
	}
}

// cxStack returns a two-warrant stack (the second a delegation of the
// first) built and signed here.
func cxStack(t testing.TB) Stack {
	t.Helper()
	root := cxFullPayload()
	root.ParentHash, root.Depth = nil, 0
	rb, err := EncodePayload(&root)
	if err != nil {
		t.Fatal(err)
	}
	w0 := newWarrant(root, rb, cxKey(2).Sign(envelopeMessage(rb)))
	child := Payload{Version: 1, ID: WarrantID{9}, Tools: map[string]ConstraintSet{"read_file": {}},
		Holder: cxKey(4).Public(), Issuer: root.Holder, IssuedAt: root.IssuedAt, ExpiresAt: root.ExpiresAt,
		MaxDepth: 3, Depth: 1}
	h := w0.PayloadHash()
	child.ParentHash = &h
	cb, err := EncodePayload(&child)
	if err != nil {
		t.Fatal(err)
	}
	return Stack{w0, newWarrant(child, cb, cxKey(3).Sign(envelopeMessage(cb)))}
}

func TestTextForms(t *testing.T) {
	s := cxStack(t)
	stdPadded := base64.StdEncoding.EncodeToString(s.Bytes())
	wrapped := func(s string) string {
		var b strings.Builder
		for len(s) > 76 {
			b.WriteString(s[:76] + "\r\n")
			s = s[76:]
		}
		return b.String() + s
	}
	tests := []struct {
		name string
		in   string
		want Stack
	}{
		{"stack base64", s.Base64(), s},
		{"stack standard base64, wrapped", wrapped(stdPadded), s},
		{"stack chain PEM", s.PEM(), s},
		{"chain PEM with surrounding space", "\n  " + s.PEM() + "\n\n", s},
		{"warrant PEM blocks in a row", s[0].PEM() + "\n" + s[1].PEM(), s},
		{"one warrant PEM", s[1].PEM(), s[1:]},
		{"warrant base64", s[0].Base64(), s[:1]},
		{"chain PEM of one", Stack{s[1]}.PEM(), s[1:]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseText(tc.in)
			if err != nil {
				t.Fatalf("ParseText: %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d warrants, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if !bytes.Equal(got[i].Bytes(), tc.want[i].Bytes()) {
					t.Errorf("warrant %d differs", i)
				}
			}
		})
	}
}

func TestPEMShape(t *testing.T) {
	s := cxStack(t)
	pem := s.PEM()
	lines := strings.Split(strings.TrimSuffix(pem, "\n"), "\n")
	if lines[0] != "-----BEGIN TENUO WARRANT CHAIN-----" || lines[len(lines)-1] != "-----END TENUO WARRANT CHAIN-----" {
		t.Errorf("armour lines = %q, %q", lines[0], lines[len(lines)-1])
	}
	body := lines[1 : len(lines)-1]
	for i, l := range body {
		if len(l) > 64 || (i < len(body)-1 && len(l) != 64) {
			t.Errorf("line %d has %d characters", i, len(l))
		}
	}
	if strings.Join(body, "") != s.Base64() {
		t.Error("PEM body is not the URL-safe unpadded base64 of the stack")
	}
	if !strings.HasSuffix(pem, "-----\n") {
		t.Error("PEM must end in a newline")
	}
	if w := s[0].PEM(); !strings.HasPrefix(w, "-----BEGIN TENUO WARRANT-----\n") || !strings.HasSuffix(w, "-----END TENUO WARRANT-----\n") {
		t.Errorf("warrant PEM armour wrong:\n%s", w)
	}
	if strings.ContainsAny(s.Base64(), "=+/") {
		t.Error("Base64 must be URL-safe and unpadded")
	}
}

func TestParseTextHostile(t *testing.T) {
	s := cxStack(t)
	pem := s.PEM()
	tests := []struct {
		name     string
		in       string
		code     Code
		sentinel error
	}{
		{"empty", "  \n", CodeInvalidEnvelopeStructure, ErrMalformed},
		{"not base64", "not*base64", CodeInvalidEnvelopeStructure, ErrMalformed},
		{"mixed alphabets", "ab+_", CodeInvalidEnvelopeStructure, ErrMalformed},
		{"base64 of garbage", base64.RawURLEncoding.EncodeToString([]byte{0xff, 0x00}), CodeMalformedCBOR, ErrMalformed},
		{"text too long", strings.Repeat("A", maxTextBytes+1), CodeChainTooLarge, ErrTooLarge},
		{"decoded stack too large", strings.Repeat("AAAA", MaxStackBytes/3+2), CodeChainTooLarge, ErrTooLarge},
		{"PEM block too large", "-----BEGIN TENUO WARRANT-----\n" + strings.Repeat("AAAA", MaxWarrantBytes/3+2) + "\n-----END TENUO WARRANT-----\n", CodeWarrantTooLarge, ErrTooLarge},
		{"missing END", strings.TrimSuffix(pem, "-----END TENUO WARRANT CHAIN-----\n"), CodeInvalidEnvelopeStructure, ErrMalformed},
		{"unknown label", strings.ReplaceAll(pem, "TENUO WARRANT CHAIN", "CERTIFICATE"), CodeInvalidEnvelopeStructure, ErrMalformed},
		{"chain with another block", pem + s[0].PEM(), CodeInvalidEnvelopeStructure, ErrMalformed},
		{"warrant blocks then chain", s[0].PEM() + pem, CodeInvalidEnvelopeStructure, ErrMalformed},
		{"text after the block", pem + "trailing", CodeInvalidEnvelopeStructure, ErrMalformed},
		{"PEM headers", strings.Replace(pem, "-----\n", "-----\nProc-Type: 4\n\n", 1), CodeInvalidEnvelopeStructure, ErrMalformed},
		{"stack inside a warrant block", "-----BEGIN TENUO WARRANT-----\n" + s.Base64() + "\n-----END TENUO WARRANT-----\n", CodeInvalidEnvelopeStructure, ErrMalformed},
		{"66 warrant blocks", strings.Repeat(s[1].PEM(), 66), CodeChainTooLarge, ErrTooLarge},
		{"mismatched END", strings.Replace(s[0].PEM(), "END TENUO WARRANT-----", "END TENUO WARRANT CHAIN-----", 1), CodeInvalidEnvelopeStructure, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseText(tc.in)
			if err == nil {
				t.Fatalf("ParseText accepted it: %d warrants", len(got))
			}
			var d *Denial
			if !errors.As(err, &d) {
				t.Fatalf("error %v is not a *Denial", err)
			}
			if d.Code != tc.code || !errors.Is(err, tc.sentinel) {
				t.Errorf("got %v (code %d), want code %d wrapping %v", err, d.Code, tc.code, tc.sentinel)
			}
		})
	}
}

func FuzzParseText(f *testing.F) {
	vf := vecLoad(f)
	for _, v := range vf.Vectors {
		env := vecEnvelope(f, v)
		f.Add(base64.RawURLEncoding.EncodeToString(env))
		f.Add(base64.StdEncoding.EncodeToString(append([]byte{0x81}, env...)))
		w, err := ParseWarrant(env)
		if err == nil {
			f.Add(w.PEM())
			f.Add(Stack{w}.PEM())
		}
	}
	s := cxStack(f)
	f.Add(s.PEM())
	f.Add(s[0].PEM() + s[1].PEM())
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseText(text)
		if err != nil {
			var d *Denial
			if !errors.As(err, &d) || !(errors.Is(err, ErrMalformed) || errors.Is(err, ErrTooLarge)) {
				t.Fatalf("error %v is not a malformed/too-large denial", err)
			}
			return
		}
		cxCheckStable(t, s)
		for _, form := range []string{s.Base64(), s.PEM()} {
			again, err := ParseText(form)
			if err != nil || len(again) != len(s) {
				t.Fatalf("text form does not parse back: %v", err)
			}
			for i := range s {
				if !bytes.Equal(again[i].Bytes(), s[i].Bytes()) {
					t.Fatalf("warrant %d changed through its text form", i)
				}
			}
		}
	})
}
