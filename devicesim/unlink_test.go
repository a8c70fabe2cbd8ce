package devicesim

import (
	"bytes"
	"strings"
	"testing"
)

// An update fetches image A into the download area [h'02']; a later manifest unlinks it: the
// component is marked unused at commit (with an event), a second unlink in the same manifest is
// skipped, and unlinking the boot image slot is ignored by device policy (the device still boots).
func TestUnlinkMarksComponentUnused(t *testing.T) {
	key := specPrivateKey(t)
	d := provisioned(t, Config{}, imgF, 0)
	pl := Payloads{"http://example.com/a.bin": imgA}
	fetch := tdManifest(1, nil, [][]byte{compID(2)}, sharedIdentity(), "",
		cU(20), cB(seq(cU(20), cMap(cU(3), digestParam(imgA), cU(14), cU(uint64(len(imgA))), cU(21), cT("http://example.com/a.bin")), cU(21), cU(2), cU(3), cU(15))))
	rec, log := runLogged(t, d, envelopeOf(t, fetch, key), pl)
	if rec.Outcome != Applied || !bytes.Equal(d.ComponentContent(2), imgA) {
		t.Fatalf("setup: %s %s (%d bytes in [h'02'])\n%s", rec.Outcome, rec.Reason, len(d.ComponentContent(2)), log)
	}
	shared := seq(cU(12), []byte{0xf5}, cU(20), identityParams(), cU(1), cU(15), cU(2), cU(15))
	unlink := tdManifest(2, nil, [][]byte{compID(0), compID(2)}, shared, "",
		cU(20), cB(seq(cU(12), cU(1), cU(33), cU(15), cU(33), cU(15), cU(12), cU(0), cU(33), cU(15))))
	rec, log = runLogged(t, d, envelopeOf(t, unlink, key), nil)
	if rec.Outcome != Applied {
		t.Fatalf("%s: %s\n%s", rec.Outcome, rec.Reason, log)
	}
	if n := len(d.ComponentContent(2)); n != 0 {
		t.Fatalf("[h'02'] still holds %d bytes after unlink\n%s", n, log)
	}
	for _, want := range []string{"reference count 1 -> 0", "already unlinked by this manifest", "the boot image slot is never left unused"} {
		if !strings.Contains(log, want) {
			t.Errorf("log does not say %q:\n%s", want, log)
		}
	}
	if !rec.Booted {
		t.Fatalf("the device does not boot after unlink: %s", rec.BootReason)
	}
	// The mark is in the state record: it survives a restart.
	if r := d.Restart(); !r.Booted || len(d.ComponentContent(2)) != 0 {
		t.Fatalf("after a restart: booted %v, [h'02'] holds %d bytes", r.Booted, len(d.ComponentContent(2)))
	}
}

// An unlink in an update that is then refused unlinks nothing: the mark is part of the commit.
func TestUnlinkAbortedUpdateKeepsComponent(t *testing.T) {
	key := specPrivateKey(t)
	d := provisioned(t, Config{}, imgF, 0)
	pl := Payloads{"http://example.com/a.bin": imgA}
	fetch := tdManifest(1, nil, [][]byte{compID(2)}, sharedIdentity(), "",
		cU(20), cB(seq(cU(20), cMap(cU(3), digestParam(imgA), cU(14), cU(uint64(len(imgA))), cU(21), cT("http://example.com/a.bin")), cU(21), cU(2), cU(3), cU(15))))
	if rec, log := runLogged(t, d, envelopeOf(t, fetch, key), pl); rec.Outcome != Applied {
		t.Fatalf("setup: %s\n%s", rec.Reason, log)
	}
	// unlink, then a condition that fails (image-match of [h'02'] against image B).
	bad := tdManifest(2, nil, [][]byte{compID(2)}, sharedIdentity(), "",
		cU(20), cB(seq(cU(33), cU(15), cU(20), cMap(cU(3), digestParam(imgB)), cU(3), cU(15))))
	rec, log := runLogged(t, d, envelopeOf(t, bad, key), nil)
	if rec.Outcome == Applied || !strings.Contains(log, "reference count 1 -> 0") {
		t.Fatalf("want an unlink, then a refusal\n%s", log)
	}
	if !bytes.Equal(d.ComponentContent(2), imgA) {
		t.Fatalf("an aborted update unlinked [h'02']\n%s", log)
	}
}
