package devicesim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	"github.com/suit-studio/suit-studio/model"
)

func otherKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type refusal struct {
	name   string
	setup  func(t *testing.T) (*Device, []byte, Payloads)
	want   error
	reason string
}

func TestRefusals(t *testing.T) {
	ex1 := func(t *testing.T) exampleCase { return patchedExample(t, 1) }
	std := func(t *testing.T, env []byte) *Device { return provisioned(t, Config{}, imgF, 0) }
	img := testImage(9, 1000)
	cases := []refusal{
		{"wrong trust anchor", func(t *testing.T) (*Device, []byte, Payloads) {
			c := ex1(t)
			d, _ := New(Config{})
			vid := model.VendorID("arm.com")
			cid, _ := model.ClassID(vid, "suit")
			if err := d.Provision(Provisioning{TrustAnchors: []TrustAnchor{{Name: "other", Key: &otherKey(t).PublicKey}}, VendorID: vid, ClassID: cid, Image: imgF}); err != nil {
				t.Fatal(err)
			}
			return d, c.env, c.payloads
		}, ErrSignature, "does not verify with any of the 1 ES256 trust anchor"},
		{"manifest digest mismatch", func(t *testing.T) (*Device, []byte, Payloads) {
			c := ex1(t)
			_, m := envelopeRanges(t, c.env)
			env := append([]byte(nil), c.env...)
			env[m.end-3] ^= 0x01 // inside the URI text of the install sequence
			return std(t, nil), env, c.payloads
		}, ErrManifestDigest, "manifest digest mismatch"},
		{"tampered signature", func(t *testing.T) (*Device, []byte, Payloads) {
			c := ex1(t)
			a, _ := envelopeRanges(t, c.env)
			env := append([]byte(nil), c.env...)
			env[a.end-10] ^= 0x40
			return std(t, nil), env, c.payloads
		}, ErrSignature, "signed by another key, or altered"},
		{"lower sequence number", func(t *testing.T) (*Device, []byte, Payloads) {
			c := ex1(t)
			return provisioned(t, Config{}, imgF, 7), c.env, c.payloads
		}, ErrRollback, "lower sequence number: manifest 1 is older than the installed 7"},
		{"wrong vendor id", func(t *testing.T) (*Device, []byte, Payloads) {
			c := ex1(t)
			d, _ := New(Config{})
			vid := model.VendorID("example.org")
			cid, _ := model.ClassID(model.VendorID("arm.com"), "suit")
			d.Provision(Provisioning{TrustAnchors: []TrustAnchor{{Key: specPublicKey(t)}}, VendorID: vid, ClassID: cid, Image: imgF})
			return d, c.env, c.payloads
		}, ErrVendorID, "wrong vendor ID"},
		{"wrong class id", func(t *testing.T) (*Device, []byte, Payloads) {
			c := ex1(t)
			d, _ := New(Config{})
			vid := model.VendorID("arm.com")
			cid, _ := model.ClassID(vid, "other-model")
			d.Provision(Provisioning{TrustAnchors: []TrustAnchor{{Key: specPublicKey(t)}}, VendorID: vid, ClassID: cid, Image: imgF})
			return d, c.env, c.payloads
		}, ErrClassID, "wrong class ID"},
		{"wrong device id", func(t *testing.T) (*Device, []byte, Payloads) {
			want := bytes.Repeat([]byte{0x11}, 16)
			shared := seq(cU(20), identityParams(cU(24), cB(want)), cU(1), cU(15), cU(2), cU(15), cU(24), cU(15))
			env := envelopeOf(t, manifestOf(1, [][]byte{compID(0)}, shared, cU(7), cB(seq(cU(3), cU(15)))), specPrivateKey(t))
			d, _ := New(Config{})
			vid := model.VendorID("arm.com")
			cid, _ := model.ClassID(vid, "suit")
			d.Provision(Provisioning{TrustAnchors: []TrustAnchor{{Key: specPublicKey(t)}}, VendorID: vid, ClassID: cid, DeviceID: bytes.Repeat([]byte{0x22}, 16), Image: imgF})
			return d, env, nil
		}, ErrDeviceID, "wrong device ID"},
		{"payload digest mismatch", func(t *testing.T) (*Device, []byte, Payloads) {
			c := ex1(t)
			bad := append([]byte(nil), imgA...)
			bad[100] ^= 1
			return std(t, nil), c.env, Payloads{"http://example.com/file.bin": bad}
		}, ErrPayloadDigest, "payload digest mismatch"},
		{"payload too large for the slot", func(t *testing.T) (*Device, []byte, Payloads) {
			c := ex1(t)
			return std(t, nil), c.env, Payloads{"http://example.com/file.bin": testImage(5, 40000)}
		}, ErrPayloadTooLarge, "payload too large for the slot: 40000 bytes"},
		{"image-size too large for the slot (example 3, slot B)", func(t *testing.T) (*Device, []byte, Payloads) {
			c := patchedExample(t, 3)
			d := provisioned(t, Config{ImageSlot: 1}, imgF, 0)
			return d, c.env, c.payloads
		}, ErrPayloadTooLarge, "payload too large for the slot: 76834 bytes"},
		{"unknown command", func(t *testing.T) (*Device, []byte, Payloads) {
			inst := seq(cU(20), cMap(cU(21), cT("#p")), cU(99), cU(15), cU(21), cU(2))
			env := envelopeOf(t, manifestOf(1, [][]byte{compID(0)}, sharedIdentity(), cU(7), cB(seq(cU(3), cU(15))), cU(20), cB(inst)), specPrivateKey(t), cT("#p"), cB(img))
			return std(t, nil), env, nil
		}, ErrUnknownCommand, "unknown command 99"},
		{"custom command", func(t *testing.T) (*Device, []byte, Payloads) {
			inst := seq(cN(-300), cU(0))
			env := envelopeOf(t, manifestOf(1, [][]byte{compID(0)}, sharedIdentity(), cU(20), cB(inst)), specPrivateKey(t))
			return std(t, nil), env, nil
		}, ErrUnknownCommand, "custom command -300"},
		{"unknown parameter", func(t *testing.T) (*Device, []byte, Payloads) {
			inst := seq(cU(20), cMap(cU(31), cU(1)))
			env := envelopeOf(t, manifestOf(1, [][]byte{compID(0)}, sharedIdentity(), cU(20), cB(inst)), specPrivateKey(t))
			return std(t, nil), env, nil
		}, ErrUnknownParameter, "unknown parameter 31"},
		{"more components than supported", func(t *testing.T) (*Device, []byte, Payloads) {
			shared := seq(cU(12), cTrue, cU(20), identityParams(), cU(1), cU(15), cU(2), cU(15))
			env := envelopeOf(t, manifestOf(1, [][]byte{compID(0), compID(1), compID(2), compID(3)}, shared), specPrivateKey(t))
			return std(t, nil), env, nil
		}, ErrTooManyComponents, "the manifest lists 4 components; this device supports 3"},
		{"unknown component", func(t *testing.T) (*Device, []byte, Payloads) {
			env := envelopeOf(t, manifestOf(1, [][]byte{compID(7)}, sharedIdentity()), specPrivateKey(t))
			return std(t, nil), env, nil
		}, ErrUnknownComponent, "component #0 [h'07'] is not on this device"},
		{"dependencies", func(t *testing.T) (*Device, []byte, Payloads) {
			common := cMap(cU(1), cMap(cU(1), cMap()), cU(2), cArr(compID(0), compID(1)), cU(4), cB(seq(cU(12), cU(0))))
			man := cMap(cU(1), cU(1), cU(2), cU(1), cU(3), cB(common))
			return std(t, nil), envelopeOf(t, man, specPrivateKey(t)), nil
		}, ErrDependencies, "declares dependencies"},
		{"unsigned envelope", func(t *testing.T) (*Device, []byte, Payloads) {
			return std(t, nil), readVector(t, "example1.unsigned.hex"), nil
		}, ErrUnsigned, "unsigned envelopes are refused"},
		{"manifest version 2", func(t *testing.T) (*Device, []byte, Payloads) {
			common := cMap(cU(2), cArr(compID(0)), cU(4), cB(sharedIdentity()))
			man := cMap(cU(1), cU(2), cU(2), cU(1), cU(3), cB(common))
			return std(t, nil), envelopeOf(t, man, specPrivateKey(t)), nil
		}, ErrVersion, "manifest version 2 is not supported"},
		{"severed install missing", func(t *testing.T) (*Device, []byte, Payloads) {
			c := patchedExample(t, 2)
			// Re-sign the severed form: drop envelope members 20 and 23.
			a, m := envelopeRanges(t, c.env)
			env := append([]byte{0xd8, 0x6b, 0xa2, 0x02}, c.env[a.off:a.end]...)
			env = append(env, 0x03)
			env = append(env, c.env[m.off:m.end]...)
			return std(t, nil), env, c.payloads
		}, ErrSeveredMissing, "install is severed"},
		{"severed install altered", func(t *testing.T) (*Device, []byte, Payloads) {
			c := patchedExample(t, 2)
			env := bytes.Replace(c.env, []byte("very/long"), []byte("verY/long"), 1)
			return std(t, nil), env, Payloads{"http://example.com/verY/long/path/to/file/file.bin": imgA}
		}, ErrSeveredDigest, "severed install digest mismatch"},
		{"duplicate integrated payload", func(t *testing.T) (*Device, []byte, Payloads) {
			env := envelopeOf(t, manifestOf(1, [][]byte{compID(0)}, sharedIdentity()), specPrivateKey(t), cT("#p"), cB(img), cT("#p"), cB(img))
			return std(t, nil), env, nil
		}, ErrMalformed, "integrated payload key repeated"},
		{"soft-failure outside try-each", func(t *testing.T) (*Device, []byte, Payloads) {
			inst := seq(cU(20), cMap(cU(13), cTrue))
			env := envelopeOf(t, manifestOf(1, [][]byte{compID(0)}, sharedIdentity(), cU(20), cB(inst)), specPrivateKey(t))
			return std(t, nil), env, nil
		}, ErrAbort, "soft-failure may only be set inside try-each or run-sequence"},
		{"fetch in the shared sequence", func(t *testing.T) (*Device, []byte, Payloads) {
			shared := seq(cU(20), identityParams(cU(21), cT("#p")), cU(1), cU(15), cU(2), cU(15), cU(21), cU(2))
			env := envelopeOf(t, manifestOf(1, [][]byte{compID(0)}, shared, cU(7), cB(seq(cU(3), cU(15)))), specPrivateKey(t), cT("#p"), cB(img))
			return std(t, nil), env, nil
		}, ErrInvalid, "fetch is not allowed in the shared sequence"},
		{"RAM budget exceeded", func(t *testing.T) (*Device, []byte, Payloads) {
			c := patchedExample(t, 2)
			return provisioned(t, Config{RAMBudget: 1200}, imgF, 0), c.env, c.payloads
		}, ErrInsufficientMemory, "insufficient memory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, env, pl := tc.setup(t)
			var evs []Event
			d.SetEventHandler(func(e Event) { evs = append(evs, e) })
			if err := d.Stage(env); err != nil {
				t.Fatal(err)
			}
			rec := d.Update(pl)
			if rec.Outcome != Refused {
				for _, e := range evs {
					t.Log(e)
				}
				t.Fatalf("outcome %s (%s), want refused", rec.Outcome, rec.Reason)
			}
			if !errors.Is(rec.Err, tc.want) {
				t.Errorf("error %v, want %v", rec.Err, tc.want)
			}
			if !strings.Contains(rec.Reason, tc.reason) {
				t.Errorf("reason %q does not say %q", rec.Reason, tc.reason)
			}
			if rec.Failure == nil || rec.Failure.Result != Fail {
				t.Errorf("no failing step in the record")
			}
			if !rec.Booted || !bytes.Equal(d.ComponentContent(0), imgF) {
				t.Errorf("the old image must still boot: booted=%v %s", rec.Booted, rec.BootReason)
			}
			if seq, _, _ := d.Installed(); seq != 0 && tc.want != ErrRollback {
				t.Errorf("stored sequence number changed to %d", seq)
			}
			if d.RAM.InUse() != 0 {
				t.Errorf("RAM leak: %+v", d.RAM.Live())
			}
		})
	}
}

// Power cut at every flash write and erase of an update: the device always boots a valid image
// afterwards, and the update succeeds when retried.
func TestPowerCutEverywhere(t *testing.T) {
	for _, n := range []int{1, 3, 2, 4, 5} {
		c := patchedExample(t, n)
		d := provisioned(t, Config{}, imgF, 0)
		before := d.FlashOps()
		if err := d.Stage(c.env); err != nil {
			t.Fatal(err)
		}
		if rec := d.Update(c.payloads); rec.Outcome != Applied {
			t.Fatalf("example %d: %s", n, rec.Reason)
		}
		total := d.FlashOps() - before
		if testing.Short() && n != 1 && n != 3 {
			continue
		}
		newCount, oldCount := 0, 0
		for cut := 1; cut <= total; cut++ {
			d := provisioned(t, Config{}, imgF, 0)
			d.PowerCutAt(cut)
			var rec *Record
			if err := d.Stage(c.env); err == nil {
				rec = d.Update(c.payloads)
				if rec.Outcome != PowerCut {
					t.Fatalf("example %d cut %d: outcome %s (%s)", n, cut, rec.Outcome, rec.Reason)
				}
			} else if !errors.Is(err, ErrPowerCut) {
				t.Fatalf("example %d cut %d: staging: %v", n, cut, err)
			}
			b := d.Restart()
			img := d.ComponentContent(0)
			switch {
			case !b.Booted:
				t.Fatalf("example %d cut %d/%d: the device does not boot: %s", n, cut, total, b.Reason)
			case bytes.Equal(img, imgF):
				oldCount++
			case bytes.Equal(img, c.wantBoot):
				newCount++
			default:
				t.Fatalf("example %d cut %d: the image slot holds neither the old nor the new image", n, cut)
			}
			if err := d.Stage(c.env); err != nil {
				t.Fatalf("example %d cut %d: restage: %v", n, cut, err)
			}
			if r := d.Update(c.payloads); r.Outcome != Applied || !bytes.Equal(d.ComponentContent(0), c.wantBoot) {
				t.Fatalf("example %d cut %d: retry: %s %s", n, cut, r.Outcome, r.Reason)
			}
		}
		t.Logf("example %d: %d power-cut points; %d boot the old image, %d the new one", n, total, oldCount, newCount)
	}
}

// Extension vectors the device cannot apply are refused with a reason, never ignored:
// firmware encryption (COSE_Mac0 blocks, unknown components,
// encryption-info).
func TestExtensionVectorsRefused(t *testing.T) {
	cases := map[string]error{
		// The trust-domains examples run: deps_test.go (TestTrustDomainsVectorsApply).
		"firmware-encryption/suit-manifest-aes-kw.signed.hex":             ErrUnsupported,
		"firmware-encryption/suit-manifest-es-ecdh-content.signed.hex":    ErrUnknownComponent,
		"firmware-encryption/suit-manifest-es-ecdh-dependency.signed.hex": ErrDependencies,
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			d := provisioned(t, Config{}, imgF, 0)
			if err := d.Stage(readVector(t, name)); err != nil {
				t.Fatal(err)
			}
			rec := d.Update(nil)
			t.Logf("%s", rec.Reason)
			if rec.Outcome != Refused || !rec.Booted {
				t.Fatalf("%s: %s", rec.Outcome, rec.Reason)
			}
			if !errors.Is(rec.Err, want) && !errors.Is(rec.Err, ErrSignature) {
				t.Errorf("error %v, want %v", rec.Err, want)
			}
		})
	}
}
