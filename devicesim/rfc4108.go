package devicesim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"

	"github.com/suit-studio/suit-studio/codec/cms"
)

// The RFC 4108 path. The device takes a CMS firmware package (SignedData over
// id-ct-firmwarePackage) staged in its candidate area, exactly like an envelope. It walks the
// outer DER itself, over flash, to find the firmware octets (device code: a TLV reader with a
// 6-byte head buffer, never copying the firmware), then checks the signature and the signed
// attributes with codec/cms (host library code: it decodes the package held in Go memory, so its
// allocations are NOT charged to the RAM budget; a fixed CMSVerifyCtxSize is charged instead),
// checks the target hardware and the stale version kept in the state area, streams the firmware
// into the staging region, commits, and answers with a load receipt or a load error.

// CMSVerifyCtxSize is what the device charges for checking a SignedData: the signed attributes
// (up to ~ 512 B kept to hash them as a SET), a SHA-256 context and the P-256 verify context.
const CMSVerifyCtxSize = 512 + SHA256CtxSize + P256VerifyCtxSize

// CMSIdentity is the device's RFC 4108 identity.
type CMSIdentity struct {
	HWType   asn1.ObjectIdentifier // hardware module type (must be among the package's targets)
	HWSerial []byte                // serial number, reported in receipts
	// ReportKey signs load receipts and errors (nil: unsigned ContentInfo).
	ReportKey crypto.Signer
}

// CMSResult is what the device answers to a firmware package.
type CMSResult struct {
	Record  *Record
	Package *cms.Package  // decoded package (nil when it did not decode)
	Code    cms.ErrorCode // 0 on success
	Report  []byte        // DER: load receipt on success, load error on refusal (nil after a power cut)
	Receipt *cms.LoadReceipt
	Error   *cms.LoadError
}

// derTLV reads one DER head at off in flash: tag, content offset and length.
func derTLV(f *Flash, off, end int) (tag byte, cOff, cLen int, err error) {
	var h [6]byte
	n := min(6, end-off)
	if n < 2 {
		return 0, 0, 0, fmt.Errorf("DER item at byte %d runs past the end", off)
	}
	if err := f.ReadAt(h[:n], off); err != nil {
		return 0, 0, 0, err
	}
	tag = h[0]
	l := int(h[1])
	cOff = off + 2
	if l&0x80 != 0 {
		k := l & 0x7f
		if k == 0 || k > 4 || 2+k > n {
			return 0, 0, 0, fmt.Errorf("DER length at byte %d is indefinite or too long", off)
		}
		l = 0
		for i := 0; i < k; i++ {
			l = l<<8 | int(h[2+i])
		}
		cOff += k
	}
	if l < 0 || cOff+l > end {
		return 0, 0, 0, fmt.Errorf("DER item at byte %d (length %d) runs past the end", off, l)
	}
	return tag, cOff, l, nil
}

// locateFirmware walks ContentInfo → SignedData → encapContentInfo → eContent in flash.
func (d *Device) locateFirmware(base, size int) (off, n int, err error) {
	f := d.Int
	end := base + size
	step := func(off, end int, want byte, what string) (int, int, error) {
		tag, c, l, err := derTLV(f, off, end)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %w", what, err)
		}
		if tag != want {
			return 0, 0, fmt.Errorf("%s: tag 0x%02x, want 0x%02x", what, tag, want)
		}
		return c, l, nil
	}
	c, l, err := step(base, end, 0x30, "ContentInfo")
	if err != nil {
		return 0, 0, err
	}
	ciEnd := c + l
	oc, ol, err := step(c, ciEnd, 0x06, "ContentInfo.contentType")
	if err != nil {
		return 0, 0, err
	}
	c, l, err = step(oc+ol, ciEnd, 0xa0, "ContentInfo.content")
	if err != nil {
		return 0, 0, err
	}
	c, l, err = step(c, c+l, 0x30, "SignedData")
	if err != nil {
		return 0, 0, err
	}
	sdEnd := c + l
	vc, vl, err := step(c, sdEnd, 0x02, "SignedData.version")
	if err != nil {
		return 0, 0, err
	}
	dc, dl, err := step(vc+vl, sdEnd, 0x31, "SignedData.digestAlgorithms")
	if err != nil {
		return 0, 0, err
	}
	c, l, err = step(dc+dl, sdEnd, 0x30, "SignedData.encapContentInfo")
	if err != nil {
		return 0, 0, err
	}
	eEnd := c + l
	tc, tl, err := step(c, eEnd, 0x06, "encapContentInfo.eContentType")
	if err != nil {
		return 0, 0, err
	}
	c, l, err = step(tc+tl, eEnd, 0xa0, "encapContentInfo.eContent")
	if err != nil {
		return 0, 0, err
	}
	return step(c, c+l, 0x04, "eContent OCTET STRING")
}

// LoadCMS processes the staged RFC 4108 firmware package.
func (d *Device) LoadCMS(id CMSIdentity) *CMSResult {
	d.beginPublic()
	base := d.startRun("rfc4108")
	res := &CMSResult{Record: &Record{}}
	rec := res.Record
	emit := func(cmd, arg string, r Result, reason string) Event {
		return d.emit(Event{Procedure: "rfc4108", Sequence: "firmware package", Command: cmd, Argument: arg, Result: r, Reason: reason})
	}
	var pkgName *cms.PackageID
	refuse := func(code cms.ErrorCode, cmd string, err error) *CMSResult {
		res.Code = code
		rec.Err = err
		rec.Reason = fmt.Sprintf("%s: %v", code, err)
		ev := emit(cmd, "", Fail, rec.Reason)
		rec.Failure = &ev
		if errors.Is(err, ErrPowerCut) || d.off {
			rec.Outcome = PowerCut
			d.finishRecord(rec, base)
			return res
		}
		rec.Outcome = Refused
		le := &cms.LoadError{Version: 1, HWType: id.HWType, HWSerialNum: id.HWSerial, Code: code, PackageName: pkgName}
		if code == cms.OtherError {
			v := int64(1)
			le.VendorErrorCode = &v
		}
		res.Error = le
		res.Report = d.report(nil, le, id)
		emit("load error", code.String(), Info, "")
		b := d.boot()
		rec.Booted, rec.BootedImage, rec.BootReason = b.Booted, b.BootedImage, b.BootReason
		d.finishRecord(rec, base)
		return res
	}
	if d.staged < 0 {
		return refuse(cms.MissingContent, "read package", errors.New("no package is staged"))
	}
	st, err := d.readState()
	if err != nil {
		return refuse(cms.OtherError, "read state", err)
	}
	d.st = st
	d.syncLengths()
	// Device code: find the firmware in flash.
	fwOff, fwLen, err := d.locateFirmware(d.candidate.Offset, d.staged)
	if err != nil {
		return refuse(cms.DecodeFailure, "locate firmware", err)
	}
	emit("locate firmware", fmt.Sprintf("%d bytes at 0x%05x (eContent)", fwLen, fwOff), Pass, "")
	// Host library: verify SignedData and its attributes.
	ctx, err := d.RAM.alloc("CMS verify context", CMSVerifyCtxSize, false)
	if err != nil {
		return refuse(cms.InsufficientMemory, "verify signature", err)
	}
	pkg := make([]byte, d.staged)
	if err := d.Int.ReadAt(pkg, d.candidate.Offset); err != nil {
		ctx.Free()
		return refuse(cms.OtherError, "read package", err)
	}
	var trust cms.Trust
	for _, a := range st.anchors {
		switch a.kind {
		case anchorP256:
			x, y := elliptic.Unmarshal(elliptic.P256(), a.key) //nolint:staticcheck
			if x != nil {
				trust.Keys = append(trust.Keys, &ecdsa.PublicKey{Curve: elliptic.P256(), X: x, Y: y})
			}
		case anchorEd25519:
			trust.Keys = append(trust.Keys, ed25519.PublicKey(a.key))
		}
	}
	opts := cms.VerifyOptions{Trust: trust, HardwareType: id.HWType, HardwareSerial: id.HWSerial}
	if st.hasStale {
		// Stale versions are per package identifier (RFC 4108 §2.2.3), but the boot state keeps
		// one stale number without its fwPkgID (state.go): it is applied to the package being
		// loaded, which is right for this single-image device as long as it runs one package
		// identifier.
		if cp, _ := cms.Parse(pkg); cp != nil && cp.ID.OID != nil {
			opts.Stale = []cms.StaleEntry{{ID: cp.ID.OID, Version: int64(min(st.stale, 1<<62))}}
		}
	}
	d.clock += P256VerifyTime
	d.chargeHash(fwLen)
	p, err := cms.Verify(pkg, opts)
	ctx.Free()
	res.Package = p
	if p != nil {
		id := p.ID
		pkgName = &id
	}
	if err != nil {
		code := cms.CodeOf(err)
		step := "verify package"
		switch code {
		case cms.WrongHardware:
			step = "check target hardware"
		case cms.StalePackage:
			step = "check stale version"
		}
		return refuse(code, step, err)
	}
	emit("verify signature", fmt.Sprintf("SignedData with a trust anchor, package %s", p.ID), Pass, "")
	emit("check target hardware", fmt.Sprintf("%s among %v", id.HWType, p.Targets), Pass, "")
	if st.hasStale {
		emit("check stale version", fmt.Sprintf("version %d, stale %d", p.ID.Version, st.stale), Pass, "")
	}
	// Install: the firmware is installed from where it lies in the staged package (its eContent,
	// covered by the signature just checked); the commit records that range and its digest, and
	// the boot loader copies it into the slot (resumably, see installPending).
	if fwLen > d.slot.Size {
		return refuse(cms.InsufficientMemory, "install", fmt.Errorf("firmware of %d bytes does not fit: the slot takes %d", fwLen, d.slot.Size))
	}
	fwHash, err := d.regionDigest(d.Int, fwOff, fwLen)
	if err != nil {
		return refuse(cms.OtherError, "install", err)
	}
	emit("stage firmware", fmt.Sprintf("%d bytes taken in place at 0x%05x (not copied)", fwLen, fwOff), Pass, "")
	ns := st.clone()
	ns.pending = 1
	ns.candOff[0], ns.candLen[0], ns.candHash[0] = uint32(fwOff), uint32(fwLen), fwHash
	ns.manDigest = [32]byte{}
	if p.Stale != nil && p.Stale.Legacy == nil {
		ns.hasStale, ns.stale = true, uint64(p.Stale.Version)
	}
	d.evProc = "rfc4108"
	if err := d.writeState(ns, nil); err != nil {
		return refuse(cms.OtherError, "commit", err)
	}
	d.st = ns
	emit("commit", fmt.Sprintf("install %s at boot", p.ID), Pass, "")
	b := d.boot()
	rec.Booted, rec.BootedImage, rec.BootReason = b.Booted, b.BootedImage, b.BootReason
	if b.Outcome == PowerCut {
		rec.Outcome = PowerCut
		d.finishRecord(rec, base)
		return res
	}
	rec.Outcome = Applied
	r := &cms.LoadReceipt{Version: 1, HWType: id.HWType, HWSerialNum: id.HWSerial, PackageName: p.ID, TrustAnchorKeyID: p.SubjectKeyID}
	res.Receipt = r
	res.Report = d.report(r, nil, id)
	emit("load receipt", p.ID.String(), Info, "")
	d.finishRecord(rec, base)
	return res
}

func (d *Device) report(r *cms.LoadReceipt, le *cms.LoadError, id CMSIdentity) []byte {
	var out []byte
	var err error
	// The simulated device has no real-time clock: no signing-time attribute.
	if r != nil {
		out, err = cms.EncodeReceipt(r, id.ReportKey, time.Time{}, cms.SignOptions{})
	} else {
		out, err = cms.EncodeLoadError(le, id.ReportKey, time.Time{}, cms.SignOptions{})
	}
	if err != nil {
		d.emit(Event{Procedure: "rfc4108", Command: "report", Result: Fail, Reason: err.Error()})
		return nil
	}
	return out
}
