package devicesim

import (
	"crypto"
	"encoding/asn1"
	"errors"
	"fmt"
	"time"

	"github.com/suit-studio/suit-studio/codec/cms"
)

// The RFC 4108 path. The device takes a CMS firmware package (SignedData over
// id-ct-firmwarePackage) staged in its candidate area, exactly like an envelope, and checks it
// there with its own code (cmsverify.go): a DER walk over flash, the signed attributes and the
// eContent hashed in chunks from flash, every buffer and hash state charged to the RAM budget,
// never a copy of the package. It checks the signature against a trust anchor, the signed
// attributes, the target hardware and the stale version kept in the state area, takes the
// firmware in place (its eContent), commits, and answers with a load receipt or a load error
// (built by the codec/cms host library: the report is what the simulator shows, not device RAM).

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
	st, stBlk, err := d.loadBootState()
	if err != nil {
		return refuse(cms.OtherError, "read state", err)
	}
	defer stBlk.Free()
	// Device code: walk and verify the package where it lies in flash.
	k, signer, err := d.verifyCMS(st, d.candidate.Offset, d.staged, id)
	if k != nil {
		w := &derWalk{f: d.Int}
		pid := w.packageID(k)
		pkgName = &pid
		res.Package = &cms.Package{Attributes: cms.Attributes{ID: pid}, SubjectKeyID: d.readRange(k.ski)}
		if k.hasStale && !k.staleLegacy {
			res.Package.Stale = &cms.StaleVersion{Version: k.stale}
		}
	}
	if err != nil {
		code := cms.CodeOf(err)
		if errors.Is(err, ErrInsufficientMemory) {
			code = cms.InsufficientMemory
		}
		step := "verify package"
		switch code {
		case cms.WrongHardware:
			step = "check target hardware"
		case cms.StalePackage:
			step = "check stale version"
		}
		return refuse(code, step, err)
	}
	fwOff, fwLen := k.fw.c, k.fw.n
	p := res.Package
	emit("locate firmware", fmt.Sprintf("%d bytes at 0x%05x (eContent)", fwLen, fwOff), Pass, "")
	emit("verify signature", fmt.Sprintf("SignedData with trust anchor #%d, package %s", signer+1, p.ID), Pass, "")
	emit("check target hardware", fmt.Sprintf("%s among the package's targets", id.HWType), Pass, "")
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
	if k.hasStale && !k.staleLegacy {
		ns.hasStale, ns.stale = true, uint64(k.stale)
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
