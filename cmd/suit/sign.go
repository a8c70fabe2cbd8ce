package main

import (
	"fmt"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/suit"
)

func init() {
	register(&command{
		name:    "sign",
		usage:   "sign --key KEY [--key KEY ...] [--alg ALG] [--replace] [--no-kid] [-o OUT] IN",
		summary: "add authentication blocks: COSE_Sign1 for a PEM key file or pkcs11: URI, COSE_Mac0 for an HMAC key",
		run:     runSign,
	})
}

func runSign(env *cmdEnv, args []string) error {
	fs := newFlags(env, commands["sign"])
	var keys multiFlag
	fs.Var(&keys, "key", "PEM private key file, HMAC key file, or pkcs11: URI; repeat for several auth blocks")
	out := outputFlag(fs, "o", "output file (- for standard output)", nil)
	algName := fs.String("alg", "", "COSE algorithm instead of the key's default: es256, esp256, es384, esp384, eddsa, ed25519")
	replace := fs.Bool("replace", false, "remove existing authentication blocks first")
	noKID := fs.Bool("no-kid", false, "do not put the key id (kid) in the protected header")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := out.check(); err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("run 'suit help sign'", "sign takes one IN file")
	}
	if len(keys) == 0 {
		return usageErr("give --key private.pem or --key 'pkcs11:token=...;object=...'", "no --key given")
	}
	alg, err := parseAlg(*algName)
	if err != nil {
		return err
	}
	data, err := readCBOR(env, pos[0])
	if err != nil {
		return err
	}
	if _, err := suit.Decode(data); err != nil {
		return decodeErr(pos[0], err)
	}
	loaded, closeKeys, err := loadSigningKeys(env, keys)
	if err != nil {
		return err
	}
	defer closeKeys()
	signed, err := app.SignEnvelope(data, loaded, app.SignOptions{Algorithm: alg, Replace: *replace, NoKID: *noKID})
	if err != nil {
		return &cliError{code: exitUsage, msg: "signing failed: " + err.Error(), hint: "check that the key fits the algorithm (e.g. a P-256 key for es256/esp256)"}
	}
	if err := out.write(env, signed, true); err != nil {
		return err
	}
	if *out.name != "" && *out.name != "-" {
		fmt.Fprintf(env.stderr, "suit: signed %s with %d key(s): %d bytes written to %s\n", pos[0], len(loaded), len(signed), *out.name)
	}
	return nil
}
