package app

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/suit-studio/suit-studio/codec/cose"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/devicesim"
	"github.com/suit-studio/suit-studio/model"
	"github.com/suit-studio/suit-studio/signer"
)

// TestMTIProfilesEndToEnd: every implemented profile of draft-ietf-suit-mti,
// from its template: encrypt an image into it with the profile's key exchange
// and content encryption, validate, sign with the profile's authentication
// algorithm, and let the simulated device (holding its own decryption key,
// and the MAC key or trust anchor) authenticate, decrypt and boot it. The
// manifest's COSE messages carry exactly the profile's algorithm ids.
func TestMTIProfilesEndToEnd(t *testing.T) {
	img := bytes.Repeat([]byte("MTI firmware image "), 500)
	want := sha256.Sum256(img)
	n := 0
	for _, p := range model.MTIProfiles() {
		if !p.Implemented {
			if p.TemplateID != "" {
				t.Errorf("%s: a template for a profile that cannot be signed", p.Name)
			}
			continue
		}
		n++
		t.Run(p.Name, func(t *testing.T) {
			tpl := model.TemplateByID(p.TemplateID)
			if tpl == nil {
				t.Fatalf("no template %s", p.TemplateID)
			}
			if got := model.MTIProfileForTemplate(tpl.ID); got == nil || got.Name != p.Name {
				t.Fatalf("template %s maps to profile %v", tpl.ID, got)
			}
			env := tpl.New()
			if _, err := suit.Encode(env); err != nil {
				t.Fatalf("the fresh template does not encode: %v", err)
			}
			if fs := suit.Validate(env); model.HasErrors(fs) {
				t.Fatalf("the fresh template has validation errors: %v", fs)
			}
			// Keys: the device's decryption key, and what authenticates the manifest.
			var spec cose.RecipientSpec
			var devKey devicesim.DeviceKey
			switch p.KeyExchange {
			case cose.AlgA128KW, cose.AlgA256KW:
				kek := make([]byte, map[int64]int{cose.AlgA128KW: 16, cose.AlgA256KW: 32}[p.KeyExchange])
				rand.Read(kek)
				spec, devKey = cose.RecipientSpec{Alg: p.KeyExchange, KEK: kek, KID: []byte("dev")}, devicesim.DeviceKey{Name: "kek", KEK: kek}
			default:
				curve := ecdh.P256()
				if p.Auth == cose.AlgEd25519 {
					curve = ecdh.X25519()
				}
				k, _ := curve.GenerateKey(rand.Reader)
				spec, devKey = cose.RecipientSpec{Alg: p.KeyExchange, Public: k.PublicKey()}, devicesim.DeviceKey{Name: "device", Private: k}
			}
			if err := CheckProfileRecipients(p, []cose.RecipientSpec{spec}); err != nil {
				t.Fatal(err)
			}
			if _, err := EncryptIntoEnvelope(env, img, p.Encryption, []cose.RecipientSpec{spec}); err != nil {
				t.Fatal(err)
			}
			if fs := suit.Validate(env); model.HasErrors(fs) {
				t.Fatalf("validation: %v", fs)
			}
			// The inspector's payload check: the ciphertext is covered by the signed manifest.
			for _, r := range suit.CheckPayloads(env) {
				if r.Status != suit.PayloadMatches {
					t.Fatalf("payload %s: %s: %s", r.Key, r.Status, r.Reason)
				}
			}
			data, err := suit.Encode(env)
			if err != nil {
				t.Fatal(err)
			}
			var key any
			var anchor any
			switch p.Auth {
			case cose.AlgHMAC256:
				mk := bytes.Repeat([]byte{0x5a}, 32)
				key, _ = signer.NewMACKey(mk, nil, "mac")
				devKeys := []devicesim.DeviceKey{devKey, {Name: "mac", MAC: mk}}
				other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader) // the device needs one anchor; it is not used
				anchor = &other.PublicKey
				runOnDevice(t, p, data, key, anchor, devKeys, want[:])
				return
			case cose.AlgESP256:
				k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
				key, _ = signer.NewKey(k, "p256")
				anchor = &k.PublicKey
			case cose.AlgEd25519:
				pub, priv, _ := ed25519.GenerateKey(rand.Reader)
				key, _ = signer.NewKey(priv, "ed25519")
				anchor = pub
			case cose.AlgHSSLMS:
				path := filepath.Join(t.TempDir(), "hss.pem")
				if err := signer.GenerateHSSFile(path, "h5-w8"); err != nil {
					t.Fatal(err)
				}
				k, err := signer.LoadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				key, anchor = k, k.(signer.Key).Public()
			}
			runOnDevice(t, p, data, key, anchor, []devicesim.DeviceKey{devKey}, want[:])
		})
	}
	if n != 6 {
		t.Fatalf("%d profiles implemented, want 6", n)
	}
}

func runOnDevice(t *testing.T, p model.MTIProfile, data []byte, key, anchor any, keys []devicesim.DeviceKey, want []byte) {
	t.Helper()
	unsigned, err := suit.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	// The studio picks the profile's algorithm for the key (ESP256, not ES256; Ed25519, not EdDSA).
	alg := SignAlgorithmFor(unsigned, key)
	if want := map[bool]int64{true: 0, false: p.Auth}[p.Auth == cose.AlgHMAC256]; alg != want {
		t.Fatalf("SignAlgorithmFor = %d, want %d", alg, want)
	}
	if a := SignAlgorithmFor(model.Example1(), key); a != 0 {
		t.Fatalf("SignAlgorithmFor(example 1) = %d, want the key's default", a)
	}
	signed, err := SignEnvelope(data, []any{key}, SignOptions{Algorithm: alg})
	if err != nil {
		t.Fatal(err)
	}
	// The COSE messages carry the profile's ids.
	e, err := suit.Decode(signed)
	if err != nil {
		t.Fatal(err)
	}
	m, err := cose.Parse(e.Auth.Blocks[0])
	if err != nil || m.Alg != p.Auth {
		t.Fatalf("auth block alg %d (%v), want %d", m.Alg, err, p.Auth)
	}
	ps := FindEncryptedPayloads(e, nil)
	if len(ps) != 1 || ps[0].Parsed == nil || ps[0].Parsed.Alg != p.Encryption || ps[0].Parsed.Recipients[0].Alg != p.KeyExchange {
		t.Fatalf("encryption info does not follow the profile: %+v", ps)
	}
	d, err := devicesim.New(devicesim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	vid := model.VendorID("arm.com")
	cid, _ := model.ClassID(vid, "suit")
	if err := d.Provision(devicesim.Provisioning{TrustAnchors: []devicesim.TrustAnchor{{Name: "author", Key: anchor}}, VendorID: vid, ClassID: cid}); err != nil {
		t.Fatal(err)
	}
	d.SetKeys(keys)
	var log bytes.Buffer
	d.SetEventHandler(func(e devicesim.Event) { fmt.Fprintln(&log, e) })
	if err := d.Stage(signed); err != nil {
		t.Fatal(err)
	}
	rec := d.Update(nil)
	if rec.Outcome != devicesim.Applied || !bytes.Equal(rec.BootedImage, want) {
		t.Fatalf("%s: %s\n%s", rec.Outcome, rec.Reason, log.String())
	}
	if !p.AEAD && !bytes.Contains(log.Bytes(), []byte("image-match")) {
		t.Errorf("no image-match before decryption for AES-CTR:\n%s", log.String())
	}
}
