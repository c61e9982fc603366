package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/tenuo-mcp/tenuo-mcp/authz"
)

func newKeygenCmd(e *env) *cobra.Command {
	var out string
	var force, pem bool
	c := &cobra.Command{
		Use:   "keygen --out FILE",
		Short: "Make a new Ed25519 secret key",
		Long: `keygen makes a new Ed25519 secret key and writes it to FILE as a PKCS#8 PEM
"PRIVATE KEY" block (mode 0600; an existing file is kept unless --force), the
form OpenSSL and Tenuo's SigningKey.from_pem read. It prints the public key in
hex on standard output: that is what --holder, --trusted-root and
--revocation-key take. A secret key file is refused wherever a public key is
expected.

--out - writes the secret key to standard output instead, and the public key
to standard error: the secret is printed only when asked for by name.`,
		Example: `  tenuo-mcp keygen --out root.key > root.pub
  tenuo-mcp keygen --out agent.key --force > agent.pub`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return badInput("write it to a file: keygen --out agent.key (or --out - for standard output)", "--out is required")
			}
			_ = pem // PKCS#8 PEM is the only form written; --pem is kept for old scripts
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
				fmt.Fprintf(e.stderr, "public key: %s\n", k.Public().Hex())
				return nil
			}
			flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
			if force {
				flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
			}
			f, err := os.OpenFile(out, flags, 0o600)
			if errors.Is(err, os.ErrExist) {
				return badInput("pass --force to replace it", "%s already exists", out)
			}
			if err != nil {
				return badInput("", "cannot write key: %v", err)
			}
			if err := f.Chmod(0o600); err != nil {
				f.Close()
				return badInput("", "cannot restrict %s to mode 0600: %v", out, err)
			}
			if _, err := f.Write(data); err != nil {
				f.Close()
				return badInput("", "cannot write key: %v", err)
			}
			if err := f.Close(); err != nil {
				return badInput("", "cannot write key: %v", err)
			}
			fmt.Fprintln(e.stdout, k.Public().Hex())
			return nil
		},
	}
	c.Flags().StringVar(&out, "out", "", "write the secret key (PKCS#8 PEM) to `FILE` (mode 0600), or - for standard output")
	c.Flags().BoolVar(&force, "force", false, "overwrite an existing --out file")
	c.Flags().BoolVar(&pem, "pem", false, "PKCS#8 PEM (the default and only form; accepted for old scripts)")
	_ = c.Flags().MarkHidden("pem")
	return c
}
