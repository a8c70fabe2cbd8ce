package devicesim

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
)

// The benchmark envelope of issue 6: a signed envelope whose install fetches a 32 KiB integrated
// payload ("#app", image-size 32768) into [h'00'] installs on the default 100 KiB device. Its
// candidate area (40 KiB) cannot hold the envelope and a second copy of the image: the payload is
// installed from inside the staged envelope.
func TestIntegrated32KiBInstallsInPlace(t *testing.T) {
	env, img := integratedEnvelope(t, 1, 32<<10)
	d := provisioned(t, Config{}, imgF, 0)
	if len(env) <= d.candidate.Size-16<<10 {
		t.Fatalf("the envelope (%d bytes) should not leave room for a staged copy of its image", len(env))
	}
	var evs []Event
	d.SetEventHandler(func(e Event) { evs = append(evs, e) })
	if err := d.Stage(env); err != nil {
		t.Fatal(err)
	}
	rec := d.Update(nil)
	if rec.Outcome != Applied || !rec.Booted {
		t.Fatalf("%s: %s", rec.Outcome, rec.Reason)
	}
	want := sha256.Sum256(img)
	got := sha256.Sum256(d.ComponentContent(0))
	if got != want || !bytes.Equal(rec.BootedImage, want[:]) {
		t.Fatalf("booted image %x, slot %x, want %x", rec.BootedImage, got, want)
	}
	var inPlace, checked bool
	for _, e := range evs {
		inPlace = inPlace || (e.Command == "fetch" && strings.Contains(e.Argument, "taken in place"))
		checked = checked || (e.Command == "install staged image" && strings.Contains(e.Argument, "slot checked"))
	}
	if !inPlace || !checked {
		t.Errorf("events do not show the in-place fetch (%v) and the checked install (%v)", inPlace, checked)
	}
	if rec.RAMPeak > rec.RAMBudget || d.RAM.InUse() != 0 {
		t.Errorf("RAM peak %d of %d, %d still in use", rec.RAMPeak, rec.RAMBudget, d.RAM.InUse())
	}
	t.Logf("envelope %d bytes, %d flash operations, RAM peak %d B, simulated %v", len(env), rec.FlashOps, rec.RAMPeak, rec.SimTime)

	// The same image fetched by URI is staged in the space after the (now small) envelope.
	img2 := testImage(2, 32<<10)
	shared := seq(cU(20), identityParams(cU(3), digestParam(img2), cU(14), cU(uint64(len(img2)))), cU(1), cU(15), cU(2), cU(15))
	man := manifestOf(2, [][]byte{compID(0)}, shared, cU(7), cB(seq(cU(3), cU(15))), cU(20), cB(installFetch("https://example.com/app.bin")))
	if err := d.Stage(envelopeOf(t, man, specPrivateKey(t))); err != nil {
		t.Fatal(err)
	}
	r := d.Update(Payloads{"https://example.com/app.bin": img2})
	if r.Outcome != Applied || !bytes.Equal(d.ComponentContent(0), img2) {
		t.Fatalf("update by URI: %s %s", r.Outcome, r.Reason)
	}
}

// Power cut at every flash write and erase of the 32 KiB in-place update (staging, commit, the
// boot loader's copy and state switch), and a second cut while the boot loader resumes: the
// device always boots the old or the new image, and the update taken again succeeds. Every index
// is cut (about 300), in -short mode too.
func TestPowerCutIntegrated32KiB(t *testing.T) {
	env, img := integratedEnvelope(t, 1, 32<<10)
	d := provisioned(t, Config{}, imgF, 0)
	before := d.FlashOps()
	if err := d.Stage(env); err != nil {
		t.Fatal(err)
	}
	if rec := d.Update(nil); rec.Outcome != Applied {
		t.Fatal(rec.Reason)
	}
	total := d.FlashOps() - before
	newSum, oldSum := sha256.Sum256(img), sha256.Sum256(imgF)
	var oldCount, newCount, resumed, doubleCuts int
	for cut := 1; cut <= total; cut++ {
		d := provisioned(t, Config{}, imgF, 0)
		var evs []Event
		d.SetEventHandler(func(e Event) { evs = append(evs, e) })
		d.PowerCutAt(cut)
		if err := d.Stage(env); err == nil {
			if rec := d.Update(nil); rec.Outcome != PowerCut {
				t.Fatalf("cut %d/%d: outcome %s (%s)", cut, total, rec.Outcome, rec.Reason)
			}
		} else if !errors.Is(err, ErrPowerCut) {
			t.Fatalf("cut %d: staging: %v", cut, err)
		}
		// A second cut during the restart, at a varying point of what the boot loader resumes.
		d.PowerCutAt(1 + cut%23)
		b := d.Restart()
		if b.Outcome == PowerCut {
			doubleCuts++
			b = d.Restart()
		}
		d.PowerCutAt(0)
		sum := sha256.Sum256(d.ComponentContent(0))
		switch {
		case !b.Booted:
			t.Fatalf("cut %d/%d: the device does not boot: %s", cut, total, b.Reason)
		case !bytes.Equal(b.BootedImage, sum[:]):
			t.Fatalf("cut %d: booted %x but the slot hashes to %x", cut, b.BootedImage, sum)
		case sum == oldSum:
			oldCount++
		case sum == newSum:
			newCount++
		default:
			t.Fatalf("cut %d: the image slot holds neither the old nor the new image", cut)
		}
		for _, e := range evs {
			if strings.Contains(e.Argument, "already in the slot") {
				resumed++
				break
			}
		}
		if err := d.Stage(env); err != nil {
			t.Fatalf("cut %d: restage: %v", cut, err)
		}
		r := d.Update(nil)
		if got := sha256.Sum256(d.ComponentContent(0)); r.Outcome != Applied || got != newSum {
			t.Fatalf("cut %d: retry: %s %s", cut, r.Outcome, r.Reason)
		}
		if d.RAM.InUse() != 0 {
			t.Fatalf("cut %d: RAM leak %+v", cut, d.RAM.Live())
		}
	}
	if oldCount == 0 || newCount == 0 || resumed == 0 || doubleCuts == 0 {
		t.Errorf("coverage: old %d, new %d, resumed with the copy done %d, double cuts %d", oldCount, newCount, resumed, doubleCuts)
	}
	t.Logf("%d power-cut points: %d boot the old image, %d the new one (%d finished a copy done before the cut); %d second cuts during the resume", total, oldCount, newCount, resumed, doubleCuts)
}

// The boot loader never erases the slot for a staged source that no longer hashes to the digest
// recorded at commit (here: the staged envelope is damaged after the commit, before the copy).
func TestBootRefusesDamagedStagedSource(t *testing.T) {
	env, _ := integratedEnvelope(t, 1, 32<<10)
	d := provisioned(t, Config{}, imgF, 0)
	afterCommit := -1
	d.SetEventHandler(func(e Event) {
		if e.Command == "commit" {
			afterCommit = d.FlashOps()
		}
	})
	if err := d.Stage(env); err != nil {
		t.Fatal(err)
	}
	start := d.FlashOps()
	d.Update(nil)
	if afterCommit < 0 {
		t.Fatal("no commit event")
	}
	d = provisioned(t, Config{}, imgF, 0)
	if err := d.Stage(env); err != nil {
		t.Fatal(err)
	}
	d.PowerCutAt(afterCommit - start + 1) // the boot loader's first erase of the slot
	if rec := d.Update(nil); rec.Outcome != PowerCut {
		t.Fatalf("%s %s", rec.Outcome, rec.Reason)
	}
	if err := d.TamperStaged(len(env) - 100); err != nil {
		t.Fatal(err)
	}
	slot := d.Int.Snapshot()[d.slot.Offset : d.slot.Offset+d.slot.Size]
	ops := d.FlashOps()
	b := d.Restart()
	if b.Booted || !errors.Is(b.Err, ErrPayloadDigest) || !strings.Contains(b.Reason, "slot was not touched") {
		t.Fatalf("booted %v: %v", b.Booted, b.Err)
	}
	if d.FlashOps() != ops || !bytes.Equal(d.Int.Snapshot()[d.slot.Offset:d.slot.Offset+d.slot.Size], slot) {
		t.Fatal("the boot loader wrote the slot")
	}
	t.Log(b.Reason)
}
