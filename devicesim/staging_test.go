package devicesim

import (
	"bytes"
	"errors"
	"testing"

	"github.com/suit-studio/suit-studio/codec/cms"
)

// TestRefusedStagingKeepsState: after an update, an envelope too large to stage is refused and the
// record shows what the device holds — the stored sequence number, the old image booted, a real
// RAM peak — not zeros (issue 9, item 12). A power cut while staging keeps the state too.
func TestRefusedStagingKeepsState(t *testing.T) {
	d := provisioned(t, Config{}, imgF, 0)
	env, img := integratedEnvelope(t, 9, 4096)
	if err := d.Stage(env); err != nil {
		t.Fatal(err)
	}
	if rec := d.Update(nil); rec.Outcome != Applied {
		t.Fatal(rec.Reason)
	}
	seqNr, _, _ := d.Installed()
	if seqNr == 0 {
		t.Fatalf("the integrated envelope should carry a non-zero sequence number")
	}
	err := d.Stage(make([]byte, 48<<10))
	if !errors.Is(err, ErrEnvelopeTooLarge) {
		t.Fatalf("staging 48 KiB: %v", err)
	}
	rec := d.RefuseStaging(err)
	if rec.Outcome != Refused || rec.Installed != seqNr || !rec.Booted || rec.RAMPeak == 0 || rec.RAMPeak > rec.RAMBudget {
		t.Fatalf("refused staging: outcome %s, installed %d (want %d), booted %v, RAM peak %d of %d",
			rec.Outcome, rec.Installed, seqNr, rec.Booted, rec.RAMPeak, rec.RAMBudget)
	}
	if rec.Failure == nil || rec.Failure.Command != "stage envelope" || !bytes.Equal(d.ComponentContent(0), img) {
		t.Fatalf("failure %+v; the old image must stay", rec.Failure)
	}

	res := d.RefuseCMSStaging(err, CMSIdentity{HWType: hwType})
	if res.Code != cms.InsufficientMemory || res.Report == nil || res.Record.Installed != seqNr {
		t.Fatalf("RFC 4108: code %s, report %d bytes, installed %d", res.Code, len(res.Report), res.Record.Installed)
	}

	d.PowerCutAt(1)
	err = d.Stage(env)
	if !errors.Is(err, ErrPowerCut) {
		t.Fatalf("power cut while staging: %v", err)
	}
	rec = d.RefuseStaging(err)
	if rec.Outcome != PowerCut || rec.Installed != seqNr {
		t.Fatalf("power cut while staging: outcome %s, installed %d (want %d)", rec.Outcome, rec.Installed, seqNr)
	}
	if b := d.Restart(); !b.Booted || b.Installed != seqNr {
		t.Fatalf("restart after the cut: %s %s", b.Outcome, b.Reason)
	}
}
