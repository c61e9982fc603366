package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

// secretSpellings returns the ways a seed could show up in output: hex in
// either case, base64 in both alphabets padded or not, and the base64 lines
// of any PEM block in file (whose DER holds the seed).
func secretSpellings(seed, file []byte) []string {
	out := []string{
		hex.EncodeToString(seed), strings.ToUpper(hex.EncodeToString(seed)),
		base64.StdEncoding.EncodeToString(seed), base64.RawStdEncoding.EncodeToString(seed),
		base64.URLEncoding.EncodeToString(seed), base64.RawURLEncoding.EncodeToString(seed),
		// A fragment is a leak too: the first 12 bytes in hex and base64.
		hex.EncodeToString(seed[:12]), base64.RawStdEncoding.EncodeToString(seed[:12]),
	}
	for rest := file; ; {
		var b *pem.Block
		if b, rest = pem.Decode(rest); b == nil {
			break
		}
		enc := base64.StdEncoding.EncodeToString(b.Bytes)
		out = append(out, enc[len(enc)/2:])
	}
	return out
}

// secretForm is one way of writing a secret key: a file (with a mode) or
// text given on the command line.
type secretForm struct {
	name   string
	data   []byte
	mode   os.FileMode // 0: data is given as text, not as a file
	derive bool        // the refusal names the public key of the file
}

func secretForms(t *testing.T, k *authz.SigningKey) []secretForm {
	t.Helper()
	p, err := k.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	seed := k.Seed()
	ec := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: append([]byte{0x30, 0x22, 0x02, 0x01, 0x01, 0x04, 0x20}, seed...)})
	return []secretForm{
		{"PKCS#8 PEM file 0600 (keygen)", p, 0o600, true},
		{"PKCS#8 PEM file 0644", p, 0o644, true},
		{"PKCS#8 PEM file 0400", p, 0o400, true},
		{"hex seed file 0600 (old keygen)", []byte(hex.EncodeToString(seed) + "\n"), 0o600, false},
		{"upper-case hex seed file 0400", []byte(strings.ToUpper(hex.EncodeToString(seed))), 0o400, false},
		{"base64 seed file 0600 (Tenuo SDK)", []byte(base64.StdEncoding.EncodeToString(seed) + "\n"), 0o600, false},
		{"URL-safe base64 seed file 0600", []byte(base64.RawURLEncoding.EncodeToString(seed)), 0o600, false},
		{"EC PRIVATE KEY PEM file 0644", ec, 0o644, false},
		{"PKCS#8 PEM as text", p, 0, false},
		{"EC PRIVATE KEY PEM as text", ec, 0, false},
	}
}

// publicKeyInputs are every command and flag that takes a public key; each
// builds a command line (and environment) with ref in the public key's place.
func publicKeyInputs(w *world, sig string) []struct {
	name string
	args func(ref string) ([]string, []string)
} {
	return []struct {
		name string
		args func(ref string) ([]string, []string)
	}{
		{"mint --holder", func(r string) ([]string, []string) {
			return []string{"mint", "--key", "root.key", "--holder", r, "--tool", "t"}, nil
		}},
		{"attenuate --holder", func(r string) ([]string, []string) {
			return []string{"attenuate", "agent.warrant", "--key", "agent.key", "--holder", r}, nil
		}},
		{"verify --trusted-root", func(r string) ([]string, []string) {
			return []string{"verify", "--warrant", "agent.warrant", "--tool", "read_file", "--args", `{"path":"/data/x"}`,
				"--signature", sig, "--trusted-root", r}, nil
		}},
		{"proxy --trusted-root", func(r string) ([]string, []string) {
			return []string{"proxy", "--trusted-root", r, "--", "false"}, nil
		}},
		{"proxy --revocation-key", func(r string) ([]string, []string) {
			return []string{"proxy", "--trusted-root", w.rootPub, "--revocation-list", "agent.warrant", "--revocation-key", r, "--", "false"}, nil
		}},
		{"proxy TENUO_TRUSTED_ROOTS", func(r string) ([]string, []string) {
			return []string{"proxy", "--", "false"}, []string{"TENUO_TRUSTED_ROOTS", r}
		}},
	}
}

// runWith runs a command line with extra environment variables (name, value
// pairs), set for the in-process run and inherited by the binary.
func runWith(t *testing.T, rn runner, dir string, env []string, args ...string) cliResult {
	t.Helper()
	for i := 0; i+1 < len(env); i += 2 {
		t.Setenv(env[i], env[i+1])
	}
	return rn.run(t, dir, "", args...)
}

// TestPublicKeyFlagsRefuseSecretKeys gives every flag that takes a public key
// each form of a secret key, and checks the refusal says so and shows no
// spelling of the seed.
func TestPublicKeyFlagsRefuseSecretKeys(t *testing.T) {
	for _, rn := range runners {
		t.Run(rn.name, func(t *testing.T) {
			w := newWorld(t, rn)
			sig := w.sign(t, rn, "agent.key", "agent.warrant", "read_file", `{"path":"/data/x"}`)
			// Two keys: one whose seed bytes are also a curve point (so they
			// would pass as a public key) and one whose are not.
			src := rand.NewChaCha8([32]byte{'s', 'k'})
			var keys [2]*authz.SigningKey
			for keys[0] == nil || keys[1] == nil {
				k, err := authz.GenerateSigningKey(src)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := authz.ParsePublicKey(k.SeedHex()); err == nil {
					keys[0] = k
				} else {
					keys[1] = k
				}
			}
			n := 0
			for ki, k := range keys {
				forms := secretForms(t, k)
				leak := append([]string{}, w.secrets...)
				for _, f := range forms {
					leak = append(leak, secretSpellings(k.Seed(), f.data)...)
				}
				for _, f := range forms {
					ref := string(f.data)
					if f.mode != 0 {
						n++
						ref = filepath.Join(w.dir, fmt.Sprintf("secret%d.key", n))
						if err := os.WriteFile(ref, f.data, 0o600); err != nil {
							t.Fatal(err)
						}
						if err := os.Chmod(ref, f.mode); err != nil {
							t.Fatal(err)
						}
					}
					for _, in := range publicKeyInputs(w, sig) {
						t.Run(fmt.Sprintf("seed %d/%s/%s", ki, f.name, in.name), func(t *testing.T) {
							args, env := in.args(ref)
							r := runWith(t, rn, w.dir, env, args...)
							if r.code != exitBadInput {
								t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, exitBadInput, r.stdout, r.stderr)
							}
							if !strings.Contains(r.stderr, "secret key") || !strings.Contains(r.stderr, "not a public key") {
								t.Fatalf("the refusal does not say it is a secret key:\n%s", r.stderr)
							}
							if !strings.Contains(r.stderr, "hint: give the public key instead: keygen prints it") {
								t.Fatalf("the refusal does not say how to get the public key:\n%s", r.stderr)
							}
							if f.derive && !strings.Contains(r.stderr, k.Public().Hex()) {
								t.Fatalf("the refusal does not name the file's public key:\n%s", r.stderr)
							}
							for _, s := range leak {
								if strings.Contains(r.stdout+r.stderr, s) {
									t.Fatalf("output shows the secret (%q):\nstdout: %s\nstderr: %s", s, r.stdout, r.stderr)
								}
							}
							if r.stdout != "" {
								t.Fatalf("stdout is not empty: %s", r.stdout)
							}
						})
					}
				}
			}
		})
	}
}

// TestPublicKeyForms pins what is read as a public key: text in every form,
// files in hex, base64 or SPKI PEM, except an owner-only file holding a bare
// 32-byte value (the form old keygen wrote secret keys in).
func TestPublicKeyForms(t *testing.T) {
	rn := runners[0]
	w := newWorld(t, rn)
	agent, err := authz.ParseSigningKey([]byte(w.agentSeed))
	if err != nil {
		t.Fatal(err)
	}
	pub := agent.Public()
	write := func(name, text string, mode os.FileMode) string {
		p := filepath.Join(w.dir, name)
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		return name
	}
	accepted := map[string]string{
		"hex text":                pub.Hex(),
		"base64 text":             base64.StdEncoding.EncodeToString(pub[:]),
		"SPKI PEM text":           pub.PEM(),
		"hex file 0644":           write("a.pub", pub.Hex()+"\n", 0o644),
		"hex file 0640":           write("b.pub", pub.Hex()+"\n", 0o640),
		"base64 file 0644":        write("c.pub", base64.RawURLEncoding.EncodeToString(pub[:]), 0o644),
		"SPKI PEM file 0600":      write("d.pub", pub.PEM(), 0o600),
		"SPKI PEM file 0644":      write("e.pub", pub.PEM(), 0o644),
		"relative path with dirs": "./" + write("f.pub", pub.Hex(), 0o644),
	}
	for name, ref := range accepted {
		r := rn.run(t, w.dir, "", "mint", "--key", "root.key", "--holder", ref, "--tool", "t")
		if r.code != 0 {
			t.Errorf("%s: exit %d\n%s", name, r.code, r.stderr)
		}
	}
	for _, mode := range []os.FileMode{0o600, 0o400} {
		ref := write("owner-only.pub", pub.Hex()+"\n", mode)
		r := rn.run(t, w.dir, "", "mint", "--key", "root.key", "--holder", ref, "--tool", "t")
		if r.code != exitBadInput || !strings.Contains(r.stderr, "readable by its owner only") ||
			!strings.Contains(r.stderr, "chmod 644") || r.stdout != "" {
			t.Errorf("owner-only hex file (mode %04o): exit %d\nstdout: %s\nstderr: %s", mode, r.code, r.stdout, r.stderr)
		}
		os.Remove(filepath.Join(w.dir, ref))
	}
}

// TestNoSecretInErrors gives secret keys, and values that may be keys, where
// they do not belong — a key as text instead of a path, a path that does not
// exist, a key file as a warrant, signature, approval or arguments — and
// checks that no output holds any spelling of a seed.
func TestNoSecretInErrors(t *testing.T) {
	for _, rn := range runners {
		t.Run(rn.name, func(t *testing.T) {
			w := newWorld(t, rn)
			sig := w.sign(t, rn, "agent.key", "agent.warrant", "read_file", `{"path":"/data/x"}`)
			agent, err := authz.ParseSigningKey([]byte(w.agentSeed))
			if err != nil {
				t.Fatal(err)
			}
			seedHex := hex.EncodeToString(agent.Seed())
			seedB64 := base64.StdEncoding.EncodeToString(agent.Seed())
			os.WriteFile(filepath.Join(w.dir, "agent.hexkey"), []byte(seedHex+"\n"), 0o600)
			// Seeds that are not curve points, and one that is: as text, a
			// bare 32-byte value is read as a public key (it cannot be told
			// from one), so only the former are refused.
			src := rand.NewChaCha8([32]byte{'n', 'p'})
			var offCurve, onCurve []byte
			for offCurve == nil || onCurve == nil {
				b := make([]byte, 32)
				src.Read(b)
				if _, err := authz.ParsePublicKey(hex.EncodeToString(b)); err != nil {
					offCurve = b
				} else {
					onCurve = b
				}
			}
			off := hex.EncodeToString(offCurve)
			leaks := append(append([]string{}, w.secrets...), secretSpellings(offCurve, nil)...)
			verify := func(extra ...string) []string {
				return append([]string{"verify", "--warrant", "agent.warrant", "--tool", "read_file", "--args", `{"path":"/data/x"}`,
					"--signature", sig, "--trusted-root", w.rootPub}, extra...)
			}
			cases := []struct {
				name string
				args []string
				want string // in stderr; "" when only a refusal matters; "-" when only the output matters
			}{
				{"--key with the seed as hex text", []string{"sign", "--key", seedHex, "--warrant", "agent.warrant", "--tool", "t"}, "not the path of a key file"},
				{"--key with the seed as base64 text", []string{"mint", "--key", seedB64, "--holder", w.agentPub, "--tool", "t"}, "not the path of a key file"},
				{"--key with the PEM as text", []string{"attenuate", "agent.warrant", "--key", w.agentSeed, "--holder", w.subPub}, "not the path of a key file"},
				{"proxy --key with the seed as text", []string{"proxy", "--trusted-root", w.rootPub, "--warrant", "agent.warrant", "--key", seedHex, "--", "false"}, "not the path of a key file"},
				{"--key with a missing path", []string{"sign", "--key", "missing.key", "--warrant", "agent.warrant", "--tool", "t"}, `no such key file "missing.key"`},
				{"--key with a missing path in a missing directory", []string{"sign", "--key", "nodir/missing.key", "--warrant", "agent.warrant", "--tool", "t"}, `no such key file "nodir/missing.key"`},
				{"--key with a seed-like missing path", []string{"sign", "--key", seedHex + ".key", "--warrant", "agent.warrant", "--tool", "t"}, "not shown: it could be key material"},
				{"--key with a truncated seed", []string{"sign", "--key", seedHex[:40], "--warrant", "agent.warrant", "--tool", "t"}, "not shown"},
				{"--key with a directory", []string{"sign", "--key", ".", "--warrant", "agent.warrant", "--tool", "t"}, "cannot read key file"},
				{"--holder with an off-curve seed as text", []string{"mint", "--key", "root.key", "--holder", off, "--tool", "t"}, "--holder: not a public key"},
				{"--holder with a truncated seed", []string{"mint", "--key", "root.key", "--holder", off[:63], "--tool", "t"}, "not shown"},
				{"--holder with seed‖public key", []string{"mint", "--key", "root.key", "--holder", seedHex + agent.Public().Hex(), "--tool", "t"}, "not shown"},
				{"--trusted-root with an off-curve seed", verify("--trusted-root", off), "--trusted-root"},
				{"--holder with a missing path", []string{"mint", "--key", "root.key", "--holder", "agent.pubx", "--tool", "t"}, `no such key file "agent.pubx"`},
				{"--warrant with a key file", []string{"inspect", "agent.key"}, ""},
				{"--warrant with a hex key file", []string{"inspect", "agent.hexkey"}, ""},
				{"--warrant with the seed", []string{"inspect", seedHex}, ""},
				{"verify --warrant with a key file", []string{"verify", "--warrant", "agent.hexkey", "--tool", "t", "--signature", sig, "--trusted-root", w.rootPub}, ""},
				{"--signature with the seed", verify("--signature", seedHex), ""},
				{"--signature with the seed in base64", verify("--signature", seedB64), ""},
				{"--approval with the seed", verify("--approval", seedB64), "-"},
				{"--args with the seed", verify("--args", seedHex), ""},
				{"--args with a key file", verify("--args", "@agent.key"), ""},
				{"--args with a hex key file", verify("--args", "@agent.hexkey"), ""},
				{"keygen --out with an existing key", []string{"keygen", "--out", "agent.key"}, "already exists"},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					r := rn.run(t, w.dir, "", c.args...)
					if r.code == 0 && c.want != "-" {
						t.Fatalf("accepted\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
					}
					if c.want != "" && c.want != "-" && (r.code != exitBadInput || !strings.Contains(r.stderr, c.want)) {
						t.Fatalf("exit %d, want %d with %q\nstderr: %s", r.code, exitBadInput, c.want, r.stderr)
					}
					for _, s := range leaks {
						if strings.Contains(r.stdout+r.stderr, s) {
							t.Fatalf("output shows a secret (%q):\nstdout: %s\nstderr: %s", s, r.stdout, r.stderr)
						}
					}
				})
			}
			// The documented ambiguity: a bare 32-byte value as text is a
			// public key.
			r := rn.run(t, w.dir, "", "mint", "--key", "root.key", "--holder", hex.EncodeToString(onCurve), "--tool", "t")
			must(t, r, 0, "mint with a hex public key given as text")
		})
	}
}

// TestKeygen checks keygen's output: a PKCS#8 PEM "PRIVATE KEY" file of mode
// 0600 whose public key is what it prints, and nothing secret on the terminal.
func TestKeygen(t *testing.T) {
	for _, rn := range runners {
		t.Run(rn.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, args := range [][]string{{"keygen", "--out", "a.key"}, {"keygen", "--out", "b.key", "--pem"}} {
				r := rn.run(t, dir, "", args...)
				pubHex := must(t, r, 0, strings.Join(args, " "))
				path := filepath.Join(dir, args[2])
				st, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if st.Mode().Perm() != 0o600 {
					t.Fatalf("%s: mode %04o, want 0600", path, st.Mode().Perm())
				}
				data, _ := os.ReadFile(path)
				block, rest := pem.Decode(data)
				if block == nil || block.Type != "PRIVATE KEY" || len(bytes.TrimSpace(rest)) != 0 || len(block.Headers) != 0 {
					t.Fatalf("%s is not one PEM PRIVATE KEY block:\n%s", path, data)
				}
				priv, err := x509.ParsePKCS8PrivateKey(block.Bytes)
				if err != nil {
					t.Fatalf("not PKCS#8: %v", err)
				}
				edPriv, ok := priv.(ed25519.PrivateKey)
				if !ok {
					t.Fatalf("PKCS#8 holds %T, want an Ed25519 key", priv)
				}
				if got := hex.EncodeToString(edPriv.Public().(ed25519.PublicKey)); got != pubHex {
					t.Fatalf("keygen printed %s, the file's public key is %s", pubHex, got)
				}
				for _, s := range secretSpellings(edPriv.Seed(), data) {
					if strings.Contains(r.stdout+r.stderr, s) {
						t.Fatalf("keygen printed the secret:\n%s%s", r.stdout, r.stderr)
					}
				}
			}
			// No destination: refused, nothing printed.
			r := rn.run(t, dir, "", "keygen")
			if r.code != exitBadInput || r.stdout != "" || !strings.Contains(r.stderr, "--out") {
				t.Fatalf("keygen without --out: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			// --out -: the secret on stdout only, the public key on stderr.
			r = rn.run(t, dir, "", "keygen", "--out", "-")
			k, err := authz.ParseSigningKey([]byte(must(t, r, 0, "keygen --out -")))
			if err != nil || !authz.IsSecretKeyText([]byte(r.stdout)) {
				t.Fatalf("keygen --out - printed no PEM key: %v\n%s", err, r.stdout)
			}
			if r.stderr != "public key: "+k.Public().Hex()+"\n" {
				t.Fatalf("stderr: %q", r.stderr)
			}
		})
	}
}
