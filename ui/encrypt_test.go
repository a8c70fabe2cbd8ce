package ui

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/cose"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
	"github.com/suit-studio/suit-studio/signer"
)

// The editor's Encrypt payload helper on the MTI ESP256/ECDH/A128GCM template: the dialog
// proposes the profile's cipher, the encryption lands in the document as one undoable edit, the
// device key decrypts it, and signing picks the profile's ESP256.
func TestEncryptPayloadHelperMTI(t *testing.T) {
	s := newTestStudio(t)
	dir := t.TempDir()
	tpl := model.TemplateByID("mti-esp256-ecdh-a128gcm")
	if tpl == nil {
		t.Fatal("no MTI template")
	}
	s.NewFromTemplate(*tpl)
	s.Wait()

	f := s.encryptDialog()
	if f.alg.Selected != "a128gcm" || !strings.Contains(f.profile.Text, "suit-sha256-esp256-ecdh-a128gcm") {
		t.Fatalf("dialog proposes %q (%s)", f.alg.Selected, f.profile.Text)
	}
	f.dlg.Hide()

	dev, _ := ecdh.P256().GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(dev.PublicKey())
	pub := filepath.Join(dir, "device.pub.pem")
	os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600)
	img := bytes.Repeat([]byte("encrypted in the studio "), 200)
	imgFile := filepath.Join(dir, "fw.bin")
	os.WriteFile(imgFile, img, 0o600)

	var gotErr error
	s.EncryptPayload(EncryptRequest{Image: imgFile, Recipients: []string{pub}, Algorithm: f.alg.Selected}, func(err error) { gotErr = err })
	s.Wait()
	if gotErr != nil {
		t.Fatal(gotErr)
	}
	ps := app.FindEncryptedPayloads(s.doc.Envelope(), nil)
	if len(ps) != 1 || ps[0].Ciphertext == nil {
		t.Fatalf("encrypted payloads: %+v", ps)
	}
	app.DecryptPayloads(ps, []cose.DecryptionKey{{Private: dev}})
	if ps[0].DecryptErr != nil || !bytes.Equal(ps[0].Plaintext, img) {
		t.Fatalf("the device key does not decrypt the document's payload: %v", ps[0].DecryptErr)
	}
	if !strings.Contains(s.editor.status.Text, "Encrypted fw.bin with A128GCM for 1 recipient") {
		t.Errorf("status %q", s.editor.status.Text)
	}

	// Sign and export: the profile's ESP256, not the key's default ES256.
	key := fileKey(t)
	out := filepath.Join(dir, "enc.suit")
	var signErr error
	s.SignAndExport(SignRequest{KeyRef: key, Kind: exportEnvelope, Path: out}, func(err error) { signErr = err })
	s.Wait()
	if signErr != nil {
		t.Fatal(signErr)
	}
	data, _ := os.ReadFile(out)
	e, err := suit.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	m, err := cose.Parse(e.Auth.Blocks[0])
	if err != nil || m.Alg != cose.AlgESP256 {
		t.Fatalf("signed with alg %d (%v), want ESP256", m.Alg, err)
	}
	k, _ := signer.LoadFile(key)
	if err := m.VerifySignature(k.(signer.Key).Public().(*ecdsa.PublicKey), suit.EncodeDigest(&e.Auth.Digest)); err != nil {
		t.Fatal(err)
	}

	// Undo goes back past the signature and the encryption to the template's placeholder.
	s.undo()
	s.undo()
	if ps := app.FindEncryptedPayloads(s.doc.Envelope(), nil); len(ps) != 1 || ps[0].Parsed == nil || len(ps[0].Parsed.Recipients[0].EncryptedKey) != 0 {
		t.Fatal("undo did not restore the placeholder encryption-info")
	}

	// A recipient that does not fit the profile is refused, and the document is unchanged.
	kek := filepath.Join(dir, "kek.bin")
	os.WriteFile(kek, make([]byte, 16), 0o600)
	before := s.doc.Envelope()
	s.EncryptPayload(EncryptRequest{Image: imgFile, Recipients: []string{kek}}, func(err error) { gotErr = err })
	s.Wait()
	if gotErr == nil || !strings.Contains(gotErr.Error(), "needs ECDH-ES + A128KW") {
		t.Fatalf("a KEK recipient for an ECDH profile: %v", gotErr)
	}
	if s.doc.Envelope() != before {
		t.Error("a failed encryption changed the document")
	}
}

// The export dialog signs with an HMAC key file: a COSE_Mac0 block.
func TestSignExportWithHMACKey(t *testing.T) {
	s := newTestStudio(t)
	s.SetDocument(app.NewDocument(model.Example1(), s.State))
	dir := t.TempDir()
	key := filepath.Join(dir, "hmac.pem")
	if err := signer.GenerateMACFile(key); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "mac.suit")
	var signErr error
	s.SignAndExport(SignRequest{KeyRef: key, Kind: exportEnvelope, Path: out}, func(err error) { signErr = err })
	s.Wait()
	if signErr != nil {
		t.Fatal(signErr)
	}
	data, _ := os.ReadFile(out)
	e, err := suit.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	m, err := cose.Parse(e.Auth.Blocks[0])
	if err != nil || m.Tag != cose.TagMac0 {
		t.Fatalf("block tag %d (%v), want COSE_Mac0", m.Tag, err)
	}
	mk, _ := signer.LoadFile(key)
	if err := m.VerifyMAC(mk.(signer.MACKey).MACKey(), suit.EncodeDigest(&e.Auth.Digest)); err != nil {
		t.Fatal(err)
	}
}
