package ui

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/cms"
	"github.com/suit-studio/suit-studio/signer"
)

const (
	cmsFwID    = "1.3.6.1.4.1.99999.1.1"
	cmsTarget1 = "1.3.6.1.4.1.99999.2.1"
	cmsTarget2 = "1.3.6.1.4.1.99999.2.2"
	cmsOther   = "1.3.6.1.4.1.99999.2.9"
)

// cmsPackage signs a package with a new file key and returns it with the key's public key file.
func cmsPackage(t *testing.T, firmware []byte) (der []byte, pubFile string) {
	t.Helper()
	dir := t.TempDir()
	key := filepath.Join(dir, "signer.pem")
	if err := signer.GenerateFile(key, signer.P256); err != nil {
		t.Fatal(err)
	}
	pem, err := app.ExportPublicKey(context.Background(), key, app.FormatPEM, "", signer.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pubFile = filepath.Join(dir, "signer.pub.pem")
	if err := os.WriteFile(pubFile, pem, 0o644); err != nil {
		t.Fatal(err)
	}
	der, err = app.CreateCMS(context.Background(), app.CMSCreateRequest{
		Image: firmware, FirmwareID: cmsFwID, Version: 7, Targets: []string{cmsTarget1, cmsTarget2},
		Description: "sensor firmware 7", KeyRef: key,
	}, signer.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return der, pubFile
}

func showInspector(t *testing.T, data []byte, opts CMSInspectorOptions) *CMSInspector {
	t.Helper()
	test.NewTempApp(t)
	v := NewCMSInspector(data, opts)
	v.Wait() // before showing: the test driver runs fyne.Do on the calling goroutine
	w := test.NewTempWindow(t, v)
	w.Resize(fyne.NewSize(1000, 800))
	return v
}

func TestCMSInspectorValidPackage(t *testing.T) {
	der, pub := cmsPackage(t, bytes.Repeat([]byte{0xA5}, 4096))
	if !LooksLikeCMS(der) {
		t.Fatal("LooksLikeCMS refuses a firmware package")
	}
	v := showInspector(t, der, CMSInspectorOptions{Source: "sensor.cms", TrustPaths: []string{pub}, HardwareType: cmsTarget2})
	if v.verdictTitle != "Valid firmware package" || v.code != 0 {
		t.Fatalf("verdict %q: %s", v.verdictTitle, v.detail.Text)
	}
	txt := canvasText(v)
	for _, want := range []string{
		"sensor.cms",
		"firmware package", cmsFwID + ", version 7",
		"target hardware", cmsTarget1, cmsTarget2,
		`"sensor firmware 7"`,
		"4096 bytes of firmware",
		"signer", "subjectKeyIdentifier",
		"Valid firmware package",
	} {
		if !strings.Contains(txt, want) {
			t.Errorf("the inspector does not show %q:\n%s", want, txt)
		}
	}
}

func TestCMSInspectorWrongHardware(t *testing.T) {
	der, pub := cmsPackage(t, []byte("firmware image"))
	v := showInspector(t, der, CMSInspectorOptions{TrustPaths: []string{pub}, HardwareType: cmsTarget1})
	if v.code != 0 {
		t.Fatalf("verdict %q", v.verdictTitle)
	}
	// The same package checked as a device of other hardware.
	v.hardware.SetText(cmsOther)
	test.Tap(v.verifyBtn)
	v.Wait()
	if v.code != cms.WrongHardware || !strings.Contains(v.verdictTitle, "wrongHardware") {
		t.Fatalf("verdict %q (%v)", v.verdictTitle, v.code)
	}
	txt := canvasText(v)
	if !strings.Contains(txt, "wrongHardware (error code 27)") || !strings.Contains(txt, "What this means") || !strings.Contains(txt, cmsTarget1) {
		t.Errorf("view:\n%s", txt)
	}
	// Stale version: the device refuses version 7 and older.
	v.hardware.SetText("")
	v.stale.SetText("7")
	test.Tap(v.verifyBtn)
	v.Wait()
	if v.code != cms.StalePackage {
		t.Errorf("stale: %q", v.verdictTitle)
	}
	// A field that is not an OID says so, without verifying.
	v.stale.SetText("")
	v.hardware.SetText("not-an-oid")
	test.Tap(v.verifyBtn)
	v.Wait()
	if v.verdictTitle != "Cannot verify" || !strings.Contains(v.detail.Text, "not an OID") {
		t.Errorf("bad OID: %q %q", v.verdictTitle, v.detail.Text)
	}
}

func TestCMSInspectorRefusals(t *testing.T) {
	der, pub := cmsPackage(t, []byte("firmware image"))
	// No trusted key.
	v := showInspector(t, der, CMSInspectorOptions{})
	if v.code != cms.NoTrustAnchor || len(v.lines) == 0 {
		t.Errorf("no trust: %q, %d lines", v.verdictTitle, len(v.lines))
	}
	// Another key.
	_, otherPub := cmsPackage(t, []byte("x"))
	v = showInspector(t, der, CMSInspectorOptions{TrustPaths: []string{otherPub}})
	if v.code != cms.NoTrustAnchor {
		t.Errorf("other key: %q", v.verdictTitle)
	}
	// One flipped firmware byte.
	bad := bytes.Clone(der)
	i := bytes.Index(bad, []byte("firmware image"))
	bad[i] ^= 1
	v = showInspector(t, bad, CMSInspectorOptions{TrustPaths: []string{pub}})
	if v.code == 0 || !strings.Contains(v.verdictTitle, "Refused") {
		t.Errorf("tampered: %q", v.verdictTitle)
	}
	// Not a package at all.
	if LooksLikeCMS([]byte("not DER")) {
		t.Error("LooksLikeCMS accepts text")
	}
	v = showInspector(t, []byte("not DER"), CMSInspectorOptions{TrustPaths: []string{pub}})
	if v.code == 0 || !strings.Contains(canvasText(v), "does not decode") {
		t.Errorf("garbage: %q\n%s", v.verdictTitle, canvasText(v))
	}
}

// The export dialog signs with a key on a real token: the PIN dialog asks for the PIN, the
// package is written, and it verifies with the self-signed certificate the dialog made.
func TestCMSExportDialogWithTokenKey(t *testing.T) {
	h := newUIHSM(t)
	h.initToken(t, "ui-cms")
	h.generate(t, "ui-cms", "cms-key", signer.P256)
	test.NewTempApp(t)
	w := test.NewTempWindow(t, widget.NewLabel(""))
	w.Resize(fyne.NewSize(1200, 900))
	pd := NewPINDialog(w)
	shown := make(chan *pinPrompt, 2)
	pd.onShow = func(pr *pinPrompt) { shown <- pr }

	dir := t.TempDir()
	img := filepath.Join(dir, "sensor.bin")
	firmware := bytes.Repeat([]byte("SUIT"), 2500)
	if err := os.WriteFile(img, firmware, 0o644); err != nil {
		t.Fatal(err)
	}
	keyURI := (&signer.URI{Token: "ui-cms", Object: "cms-key", ModulePath: h.module}).String()
	var doneErr error
	doneCalls := 0
	e := ShowCMSExportDialog(w, img, CMSExportOptions{
		FirmwareID: cmsFwID, Version: 3,
		Key: KeyPickerOptions{Selected: keyURI},
		PIN: pd,
		OnDone: func(_ string, err error) {
			doneErr = err
			doneCalls++
		},
	})
	if e.output.Text != img+".cms" {
		t.Errorf("default output %q", e.output.Text)
	}
	// No target yet: refused with what to do, nothing written.
	test.Tap(e.create)
	if txt := canvasText(w.Canvas().Overlays().Top()); !strings.Contains(txt, "target-hardware-module-identifiers") {
		t.Fatalf("missing target not reported:\n%s", txt)
	}
	w.Canvas().Overlays().Remove(w.Canvas().Overlays().Top())

	test.Type(e.targets, cmsTarget1+"\n"+cmsTarget2)
	e.cert.SetSelected(certMake)
	cert := filepath.Join(dir, "signer.crt")
	test.Type(e.certPath, cert)
	test.Tap(e.create)
	pr := waitPrompt(t, shown)
	test.Type(pr.entry, testUIPIN)
	test.Tap(pr.ok)
	e.Wait()
	if doneCalls != 1 || doneErr != nil {
		t.Fatalf("done %d times, err %v", doneCalls, doneErr)
	}
	der, err := os.ReadFile(img + ".cms")
	if err != nil {
		t.Fatal(err)
	}
	trust, err := app.LoadTrust([]string{cert})
	if err != nil {
		t.Fatal(err)
	}
	p, err := app.VerifyCMS(context.Background(), der, app.CMSVerifyRequest{Trust: trust, HardwareType: cmsTarget2})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.Firmware, firmware) || p.ID.Version != 3 || len(p.Targets) != 2 || len(p.Certificates) != 1 {
		t.Errorf("package: version %d, %d targets, %d certs", p.ID.Version, len(p.Targets), len(p.Certificates))
	}
	// The PIN is in no file the dialog wrote.
	for _, f := range []string{img + ".cms", cert} {
		b, _ := os.ReadFile(f)
		if bytes.Contains(b, []byte(testUIPIN)) {
			t.Errorf("%s contains the PIN", f)
		}
	}
	// The new package opens in the inspector as valid.
	v := NewCMSInspector(der, CMSInspectorOptions{TrustPaths: []string{cert}, HardwareType: cmsTarget1})
	v.Wait()
	if v.verdictTitle != "Valid firmware package" {
		t.Errorf("inspector: %q %s", v.verdictTitle, v.detail.Text)
	}
}
