package transport

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// ErrReservedEnv is returned by MinimalEnv when asked to pass a TENUO_*
// variable to the upstream server. The proxy's own settings (keys, warrants,
// trust roots) must never reach the process it guards.
var ErrReservedEnv = errors.New("transport: TENUO_* variables are never passed to the upstream server")

// baseEnv names the variables every child gets when the proxy has them: what
// a shell, a locale-aware program and Node.js (which finds npm's cache and
// config under HOME and its temporary files under TMPDIR) need to start.
var baseEnv = []string{
	"PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM",
	"LANG", "LANGUAGE", "TMPDIR", "TZ",
}

// MinimalEnv builds an upstream server's environment from the current
// process's: the variables in baseEnv and every LC_* variable, then each
// variable named in passNames (skipped when unset), then the K=V entries of
// extra, later entries replacing earlier ones with the same name. It never
// includes anything else of the proxy's environment. A TENUO_* name in
// passNames or extra, in any letter case, is an error (ErrReservedEnv), as is a
// malformed name or entry.
func MinimalEnv(passNames []string, extra []string) ([]string, error) {
	return minimalEnv(os.Environ(), passNames, extra)
}

func minimalEnv(environ, passNames, extra []string) ([]string, error) {
	current := make(map[string]string, len(environ))
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k != "" {
			current[k] = v
		}
	}
	var out []string
	index := map[string]int{}
	set := func(k, v string) {
		if i, ok := index[k]; ok {
			out[i] = k + "=" + v
			return
		}
		index[k] = len(out)
		out = append(out, k+"="+v)
	}
	for _, k := range baseEnv {
		if v, ok := current[k]; ok {
			set(k, v)
		}
	}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "LC_") {
			set(k, v)
		}
	}
	for _, k := range passNames {
		if err := checkEnvName(k); err != nil {
			return nil, err
		}
		if v, ok := current[k]; ok {
			set(k, v)
		}
	}
	for _, kv := range extra {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("transport: environment entry %q is not K=V", kv)
		}
		if err := checkEnvName(k); err != nil {
			return nil, err
		}
		if strings.IndexByte(v, 0) >= 0 {
			return nil, fmt.Errorf("transport: value of environment variable %q holds a NUL byte", k)
		}
		set(k, v)
	}
	return out, nil
}

// checkEnvName rejects empty names, names holding "=" or NUL, and TENUO_*.
func checkEnvName(k string) error {
	if k == "" || strings.ContainsAny(k, "=\x00") {
		return fmt.Errorf("transport: invalid environment variable name %q", k)
	}
	if strings.HasPrefix(strings.ToUpper(k), "TENUO_") {
		return fmt.Errorf("%w (asked for %q)", ErrReservedEnv, k)
	}
	return nil
}
