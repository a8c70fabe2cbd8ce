package devicesim

import (
	"errors"

	"github.com/suit-studio/suit-studio/codec/cms"
)

// RefuseStaging reports a staging that did not complete: StageBegin or StageWrite refused it (an
// envelope larger than the candidate area) or the power failed while writing it. Nothing the
// device holds has changed, and the record says so the way every refusal does: the failed step,
// the old image booted again (unless the power is off), and the stored sequence number, RAM peak
// and flash counts of what the device really did.
func (d *Device) RefuseStaging(err error) *Record {
	d.beginPublic()
	base := d.startRun("staging")
	d.staged = -1
	rec := &Record{Outcome: Refused, Err: err, Reason: err.Error()}
	var se *StepError
	if errors.As(err, &se) && se.Reason != "" {
		rec.Reason = se.Reason
	}
	if errors.Is(err, ErrPowerCut) || d.off {
		rec.Outcome = PowerCut
		rec.Reason = "power cut while staging the envelope"
	}
	ev := d.emit(Event{Procedure: "staging", Command: "stage envelope", Result: Fail, Reason: rec.Reason})
	rec.Failure = &ev
	if rec.Outcome == Refused {
		d.bootAfterRefusal(rec)
	}
	if d.st == nil && !d.off {
		if st, err := d.readState(); err == nil {
			d.st = st
		}
	}
	return d.finishRecord(rec, base)
}

// bootAfterRefusal shows that the device still boots what it had.
func (d *Device) bootAfterRefusal(rec *Record) {
	b := d.boot()
	rec.Booted, rec.BootedImage, rec.BootReason = b.Booted, b.BootedImage, b.BootReason
	if b.Outcome == PowerCut {
		rec.Outcome = PowerCut
	}
}

// RefuseCMSStaging is RefuseStaging for an RFC 4108 firmware package: the device also answers
// with a load error (insufficientMemory for a package larger than the candidate area).
func (d *Device) RefuseCMSStaging(err error, id CMSIdentity) *CMSResult {
	rec := d.RefuseStaging(err)
	res := &CMSResult{Record: rec}
	if rec.Outcome != Refused {
		return res
	}
	code := cms.OtherError
	if errors.Is(err, ErrEnvelopeTooLarge) {
		code = cms.InsufficientMemory
	}
	res.Code = code
	le := &cms.LoadError{Version: 1, HWType: id.HWType, HWSerialNum: id.HWSerial, Code: code}
	if code == cms.OtherError {
		v := int64(1)
		le.VendorErrorCode = &v
	}
	res.Error = le
	res.Report = d.report(nil, le, id)
	d.emit(Event{Procedure: "staging", Command: "load error", Argument: code.String(), Result: Info})
	return res
}
