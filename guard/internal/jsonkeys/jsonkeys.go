// Package jsonkeys refuses JSON whose objects hold two keys that a
// case-insensitive decoder takes for one: Go's encoding/json (and SDKs built
// on decoders like it) match struct fields by Unicode simple case folding
// and keep the last of such keys, so {"path":"/data/a","PATH":"/etc/passwd"}
// could be checked as one path and acted on as the other. The MCP relay
// refuses these too (mcpproxy); the in-process front ends refuse them here.
package jsonkeys

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// MaxDepth bounds the nesting Check walks; deeper JSON is refused.
const MaxDepth = 128

// ErrFoldedKeys is the error of two keys of one object equal under case
// folding (or equal outright).
var ErrFoldedKeys = errors.New("keys differ only in letter case")

// Check walks data (one JSON value) and refuses it when an object, at any
// depth, has two keys equal under Unicode simple case folding; the error
// names the keys. Invalid JSON is an error too.
func Check(data []byte) error {
	if !mayFold(data) {
		// No two distinct keys can fold alike; an exact duplicate is refused
		// by the strict reader (internal/value) every decision parses
		// arguments with.
		if !json.Valid(data) {
			return errors.New("invalid JSON")
		}
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := walk(dec, 0); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("invalid JSON: data after the value")
	}
	return nil
}

func walk(dec *json.Decoder, depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("JSON nested deeper than %d", MaxDepth)
	}
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("invalid JSON: %v", err)
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	switch d {
	case '[':
		for dec.More() {
			if err := walk(dec, depth+1); err != nil {
				return err
			}
		}
	case '{':
		seen := map[string]string{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return fmt.Errorf("invalid JSON: %v", err)
			}
			k, _ := kt.(string)
			fk := fold(k)
			if prev, dup := seen[fk]; dup {
				if prev == k {
					return fmt.Errorf("duplicate key %q", k)
				}
				return fmt.Errorf("%w: %q and %q", ErrFoldedKeys, prev, k)
			}
			seen[fk] = k
			if err := walk(dec, depth+1); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err
}

// mayFold reports whether data could hold two distinct keys equal under
// case folding: only if it has an upper-case ASCII letter, a non-ASCII byte
// (the Kelvin sign folds to k, the long s to s) or an escape (\u0050 is P).
func mayFold(data []byte) bool {
	for _, c := range data {
		if c >= 0x80 || ('A' <= c && c <= 'Z') || c == '\\' {
			return true
		}
	}
	return false
}

// fold maps each rune to the smallest rune of its simple folding orbit, so
// that two strings fold alike exactly when strings.EqualFold holds.
func fold(s string) string {
	var b strings.Builder
	for _, r := range s {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		b.WriteRune(m)
	}
	return b.String()
}
