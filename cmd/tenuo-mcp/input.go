package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

// maxInputFile bounds every file or stdin read by a command.
const maxInputFile = 1 << 20

func readBounded(r io.Reader, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxInputFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	if len(b) > maxInputFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", what, maxInputFile)
	}
	// A UTF-8 byte order mark, as some Windows editors write, is not part of
	// a key, a warrant or a JSON object.
	return bytes.TrimPrefix(b, utf8BOM), nil
}

var utf8BOM = []byte("\xef\xbb\xbf")

func readFileBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readBounded(f, path)
}

// loadSigningKey reads a secret key from a file or from env:VAR. The key is
// never taken from the command line (where ps would show it), and no error
// repeats a value that could be the key itself.
func (e *env) loadSigningKey(flag, ref string) (*authz.SigningKey, error) {
	if ref == "" {
		return nil, badInput("give a key file made by 'tenuo-mcp keygen --out FILE', or env:VAR", "--%s is required", flag)
	}
	var text []byte
	if name, ok := strings.CutPrefix(ref, "env:"); ok {
		v := e.getenv(name)
		if v == "" {
			return nil, badInput("", "--%s: environment variable %s is empty or unset", flag, name)
		}
		text = []byte(v)
	} else {
		b, err := readFileBounded(ref)
		if err != nil {
			const hint = "a secret key is given as a file path or env:VAR, never on the command line"
			if _, perr := authz.ParseSigningKey([]byte(ref)); perr == nil || authz.IsSecretKeyText([]byte(ref)) {
				return nil, badInput(hint, "--%s: this looks like a key itself, not the path of a key file (the value is not shown)", flag)
			}
			return nil, badInput(hint, "--%s: %s", flag, fileProblem("key file", ref, err))
		}
		if st, err := os.Stat(ref); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o077 != 0 {
			fmt.Fprintf(e.stderr, "tenuo-mcp: warning: key file %s is readable by others (mode %04o); chmod 600 it\n", ref, st.Mode().Perm())
		}
		text = b
	}
	k, err := authz.ParseSigningKey(text)
	if err != nil {
		return nil, badInput("", "--%s: %v", flag, err)
	}
	return k, nil
}

// hintPublicOfSecret tells how to get the public key of a secret key file.
const hintPublicOfSecret = "give the public key instead: keygen prints it (hex) when it makes the key"

// loadPublicKey reads a public key given as text (64 hex digits, base64 of 32
// bytes, or a PEM "PUBLIC KEY" block) or as a file holding one. from names
// the source in errors ("--holder", "TENUO_TRUSTED_ROOTS", …).
//
// A secret key is never taken for a public key:
//   - a PEM private key block ("PRIVATE KEY", which keygen writes, and any
//     other "… PRIVATE KEY"), given as text or as a file, is refused;
//   - a file holding a bare 32-byte value (hex or base64) that is readable by
//     its owner only (no group or other permission bits, as keygen wrote its
//     hex seed files before it wrote PEM, and as Tenuo's SDK and every key
//     tool keep secret key files) is refused as a secret key file. A public
//     key file made by shell redirection has the umask's mode (0644 usually)
//     and is read; one that is owner-only must be made readable by others or
//     given as text.
//
// A bare 32-byte value given as text on the command line is read as a public
// key: as text it cannot be told from a seed, and public keys are given that
// way. No error shows a value that could be key material.
func loadPublicKey(from, ref string) (authz.PublicKey, error) {
	if ref == "" {
		return authz.PublicKey{}, badInput("", "%s is required", from)
	}
	if authz.IsSecretKeyText([]byte(ref)) {
		return authz.PublicKey{}, badInput(hintPublicOfSecret,
			"%s: this is a secret key (a PEM private key), not a public key; the value is not shown", from)
	}
	if k, err := authz.ParsePublicKey(ref); err == nil {
		return k, nil
	}
	b, ferr := readFileBounded(ref)
	if ferr != nil {
		_, perr := authz.ParsePublicKey(ref)
		return authz.PublicKey{}, badInput("a public key is 64 hex digits, or a file holding it (hex or PEM \"PUBLIC KEY\")",
			"%s: not a public key (%v), and %s", from, perr, fileProblem("key file", ref, ferr))
	}
	if authz.IsSecretKeyText(b) {
		msg := fmt.Sprintf("%s: %s is a secret key file (PEM private key), not a public key", from, ref)
		if k, err := authz.ParseSigningKey(b); err == nil {
			msg += "; its public key is " + k.Public().Hex()
		}
		return authz.PublicKey{}, badInput(hintPublicOfSecret, "%s", msg)
	}
	if !bytes.HasPrefix(bytes.TrimSpace(b), []byte("-----BEGIN")) {
		// A bare 32-byte value, whether or not it is a curve point.
		if sk, err := authz.ParseSigningKey(b); err == nil {
			if st, err := os.Stat(ref); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o077 == 0 {
				return authz.PublicKey{}, badInput(hintPublicOfSecret+"; if this file is a public key, make it readable by others (chmod 644) or give the key as text",
					"%s: %s is readable by its owner only and holds a bare 32-byte key: that is a secret key file (the form keygen wrote before PEM), not a public key; read as a secret key, its public key is %s",
					from, ref, sk.Public().Hex())
			}
		}
	}
	k, err := authz.ParsePublicKey(string(b))
	if err != nil {
		return authz.PublicKey{}, badInput("", "%s: file %s: %v", from, ref, err)
	}
	return k, nil
}

// fileProblem says why path could not be read, naming it only when it could
// not be key material (see mayBeKeyMaterial).
func fileProblem(what, path string, err error) string {
	name := strconv.Quote(path)
	if mayBeKeyMaterial(path) {
		name = fmt.Sprintf("(a value of %d characters, not shown: it could be key material)", len(path))
	}
	if errors.Is(err, fs.ErrNotExist) {
		return "no such " + what + " " + name
	}
	reason := err.Error()
	var pe *fs.PathError
	if errors.As(err, &pe) {
		reason = pe.Err.Error()
	}
	return fmt.Sprintf("cannot read %s %s: %s", what, name, reason)
}

// mayBeKeyMaterial reports whether a value that names no readable file could
// be a key, or part of one, rather than a mistyped path: it holds PEM armour
// or a line break, or 16 or more consecutive characters of the hex and base64
// alphabets (A-Z a-z 0-9 + / = _ -), separators ':' and white space ignored.
// When the value's directory exists, only its last element is judged, so
// "keys/agent.pub" is shown whatever the directory names. The rule hides some
// long paths too; it never shows a hex or base64 key of 8 bytes or more.
func mayBeKeyMaterial(s string) bool {
	if strings.Contains(s, "-----") || strings.ContainsAny(s, "\r\n") {
		return true
	}
	judged := s
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		if st, err := os.Stat(s[:i+1]); err == nil && st.IsDir() {
			judged = s[i+1:]
		}
	}
	run := 0
	for i := 0; i < len(judged); i++ {
		c := judged[i]
		switch {
		case c == ':' || c == ' ' || c == '\t':
			continue
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9',
			c == '+', c == '/', c == '=', c == '_', c == '-':
			run++
			if run >= 16 {
				return true
			}
		default:
			run = 0
		}
	}
	return false
}

// readWarrantText returns the warrant text given as text, a file, or - for stdin.
func (e *env) readWarrantText(flag, ref string) ([]byte, error) {
	switch {
	case ref == "":
		return nil, badInput("give the warrant as base64 text, PEM, a file, or - for standard input", "%s is required", flag)
	case ref == "-":
		return readBounded(e.stdin, "standard input")
	}
	if st, err := os.Stat(ref); err == nil && st.Mode().IsRegular() {
		b, err := readFileBounded(ref)
		if err != nil {
			return nil, badInput("", "%s: %v", flag, err)
		}
		return b, nil
	}
	return []byte(ref), nil
}

// loadStack reads and decodes a warrant or stack.
func (e *env) loadStack(flag, ref string) (authz.Stack, error) {
	text, err := e.readWarrantText(flag, ref)
	if err != nil {
		return nil, err
	}
	s, err := authz.ParsePresented([]byte(strings.TrimSpace(string(text))))
	if err != nil {
		return nil, warrantProblem(flag, ref, err)
	}
	return s, nil
}

// hintWarrantForm is the hint for a warrant that does not decode.
const hintWarrantForm = "the warrant must be base64 (standard or URL-safe) or PEM of a Tenuo warrant or stack"

// warrantProblem explains a warrant reference that did not decode: a value
// that names no file and looks like a path (it has a '.', which base64 and
// PEM never hold outside armour, or starts like one, or is far shorter than
// any warrant) is a mistyped file name, not bad base64.
func warrantProblem(flag, ref string, err error) error {
	if ref != "-" && !strings.ContainsAny(ref, "\r\n") {
		if _, serr := os.Stat(ref); serr != nil {
			trimmed := strings.TrimSpace(ref)
			pathLike := strings.Contains(trimmed, ".") || strings.HasPrefix(trimmed, "/") || strings.HasPrefix(trimmed, "~") || len(trimmed) < 64
			if pathLike && !strings.Contains(trimmed, "-----") {
				return badInput("give the warrant as a file path, its text (base64 or PEM), or - for standard input",
					"%s: %s (and the value is not warrant text either)", flag, fileProblem("warrant file", ref, serr))
			}
		}
	}
	return badInput(hintWarrantForm, "%s: %v", flag, err)
}

// readArgs reads a JSON arguments object given as text or @file.
func readArgs(ref string) ([]byte, error) {
	if ref == "" {
		return []byte("{}"), nil
	}
	if path, ok := strings.CutPrefix(ref, "@"); ok {
		b, err := readFileBounded(path)
		if err != nil {
			return nil, badInput("", "--args: %v", err)
		}
		return b, nil
	}
	return []byte(ref), nil
}

// parseTTL reads a duration with its unit ("90s", "5m", "2h", "1h30m"). A
// bare number is refused: 8 could mean seconds or hours.
func parseTTL(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return 0, badInput(fmt.Sprintf("write the unit: %ss, %sm or %sh", s, s, s),
			"--ttl: %q has no unit (seconds? hours?)", s)
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, badInput("durations look like 30s, 5m, 2h or 1h30m", "--ttl: %q is not a positive duration", s)
	}
	return d, nil
}

// parseAt reads --at (Unix seconds or RFC 3339); empty means now.
func parseAt(s string) (time.Time, error) {
	if s == "" {
		return time.Now(), nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		return time.Unix(n, 0), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, badInput("--at takes Unix seconds (1704067200) or RFC 3339 (2024-01-01T00:00:00Z)",
		"--at: %q is neither Unix seconds nor an RFC 3339 time", s)
}

// loadSignedCall reads what sign and approve both start from: the signer's
// key, the warrant stack, the tool, and the call's arguments as given and in
// canonical form.
func (e *env) loadSignedCall(keyRef, warrantRef, tool, argsRef string) (*authz.SigningKey, authz.Stack, []byte, map[string]any, error) {
	key, err := e.loadSigningKey("key", keyRef)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	s, err := e.loadStack("--warrant", warrantRef)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if tool == "" {
		return nil, nil, nil, nil, badInput("", "--tool is required")
	}
	rawArgs, err := readArgs(argsRef)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	args, err := authz.CanonicalArgs(rawArgs)
	if err != nil {
		return nil, nil, nil, nil, badInput("arguments are one JSON object, e.g. '{\"path\":\"/data/x\"}'", "--args: %v", err)
	}
	return key, s, rawArgs, args, nil
}
