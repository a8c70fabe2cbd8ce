package main

import (
	"context"
	"encoding/asn1"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/cms"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/devicesim"
)

// simServeHook runs `suit sim serve` (MCUmgr SMP over a serial port); cmd/suit/serve.go sets it
// in its init when the SMP server exists.
var simServeHook func(env *cmdEnv, args []string) error

func init() {
	register(&command{
		name: "sim",
		usage: "sim run [--board suit|mcuboot] --trust PUB [--trust PUB ...] [--vendor-domain D --model M | --vendor-id HEX --class-id HEX] " +
			"[--device-id HEX] [--sequence N] [--image FILE] [--payload URI=FILE ...] [--device-key [KID=]FILE ...] [--component-alias NAME=HEX ...] [--trust-dependency NAME=PUB ...] [--battery MWH] [--clock RFC3339|now] [--installed-version [HEX=]V ...] [--authorize yes|no] [--external-power yes|no] [--network yes|no] [--rate N] [--block-size N] [--report URL] [--polls N --poll-every D] [--power-cut-at N] [--tamper OFFSET] [--rollback-to N] [--state DIR] [--json] " +
			"[--hw-type OID --hw-serial HEX --receipt FILE] ENVELOPE|PACKAGE|URI\n" +
			"       suit sim serve ...\n" +
			"       suit sim fleet --devices N --server URI ...",
		summary: "simulate a Class 1 device (10 KiB RAM, 100 KiB flash) processing an envelope step by step",
		run:     runSim,
	})
}

func runSim(env *cmdEnv, args []string) error {
	if len(args) == 0 {
		return usageErr("run 'suit help sim'", "sim needs a subcommand: run or serve")
	}
	switch args[0] {
	case "run":
		return simRun(env, args[1:])
	case "fleet":
		return simFleet(env, args[1:]) // simnet.go
	case "serve":
		if simServeHook == nil {
			return usageErr("use 'suit sim run' to process an envelope directly", "'suit sim serve' is not available in this build yet")
		}
		return simServeHook(env, args[1:])
	case "-h", "--help", "help":
		fmt.Fprintf(env.stdout, "usage: suit %s\n", commands["sim"].usage)
		return nil
	}
	return usageErr("run 'suit help sim'", "unknown sim subcommand %q (want run or serve)", args[0])
}

func simRun(env *cmdEnv, args []string) error {
	c := commands["sim"]
	fs := newFlags(env, c)
	powerCut := fs.Int("power-cut-at", 0, "cut the power at the N-th flash write or erase (1 = the first)")
	tamper := fs.Int("tamper", -1, "flip the bits of this byte of the staged envelope before processing")
	rollback := fs.Int64("rollback-to", -1, "fault injection: rewrite the stored sequence number to N before processing")
	asJSON := fs.Bool("json", false, "print one JSON object per step, then the record")
	receiptOut := outputFlag(fs, "receipt", "RFC 4108 packages: write the device's load receipt or load error (DER) to FILE", nil)
	pf := addProvFlags(fs)
	nf := addNetFlags(fs) // simnet.go: a networked device (HTTP/CoAP fetch, reports)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := receiptOut.check(); err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("give exactly one envelope file (binary CBOR or hex, - for stdin)", "sim run needs one ENVELOPE, got %d arguments", len(pos))
	}
	netc, err := nf.client()
	if err != nil {
		return err
	}
	var envelope []byte
	if !app.IsNetURI(pos[0]) {
		if envelope, err = readEnvelope(env, pos[0], app.EnvelopeOrPackageInput); err != nil {
			return err
		}
	}
	prov, pl, err := pf.build(env)
	if err != nil {
		return err
	}
	if *powerCut < 0 {
		return usageErr("N counts flash writes and erases from 1", "--power-cut-at %d is negative", *powerCut)
	}
	sess, loaded, err := app.NewSimSession(prov, *pf.state)
	if err != nil {
		return inputErr(err, "check the keys and IDs (see 'suit help sim')", "cannot provision the simulated device")
	}
	if loaded && !*asJSON {
		fmt.Fprintf(env.stderr, "suit: using the device kept in %s (provisioning options are not applied; delete the directory to start fresh)\n", *pf.state)
	}
	if err := pf.um.apply(sess); err != nil { // simpolicy.go: --battery, --clock, --installed-version, --authorize
		return err
	}
	if *rollback >= 0 {
		if err := sess.RollbackSequence(uint64(*rollback)); err != nil {
			return inputErr(err, "provision the device first", "cannot roll back the sequence number")
		}
		if !*asJSON {
			fmt.Fprintf(env.stdout, "fault: stored sequence number rewritten to %d\n", *rollback)
		}
	}
	if envelope == nil { // the device locates its update on the server
		if envelope, err = nf.locate(env, netc, sess, pos[0]); err != nil || envelope == nil {
			return err
		}
	}
	enc := json.NewEncoder(env.stdout)
	run := app.SimRun{
		Payloads: pl, PowerCutAt: *powerCut, TamperAt: *tamper, Net: netc,
		OnEvent: func(e devicesim.Event) {
			if *asJSON {
				enc.Encode(e)
				return
			}
			fmt.Fprintln(env.stdout, formatEvent(e))
		},
	}
	var rec *devicesim.Record
	if app.IsCMSPackage(envelope) {
		id, err := pf.cmsIdentity()
		if err != nil {
			return err
		}
		res, err := sess.RunCMS(context.Background(), envelope, id, run)
		if err != nil {
			return inputErr(err, "check that the state directory is writable", "simulation failed")
		}
		rec = res.Record
		if res.Code != 0 && !*asJSON {
			fmt.Fprintf(env.stdout, "load error: %s (%d)\n", res.Code, int(res.Code))
		}
		if *receiptOut.name != "" && res.Report != nil {
			if err := receiptOut.write(env, res.Report, true); err != nil {
				return err
			}
		}
	} else {
		rec, err = sess.Run(context.Background(), envelope, run)
		if err != nil {
			return inputErr(err, "check that the state directory is writable", "simulation failed")
		}
	}
	printRecord(env, rec, *asJSON)
	nf.sendReport(env, netc, sess, rec, pos[0])
	switch rec.Outcome {
	case devicesim.Applied:
		return nil
	case devicesim.PowerCut:
		hint := "run again with the same --state DIR to restart the device and retry"
		if *pf.state == "" {
			hint = "use --state DIR to keep the device and restart it after the cut"
		}
		return withCode(exitPowerCut, errors.New("power cut: "+rec.Reason), hint)
	case devicesim.NoBoot:
		return negative("the manifest's validate/load/invoke sequences fail on this device", "the update was installed but the device does not boot: %s", rec.Reason)
	}
	return negativeBecause(inputProblem(envelope), refusalHint(rec), "the device refused the envelope: %s", rec.Reason)
}

// inputProblem is the tool's own decoders' verdict on the input (nil when it is well-formed): a
// device refusing input that 'suit verify' or 'suit cms verify' would call malformed exits 2 as
// they do, while a refusal of well-formed input (or of a byte tampered in the device's flash)
// stays a negative verdict.
func inputProblem(b []byte) error {
	if app.IsCMSPackage(b) {
		_, err := cms.Parse(b)
		return err
	}
	_, err := suit.Decode(b)
	return err
}

func refusalHint(rec *devicesim.Record) string {
	switch {
	case errors.Is(rec.Err, devicesim.ErrPayloadDigest):
		return "the payload does not match the manifest's image-digest (the spec examples' digests are placeholders that no real image matches)"
	case errors.Is(rec.Err, devicesim.ErrSignature), errors.Is(rec.Err, devicesim.ErrUnsigned):
		return "provision the device with the signer's public key (--trust), and sign the envelope"
	case errors.Is(rec.Err, devicesim.ErrPayloadUnavailable):
		return "map the URI to a file with --payload URI=FILE"
	case errors.Is(rec.Err, devicesim.ErrVendorID), errors.Is(rec.Err, devicesim.ErrClassID):
		return "provision the device with the manifest's vendor and class (--vendor-domain/--model or --vendor-id/--class-id)"
	case errors.Is(rec.Err, devicesim.ErrRollback):
		return "the device keeps its sequence number; use a manifest with an equal or higher one"
	}
	return "the device still boots the image it had"
}

func formatEvent(e devicesim.Event) string {
	seq := e.Procedure
	if e.Sequence != "" {
		seq += "/" + e.Sequence
	}
	s := fmt.Sprintf("%4d %-24s %s%-20s", e.Step, seq, strings.Repeat("  ", e.Depth), e.Command)
	if e.Component != "" {
		s += " " + e.Component
	}
	if e.Argument != "" {
		s += ": " + e.Argument
	}
	s += "  " + strings.ToUpper(string(e.Result))
	if e.Reason != "" {
		s += " (" + e.Reason + ")"
	}
	if e.Reported {
		s += " [reported]"
	}
	return s
}

func printRecord(env *cmdEnv, rec *devicesim.Record, asJSON bool) {
	if asJSON {
		type out struct {
			Record *devicesim.Record `json:"record"`
			Error  string            `json:"error,omitempty"`
		}
		o := out{Record: rec}
		if rec.Err != nil {
			o.Error = rec.Err.Error()
		}
		json.NewEncoder(env.stdout).Encode(o)
		return
	}
	w := env.stdout
	fmt.Fprintf(w, "\nresult: %s", rec.Outcome)
	if rec.Reason != "" && rec.Outcome != devicesim.Applied {
		fmt.Fprintf(w, ": %s", rec.Reason)
	}
	fmt.Fprintln(w)
	if rec.BootReason != "" {
		fmt.Fprintf(w, "boot: %s\n", rec.BootReason)
	}
	if rec.BootedImage != nil {
		fmt.Fprintf(w, "booted image sha-256: %x\n", rec.BootedImage)
	}
	fmt.Fprintf(w, "installed sequence number: %d\n", rec.Installed)
	if len(rec.Report) > 0 {
		fmt.Fprintf(w, "report (steps the reporting policies ask to record): %d\n", len(rec.Report))
		for _, e := range rec.Report {
			fmt.Fprintf(w, "  %s/%s %s %s [%s]\n", e.Procedure, e.Sequence, e.Command, strings.ToUpper(string(e.Result)), e.Policy)
		}
	}
	fmt.Fprintf(w, "RAM peak: %d of %d bytes; flash: %d bytes read, %d written, %d writes/erases; simulated time %v\n",
		rec.RAMPeak, rec.RAMBudget, rec.BytesRead, rec.BytesWritten, rec.FlashOps, rec.SimTime)
}

func parseOID(s string) (asn1.ObjectIdentifier, error) {
	var oid asn1.ObjectIdentifier
	for _, part := range strings.Split(s, ".") {
		n, err := strconv.Atoi(part)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q is not a number", part)
		}
		oid = append(oid, n)
	}
	if len(oid) < 2 {
		return nil, fmt.Errorf("an OID has at least two arcs")
	}
	return oid, nil
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}
