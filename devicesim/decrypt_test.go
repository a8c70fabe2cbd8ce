package devicesim

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/suit-studio/suit-studio/codec/cose"
	"github.com/suit-studio/suit-studio/model"
)

const fePlain = "This is a real firmware image."

// feAliases maps the firmware-encryption examples' component names onto the device's.
var feAliases = map[string][]byte{
	"plaintext-firmware": {0x00}, "decrypted-firmware": {0x00}, "encrypted-firmware": {0x02},
}

// feKeys are the keys the draft publishes (§6 and the complete examples): the
// A128KW KEK 'aaaaaaaaaaaaaaaa' (kid-1), the P-256 receiver key (kid-2) and
// the HMAC key of 32 'a' that authenticates the AES-KW examples.
func feKeys(t testing.TB) []DeviceKey {
	d, err := ecdh.P256().NewPrivateKey(mustHex("60FE6DD6D85D5740A5349B6F91267EEAC5BA81B8CB53EE249E4B4EB102C476B3"))
	if err != nil {
		t.Fatal(err)
	}
	return []DeviceKey{
		{Name: "kek kid-1", KID: []byte("kid-1"), KEK: bytes.Repeat([]byte{'a'}, 16)},
		{Name: "receiver kid-2", KID: []byte("kid-2"), Private: d},
		{Name: "hmac", MAC: bytes.Repeat([]byte{'a'}, 32)},
	}
}

func feDevice(t testing.TB, keys []DeviceKey) *Device {
	t.Helper()
	d := provisioned(t, Config{ComponentAliases: feAliases}, imgF, 0)
	d.SetKeys(keys)
	return d
}

// TestDeviceDecryptsFirmwareEncryptionVectors runs the draft's example
// envelopes, as published (MAC or signature untouched), on the device: it
// authenticates them (COSE_Mac0 with its shared key, or ESP256), decrypts the
// payload in chunks with its own key and boots "This is a real firmware image.".
func TestDeviceDecryptsFirmwareEncryptionVectors(t *testing.T) {
	payload := readVector(t, "firmware-encryption/encrypted-payload-aes-kw-aes-gcm.hex")
	want := sha256.Sum256([]byte(fePlain))
	for _, name := range []string{"aes-kw-content", "aes-kw", "aes-kw-slot", "es-ecdh-content"} {
		t.Run(name, func(t *testing.T) {
			d := feDevice(t, feKeys(t))
			var log bytes.Buffer
			d.SetEventHandler(func(e Event) { fmt.Fprintln(&log, e) })
			if err := d.Stage(readVector(t, "firmware-encryption/suit-manifest-"+name+".signed.hex")); err != nil {
				t.Fatal(err)
			}
			rec := d.Update(Payloads{"coaps://example.com/encrypted-firmware": payload})
			if rec.Outcome != Applied {
				t.Fatalf("%s: %s\n%s", rec.Outcome, rec.Reason, log.String())
			}
			if !bytes.Equal(rec.BootedImage, want[:]) {
				t.Fatalf("booted %x, want the plaintext's digest %x\n%s", rec.BootedImage, want, log.String())
			}
			if !bytes.Contains(log.Bytes(), []byte("tag verified")) {
				t.Errorf("no decryption step in the log:\n%s", log.String())
			}
			t.Logf("RAM peak %d of %d bytes", rec.RAMPeak, rec.RAMBudget)
		})
	}
	// The dependency example (draft-ietf-suit-trust-domains, deps.go): the dependent sets the
	// encryption info, its dependency (signed with the spec key, trusted here only for that
	// dependency) writes and decrypts the firmware.
	t.Run("es-ecdh-dependency", func(t *testing.T) {
		// Its outer manifest is signed with the draft's dependent key.
		blk, _ := pem.Decode(readVector(t, "firmware-encryption/dependent_key_public.pem"))
		pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		d, err := New(Config{ComponentAliases: feAliases})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Provision(Provisioning{TrustAnchors: []TrustAnchor{{Name: "dependent", Key: pub},
			{Name: "spec", Key: specPublicKey(t), Scope: []string{"dependency-manifest.suit"}}}, VendorID: make([]byte, 16), ClassID: make([]byte, 16)}); err != nil {
			t.Fatal(err)
		}
		d.SetKeys(feKeys(t))
		var log strings.Builder
		d.SetEventHandler(func(e Event) {
			fmt.Fprintf(&log, "%s d%d %s %s %s %s\n", e.Sequence, e.Depth, e.Command, e.Argument, e.Result, e.Reason)
		})
		d.Stage(readVector(t, "firmware-encryption/suit-manifest-es-ecdh-dependency.signed.hex"))
		rec := d.Update(nil)
		if rec.Outcome != Applied || string(d.ComponentContent(0)) != fePlain {
			t.Fatalf("%s: %v %s\n%s", rec.Outcome, rec.Err, rec.Reason, log.String())
		}
		// The same envelope with the dependency key trusted for another dependency only is refused.
		d2, _ := New(Config{ComponentAliases: feAliases})
		d2.Provision(Provisioning{TrustAnchors: []TrustAnchor{{Name: "dependent", Key: pub},
			{Name: "spec", Key: specPublicKey(t), Scope: []string{"other.suit"}}}, VendorID: make([]byte, 16), ClassID: make([]byte, 16)})
		d2.SetKeys(feKeys(t))
		d2.Stage(readVector(t, "firmware-encryption/suit-manifest-es-ecdh-dependency.signed.hex"))
		if rec := d2.Update(nil); rec.Outcome != Refused || !errors.Is(rec.Err, ErrSignature) {
			t.Fatalf("%s: %v", rec.Outcome, rec.Err)
		}
	})
}

// TestDeviceRefusesWrongKeys: a device without the right key, or without the
// MAC key, refuses the update and keeps booting its factory image.
func TestDeviceRefusesWrongKeys(t *testing.T) {
	env := readVector(t, "firmware-encryption/suit-manifest-aes-kw-content.signed.hex")
	factory := sha256.Sum256(imgF)
	for _, tc := range []struct {
		name string
		keys []DeviceKey
		want error
	}{
		{"wrong KEK", []DeviceKey{{Name: "other", KEK: bytes.Repeat([]byte{'b'}, 16)}, {Name: "hmac", MAC: bytes.Repeat([]byte{'a'}, 32)}}, ErrDecryption},
		{"no KEK", []DeviceKey{{Name: "hmac", MAC: bytes.Repeat([]byte{'a'}, 32)}}, ErrDecryption},
		{"wrong MAC key", []DeviceKey{{Name: "hmac", MAC: bytes.Repeat([]byte{'b'}, 32)}}, ErrSignature},
		{"no MAC key", nil, ErrSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := feDevice(t, tc.keys)
			d.Stage(env)
			rec := d.Update(nil)
			if rec.Outcome != Refused || !errors.Is(rec.Err, tc.want) {
				t.Fatalf("%s: %v, want %v", rec.Outcome, rec.Err, tc.want)
			}
			if boot := d.Restart(); !bytes.Equal(boot.BootedImage, factory[:]) {
				t.Fatalf("after a refused update the device boots %x", boot.BootedImage)
			}
		})
	}
}

// encryptedEnvelope builds a signed envelope that fetches ciphertext from a
// URI into [h'02'] and decrypts it with copy into [h'00'] (§4.2), checking
// the plaintext with image-match afterwards (§7).
func encryptedEnvelope(t testing.TB, info []byte, plainDigestOf []byte, plainLen int) []byte {
	shared := append(seq(cU(12), cU(0)), sharedIdentity()[1:]...)
	shared[0] = 0x88 // one array: set-component-index 0 then the identity checks
	inst := seq(
		cU(12), cU(1), cU(20), cMap(cU(21), cT("http://example.com/fw.enc")), cU(21), cU(15),
		cU(12), cU(0), cU(20), cMap(cU(3), digestParam(plainDigestOf), cU(14), cU(uint64(plainLen)), cU(19), cB(info), cU(22), cU(1)),
		cU(22), cU(15), cU(3), cU(15))
	man := manifestOf(1, [][]byte{compID(0), compID(2)}, shared, cU(20), cB(inst))
	return envelopeOf(t, man, specPrivateKey(t))
}

// TestDeviceDecryptsEveryAlgorithm: a 32 KiB image encrypted by the host
// (codec/cose) for a P-256, an X25519 and an AES-KW recipient, with every
// content algorithm, is decrypted on the device by each recipient, in
// ChunkSize pieces within the 10 KiB RAM budget; with AEAD algorithms an
// altered ciphertext is refused and never installed.
func TestDeviceDecryptsEveryAlgorithm(t *testing.T) {
	img := testImage(7, 32<<10)
	p256, _ := ecdh.P256().GenerateKey(rand.Reader)
	x255, _ := ecdh.X25519().GenerateKey(rand.Reader)
	kek := make([]byte, 32)
	rand.Read(kek)
	devKeys := []DeviceKey{{Name: "p256", Private: p256}, {Name: "x25519", Private: x255}, {Name: "kek", KEK: kek}}
	specs := []cose.RecipientSpec{
		{Alg: cose.AlgECDHESA128KW, Public: p256.PublicKey()},
		{Alg: cose.AlgECDHESA256KW, Public: x255.PublicKey()},
		{Alg: cose.AlgA256KW, KEK: kek},
	}
	want := sha256.Sum256(img)
	factory := sha256.Sum256(imgF)
	for _, alg := range []int64{cose.AlgA128GCM, cose.AlgA256GCM, cose.AlgChaCha20Poly1305, cose.AlgA128CTR, cose.AlgA256CTR} {
		info, ct, err := cose.EncryptDetached(cose.EncryptOptions{ContentAlg: alg, Recipients: specs}, img)
		if err != nil {
			t.Fatal(err)
		}
		env := encryptedEnvelope(t, info, img, len(img))
		for ki, k := range devKeys {
			t.Run(fmt.Sprintf("%s/%s", cose.AlgorithmName(alg), k.Name), func(t *testing.T) {
				d := feDevice(t, []DeviceKey{k})
				if err := d.Stage(env); err != nil {
					t.Fatal(err)
				}
				var log bytes.Buffer
				d.SetEventHandler(func(e Event) { fmt.Fprintln(&log, e) })
				rec := d.Update(Payloads{"http://example.com/fw.enc": ct})
				if rec.Outcome != Applied || !bytes.Equal(rec.BootedImage, want[:]) {
					t.Fatalf("%s: %s\n%s", rec.Outcome, rec.Reason, log.String())
				}
				if !bytes.Contains(log.Bytes(), []byte(fmt.Sprintf("recipient %d", ki))) {
					t.Errorf("recipient %d not used:\n%s", ki, log.String())
				}
				if rec.RAMPeak > rec.RAMBudget {
					t.Fatalf("RAM peak %d over budget %d", rec.RAMPeak, rec.RAMBudget)
				}
			})
		}
		a, _ := cose.LookupContentAlgorithm(alg)
		t.Run(cose.AlgorithmName(alg)+"/altered", func(t *testing.T) {
			bad := bytes.Clone(ct)
			bad[len(bad)/2] ^= 0x01
			d := feDevice(t, devKeys)
			d.Stage(env)
			rec := d.Update(Payloads{"http://example.com/fw.enc": bad})
			wantErr := ErrDecryption // the tag
			if !a.AEAD {
				wantErr = ErrPayloadDigest // CTR: the plaintext's image-match after decryption
			}
			if rec.Outcome != Refused || !errors.Is(rec.Err, wantErr) {
				t.Fatalf("%s: %v, want %v", rec.Outcome, rec.Err, wantErr)
			}
			if boot := d.Restart(); !bytes.Equal(boot.BootedImage, factory[:]) {
				t.Fatalf("the device boots %x after a refused update", boot.BootedImage)
			}
		})
	}
}

// TestDeviceDecryptWriteDirective: the ciphertext carried in the manifest
// (content parameter) is decrypted by write (§4.1).
func TestDeviceDecryptWriteDirective(t *testing.T) {
	img := []byte("a small configuration blob for the write directive")
	kek := bytes.Repeat([]byte{7}, 16)
	info, ct, err := cose.EncryptDetached(cose.EncryptOptions{ContentAlg: cose.AlgA128GCM, Recipients: []cose.RecipientSpec{{Alg: cose.AlgA128KW, KEK: kek, KID: []byte("k")}}}, img)
	if err != nil {
		t.Fatal(err)
	}
	inst := seq(cU(12), cU(0), cU(20), cMap(cU(3), digestParam(img), cU(18), cB(ct), cU(19), cB(info)), cU(18), cU(15), cU(3), cU(15))
	env := envelopeOf(t, manifestOf(1, [][]byte{compID(0)}, sharedIdentity(), cU(20), cB(inst)), specPrivateKey(t))
	d := feDevice(t, []DeviceKey{{Name: "k", KID: []byte("k"), KEK: kek}})
	d.Stage(env)
	rec := d.Update(nil)
	want := sha256.Sum256(img)
	if rec.Outcome != Applied || !bytes.Equal(rec.BootedImage, want[:]) {
		t.Fatalf("%s: %s", rec.Outcome, rec.Reason)
	}
}

// BenchmarkDeviceDecrypt32KiB: a whole update whose 32 KiB image is fetched
// encrypted and decrypted on the device (ECDH-ES + A128KW, P-256).
func BenchmarkDeviceDecrypt32KiB(b *testing.B) {
	img := testImage(9, 32<<10)
	p256, _ := ecdh.P256().GenerateKey(rand.Reader)
	for _, alg := range []int64{cose.AlgA128GCM, cose.AlgChaCha20Poly1305, cose.AlgA128CTR} {
		info, ct, err := cose.EncryptDetached(cose.EncryptOptions{ContentAlg: alg, Recipients: []cose.RecipientSpec{{Alg: cose.AlgECDHESA128KW, Public: p256.PublicKey()}}}, img)
		if err != nil {
			b.Fatal(err)
		}
		env := encryptedEnvelope(b, info, img, len(img))
		b.Run(cose.AlgorithmName(alg), func(b *testing.B) {
			d := feDevice(b, []DeviceKey{{Name: "p256", Private: p256}})
			var peak int
			var sim float64
			b.ReportAllocs()
			for b.Loop() {
				if err := d.Stage(env); err != nil {
					b.Fatal(err)
				}
				rec := d.Update(Payloads{"http://example.com/fw.enc": ct})
				if rec.Outcome != Applied {
					b.Fatal(rec.Reason)
				}
				peak = max(peak, rec.RAMPeak)
				sim = rec.SimTime.Seconds()
			}
			b.ReportMetric(float64(peak), "ram-peak-B")
			b.ReportMetric(sim, "sim-s/update")
		})
	}
}

var _ = model.ParamEncryptionInfo

// FuzzParseEncInfo: the device's own COSE_Encrypt reader never panics on hostile bytes, and what
// it accepts has ranges inside the input.
func FuzzParseEncInfo(f *testing.F) {
	for _, v := range []string{"aes-kw-aes-gcm", "aes-kw-aes-ctr", "es-ecdh-aes-gcm", "es-ecdh-aes-ctr"} {
		f.Add(readVector(f, "firmware-encryption/suit-encryption-info-"+v+".hex"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _, _, recips, err := parseEncInfo(data)
		if err != nil {
			return
		}
		for _, r := range recips {
			if len(r.wrapped) > len(data) || len(r.ephX) > len(data) {
				t.Fatal("a range outside the input")
			}
		}
	})
}

// TestPowerCutEncryptedUpdate: a power cut at every flash write or erase of an encrypted update
// (AES-GCM, 8 KiB, fetched then decrypted by copy) leaves a device that boots the old image or
// the new one, never a half-decrypted image, and that takes the update afterwards.
func TestPowerCutEncryptedUpdate(t *testing.T) {
	img := testImage(11, 8<<10)
	kek := bytes.Repeat([]byte{3}, 16)
	info, ct, err := cose.EncryptDetached(cose.EncryptOptions{ContentAlg: cose.AlgA128GCM, Recipients: []cose.RecipientSpec{{Alg: cose.AlgA128KW, KEK: kek}}}, img)
	if err != nil {
		t.Fatal(err)
	}
	env := encryptedEnvelope(t, info, img, len(img))
	pl := Payloads{"http://example.com/fw.enc": ct}
	keys := []DeviceKey{{Name: "kek", KEK: kek}}
	d := feDevice(t, keys)
	before := d.FlashOps()
	d.Stage(env)
	if rec := d.Update(pl); rec.Outcome != Applied {
		t.Fatal(rec.Reason)
	}
	total := d.FlashOps() - before
	newSum, oldSum := sha256.Sum256(img), sha256.Sum256(imgF)
	var oldCount, newCount int
	for cut := 1; cut <= total; cut++ {
		d := feDevice(t, keys)
		d.PowerCutAt(cut)
		if err := d.Stage(env); err == nil {
			if rec := d.Update(pl); rec.Outcome != PowerCut {
				t.Fatalf("cut %d/%d: outcome %s (%s)", cut, total, rec.Outcome, rec.Reason)
			}
		}
		d.PowerCutAt(0)
		b := d.Restart()
		sum := sha256.Sum256(d.ComponentContent(0))
		switch {
		case !b.Booted:
			t.Fatalf("cut %d/%d: the device does not boot: %s", cut, total, b.Reason)
		case sum == oldSum:
			oldCount++
		case sum == newSum:
			newCount++
		default:
			t.Fatalf("cut %d/%d: the image slot holds neither the old nor the new image", cut, total)
		}
		d.Stage(env)
		if r := d.Update(pl); r.Outcome != Applied || sha256.Sum256(d.ComponentContent(0)) != newSum {
			t.Fatalf("cut %d: retry: %s %s", cut, r.Outcome, r.Reason)
		}
	}
	if oldCount == 0 || newCount == 0 {
		t.Errorf("cuts gave %d old and %d new images of %d flash operations", oldCount, newCount, total)
	}
	t.Logf("%d flash operations: %d cuts left the old image, %d the new one", total, oldCount, newCount)
}
