package main

import (
	"crypto"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/mcuboot"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/signer"
)

func init() {
	register(&command{
		name: "mcuboot",
		usage: "mcuboot sign --key KEY --version X.Y.Z[+B] [--header-size 0x200] [--pad-header] [--slot-size N] [--pad] [--confirm] [--align N] [--security-counter N] [--manifest ENVELOPE] -o OUT IN\n" +
			"       suit mcuboot verify --key PUB [--suit-key PUB ...] IMAGE\n" +
			"       suit mcuboot show [--key PUB] [--suit-key PUB ...] IMAGE",
		summary: "MCUboot images for stock Zephyr boards: sign (imgtool-compatible, key file or HSM, SUIT envelope inside), verify, show",
		run:     runMCUboot,
	})
}

func runMCUboot(env *cmdEnv, args []string) error {
	if len(args) == 0 {
		return usageErr("run 'suit help mcuboot'", "mcuboot needs a subcommand: sign, verify or show")
	}
	switch args[0] {
	case "sign":
		return runMCUbootSign(env, args[1:])
	case "verify":
		return runMCUbootVerify(env, args[1:])
	case "show":
		return runMCUbootShow(env, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintf(env.stdout, "usage: suit %s\n", commands["mcuboot"].usage)
		return nil
	}
	return usageErr("run 'suit help mcuboot'", "unknown mcuboot subcommand %q: use sign, verify or show", args[0])
}

func mcubootFlags(env *cmdEnv, sub string) *flag.FlagSet {
	fs := flag.NewFlagSet("mcuboot", flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "usage: suit mcuboot %s ...\n", sub)
		fs.PrintDefaults()
	}
	return fs
}

// intFlag parses decimal or 0x-hex sizes as imgtool does.
type intFlag struct {
	v   int
	set bool
}

func (f *intFlag) String() string { return strconv.Itoa(f.v) }
func (f *intFlag) Set(s string) error {
	n, err := strconv.ParseInt(s, 0, 64)
	if err != nil || n < 0 || n > 1<<31 {
		return fmt.Errorf("%q is not a size (decimal or 0x hex)", s)
	}
	f.v, f.set = int(n), true
	return nil
}

func runMCUbootSign(env *cmdEnv, args []string) error {
	fs := mcubootFlags(env, "sign")
	keyRef := fs.String("key", "", "signing key: PEM private key file or pkcs11: URI (Ed25519, ECDSA P-256/P-384, RSA-2048/3072)")
	version := fs.String("version", "", "image version major.minor.revision+build (e.g. 1.2.3+4)")
	outF := outputFlag(fs, "o", "output file (- for standard output)", nil)
	out := outF.name
	hdr := &intFlag{v: mcuboot.DefaultHeaderSize}
	fs.Var(hdr, "header-size", "header area in bytes (Zephyr's CONFIG_ROM_START_OFFSET, default 0x200)")
	padHeader := fs.Bool("pad-header", false, "prepend the header area to a bare binary (else IN must start with that many zero bytes)")
	slot := &intFlag{}
	fs.Var(slot, "slot-size", "slot size in bytes (checks that image and trailer fit; needed by --pad and --confirm)")
	pad := fs.Bool("pad", false, "pad to the slot size and write the trailer's boot magic (the image is marked for a test swap)")
	confirm := fs.Bool("confirm", false, "like --pad, and set image_ok (the image is marked as confirmed)")
	align := &intFlag{v: 1}
	fs.Var(align, "align", "flash write alignment: 1, 2, 4, 8, 16 or 32")
	secCnt := fs.String("security-counter", "", "security counter (adds the protected SEC_CNT TLV, MCUboot's anti-rollback)")
	manifest := fs.String("manifest", "", "signed SUIT envelope describing the image body, carried in protected TLV 0x53a0")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := outF.check(); err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("run 'suit help mcuboot'", "mcuboot sign takes one IN file (the application binary)")
	}
	if *keyRef == "" {
		return usageErr("give --key private.pem or --key 'pkcs11:token=...;object=...'", "no --key given")
	}
	if *version == "" {
		return usageErr("give --version 1.2.3 (major.minor.revision+build)", "no --version given")
	}
	v, err := mcuboot.ParseVersion(*version)
	if err != nil {
		return inputErr(err, "write major.minor.revision+build, e.g. 1.2.3+4", "bad --version")
	}
	o := mcuboot.Options{HeaderSize: hdr.v, PadHeader: *padHeader, Version: v, SlotSize: slot.v, Pad: *pad, Confirm: *confirm, Align: align.v}
	if hdr.set && hdr.v == 0 {
		return usageErr("", "--header-size 0: the header needs at least 32 bytes")
	}
	if *secCnt != "" {
		n, err := strconv.ParseUint(*secCnt, 0, 32)
		if err != nil {
			return usageErr("give a number from 0 to 4294967295", "bad --security-counter %q", *secCnt)
		}
		c := uint32(n)
		o.SecurityCounter = &c
	}
	if (*pad || *confirm) && !slot.set {
		return usageErr("give the slot size of the board's secondary slot, e.g. --slot-size 0x67000", "--pad and --confirm need --slot-size")
	}
	fw, err := readInput(env, pos[0], app.AnyInput)
	if err != nil {
		return err
	}
	var envelope []byte
	if *manifest != "" {
		if envelope, err = readCBOR(env, *manifest); err != nil {
			return err
		}
	}
	loaded, closeKeys, err := loadSigningKeys(env, []string{*keyRef})
	if err != nil {
		return err
	}
	defer closeKeys()
	key, ok := loaded[0].(signer.Key)
	if !ok {
		return usageErr("MCUboot images are signed with Ed25519, ECDSA or RSA keys", "%s is not a signing key (an HMAC key cannot sign an MCUboot image)", *keyRef)
	}
	img, err := app.SignMCUboot(app.MCUbootSignRequest{Firmware: fw, Key: key, Options: o, Envelope: envelope})
	if err != nil {
		return mcubootSignErr(err, pos[0])
	}
	if err := outF.write(env, img, true); err != nil {
		return err
	}
	w := env.stdout
	if *out == "" || *out == "-" {
		w = env.stderr
	}
	im, _ := mcuboot.Parse(img)
	fmt.Fprintf(w, "MCUboot image: version %s, header 0x%x, body %d bytes, %d bytes in all, signed with %s\n",
		v, im.Header.HeaderSize, im.Header.ImageSize, len(img), key.Description())
	if envelope != nil {
		fmt.Fprintf(w, "SUIT envelope: %d bytes in protected TLV 0x%04x, its manifest describes the body\n", len(envelope), mcuboot.TLVSUITEnvelope)
	}
	return nil
}

func mcubootSignErr(err error, name string) error {
	switch {
	case errors.Is(err, app.ErrManifestMismatch):
		return inputErr(err, "make the manifest from the same app.bin (suit create with its image), sign it, then export", "the SUIT envelope does not fit this image")
	case errors.Is(err, app.ErrEnvelopeUnsigned):
		return inputErr(err, "suit sign --key KEY -o envelope.suit envelope.suit", "the SUIT envelope is not signed")
	case errors.Is(err, mcuboot.ErrHeaderArea):
		return inputErr(err, "give --pad-header for a bare binary, or --header-size with the board's CONFIG_ROM_START_OFFSET", "%s", name)
	case errors.Is(err, mcuboot.ErrUnsupported):
		return inputErr(err, "MCUboot takes Ed25519, ECDSA P-256/P-384 and RSA-2048/3072 keys", "the key cannot sign an MCUboot image")
	case errors.Is(err, mcuboot.ErrTooLarge), errors.Is(err, mcuboot.ErrOptions):
		return inputErr(err, "check --slot-size, --align and --header-size against the board's partitions", "cannot build the image")
	}
	var de *suit.DecodeError
	if errors.As(err, &de) {
		return decodeErr("the SUIT envelope", err)
	}
	return inputErr(err, "", "cannot sign the MCUboot image")
}

// mcubootVerifyKeys loads --key (one public key for MCUboot) and --suit-key (for the envelope).
func mcubootVerifyKeys(keyPath string, suitPaths []string) (crypto.PublicKey, []suit.VerifyKey, error) {
	var pub crypto.PublicKey
	if keyPath != "" {
		vk, err := loadVerifyKeys([]string{keyPath})
		if err != nil {
			return nil, nil, err
		}
		if vk[0].Public == nil {
			return nil, nil, usageErr("give the public key (PEM, certificate) matching the image's signing key", "%s is not a public key", keyPath)
		}
		pub = vk[0].Public
	}
	var sk []suit.VerifyKey
	if len(suitPaths) > 0 {
		var err error
		if sk, err = loadVerifyKeys(suitPaths); err != nil {
			return nil, nil, err
		}
	} else if pub != nil {
		sk = []suit.VerifyKey{{Name: filepath.Base(keyPath), Public: pub}} // one key signs both
	}
	return pub, sk, nil
}

func readMCUbootImage(env *cmdEnv, name string) ([]byte, error) {
	data, err := readInput(env, name, app.AnyInput)
	if err != nil {
		return nil, err
	}
	if !mcuboot.IsImage(data) {
		return nil, usageErr("export one with 'suit mcuboot sign' (or imgtool sign)", "%s is not an MCUboot image (no magic 0x96f3b83d at byte 0)", name)
	}
	return data, nil
}

func checkMCUboot(env *cmdEnv, name string, data []byte, pub crypto.PublicKey, sk []suit.VerifyKey) (*app.MCUbootReport, error) {
	r, err := app.CheckMCUboot(data, pub, sk)
	if err != nil {
		var fe *mcuboot.FormatError
		if errors.As(err, &fe) {
			return nil, inputErr(err, "the image is damaged or cut: export it again", "%s", name)
		}
		return nil, inputErr(err, "give the public key of the image's signing key", "%s", name)
	}
	return r, nil
}

func runMCUbootVerify(env *cmdEnv, args []string) error {
	fs := mcubootFlags(env, "verify")
	key := fs.String("key", "", "public key the image is signed with (PEM public key, certificate, or private key file)")
	var suitKeys multiFlag
	fs.Var(&suitKeys, "suit-key", "key for the embedded SUIT envelope, if another than --key; repeatable")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("run 'suit help mcuboot'", "mcuboot verify takes one IMAGE")
	}
	if *key == "" {
		return usageErr("give the signer's public key: suit mcuboot verify --key public.pem IMAGE", "no --key given")
	}
	r, _, err := loadCheckMCUboot(env, pos[0], *key, suitKeys)
	if err != nil {
		return err
	}
	printMCUbootVerdict(env.stdout, r)
	if !r.Valid {
		return negative("check that you have the right public key and an unaltered image", "%s is not valid: %s", pos[0], r.Reason)
	}
	return nil
}

// loadCheckMCUboot reads an MCUboot image and checks it with the keys given (none: structure
// only); withKey says whether a verdict was asked for.
func loadCheckMCUboot(env *cmdEnv, name, key string, suitKeys []string) (r *app.MCUbootReport, withKey bool, err error) {
	pub, sk, err := mcubootVerifyKeys(key, suitKeys)
	if err != nil {
		return r, false, err
	}
	data, err := readMCUbootImage(env, name)
	if err != nil {
		return r, false, err
	}
	r, err = checkMCUboot(env, name, data, pub, sk)
	return r, pub != nil || len(sk) > 0, err
}

func runMCUbootShow(env *cmdEnv, args []string) error {
	fs := mcubootFlags(env, "show")
	key := fs.String("key", "", "also verify with this public key")
	var suitKeys multiFlag
	fs.Var(&suitKeys, "suit-key", "key for the embedded SUIT envelope, if another than --key; repeatable")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("run 'suit help mcuboot'", "mcuboot show takes one IMAGE")
	}
	r, withKey, err := loadCheckMCUboot(env, pos[0], *key, suitKeys)
	if err != nil {
		return err
	}
	printMCUbootImage(env.stdout, r)
	if withKey {
		printMCUbootVerdict(env.stdout, r)
		if !r.Valid {
			return negative("", "%s is not valid: %s", pos[0], r.Reason)
		}
	}
	return nil
}

func printMCUbootImage(w io.Writer, r *app.MCUbootReport) {
	im := r.Image
	h := im.Header
	fmt.Fprintf(w, "MCUboot image, %d bytes\n", len(im.Raw))
	fmt.Fprintf(w, "header: magic 0x%08x, load address 0x%x, header size 0x%x, protected TLVs %d bytes, image size %d, flags 0x%x",
		h.Magic, h.LoadAddr, h.HeaderSize, h.ProtectedTLVSize, h.ImageSize, h.Flags)
	if f := mcuboot.FlagNames(h.Flags); len(f) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(f, ", "))
	}
	fmt.Fprintf(w, ", version %s\n", h.Version)
	fmt.Fprintf(w, "body: bytes 0x%x..0x%x\n", h.HeaderSize, im.ProtStart)
	printTLVs := func(area string, magic uint16, list []mcuboot.TLV) {
		fmt.Fprintf(w, "%s TLV area (magic 0x%04x):\n", area, magic)
		for _, t := range list {
			fmt.Fprintf(w, "  0x%06x  type 0x%04x %-28s len %5d  %s\n", t.Offset, t.Type, mcuboot.TLVName(t.Type), len(t.Value), tlvValue(t))
		}
	}
	if len(im.Protected) > 0 {
		printTLVs("protected", mcuboot.TLVProtInfoMagic, im.Protected)
	}
	printTLVs("unprotected", mcuboot.TLVInfoMagic, im.TLVs)
	if t := im.Trailer; t != nil {
		ok := "not set"
		if t.ImageOK == 1 {
			ok = "set (confirmed)"
		}
		fmt.Fprintf(w, "trailer: boot magic at 0x%x (max-align %d), image_ok %s; padded to %d bytes\n", t.Offset, t.MaxAlign, ok, len(im.Raw))
	}
	if r.Envelope == nil {
		fmt.Fprintln(w, "SUIT manifest: none (no TLV 0x53a0)")
		return
	}
	if r.ManifestErr != nil {
		fmt.Fprintf(w, "SUIT manifest: the envelope in TLV 0x%04x does not decode: %v\n", mcuboot.TLVSUITEnvelope, r.ManifestErr)
		return
	}
	m := r.Manifest.Manifest
	blocks := 0
	if r.Manifest.Auth != nil {
		blocks = len(r.Manifest.Auth.Blocks)
	}
	fmt.Fprintf(w, "SUIT manifest: %d-byte envelope, sequence number %d, %d component(s), %d authentication block(s)\n",
		len(r.Envelope), m.SequenceNumber, len(m.Common.Components), blocks)
	b := r.Binding
	if b.OK {
		fmt.Fprintf(w, "  describes the body: component %s, %s %x, image-size %d\n", b.Component, suit.DigestName(b.Digest.Alg), b.Digest.Bytes, b.Size)
	} else {
		fmt.Fprintf(w, "  does NOT describe the body: %s\n", b.Reason)
	}
}

func tlvValue(t mcuboot.TLV) string {
	switch {
	case t.Type == mcuboot.TLVSecCnt && len(t.Value) == 4:
		return fmt.Sprintf("%d", binary.LittleEndian.Uint32(t.Value))
	case t.Type == mcuboot.TLVSUITEnvelope:
		return "SUIT envelope (CBOR)"
	case len(t.Value) <= 48:
		return fmt.Sprintf("%x", t.Value)
	}
	return fmt.Sprintf("%x...", t.Value[:32])
}

func printMCUbootVerdict(w io.Writer, r *app.MCUbootReport) {
	if v := r.Verification; v != nil {
		fmt.Fprintf(w, "key: %s\n", v.KeyKind)
		okWord := func(ok bool) string {
			if ok {
				return "ok"
			}
			return "BAD"
		}
		fmt.Fprintf(w, "hash (%s): %s\n", mcuboot.TLVName(v.HashTLV), okWord(v.HashOK))
		switch {
		case !v.KeyHashPresent:
			fmt.Fprintln(w, "key hash: none in the image")
		default:
			fmt.Fprintf(w, "key hash: %s\n", map[bool]string{true: "names this key", false: "names ANOTHER key"}[v.KeyHashOK])
		}
		if v.SignaturePresent {
			fmt.Fprintf(w, "signature (%s): %s\n", mcuboot.TLVName(v.SignatureTLV), map[bool]string{true: "verified", false: "does NOT verify"}[v.SignatureOK])
		} else {
			fmt.Fprintf(w, "signature (%s): missing\n", mcuboot.TLVName(v.SignatureTLV))
		}
	}
	if r.SUIT != nil {
		fmt.Fprintln(w, "SUIT envelope:")
		var sb strings.Builder
		printVerification(&sb, r.SUIT)
		for _, l := range strings.Split(strings.TrimRight(sb.String(), "\n"), "\n") {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	if r.Valid {
		fmt.Fprintln(w, "verdict: VALID")
	} else {
		fmt.Fprintf(w, "verdict: NOT VALID: %s\n", r.Reason)
	}
}

// isMCUbootFile reports whether the file name starts with the MCUboot image magic (for the hint
// of a SUIT command given an MCUboot image).
func isMCUbootFile(name string) bool {
	f, err := os.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, 4)
	n, _ := io.ReadFull(f, b)
	return mcuboot.IsImage(b[:n])
}
