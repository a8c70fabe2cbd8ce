package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/cose"
	"github.com/suit-studio/suit-studio/model"
)

func init() {
	register(&command{
		name: "encrypt",
		usage: "encrypt --recipient KEY [--recipient KEY ...] [--alg a128gcm|a256gcm|chacha20-poly1305|a128ctr|a256ctr] " +
			"[--key-wrap a128kw|a256kw] [--profile MTI-PROFILE] [--kid ID] -o CIPHERTEXT --info INFO [--write] FIRMWARE",
		summary: "encrypt a payload for its recipients (draft-ietf-suit-firmware-encryption) and print the manifest source that installs it",
		run:     runEncrypt,
	})
}

func runEncrypt(env *cmdEnv, args []string) error {
	fs := newFlags(env, commands["encrypt"])
	var recips, kids multiFlag
	fs.Var(&recips, "recipient", "recipient: a P-256/X25519 public key (PEM), a 16/24/32-byte key-encryption key file, trust:NAME or a pkcs11: URI; repeatable")
	fs.Var(&kids, "kid", "key id of the recipient at the same position (text); repeatable")
	algName := fs.String("alg", "a128gcm", "content encryption: "+strings.Join(sortedKeys(app.ContentAlgorithms), ", "))
	kw := fs.String("key-wrap", "a128kw", "key wrap after ECDH-ES (public-key recipients): a128kw, a192kw, a256kw")
	outF := outputFlag(fs, "o", "write the encrypted payload (ciphertext, with the tag) to this file", nil)
	out := outF.name
	infoF := outputFlag(fs, "info", "write the SUIT_Encryption_Info (COSE_Encrypt) to this file", outF.force)
	infoOut := infoF.name
	write := fs.Bool("write", false, "print the source for the write directive (ciphertext in the manifest's content parameter) instead of fetch + copy")
	profile := fs.String("profile", "", "an MTI profile (draft-ietf-suit-mti), e.g. suit-sha256-esp256-ecdh-a128gcm: sets --alg and checks the recipients")
	comp := fs.Int("component", 0, "component index the plaintext goes to")
	staging := fs.Int("staging", 1, "fetch + copy: component index the ciphertext is fetched into")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	for _, o := range []*output{outF, infoF} {
		if err := o.check(); err != nil {
			return err
		}
	}
	if len(pos) != 1 {
		return usageErr("run 'suit help encrypt'", "encrypt takes one FIRMWARE file")
	}
	if len(recips) == 0 {
		return usageErr("give --recipient device.pub.pem (ECDH-ES) or --recipient kek.bin (AES-KW)", "no --recipient given")
	}
	if len(kids) > len(recips) {
		return usageErr("give one --kid per --recipient, in the same order", "%d --kid for %d --recipient", len(kids), len(recips))
	}
	if *out == "" || *infoOut == "" {
		return usageErr("give -o fw.enc --info fw.encinfo", "encrypt needs -o and --info")
	}
	var prof *model.MTIProfile
	if *profile != "" {
		if prof = model.MTIProfileByName(*profile); prof == nil {
			var names []string
			for _, p := range model.MTIProfiles() {
				names = append(names, p.Name)
			}
			return usageErr("profiles: "+strings.Join(names, ", "), "unknown profile %q", *profile)
		}
		for name, id := range app.ContentAlgorithms {
			if id == prof.Encryption {
				*algName = name
			}
		}
		if prof.KeyExchange == cose.AlgA256KW {
			*kw = "a256kw"
		}
	}
	alg, ok := app.ContentAlgorithms[strings.ToLower(*algName)]
	if !ok {
		return usageErr("use one of "+strings.Join(sortedKeys(app.ContentAlgorithms), ", "), "unknown content encryption %q", *algName)
	}
	kwSize, ok := app.KeyWraps[strings.ToLower(*kw)]
	if !ok {
		return usageErr("use a128kw, a192kw or a256kw", "unknown key wrap %q", *kw)
	}
	plain, err := readInput(env, pos[0], app.AnyInput)
	if err != nil {
		return err
	}
	var specs []cose.RecipientSpec
	for i, r := range recips {
		var kid []byte
		if i < len(kids) {
			kid = []byte(kids[i])
		}
		s, err := app.RecipientKey(r, kid, kwSize, pinOptions(env))
		if err != nil {
			return inputErr(err, "a recipient is a P-256 or X25519 public key, a key-encryption key of 16, 24 or 32 bytes, trust:NAME or a pkcs11: URI", "cannot use recipient %d", i+1)
		}
		specs = append(specs, s)
	}
	if prof != nil {
		if err := app.CheckProfileRecipients(*prof, specs); err != nil {
			return usageErr("", "%v", err)
		}
	}
	res, err := app.EncryptPayload(app.EncryptRequest{Plaintext: plain, ContentAlg: alg, Recipients: specs})
	if err != nil {
		return inputErr(err, "", "encryption failed")
	}
	if err := outF.write(env, res.Ciphertext, true); err != nil {
		return err
	}
	if err := infoF.write(env, res.Info, true); err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "suit: %s encrypted with %s for %d recipient(s): %s (%d bytes), %s (%d bytes)\n",
		pos[0], res.Algorithm.Name, len(specs), *out, len(res.Ciphertext), *infoOut, len(res.Info))
	if prof != nil {
		fmt.Fprintf(env.stdout, "# profile %s: sign with %s\n", prof.Name, prof.Authenticator)
	}
	install, integrated := res.SourceSnippet(*infoOut, *out, pos[0], *comp, *staging, *write)
	fmt.Fprintf(env.stdout, "# under manifest: in a source file for 'suit create'\n%s", install)
	if integrated != "" {
		fmt.Fprintf(env.stdout, "# at the top level of the source file\n%s", integrated)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// loadDecryptKeys reads --decrypt-key files or pkcs11: URIs; call the returned func when done.
func loadDecryptKeys(env *cmdEnv, refs []string) ([]cose.DecryptionKey, func(), error) {
	var keys []cose.DecryptionKey
	var closers []func()
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	for _, r := range refs {
		k, c, err := app.OpenDecryptionKey(r, pinOptions(env))
		if err != nil {
			closeAll()
			return nil, nil, inputErr(err, "give a P-256 or X25519 private key (PEM), a 16, 24 or 32-byte key-encryption key file, or a pkcs11: URI of a P-256 key with the derive usage", "cannot use --decrypt-key")
		}
		keys = append(keys, k)
		closers = append(closers, c)
	}
	return keys, closeAll, nil
}

// isEncryptionInfo reports whether data is a bare COSE_Encrypt (96) or COSE_Encrypt0 (16).
func isEncryptionInfo(data []byte) bool {
	return bytes.HasPrefix(data, []byte{0xd8, 0x60}) || (len(data) > 0 && data[0] == 0xd0)
}

// showEncryptionInfo prints a bare SUIT_Encryption_Info and, with keys and the
// ciphertext, its plaintext.
func showEncryptionInfo(w io.Writer, data []byte, keys []cose.DecryptionKey, ciphertext []byte) error {
	e, err := cose.ParseEncrypt(data)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "SUIT_Encryption_Info, %d bytes\n", len(data))
	for _, l := range app.DescribeEncryptionInfo(e) {
		fmt.Fprintf(w, "  %s\n", l)
	}
	if len(keys) == 0 {
		return nil
	}
	p := &app.EncryptedPayload{Parsed: e, Ciphertext: ciphertext, Source: "give it with --ciphertext FILE"}
	if !e.Detached {
		p.Ciphertext = e.Ciphertext
	}
	app.DecryptPayloads([]*app.EncryptedPayload{p}, keys)
	printDecrypted(w, "  ", p)
	return nil
}

// printEncryptedPayloads lists the encrypted payloads of an envelope.
func printEncryptedPayloads(w io.Writer, ps []*app.EncryptedPayload, keys []cose.DecryptionKey) {
	if len(ps) == 0 {
		return
	}
	if len(keys) > 0 {
		app.DecryptPayloads(ps, keys)
	}
	fmt.Fprintf(w, "\nencrypted payloads:\n")
	for _, p := range ps {
		fmt.Fprintf(w, "  %s\n", p.Where)
		if p.Parsed == nil {
			fmt.Fprintf(w, "    encryption-info does not decode: %v\n", p.ParseErr)
			continue
		}
		for _, l := range app.DescribeEncryptionInfo(p.Parsed) {
			fmt.Fprintf(w, "    %s\n", l)
		}
		if p.Ciphertext != nil {
			fmt.Fprintf(w, "    ciphertext: %d bytes from %s\n", len(p.Ciphertext), p.Source)
		} else {
			fmt.Fprintf(w, "    ciphertext: not available: %s\n", p.Source)
		}
		if len(keys) > 0 {
			printDecrypted(w, "    ", p)
		}
	}
}

func printDecrypted(w io.Writer, indent string, p *app.EncryptedPayload) {
	if p.DecryptErr != nil {
		fmt.Fprintf(w, "%snot decrypted: %v\n", indent, p.DecryptErr)
		return
	}
	sum := sha256.Sum256(p.Plaintext)
	fmt.Fprintf(w, "%sdecrypted with recipient %d: %d bytes, SHA-256 %x\n", indent, p.Recipient, len(p.Plaintext), sum)
	if len(p.Plaintext) <= 80 && printable(p.Plaintext) {
		fmt.Fprintf(w, "%splaintext: %q\n", indent, p.Plaintext)
	}
}

func printable(b []byte) bool {
	for _, r := range string(b) {
		if !unicode.IsPrint(r) && r != '\n' && r != '\t' {
			return false
		}
	}
	return true
}

// payloadMap reads --payload URI=FILE flags.
func payloadMap(env *cmdEnv, flags []string) (map[string][]byte, error) {
	pl := map[string][]byte{}
	for _, s := range flags {
		uri, file, ok := strings.Cut(s, "=")
		if !ok || uri == "" || file == "" {
			return nil, usageErr("write --payload coaps://example.com/fw.bin=fw.bin", "--payload %q is not URI=FILE", s)
		}
		b, err := readCBOR(env, file)
		if err != nil {
			return nil, err
		}
		pl[uri] = b
	}
	return pl, nil
}
