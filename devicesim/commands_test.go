package devicesim

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/suit-studio/suit-studio/model"
)

// run provisions a fresh device, stages env and runs the update; it returns the record and events.
func run(t *testing.T, env []byte, pl Payloads) (*Device, *Record, []Event) {
	t.Helper()
	d := provisioned(t, Config{}, imgF, 0)
	var evs []Event
	d.SetEventHandler(func(e Event) { evs = append(evs, e) })
	if err := d.Stage(env); err != nil {
		t.Fatal(err)
	}
	rec := d.Update(pl)
	if d.RAM.InUse() != 0 {
		t.Errorf("RAM leak: %+v", d.RAM.Live())
	}
	return d, rec, evs
}

func logEvents(t *testing.T, evs []Event) {
	for _, e := range evs {
		t.Log(e)
	}
}

// Integrated payload ("#name" in the envelope), write + check-content on external storage,
// try-each whose first alternative fails a condition with soft-failure, then the null alternative.
func TestIntegratedPayloadTryEachWriteCheckContent(t *testing.T) {
	img := testImage(11, 5000)
	cfg := []byte("config v2")
	alt1 := seq(cU(20), cMap(cU(5), cU(1)), cU(5), cU(5)) // slot 1: fails on slot-0 device
	alt2 := seq(cU(20), cMap(cU(21), cT("#app")))
	inst := seq(
		cU(12), cU(0), cU(15), cArr(cB(alt1), cB(alt2), cB(alt2)), cU(21), cU(2), cU(3), cU(15),
		cU(12), cU(1), cU(20), cMap(cU(18), cB(cfg)), cU(18), cU(2), cU(6), cU(15),
		cU(12), cU(0), cU(15), cArr(cB(seq(cU(14), cU(0))), cNull),
	)
	shared := seq(cU(12), cTrue, cU(20), identityParams(cU(3), digestParam(img)), cU(1), cU(15), cU(2), cU(15))
	val := seq(cU(12), cU(0), cU(3), cU(15))
	man := manifestOf(1, [][]byte{compID(0), compID(2)}, shared, cU(7), cB(val), cU(20), cB(inst))
	env := envelopeOf(t, man, specPrivateKey(t), cT("#app"), cB(img))
	d, rec, evs := run(t, env, nil)
	if rec.Outcome != Applied {
		logEvents(t, evs)
		t.Fatalf("%s: %s", rec.Outcome, rec.Reason)
	}
	if !bytes.Equal(d.ComponentContent(0), img) {
		t.Error("image slot does not hold the integrated payload")
	}
	if !bytes.HasPrefix(d.ComponentContent(2), cfg) {
		t.Error("download area does not hold the written content")
	}
	var sawSoft, sawNull, sawSkipped bool
	for _, e := range evs {
		sawSoft = sawSoft || (e.Command == "try-each" && strings.Contains(e.Reason, "soft-failure: trying the next alternative"))
		sawNull = sawNull || (e.Command == "try-each" && strings.Contains(e.Argument, "empty (null), succeeds"))
		sawSkipped = sawSkipped || (e.Command == "try-each" && e.Result == Skipped)
	}
	if !sawSoft || !sawNull || !sawSkipped {
		logEvents(t, evs)
		t.Errorf("try-each events: soft=%v null=%v skipped=%v", sawSoft, sawNull, sawSkipped)
	}
}

// try-each: an alternative that sets soft-failure False makes a failed condition fail try-each.
func TestTryEachSoftFailureFalse(t *testing.T) {
	alt1 := seq(cU(20), cMap(cU(13), cFals), cU(14), cU(0))
	alt2 := seq(cU(20), cMap(cU(5), cU(0)))
	inst := seq(cU(15), cArr(cB(alt1), cB(alt2)))
	env := envelopeOf(t, manifestOf(1, [][]byte{compID(0)}, sharedIdentity(), cU(20), cB(inst)), specPrivateKey(t))
	_, rec, evs := run(t, env, nil)
	if rec.Outcome != Refused || !errors.Is(rec.Err, ErrAbort) {
		logEvents(t, evs)
		t.Fatalf("%s %v", rec.Outcome, rec.Err)
	}
}

// run-sequence: with soft-failure True a failed condition halts the sub-sequence and processing
// continues; with the default (False) it fails the procedure.
func TestRunSequenceSoftFailure(t *testing.T) {
	soft := seq(cU(20), cMap(cU(13), cTrue), cU(14), cU(0), cU(18), cU(0))
	inst := seq(cU(32), cB(soft))
	env := envelopeOf(t, manifestOf(1, [][]byte{compID(0)}, sharedIdentity(), cU(20), cB(inst)), specPrivateKey(t))
	_, rec, evs := run(t, env, nil)
	if rec.Outcome != Applied {
		logEvents(t, evs)
		t.Fatalf("soft run-sequence: %s %s", rec.Outcome, rec.Reason)
	}
	hard := seq(cU(14), cU(0))
	env = envelopeOf(t, manifestOf(1, [][]byte{compID(0)}, sharedIdentity(), cU(20), cB(seq(cU(32), cB(hard)))), specPrivateKey(t))
	_, rec, _ = run(t, env, nil)
	if rec.Outcome != Refused || !errors.Is(rec.Err, ErrAbort) {
		t.Fatalf("hard run-sequence: %s %v", rec.Outcome, rec.Err)
	}
}

// set-component-index true and arrays run commands once per component, in order; run-sequence
// with index True runs once per component.
func TestComponentIndexTrueAndArray(t *testing.T) {
	a, b := testImage(21, 3000), testImage(22, 4000)
	shared := seq(cU(12), cTrue, cU(20), identityParams(), cU(1), cU(15), cU(2), cU(15),
		cU(12), cU(0), cU(20), cMap(cU(3), digestParam(a), cU(21), cT("#a")),
		cU(12), cU(1), cU(20), cMap(cU(3), digestParam(b), cU(21), cT("#b")))
	inst := seq(cU(12), cArr(cU(1), cU(0)), cU(21), cU(2), cU(12), cTrue, cU(32), cB(seq(cU(3), cU(15))))
	val := seq(cU(12), cTrue, cU(3), cU(15))
	man := manifestOf(1, [][]byte{compID(0), compID(1)}, shared, cU(7), cB(val), cU(20), cB(inst))
	env := envelopeOf(t, man, specPrivateKey(t), cT("#a"), cB(a), cT("#b"), cB(b))
	d, rec, evs := run(t, env, nil)
	if rec.Outcome != Applied {
		logEvents(t, evs)
		t.Fatalf("%s %s", rec.Outcome, rec.Reason)
	}
	if !bytes.Equal(d.ComponentContent(0), a) || !bytes.Equal(d.ComponentContent(1), b) {
		t.Error("components do not hold their payloads")
	}
	var order []string
	for _, e := range evs {
		if e.Sequence == "install" && e.Command == "fetch" {
			order = append(order, e.Component[:2])
		}
	}
	if strings.Join(order, ",") != "#1,#0" {
		t.Errorf("fetch order %v, want #1,#0 (array order)", order)
	}
}

// swap exchanges two images through the staging regions, so a power cut cannot lose either.
func TestSwap(t *testing.T) {
	a, b := testImage(31, 3000), testImage(32, 5000)
	d := provisioned(t, Config{}, a, 0)
	// put b into [h'01'] first with an update
	shared := seq(cU(12), cTrue, cU(20), identityParams(), cU(1), cU(15), cU(2), cU(15))
	inst := seq(cU(12), cU(1), cU(20), cMap(cU(21), cT("#b")), cU(21), cU(2))
	env := envelopeOf(t, manifestOf(1, [][]byte{compID(0), compID(1)}, shared, cU(20), cB(inst)), specPrivateKey(t), cT("#b"), cB(b))
	d.Stage(env)
	if rec := d.Update(nil); rec.Outcome != Applied {
		t.Fatal(rec.Reason)
	}
	inst = seq(cU(12), cU(0), cU(20), cMap(cU(22), cU(1)), cU(31), cU(2))
	val := seq(cU(12), cU(0), cU(20), cMap(cU(3), digestParam(b)), cU(3), cU(15), cU(12), cU(1), cU(20), cMap(cU(3), digestParam(a)), cU(3), cU(15))
	env = envelopeOf(t, manifestOf(2, [][]byte{compID(0), compID(1)}, shared, cU(7), cB(val), cU(20), cB(inst)), specPrivateKey(t))
	d.Stage(env)
	if rec := d.Update(nil); rec.Outcome != Applied {
		t.Fatal(rec.Reason)
	}
	if !bytes.Equal(d.ComponentContent(0), b) || !bytes.Equal(d.ComponentContent(1), a) {
		t.Error("swap did not exchange the images")
	}
}

// strict-order False: a component that is both source and target aborts (§6.7).
func TestStrictOrderConflict(t *testing.T) {
	// [h'00'] is copied into [h'01'], then [h'01'] into [h'00']: #0 is both source and target.
	inst := seq(cU(12), cU(1), cU(20), cMap(cU(22), cU(0)), cU(12), cU(0), cU(20), cMap(cU(22), cU(1)),
		cU(20), cMap(cU(12), cFals), cU(12), cU(1), cU(22), cU(2), cU(12), cU(0), cU(22), cU(2))
	env := envelopeOf(t, manifestOf(1, [][]byte{compID(0), compID(1), compID(2)}, seq(cU(12), cTrue, cU(20), identityParams(), cU(1), cU(15), cU(2), cU(15)), cU(20), cB(inst)), specPrivateKey(t))
	d := provisioned(t, Config{}, imgF, 0)
	d.Stage(env)
	rec := d.Update(nil)
	if rec.Outcome != Refused || !strings.Contains(rec.Reason, "both the source and the target") {
		t.Fatalf("%s: %s", rec.Outcome, rec.Reason)
	}
}

// Ed25519 trust anchors verify EdDSA/Ed25519 signatures; a COSE_Mac0 block is refused clearly.
func TestEd25519AndMac(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	manifest := manifestOf(1, [][]byte{compID(0)}, sharedIdentity(), cU(7), cB(seq(cU(20), cMap(cU(3), digestParam(imgF)), cU(3), cU(15))))
	mb := cB(manifest)
	dg := digestOf(mb)
	d := cArr(cN(-16), cB(dg))
	prot := cB(cMap(cU(1), cN(-19)))
	tbs := cArr(cT("Signature1"), prot, cB(nil), cB(d))
	sig := ed25519.Sign(priv, tbs)
	sign1 := append([]byte{0xd2}, cArr(prot, cMap(), cNull, cB(sig))...)
	env := append([]byte{0xd8, 0x6b}, cMap(cU(2), cB(cArr(cB(d), cB(sign1))), cU(3), mb)...)

	dev, _ := New(Config{})
	vid := model.VendorID("arm.com")
	cid, _ := model.ClassID(vid, "suit")
	if err := dev.Provision(Provisioning{TrustAnchors: []TrustAnchor{{Key: specPublicKey(t)}, {Key: pub}}, VendorID: vid, ClassID: cid, Image: imgF}); err != nil {
		t.Fatal(err)
	}
	dev.Stage(env)
	if rec := dev.Update(nil); rec.Outcome != Applied {
		t.Fatalf("Ed25519: %s %s", rec.Outcome, rec.Reason)
	}
	mac0 := append([]byte{0xd1}, cArr(cB(cMap(cU(1), cU(5))), cMap(), cNull, cB(make([]byte, 32)))...)
	env = append([]byte{0xd8, 0x6b}, cMap(cU(2), cB(cArr(cB(d), cB(mac0))), cU(3), mb)...)
	dev.Stage(env)
	if rec := dev.Update(nil); rec.Outcome != Refused || !strings.Contains(rec.Reason, "COSE_Mac") {
		t.Fatalf("Mac0: %s %s", rec.Outcome, rec.Reason)
	}
}

// Flash behaves like NOR: writing a 1 over a 0 fails; erase restores 0xFF; counters count.
func TestFlashNOR(t *testing.T) {
	d, _ := New(Config{})
	f := d.Int
	if err := f.Write(0, []byte{0x0F}); err != nil {
		t.Fatal(err)
	}
	if err := f.Write(0, []byte{0xF0}); !errors.Is(err, ErrFlash) {
		t.Fatalf("writing 1 over 0: %v", err)
	}
	if err := f.Write(0, []byte{0x05}); err != nil {
		t.Fatalf("clearing more bits: %v", err)
	}
	if err := f.EraseSector(0); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	f.ReadAt(b, 0)
	er, wr := f.SectorCounts()
	if b[0] != 0xFF || er[0] != 1 || wr[0] != 2 {
		t.Fatalf("after erase: %x, erases %d writes %d", b[0], er[0], wr[0])
	}
}

// The state area survives a torn write: the older copy stays in force.
func TestStateTornWrite(t *testing.T) {
	d := provisioned(t, Config{}, imgF, 4)
	for cut := 1; cut <= 20; cut++ {
		d.PowerCutAt(cut)
		err := d.RollbackSequence(2)
		d.Restart()
		seq, _, ok := d.Installed()
		if !ok || (seq != 4 && seq != 2) {
			t.Fatalf("cut %d: state %d %v", cut, seq, ok)
		}
		if err == nil {
			break
		}
		if seq != 4 {
			t.Fatalf("cut %d: a torn state write took effect", cut)
		}
	}
}

func TestCancel(t *testing.T) {
	c := patchedExample(t, 1)
	d := provisioned(t, Config{}, imgF, 0)
	d.Stage(c.env)
	n := 0
	d.SetCancel(func() error {
		n++
		if n > 3 {
			return errors.New("user pressed stop")
		}
		return nil
	})
	rec := d.Update(c.payloads)
	if rec.Outcome != Refused || !strings.Contains(rec.Reason, "stopped: user pressed stop") || !rec.Booted {
		t.Fatalf("%s %s", rec.Outcome, rec.Reason)
	}
}

// A shared sequence without vendor and class checks is processed but flagged (SHOULD, §6.2).
func TestSharedWithoutIdentityChecks(t *testing.T) {
	shared := seq(cU(20), cMap(cU(3), digestParam(imgF)))
	env := envelopeOf(t, manifestOf(1, [][]byte{compID(0)}, shared, cU(7), cB(seq(cU(3), cU(15)))), specPrivateKey(t))
	_, rec, evs := run(t, env, nil)
	if rec.Outcome != Applied {
		t.Fatalf("%s %s", rec.Outcome, rec.Reason)
	}
	warned := 0
	for _, e := range evs {
		if e.Command == "check shared sequence" && strings.Contains(e.Reason, "SHOULD, §6.2") {
			warned++
		}
	}
	if warned != 2 { // once in the update, once at boot
		t.Fatalf("warnings: %d", warned)
	}
}
