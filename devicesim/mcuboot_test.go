package devicesim

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// MCUboot's imgtool is the oracle for MCUboot images: every image these tests give the board is
// signed by it, never by our own code.
const imgtoolRun = "../../shared/tools/imgtool/run"

type mbTestKey struct {
	name string
	pem  []byte
	pub  crypto.PublicKey
}

// Keys and signed images are shared by the tests of one run: imgtool is half a second of Python
// per image (more on a loaded machine), and the tests need the same few images.
var (
	mbCacheMu sync.Mutex
	mbKeys    = map[string]mbTestKey{}
	mbImages  = map[mbJob][]byte{}
)

// mbTKey returns the test key name: "A" and "B" are P-256 keys, "E" an Ed25519 key, made once and
// kept as the PKCS#8 PEM imgtool reads.
func mbTKey(t testing.TB, name string) mbTestKey {
	t.Helper()
	mbCacheMu.Lock()
	defer mbCacheMu.Unlock()
	if k, ok := mbKeys[name]; ok {
		return k
	}
	var priv crypto.Signer
	if name == "E" {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		priv = k
	} else {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		priv = k
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	k := mbTestKey{name: name, pem: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), pub: priv.Public()}
	mbKeys[name] = k
	return k
}

// mbSign signs a body of n pseudo-random bytes as version ver with imgtool (header 0x200, padded
// header, for the 40 KiB secondary slot).
func mbSign(t testing.TB, k mbTestKey, ver string, seed uint32, n int) []byte {
	t.Helper()
	return mbSignMany(t, mbJob{k.name, ver, seed, n})[0]
}

type mbJob struct {
	key  string
	ver  string
	seed uint32
	n    int
}

// mbSignMany runs imgtool for each job not signed before, in parallel.
func mbSignMany(t testing.TB, jobs ...mbJob) [][]byte {
	t.Helper()
	if _, err := os.Stat(imgtoolRun); err != nil {
		t.Skipf("MCUboot's imgtool is not at %s: %v", imgtoolRun, err)
	}
	dir := t.TempDir()
	out := make([][]byte, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		mbCacheMu.Lock()
		img, ok := mbImages[j]
		mbCacheMu.Unlock()
		if ok {
			out[i] = bytes.Clone(img)
			continue
		}
		key := mbTKey(t, j.key)
		wg.Add(1)
		go func() {
			defer wg.Done()
			in, signed := filepath.Join(dir, fmt.Sprintf("body%d.bin", i)), filepath.Join(dir, fmt.Sprintf("signed%d.bin", i))
			kf := filepath.Join(dir, fmt.Sprintf("key%d.pem", i))
			if errs[i] = os.WriteFile(kf, key.pem, 0o600); errs[i] != nil {
				return
			}
			if errs[i] = os.WriteFile(in, testImage(j.seed, j.n), 0o644); errs[i] != nil {
				return
			}
			cmd := exec.Command(imgtoolRun, "sign", "--key", kf, "--version", j.ver, "--header-size", "0x200",
				"--slot-size", "0xa000", "--pad-header", in, signed)
			if b, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("imgtool sign: %v\n%s", err, b)
				return
			}
			if out[i], errs[i] = os.ReadFile(signed); errs[i] == nil {
				mbCacheMu.Lock()
				mbImages[j] = bytes.Clone(out[i])
				mbCacheMu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// mbHashTLV is the image's SHA-256 TLV as imgtool wrote it (found independently of the device
// code: the last 0x10/0x0020 TLV header in the file).
func mbHashTLV(t testing.TB, img []byte) []byte {
	t.Helper()
	i := bytes.LastIndex(img, []byte{0x10, 0x00, 0x20, 0x00})
	if i < 0 {
		t.Fatal("no SHA-256 TLV in the signed image")
	}
	return img[i+4 : i+36]
}

// mbDevice is a provisioned "mcuboot" board running factory (an imgtool image, or nil).
func mbDevice(t testing.TB, factory []byte, keys ...mbTestKey) *Device {
	t.Helper()
	d, err := New(Config{Board: BoardMCUboot})
	if err != nil {
		t.Fatal(err)
	}
	p := Provisioning{Image: factory}
	for i, k := range keys {
		p.TrustAnchors = append(p.TrustAnchors, TrustAnchor{Name: fmt.Sprintf("key %d", i), Key: k.pub})
	}
	if err := d.Provision(p); err != nil {
		t.Fatal(err)
	}
	if rec := d.Restart(); factory != nil && (rec.Outcome != Applied || !bytes.Equal(rec.BootedImage, mbHashTLV(t, factory))) {
		t.Fatalf("factory boot: %+v", rec)
	}
	return d
}

// mbRunning fails unless the device runs img (in test mode or not, as wanted).
func mbRunning(t testing.TB, d *Device, img []byte, test bool) {
	t.Helper()
	_, hash, isTest, ok := d.MCUbootRunning()
	if !ok || !bytes.Equal(hash, mbHashTLV(t, img)) || isTest != test {
		t.Fatalf("device runs %x (test %v, booted %v), want %x (test %v)", hash, isTest, ok, mbHashTLV(t, img), test)
	}
	// What the primary slot holds must be the image, byte for byte.
	pri := d.mb.primary
	if !bytes.Equal(d.Int.data[pri.Offset:pri.Offset+len(img)], img) {
		t.Fatal("the primary slot does not hold the image byte for byte")
	}
}

// Layout: the flash map is the documented one, and the largest image is 36 KiB.
func TestMCUbootLayout(t *testing.T) {
	d, err := New(Config{Board: BoardMCUboot})
	if err != nil {
		t.Fatal(err)
	}
	m := d.FlashMap()
	if len(m) != 3 || m[0].Offset != 0 || m[0].Size != 16<<10 || m[1].Offset != 0x4000 || m[1].Size != 44<<10 ||
		m[2].Offset != 0xF000 || m[2].Size != 40<<10 || d.Ext != nil {
		t.Fatalf("flash map %v", m)
	}
	if got := d.MCUbootMaxImageSize(); got != 36<<10 {
		t.Fatalf("max image %d", got)
	}
	if mbTrailerSz != 1584 {
		t.Fatalf("trailer %d bytes, MCUboot's boot_trailer_sz(4) with 128 sectors is 1584", mbTrailerSz)
	}
	if _, err := New(Config{Board: "zephyr"}); err == nil {
		t.Fatal("an unknown board was accepted")
	}
}

// sim run on the board: a test swap, the revert at the next reset, and every way an image can be
// bad (altered body, another key, the other signature type, not an MCUboot image at all).
func TestMCUbootTestSwapAndRevert(t *testing.T) {
	ka := mbTKey(t, "A")
	imgs := mbSignMany(t, mbJob{"A", "1.0.0", 1, 5000}, mbJob{"A", "1.2.3", 2, 9000})
	v1, v2 := imgs[0], imgs[1]
	d := mbDevice(t, v1, ka)

	var events []Event
	d.SetEventHandler(func(e Event) { events = append(events, e) })
	if err := d.Stage(v2); err != nil {
		t.Fatal(err)
	}
	rec := d.Update(nil)
	if rec.Outcome != Applied || !bytes.Equal(rec.BootedImage, mbHashTLV(t, v2)) {
		t.Fatalf("test swap: %+v", rec)
	}
	mbRunning(t, d, v2, true)
	for _, want := range []string{"image header magic ok", "hash TLV matches", "swap: sector 3/3", "move: sector 1/3"} {
		if !hasEvent(events, want) {
			t.Errorf("no %q step", want)
		}
	}
	events = nil
	rec = d.Restart()
	if rec.Outcome != Applied || !bytes.Equal(rec.BootedImage, mbHashTLV(t, v1)) || !hasEvent(events, "swap type") {
		t.Fatalf("revert: %+v", rec)
	}
	mbRunning(t, d, v1, false)
	if !hasArg(events, "revert: test image not confirmed") {
		t.Error("the revert is not shown as such")
	}
	// A third reset changes nothing.
	if rec := d.Restart(); !bytes.Equal(rec.BootedImage, mbHashTLV(t, v1)) {
		t.Fatalf("after the revert: %+v", rec)
	}
	mbRunning(t, d, v1, false)
}

func hasEvent(evs []Event, cmdPrefix string) bool {
	for _, e := range evs {
		if len(e.Command) >= len(cmdPrefix) && e.Command[:len(cmdPrefix)] == cmdPrefix {
			return true
		}
	}
	return false
}

func hasArg(evs []Event, prefix string) bool {
	for _, e := range evs {
		if len(e.Argument) >= len(prefix) && e.Argument[:len(prefix)] == prefix {
			return true
		}
	}
	return false
}

func TestMCUbootBadImagesNeverBoot(t *testing.T) {
	ka, ke := mbTKey(t, "A"), mbTKey(t, "E")
	imgs := mbSignMany(t, mbJob{"A", "1.0.0", 1, 5000}, mbJob{"A", "2.0.0", 2, 6000}, mbJob{"B", "2.0.0", 2, 6000},
		mbJob{"E", "2.0.0", 2, 6000}, mbJob{"E", "1.0.0", 7, 3000})
	v1, good, otherKey, edImage, e1 := imgs[0], imgs[1], imgs[2], imgs[3], imgs[4]
	flipped := bytes.Clone(good)
	flipped[0x200+100] ^= 0x01
	for _, c := range []struct {
		name string
		img  []byte
		want error
	}{
		{"body byte flipped", flipped, ErrPayloadDigest},
		{"signed by another key", otherKey, ErrSignature},
		{"Ed25519 image on a P-256 MCUboot", edImage, ErrSignature},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := mbDevice(t, v1, ka)
			if err := d.Stage(c.img); err != nil {
				t.Fatal(err)
			}
			rec := d.Update(nil)
			if rec.Outcome != Refused || !errors.Is(rec.Err, c.want) || !bytes.Equal(rec.BootedImage, mbHashTLV(t, v1)) {
				t.Fatalf("%+v (err %v)", rec, rec.Err)
			}
			mbRunning(t, d, v1, false)
			// MCUboot erased the invalid image: nothing is left to swap in, ever.
			sec := d.mb.secondary
			if !erasedBytes(d.Int.data[sec.Offset : sec.Offset+sec.Size]) {
				t.Fatal("the invalid image was not erased")
			}
			for i := 0; i < 2; i++ {
				mbRunning(t, d, v1, false)
				d.Restart()
			}
		})
	}
	t.Run("Ed25519 board", func(t *testing.T) {
		d := mbDevice(t, e1, ke)
		if err := d.Stage(good); err != nil {
			t.Fatal(err)
		}
		if rec := d.Update(nil); rec.Outcome != Refused || !errors.Is(rec.Err, ErrSignature) {
			t.Fatalf("a P-256 image on an Ed25519 MCUboot: %+v", rec)
		}
		if err := d.Stage(edImage); err != nil {
			t.Fatal(err)
		}
		if rec := d.Update(nil); rec.Outcome != Applied {
			t.Fatalf("an Ed25519 image: %+v", rec)
		}
		mbRunning(t, d, edImage, true)
	})
	t.Run("not an MCUboot image", func(t *testing.T) {
		d := mbDevice(t, v1, ka)
		env, _ := integratedEnvelope(t, 2, 2000)
		err := d.Stage(env)
		var se *StepError
		if !errors.As(err, &se) || se.Command != "image header magic" {
			t.Fatalf("a SUIT envelope staged on the mcuboot board: %v", err)
		}
	})
	t.Run("mixed key types", func(t *testing.T) {
		d, _ := New(Config{Board: BoardMCUboot})
		err := d.Provision(Provisioning{TrustAnchors: []TrustAnchor{{Name: "a", Key: ka.pub}, {Name: "e", Key: ke.pub}}})
		if !errors.Is(err, ErrNotProvisioned) {
			t.Fatalf("mixed keys: %v", err)
		}
	})
}

// A permanent swap needs no confirmation; an empty primary slot boots nothing until an image is
// swapped in.
func TestMCUbootPermanentAndEmpty(t *testing.T) {
	ka := mbTKey(t, "A")
	v2 := mbSign(t, ka, "2.0.0", 2, 6000)
	d := mbDevice(t, nil, ka)
	if rec := d.Restart(); rec.Outcome != NoBoot || !errors.Is(rec.Err, errMBNoImage) {
		t.Fatalf("empty device: %+v", rec)
	}
	if err := d.Stage(v2); err != nil {
		t.Fatal(err)
	}
	if err := d.mbSetNext(d.mb.secondary, false, true); err != nil {
		t.Fatal(err)
	}
	if rec := d.Restart(); rec.Outcome != Applied {
		t.Fatalf("permanent swap: %+v", rec)
	}
	mbRunning(t, d, v2, false)
	d.Restart()
	mbRunning(t, d, v2, false)
}

// mbCutEverywhere cuts the power at each flash write or erase of the boot that performs a swap
// (then, if second, at each operation of the resuming boot too) and checks that the device comes
// back as MCUboot does: it completes the swap and runs want (test mode as given), whose slot
// contents are intact. The one exception is MCUboot's too: a cut in the write of copy done (the
// last operation) that leaves the flag programmed makes a test swap look done and unconfirmed,
// so the next boot reverts to alt (nil: no exception expected).
func mbCutEverywhere(t *testing.T, setup func(t *testing.T) *Device, want []byte, wantTest bool, alt []byte, second bool) int {
	t.Helper()
	d := setup(t)
	before := d.FlashOps()
	if rec := d.Restart(); rec.Outcome != Applied {
		t.Fatalf("uncut run: %+v", rec)
	}
	n := d.FlashOps() - before
	if n < 10 {
		t.Fatalf("only %d flash operations in the swap", n)
	}
	for k := 1; k <= n; k++ {
		d := setup(t)
		d.PowerCutAt(k)
		rec := d.Restart()
		if rec.Outcome != PowerCut || !d.PoweredOff() {
			t.Fatalf("cut %d/%d: %+v", k, n, rec)
		}
		if second {
			// A second cut while MCUboot resumes: at the j-th operation of the resuming boot.
			for j := 1; ; j++ {
				snapIn := d.Int.Snapshot()
				d.PowerCutAt(j)
				rec = d.Restart()
				if rec.Outcome != PowerCut {
					break
				}
				if err := d.LoadFlashImages(snapIn, nil); err != nil {
					t.Fatal(err)
				}
				if j > 3*n {
					t.Fatalf("cut %d: the resume never ends", k)
				}
			}
		} else {
			rec = d.Restart()
		}
		if alt != nil && (k == n || second) && rec.Outcome == Applied && bytes.Equal(rec.BootedImage, mbHashTLV(t, alt)) &&
			d.mb.lastSwap == "revert" {
			mbRunning(t, d, alt, false)
			continue
		}
		if rec.Outcome != Applied || !bytes.Equal(rec.BootedImage, mbHashTLV(t, want)) {
			t.Fatalf("cut at operation %d/%d: after recovery %+v", k, n, rec)
		}
		mbRunning(t, d, want, wantTest)
	}
	return n
}

func TestMCUbootPowerCutAtEveryFlashOp(t *testing.T) {
	ka := mbTKey(t, "A")
	imgs := mbSignMany(t, mbJob{"A", "1.0.0", 1, 5000}, mbJob{"A", "1.2.3", 2, 9000})
	v1, v2 := imgs[0], imgs[1]
	base := mbDevice(t, v1, ka)
	if err := base.Stage(v2); err != nil {
		t.Fatal(err)
	}
	if err := base.mbSetNext(base.mb.secondary, false, false); err != nil {
		t.Fatal(err)
	}
	pending, _ := base.FlashImages()
	fromFlash := func(img []byte) func(t *testing.T) *Device {
		return func(t *testing.T) *Device {
			d, err := New(Config{Board: BoardMCUboot})
			if err != nil {
				t.Fatal(err)
			}
			if err := d.LoadFlashImages(img, nil); err != nil {
				t.Fatal(err)
			}
			return d
		}
	}
	// The test swap, cut at every operation.
	n := mbCutEverywhere(t, fromFlash(pending), v2, true, v1, false)
	t.Logf("test swap of a 9 KiB image: %d flash writes and erases, each cut recovered", n)
	// The revert of the unconfirmed test image, cut at every operation.
	d := fromFlash(pending)(t)
	d.Restart()
	testMode, _ := d.FlashImages()
	n = mbCutEverywhere(t, fromFlash(testMode), v1, false, nil, false)
	t.Logf("revert: %d flash writes and erases, each cut recovered", n)
	if !testing.Short() {
		mbCutEverywhere(t, fromFlash(pending), v2, true, v1, true)
		mbCutEverywhere(t, fromFlash(testMode), v1, false, nil, true)
	}
}

// The SUIT-only entry points answer the mcuboot board with an error, never a panic.
func TestMCUbootSUITOnlyCalls(t *testing.T) {
	d, err := New(Config{Board: BoardMCUboot})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.StateInfo(); !errors.Is(err, ErrUnsupported) {
		t.Fatalf("StateInfo: %v", err)
	}
	if _, _, ok := d.Installed(); ok {
		t.Fatal("Installed reports a SUIT manifest")
	}
	if err := d.RollbackSequence(1); err == nil {
		t.Fatal("RollbackSequence on the mcuboot board")
	}
	if rec := d.Verify(); rec.Outcome == Applied {
		t.Fatalf("Verify: %+v", rec)
	}
	if res := d.LoadCMS(CMSIdentity{}); res.Record.Outcome == Applied {
		t.Fatal("LoadCMS on the mcuboot board")
	}
	if d.MCUbootSummary() == "" || !d.IsMCUboot() {
		t.Fatal("no summary")
	}
}

// The long version: a power cut at every flash write and erase of the test swap of a 32 KiB image
// (and of its revert).
func TestMCUbootPowerCut32KiB(t *testing.T) {
	if testing.Short() {
		t.Skip("long: run by make test-long")
	}
	ka := mbTKey(t, "A")
	imgs := mbSignMany(t, mbJob{"A", "1.0.0", 1, 5000}, mbJob{"A", "2.0.0", 9, 32<<10 - 0x200 - 0x100})
	v1, big := imgs[0], imgs[1]
	base := mbDevice(t, v1, ka)
	if err := base.Stage(big); err != nil {
		t.Fatal(err)
	}
	if err := base.mbSetNext(base.mb.secondary, false, false); err != nil {
		t.Fatal(err)
	}
	pending, _ := base.FlashImages()
	fromFlash := func(img []byte) func(t *testing.T) *Device {
		return func(t *testing.T) *Device {
			d, err := New(Config{Board: BoardMCUboot})
			if err != nil {
				t.Fatal(err)
			}
			if err := d.LoadFlashImages(img, nil); err != nil {
				t.Fatal(err)
			}
			return d
		}
	}
	n := mbCutEverywhere(t, fromFlash(pending), big, true, v1, false)
	d := fromFlash(pending)(t)
	d.Restart()
	testMode, _ := d.FlashImages()
	m := mbCutEverywhere(t, fromFlash(testMode), v1, false, nil, false)
	t.Logf("32 KiB image: %d operations in the test swap, %d in the revert, each cut recovered", n, m)
}

// Whatever the secondary slot and its trailer hold, the boot loader and img_mgmt's reader answer
// with a verdict, never a panic or a write outside the slots.
func FuzzMCUbootSlot(f *testing.F) {
	ka := mbTKey(f, "A")
	imgs := mbSignMany(f, mbJob{"A", "1.0.0", 1, 5000}, mbJob{"A", "1.2.3", 2, 9000})
	v1, v2 := imgs[0], imgs[1]
	f.Add(v2, []byte(nil))
	f.Add(v2[:600], mbTrailerMagic)
	trailer := bytes.Repeat([]byte{0xff}, 64)
	copy(trailer[64-16:], mbTrailerMagic)
	trailer[64-40] = mbSwapTest
	f.Add(v2, trailer)
	f.Fuzz(func(t *testing.T, slot, tail []byte) {
		d := mbDevice(t, v1, ka)
		sec := d.mb.secondary
		if len(slot) > sec.Size {
			slot = slot[:sec.Size]
		}
		if len(tail) > 1024 {
			tail = tail[:1024]
		}
		copy(d.Int.data[sec.Offset:], slot)
		copy(d.Int.data[sec.Offset+sec.Size-len(tail):], tail)
		// A damaged primary trailer too: the status entries and swap size come from there.
		pri := d.mb.primary
		copy(d.Int.data[pri.Offset+pri.Size-len(tail):], tail)
		boot := append([]byte(nil), d.Int.data[:d.mb.bootloader.Size]...)
		d.mbReadInfo(sec)
		NewSMPDevice(d).ImageState()
		rec := d.Restart()
		if rec == nil {
			t.Fatal("no record")
		}
		if !bytes.Equal(d.Int.data[:d.mb.bootloader.Size], boot) {
			t.Fatal("the boot loader area was written")
		}
	})
}

// imgtool's own trailer is the oracle for the trailer layout: an image padded to the secondary
// slot with --pad --confirm (magic, image ok at MCUboot's offsets) and written there as is makes
// MCUboot do a permanent swap at the next reset, with no img_mgmt state write; --pad --test a
// test swap that reverts.
func TestMCUbootImgtoolPaddedTrailer(t *testing.T) {
	ka := mbTKey(t, "A")
	v1 := mbSign(t, ka, "1.0.0", 1, 5000)
	flags := []string{"--confirm", "--test"}
	padded := make([][]byte, len(flags))
	errs := make([]error, len(flags))
	dir := t.TempDir()
	kf, in := filepath.Join(dir, "k.pem"), filepath.Join(dir, "fw.bin")
	if err := os.WriteFile(kf, ka.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, testImage(5, 7000), 0o644); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i, flag := range flags {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := filepath.Join(dir, fmt.Sprintf("padded%d.bin", i))
			cmd := exec.Command(imgtoolRun, "sign", "--key", kf, "--version", "3.0.0", "--header-size", "0x200",
				"--slot-size", "0xa000", "--pad-header", "--align", "4", flag, in, out)
			if b, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("imgtool sign %s: %v\n%s", flag, err, b)
				return
			}
			padded[i], errs[i] = os.ReadFile(out)
		}()
	}
	wg.Wait()
	for i, flag := range flags {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		img, test := padded[i], flag == "--test"
		if len(img) != 0xa000 {
			t.Fatalf("%s: padded image of %d bytes", flag, len(img))
		}
		d := mbDevice(t, v1, ka)
		if err := d.Stage(img); err != nil {
			t.Fatal(err)
		}
		rec := d.Restart()
		if rec.Outcome != Applied || !bytes.Equal(rec.BootedImage, mbHashTLV(t, img)) {
			t.Fatalf("%s: %+v", flag, rec)
		}
		mbRunning(t, d, img[:d.mb.running.Size], test) // the image, without its padding
		want := img
		if test {
			want = v1
		}
		if rec := d.Restart(); !bytes.Equal(rec.BootedImage, mbHashTLV(t, want)) {
			t.Fatalf("%s, second reset: %+v", flag, rec)
		}
	}
}
