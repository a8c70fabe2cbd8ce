package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/cms"
	"github.com/suit-studio/suit-studio/signer"
)

func init() {
	register(&command{
		name: "cms",
		usage: "cms create --image FILE --fw-id OID --fw-version N --target OID [--target OID ...] --key KEY [--cert CERT | --make-cert OUT.pem] " +
			"[--stale N] [--description TEXT] [--no-signing-time] [--pss] [-o OUT]\n" +
			"       suit cms verify --trust CERT_OR_PUB [--trust ...] [--target OID] [--stale-version N] FILE\n" +
			"       suit cms show FILE",
		summary: "make, verify and show RFC 4108 CMS firmware packages",
		run:     runCMS,
	})
}

func runCMS(env *cmdEnv, args []string) error {
	if len(args) == 0 {
		return usageErr("run 'suit help cms'", "cms needs a subcommand: create, verify or show")
	}
	switch args[0] {
	case "create":
		return cmsCreate(env, args[1:])
	case "verify":
		return cmsVerify(env, args[1:])
	case "show":
		return cmsShow(env, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintf(env.stdout, "usage: suit %s\n", commands["cms"].usage)
		return nil
	}
	return usageErr("run 'suit help cms'", "unknown cms subcommand %q (want create, verify or show)", args[0])
}

func cmsCreate(env *cmdEnv, args []string) error {
	fs := newFlags(env, commands["cms"])
	var targets multiFlag
	image := fs.String("image", "", "firmware image file")
	fwID := fs.String("fw-id", "", "firmware package OID (fwPkgID), e.g. 1.3.6.1.4.1.99999.1.1")
	fwVersion := fs.Int64("fw-version", -1, "firmware package version (verNum, 0 or more)")
	fs.Var(&targets, "target", "target hardware module type OID (repeatable)")
	key := fs.String("key", "", "signing key: a PEM file or a pkcs11: URI")
	cert := fs.String("cert", "", "certificate of the key to embed (PEM or DER)")
	makeCert := fs.String("make-cert", "", "generate a self-signed certificate with the key, write it here and embed it")
	stale := fs.Int64("stale", -1, "stale version: devices refuse this version and older ones after loading the package")
	desc := fs.String("description", "", "content-hints description")
	noTime := fs.Bool("no-signing-time", false, "leave out the signing-time attribute (reproducible output with deterministic keys)")
	pss := fs.Bool("pss", false, "sign RSA keys with RSASSA-PSS instead of PKCS#1 v1.5")
	out := outputFlag(fs, "o", "output file (default: standard output)", nil)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := out.check(); err != nil {
		return err
	}
	if err := checkOutput(*makeCert, *out.force); err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErr("run 'suit help cms'", "unexpected argument %q", pos[0])
	}
	switch {
	case *image == "":
		return usageErr("give --image FILE", "no firmware image")
	case *fwID == "" || *fwVersion < 0:
		return usageErr("give --fw-id OID and --fw-version N", "the firmware-package-identifier needs an OID and a version")
	case len(targets) == 0:
		return usageErr("give --target OID for each hardware type", "no target hardware")
	case *key == "":
		return usageErr("give --key FILE or --key pkcs11:...", "no signing key")
	}
	img, err := readInput(env, *image, app.AnyInput)
	if err != nil {
		return err
	}
	req := app.CMSCreateRequest{Image: img, FirmwareID: *fwID, Version: *fwVersion, Targets: targets, Description: *desc,
		KeyRef: *key, CertFile: *cert, MakeCertFile: *makeCert, RSAPSS: *pss, Overwrite: *out.force}
	if !*noTime {
		req.SigningTime = time.Now()
	}
	if *stale >= 0 {
		req.Stale = stale
	}
	pkg, err := app.CreateCMS(context.Background(), req, pinOptions(env))
	if err != nil {
		if isKeyError(err) {
			return keyErr(err)
		}
		return inputErr(err, "", "cannot create the package")
	}
	return out.write(env, pkg, true)
}

func isKeyError(err error) bool {
	var ke *signer.KeyError
	return errors.As(err, &ke)
}

func cmsVerify(env *cmdEnv, args []string) error {
	fs := newFlags(env, commands["cms"])
	var trust multiFlag
	fs.Var(&trust, "trust", "trusted certificate or public key (repeatable)")
	target := fs.String("target", "", "this device's hardware type OID: it must be a target")
	staleVer := fs.String("stale-version", "", "newest version this device refuses (stalePackage at or below it)")
	staleID := fs.String("stale-id", "", "package identifier OID --stale-version is for (default: the package's own)")
	serial := fs.String("serial", "", "this device's serial number in hex (matched against community hardware module lists)")
	var communities multiFlag
	fs.Var(&communities, "community", "a community OID this device belongs to (repeatable)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("suit cms verify --trust CERT FILE", "cms verify needs one package")
	}
	if len(trust) == 0 {
		return usageErr("give --trust CERT_OR_PUB", "no trusted key")
	}
	req := app.CMSVerifyRequest{HardwareType: *target, StaleFor: *staleID, Communities: communities}
	if *serial != "" {
		b, err := hex.DecodeString(*serial)
		if err != nil {
			return usageErr("", "--serial %q is not hex", *serial)
		}
		req.HardwareSerial = b
	}
	if *staleVer != "" {
		v, err := strconv.ParseInt(*staleVer, 10, 64)
		if err != nil || v < 0 {
			return usageErr("", "--stale-version %q is not a version number", *staleVer)
		}
		req.StaleVersion = &v
	}
	req.Trust, err = app.LoadTrust(trust)
	if err != nil {
		return inputErr(err, "give a certificate or a public key (PEM, DER or COSE_Key)", "cannot read the trusted key")
	}
	if *target != "" {
		if _, err := cms.ParseOID(*target); err != nil {
			return usageErr("", "--target: %v", err)
		}
	}
	pkg, err := readInput(env, pos[0], app.PackageInput)
	if err != nil {
		return err
	}
	p, err := app.VerifyCMS(context.Background(), pkg, req)
	if err != nil {
		code := cms.CodeOf(err)
		fmt.Fprintf(env.stdout, "INVALID: %s (%d)\n", code, int(code))
		return negativeBecause(err, "", "%v", err)
	}
	fmt.Fprintf(env.stdout, "valid: firmware package %s version %d, %d bytes, signed by subjectKeyIdentifier %x\n", p.ID.OID, p.ID.Version, len(p.Firmware), p.SubjectKeyID)
	return nil
}

func cmsShow(env *cmdEnv, args []string) error {
	fs := newFlags(env, commands["cms"])
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("suit cms show FILE", "cms show needs one package")
	}
	b, err := readInput(env, pos[0], app.PackageInput)
	if err != nil {
		return err
	}
	p, err := cms.Parse(b)
	if p == nil {
		if rep, rerr := cms.DecodeReport(b, nil); rerr == nil {
			return showReport(env, rep)
		}
		return inputErr(err, "give a DER RFC 4108 firmware package", "cannot decode %s", pos[0])
	}
	for _, l := range app.DescribeCMS(p) {
		fmt.Fprintln(env.stdout, l)
	}
	if err != nil {
		fmt.Fprintf(env.stdout, "problem: %v\n", err)
	}
	fmt.Fprintln(env.stdout, "signature: not checked (use 'suit cms verify --trust CERT')")
	return nil
}

func showReport(env *cmdEnv, rep *cms.Report) error {
	signed := "unsigned"
	if rep.Signed {
		signed = fmt.Sprintf("signed by subjectKeyIdentifier %x (signature not checked)", rep.SubjectKeyID)
	}
	if r := rep.Receipt; r != nil {
		fmt.Fprintf(env.stdout, "load receipt (%s)\nhardware: %s serial %x\npackage: %s\n", signed, r.HWType, r.HWSerialNum, r.PackageName)
		if r.TrustAnchorKeyID != nil {
			fmt.Fprintf(env.stdout, "trust anchor key: %x\n", r.TrustAnchorKeyID)
		}
		return nil
	}
	e := rep.Error
	fmt.Fprintf(env.stdout, "load error (%s)\nhardware: %s serial %x\nerror: %s (%d)\n", signed, e.HWType, e.HWSerialNum, e.Code, int(e.Code))
	if e.VendorErrorCode != nil {
		fmt.Fprintf(env.stdout, "vendor error code: %d\n", *e.VendorErrorCode)
	}
	if e.PackageName != nil {
		fmt.Fprintf(env.stdout, "package: %s\n", *e.PackageName)
	}
	for _, c := range e.Config {
		fmt.Fprintf(env.stdout, "running: %s\n", c.Name)
	}
	return nil
}
