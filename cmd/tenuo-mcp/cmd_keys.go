package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

func newKeygenCmd(e *env) *cobra.Command {
	var out, pubOut string
	var force, pem bool
	c := &cobra.Command{
		Use:   "keygen --out FILE [--pub-out FILE]",
		Short: "Make a new Ed25519 secret key",
		Long: `keygen makes a new Ed25519 secret key and writes it to FILE as a PKCS#8 PEM
"PRIVATE KEY" block (mode 0600; an existing file is kept unless --force), the
form OpenSSL and Tenuo's SigningKey.from_pem read. It prints the public key in
hex on standard output, and writes it to --pub-out FILE when asked: that is
what --holder, --trusted-root, --approver and --revocation-key take. A secret
key file is refused wherever a public key is expected.

Use --pub-out rather than "> FILE": the shell empties a redirected file before
keygen runs, even when keygen then refuses to overwrite the key. Neither file
is written unless both can be. 'tenuo-mcp pubkey FILE' prints the public key
of an existing key file.

--out - writes the secret key to standard output instead, and the public key
to standard error: the secret is printed only when asked for by name.`,
		Example: `  tenuo-mcp keygen --out root.key --pub-out root.pub
  tenuo-mcp keygen --out agent.key --pub-out agent.pub --force`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return badInput("write it to a file: keygen --out agent.key --pub-out agent.pub (or --out - for standard output)", "--out is required")
			}
			if pubOut != "" && (pubOut == out || pubOut == "-") {
				return badInput("", "--pub-out must name a file other than --out")
			}
			_ = pem // PKCS#8 PEM is the only form written; --pem is kept for old scripts
			if !force {
				// Refuse before writing anything.
				for _, f := range []string{out, pubOut} {
					if f == "" || f == "-" {
						continue
					}
					if _, err := os.Lstat(f); err == nil {
						hint := "pass --force to replace it"
						if f == out {
							hint += fmt.Sprintf(", or print its public key with 'tenuo-mcp pubkey %s'", out)
						}
						return badInput(hint, "%s already exists", f)
					}
				}
			}
			k, err := authz.GenerateSigningKey(rand.Reader)
			if err != nil {
				return err
			}
			data, err := k.MarshalPEM()
			if err != nil {
				return err
			}
			if out == "-" {
				e.stdout.Write(data)
				if pubOut != "" {
					if err := writeNewFile(pubOut, []byte(k.Public().Hex()+"\n"), 0o644, force); err != nil {
						return err
					}
				}
				fmt.Fprintf(e.stderr, "public key: %s\n", k.Public().Hex())
				return nil
			}
			if err := writeNewFile(out, data, 0o600, force); err != nil {
				return err
			}
			if pubOut != "" {
				if err := writeNewFile(pubOut, []byte(k.Public().Hex()+"\n"), 0o644, force); err != nil {
					return err
				}
			}
			fmt.Fprintln(e.stdout, k.Public().Hex())
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "", "write the secret key (PKCS#8 PEM) to `FILE` (mode 0600), or - for standard output")
	c.Flags().StringVar(&pubOut, "pub-out", "", "also write the public key (hex) to `FILE`")
	c.Flags().BoolVar(&force, "force", false, "overwrite existing --out and --pub-out files")
	c.Flags().BoolVar(&pem, "pem", false, "PKCS#8 PEM (the default and only form; accepted for old scripts)")
	_ = c.Flags().MarkHidden("pem")
	return c
}

// writeNewFile writes data to path with mode perm, refusing an existing file
// unless force.
func writeNewFile(path string, data []byte, perm os.FileMode, force bool) error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, perm)
	if errors.Is(err, os.ErrExist) {
		return badInput("pass --force to replace it", "%s already exists", path)
	}
	if err != nil {
		return badInput("", "cannot write %s: %v", path, err)
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return badInput("", "cannot set %s to mode %04o: %v", path, perm, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return badInput("", "cannot write %s: %v", path, err)
	}
	if err := f.Close(); err != nil {
		return badInput("", "cannot write %s: %v", path, err)
	}
	return nil
}

func newPubkeyCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "pubkey KEYFILE",
		Short: "Print the public key of a key file",
		Long: `pubkey prints the public key (hex) of a secret key file (as keygen writes it,
or a seed in hex or base64), of env:VAR holding one, or of a public key file.
The secret key itself is never printed.`,
		Example: `  tenuo-mcp pubkey agent.key
  tenuo-mcp mint --key root.key --holder "$(tenuo-mcp pubkey agent.key)" --tool read_file`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ref := args[0]
			if !strings.HasPrefix(ref, "env:") {
				if b, err := readFileBounded(ref); err == nil && strings.Contains(string(b), "PUBLIC KEY") && !authz.IsSecretKeyText(b) {
					k, err := loadPublicKey("KEYFILE", ref)
					if err != nil {
						return err
					}
					fmt.Fprintln(e.stdout, k.Hex())
					return nil
				}
			}
			k, err := e.loadSigningKey("key", ref)
			if err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, k.Public().Hex())
			return nil
		},
	}
}
