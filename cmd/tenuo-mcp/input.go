package main

import (
	"fmt"
	"io"
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
	return b, nil
}

func readFileBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readBounded(f, path)
}

// loadSigningKey reads a secret key from a file or from env:VAR.
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
			return nil, badInput("a secret key is given as a file path or env:VAR, never on the command line", "--%s: cannot read key file: %v", flag, err)
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

// loadPublicKey reads a public key given as hex (or base64/PEM) text or as a file.
func loadPublicKey(flag, ref string) (authz.PublicKey, error) {
	if ref == "" {
		return authz.PublicKey{}, badInput("", "--%s is required", flag)
	}
	if k, err := authz.ParsePublicKey(ref); err == nil {
		return k, nil
	}
	b, ferr := readFileBounded(ref)
	if ferr != nil {
		_, perr := authz.ParsePublicKey(ref)
		return authz.PublicKey{}, badInput("a public key is 64 hex digits, or a file holding it (hex or PEM)",
			"--%s: %q is neither a public key (%v) nor a readable file", flag, short(ref), perr)
	}
	k, err := authz.ParsePublicKey(strings.TrimSpace(string(b)))
	if err != nil {
		return authz.PublicKey{}, badInput("", "--%s: file %s: %v", flag, ref, err)
	}
	return k, nil
}

func short(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
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
		return nil, badInput("the warrant must be base64 (standard or URL-safe) or PEM of a Tenuo warrant or stack", "%s: %v", flag, err)
	}
	return s, nil
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

// parseTTL reads a duration ("5m", "2h") or a number of seconds.
func parseTTL(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, badInput("durations look like 30s, 5m, 2h; a plain number is seconds", "--ttl: %q is not a positive duration", s)
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
	return time.Time{}, badInput("--at takes Unix seconds, e.g. 1704067200", "--at: %q is not a time", s)
}
