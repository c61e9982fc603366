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
		Use:   "keygen [--out FILE]",
		Short: "Make a new Ed25519 secret key",
		Long: `keygen makes a new Ed25519 secret key. With --out it writes the key to FILE
(mode 0600; an existing file is kept unless --force) and prints the public key
in hex. Without --out it prints the secret seed in hex on standard output and
the public key on standard error.`,
		Example: `  tenuo-mcp keygen --out root.key
  tenuo-mcp keygen --out agent.key --pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := authz.GenerateSigningKey(rand.Reader)
			if err != nil {
				return err
			}
			var data []byte
			if pem {
				if data, err = k.MarshalPEM(); err != nil {
					return err
				}
			} else {
				data = []byte(k.SeedHex() + "\n")
			}
			if out == "" {
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
	c.Flags().StringVar(&out, "out", "", "write the secret key to `FILE` (mode 0600)")
	c.Flags().BoolVar(&force, "force", false, "overwrite an existing --out file")
	c.Flags().BoolVar(&pem, "pem", false, "write PKCS#8 PEM instead of the hex seed")
	return c
}
