package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/cose"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/signer"
)

// decodeErr turns a decoder error into a message with a hint.
func decodeErr(name string, err error) error {
	var de *suit.DecodeError
	if errors.As(err, &de) {
		hint := de.Hint
		if hint == "" {
			hint = "is this a SUIT envelope? suit takes binary CBOR or hex text; a source file goes to 'suit create'"
		}
		if de.Offset == 0 && isMCUbootFile(name) {
			hint = "this is an MCUboot image, not a SUIT envelope: look into it with 'suit mcuboot show " + name + "'"
		}
		return &cliError{code: exitUsage, msg: fmt.Sprintf("%q: %s", name, de.Error()), hint: hint}
	}
	var se *suit.SourceError
	if errors.As(err, &se) {
		return &cliError{code: exitUsage, msg: fmt.Sprintf("%q: %s", name, se.Error()), hint: se.Hint}
	}
	return &cliError{code: exitUsage, msg: fmt.Sprintf("%q: %v", name, err)}
}

// loadVerifyKeys reads --key files for verification.
func loadVerifyKeys(paths []string) ([]suit.VerifyKey, error) {
	keys, err := app.LoadVerifyKeys(paths)
	if err != nil {
		return nil, inputErr(err, "give a PEM public key, a certificate, a COSE_Key or an HMAC key file", "cannot use the key")
	}
	return keys, nil
}

// loadSigningKeys loads --key references: PEM files or pkcs11: URIs.
func loadSigningKeys(env *cmdEnv, refs []string) ([]any, func(), error) {
	var keys []any
	closeAll := func() {
		for _, k := range keys {
			signer.CloseKey(k)
		}
	}
	opts := signer.LoadOptions{Getenv: env.getenv, Warn: func(m string) { printMsg(env.stderr, "warning", m) }}
	if env.stdinTTY {
		opts.PIN = signer.TerminalPIN(os.Stdin, env.stderr)
	}
	for _, ref := range refs {
		k, err := signer.LoadPrivate(ref, opts)
		if err != nil {
			closeAll()
			hint := "give a PEM private key file or a pkcs11: URI (pkcs11:token=...;object=...?module-path=...&pin-source=file:...)"
			var ke *signer.KeyError
			if errors.As(err, &ke) && strings.HasPrefix(ref, "pkcs11:") {
				hint = "check the token label, the key label, the module path and the PIN source (SUIT_PKCS11_PIN or pin-source=file:...)"
			}
			return nil, nil, &cliError{code: exitUsage, msg: "cannot load signing key: " + err.Error(), hint: hint}
		}
		keys = append(keys, k)
	}
	return keys, closeAll, nil
}

var algNames = map[string]int64{
	"es256": cose.AlgES256, "esp256": cose.AlgESP256, "es384": cose.AlgES384, "esp384": cose.AlgESP384,
	"es512": cose.AlgES512, "esp512": cose.AlgESP512, "eddsa": cose.AlgEdDSA, "ed25519": cose.AlgEd25519,
}

func parseAlg(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	if a, ok := algNames[strings.ToLower(s)]; ok {
		return a, nil
	}
	return 0, usageErr("use es256, esp256, es384, esp384, es512, esp512, eddsa or ed25519", "unknown algorithm %q", s)
}

func baseDirOf(name string) string {
	if name == "-" {
		wd, _ := os.Getwd()
		return wd
	}
	return filepath.Dir(name)
}
