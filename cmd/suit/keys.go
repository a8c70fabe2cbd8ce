package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/signer"
)

func init() {
	register(&command{
		name: "keys",
		usage: "keys list KEY_OR_TOKEN | keys tokens MODULE | keys generate [--type p256|p384|ed25519|rsa3072|hmac|hss-lms] KEY | " +
			"keys export [--format pem|cose|c] [--name IDENT] [-o OUT] KEY | keys import [--name NAME] [--trust-dir DIR] PUBLIC | " +
			"keys trust list|add|remove ... | keys devtoken [--dir DIR]",
		summary: "manage signing keys in files and on PKCS#11 tokens (pkcs11: URIs), and trusted public keys",
		run:     runKeys,
	})
}

// pinOptions: PINs come from the URI's pin-source, SUIT_PKCS11_PIN, or a prompt on the
// terminal (never from a flag).
func pinOptions(env *cmdEnv) signer.LoadOptions {
	o := signer.LoadOptions{Getenv: env.getenv, Context: context.Background(), Warn: func(m string) { printMsg(env.stderr, "warning", m) }}
	if env.stdinTTY {
		o.PIN = signer.TerminalPIN(os.Stdin, env.stderr)
	}
	return o
}

// keyErr turns a signer error into a CLI error with a hint.
func keyErr(err error) error {
	hint := ""
	switch {
	case errors.Is(err, signer.ErrPINIncorrect):
		hint = "check the PIN (pin-source file, SUIT_PKCS11_PIN or the prompt); tokens lock after a few wrong PINs"
	case errors.Is(err, signer.ErrPINLocked):
		hint = "the security officer must unlock the user PIN"
	case errors.Is(err, signer.ErrNoPIN):
		hint = "add ?pin-source=file:PATH to the URI, set SUIT_PKCS11_PIN, or run in a terminal"
	case errors.Is(err, signer.ErrModule):
		hint = "give module-path=/path/to/module.so in the URI (e.g. /usr/lib/softhsm/libsofthsm2.so)"
	case errors.Is(err, signer.ErrTokenNotFound):
		hint = "run 'suit keys tokens MODULE' to see the tokens"
	case errors.Is(err, signer.ErrNotFound):
		hint = "run 'suit keys list pkcs11:token=...' to see the keys"
	case errors.Is(err, signer.ErrExists):
		hint = "choose another name or remove the existing one"
	case errors.Is(err, signer.ErrSoftHSMMissing):
		hint = "install softhsm2 (apt-get install softhsm2)"
	}
	return &cliError{code: exitUsage, msg: "keys", hint: hint, err: err}
}

func runKeys(env *cmdEnv, args []string) error {
	if len(args) == 0 {
		return usageErr("run 'suit help keys'", "keys needs a subcommand: list, tokens, generate, export, import, trust or devtoken")
	}
	ctx := context.Background()
	c := commands["keys"]
	fs := newFlags(env, c)
	switch args[0] {
	case "list":
		pos, err := parseFlags(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usageErr("suit keys list pkcs11:token=dev?module-path=... | FILE | DIR", "keys list needs one key reference")
		}
		keys, err := app.ListKeys(ctx, pos[0], pinOptions(env))
		if err != nil {
			return keyErr(err)
		}
		for _, k := range keys {
			priv := "public only"
			if k.HasPrivate {
				priv = "private"
			}
			fmt.Fprintf(env.stdout, "%-8s %-6s kid %s %s  %s\n", k.Kind, k.Algorithm, k.KeyID, priv, k.Ref)
		}
		if len(keys) == 0 {
			fmt.Fprintln(env.stderr, "suit: no keys")
		}
		return nil
	case "tokens":
		pos, err := parseFlags(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usageErr("known modules: "+strings.Join(signer.KnownModules(), ", "), "keys tokens needs a module path")
		}
		toks, err := app.ListTokens(ctx, pos[0])
		if err != nil {
			return keyErr(err)
		}
		for _, t := range toks {
			state := "initialized"
			if !t.Initialized {
				state = "not initialized"
			}
			if t.PINLocked {
				state += ", PIN LOCKED"
			}
			fmt.Fprintf(env.stdout, "slot %d: %q (%s %s, serial %s, %s)  %s\n", t.SlotID, t.Label, t.Manufacturer, t.Model, t.Serial, state, t.URI(pos[0]))
		}
		return nil
	case "generate":
		typ := fs.String("type", "p256", "key type: p256, p384, ed25519, rsa3072, hmac (a file only: HMAC 256/256 for COSE_Mac0), or hss-lms[:h5-w8|h10-w4|h10-w8|h15-w4] (a file only, stateful)")
		pos, err := parseFlags(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usageErr("suit keys generate --type p256 NEW.pem, or pkcs11:token=dev;object=LABEL?module-path=...", "keys generate needs a file path or a pkcs11: URI")
		}
		if t := strings.ToLower(*typ); t == "hss-lms" || strings.HasPrefix(t, "hss-lms:") {
			// A stateful hash-based key (RFC 8554; MTI profile suit-sha256-hsslms-a256kw-a256ctr).
			params := strings.TrimPrefix(strings.TrimPrefix(t, "hss-lms"), ":")
			if err := signer.GenerateHSSFile(pos[0], params); err != nil {
				return keyErr(err)
			}
			used, total, err := signer.HSSRemaining(pos[0])
			if err != nil {
				return keyErr(err)
			}
			fmt.Fprintf(env.stdout, "HSS-LMS (stateful: %d of %d signatures used; the state is %s.state, keep it with the key)\n%s\n", used, total, pos[0], pos[0])
			return nil
		}
		if strings.EqualFold(*typ, "hmac") {
			k, err := app.GenerateMACKeyFile(pos[0])
			if err != nil {
				return keyErr(err)
			}
			fmt.Fprintf(env.stdout, "%s %s kid %s\n%s\n", k.Kind, k.Algorithm, k.KeyID, k.Ref)
			return nil
		}
		kt, err := signer.ParseKeyType(*typ)
		if err != nil {
			return usageErr("", "%v", err)
		}
		k, err := app.GenerateKey(ctx, pos[0], kt, pinOptions(env))
		if err != nil {
			return keyErr(err)
		}
		fmt.Fprintf(env.stdout, "%s %s kid %s\n%s\n", k.Kind, k.Algorithm, k.KeyID, k.Ref)
		return nil
	case "export":
		format := fs.String("format", "pem", "pem (SubjectPublicKeyInfo), cose (COSE_Key CBOR) or c (C array for a device)")
		name := fs.String("name", "", "C identifier of the array (format c)")
		out := outputFlag(fs, "o", "output file (default: standard output)", nil)
		pos, err := parseFlags(fs, args[1:])
		if err != nil {
			return err
		}
		if err := out.check(); err != nil {
			return err
		}
		if len(pos) != 1 {
			return usageErr("suit keys export --format c KEY", "keys export needs one key reference")
		}
		b, err := app.ExportPublicKey(ctx, pos[0], *format, *name, pinOptions(env))
		if err != nil {
			return keyErr(err)
		}
		return out.write(env, b, *format == app.FormatCOSEKey)
	case "import":
		name := fs.String("name", "", "name in the trust store (default: the file name)")
		dir := fs.String("trust-dir", "", "trust store directory (default $XDG_CONFIG_HOME/suit-studio/trust)")
		pos, err := parseFlags(fs, args[1:])
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usageErr("suit keys import --name vendor PUBLIC.pem", "keys import needs one public key, certificate, private key or token key")
		}
		return trustAdd(env, ctx, *dir, *name, pos[0])
	case "trust":
		return runTrust(env, ctx, args[1:])
	case "devtoken":
		dir := fs.String("dir", "", "directory of the development token (default $XDG_DATA_HOME/suit-studio/softhsm)")
		if _, err := parseFlags(fs, args[1:]); err != nil {
			return err
		}
		dt, err := app.DevToken(ctx, *dir, env.getenv)
		if err != nil {
			return keyErr(err)
		}
		verb := "existing"
		if dt.Created {
			verb = "created"
		}
		fmt.Fprintf(env.stderr, "suit: %s DEVELOPMENT token (SoftHSM2, files under %s): not for production keys\n", verb, dirName(dt.Conf))
		fmt.Fprintln(env.stdout, dt.URI)
		return nil
	case "-h", "--help", "help":
		fmt.Fprintf(env.stdout, "usage: suit %s\n", c.usage)
		return nil
	}
	return usageErr("run 'suit help keys'", "unknown keys subcommand %q", args[0])
}

func dirName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i > 0 {
		return p[:i]
	}
	return p
}

func trustDir(env *cmdEnv, dir string) string {
	if dir != "" {
		return dir
	}
	return signer.DefaultTrustDir(env.getenv)
}

func trustAdd(env *cmdEnv, ctx context.Context, dir, name, ref string) error {
	tk, err := app.TrustAdd(ctx, trustDir(env, dir), name, ref, pinOptions(env))
	if err != nil {
		if errors.Is(err, signer.ErrBadName) {
			return usageErr("use letters, digits, '.', '-' and '_'", "%v", err)
		}
		return keyErr(err)
	}
	fmt.Fprintf(env.stdout, "trusted %s: %s %s kid %x (%s)\n", tk.Name, tk.Kind, signer.AlgorithmName(tk.Algorithm), tk.KeyID, tk.Path)
	return nil
}

func runTrust(env *cmdEnv, ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usageErr("suit keys trust list|add|remove", "keys trust needs a subcommand")
	}
	fs := newFlags(env, commands["keys"])
	dir := fs.String("trust-dir", "", "trust store directory (default $XDG_CONFIG_HOME/suit-studio/trust)")
	name := fs.String("name", "", "name of the key in the trust store")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	ts := signer.TrustStore{Dir: trustDir(env, *dir)}
	switch args[0] {
	case "list":
		keys, err := ts.List()
		if err != nil {
			return inputErr(err, "fix or remove the file", "trust store %s", ts.Dir)
		}
		for _, k := range keys {
			fmt.Fprintf(env.stdout, "%-20s %-8s %-6s kid %x\n", k.Name, k.Kind, signer.AlgorithmName(k.Algorithm), k.KeyID)
		}
		return nil
	case "add":
		if len(pos) != 1 {
			return usageErr("suit keys trust add [--name NAME] PUBLIC", "keys trust add needs one key")
		}
		return trustAdd(env, ctx, *dir, *name, pos[0])
	case "remove":
		if len(pos) != 1 {
			return usageErr("suit keys trust remove NAME_OR_KID", "keys trust remove needs a name or a kid")
		}
		if err := ts.Remove(pos[0]); err != nil {
			return keyErr(err)
		}
		fmt.Fprintf(env.stdout, "removed %s\n", pos[0])
		return nil
	}
	return usageErr("suit keys trust list|add|remove", "unknown trust subcommand %q", args[0])
}
