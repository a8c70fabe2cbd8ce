package ui

import (
	"bytes"
	"context"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/assets"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/signer"
)

// writePublicPEM writes the public half of the key ref names to a file in dir.
func writePublicPEM(t *testing.T, ref, dir string) string {
	t.Helper()
	pem, err := app.ExportPublicKey(context.Background(), ref, app.FormatPEM, "", signer.LoadOptions{Getenv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "signer.pub.pem")
	if err := os.WriteFile(p, pem, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// fileKey makes a P-256 private key file.
func fileKey(t *testing.T) string {
	t.Helper()
	key := filepath.Join(t.TempDir(), "signing.pem")
	if err := signer.GenerateFile(key, signer.P256); err != nil {
		t.Fatal(err)
	}
	return key
}

// The export dialog signs with a key on a PKCS#11 token (SoftHSM2): the key picker holds its URI
// (no PIN in it), the PIN dialog asks for the PIN, and the inspector verifies the export with the
// token key's exported public key.
func TestSignExportWithTokenKeyThroughPINDialog(t *testing.T) {
	h := newUIHSM(t)
	h.initToken(t, "ui-export")
	h.generate(t, "ui-export", "fw-signing", signer.P256)
	s := newTestStudio(t)
	s.SetDocument(DemoDocument(s.State))
	shown := make(chan *pinPrompt, 4)
	s.pin.onShow = func(pr *pinPrompt) { shown <- pr }

	uri := (&signer.URI{Token: "ui-export", Object: "fw-signing", ModulePath: h.module}).String()
	dir := t.TempDir()
	out := filepath.Join(dir, "demo.suit")
	s.signDialog()
	f := s.signForm
	if f == nil || f.key == nil {
		t.Fatal("the export dialog has no key picker")
	}
	f.key.SetSelected(uri)
	f.kind.SetSelected(exportEnvelope)
	f.out.SetText(out)
	f.submit()

	pr := waitPrompt(t, shown)
	if !strings.Contains(devOverlayText(s.Win), "ui-export") {
		t.Errorf("the PIN dialog does not name the token")
	}
	test.Type(pr.entry, testUIPIN)
	test.Tap(pr.ok)
	s.Wait()

	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("nothing exported: %v (status %q)", err, s.editor.status.Text)
	}
	if env := s.doc.Envelope(); env.Auth == nil || len(env.Auth.Blocks) != 1 {
		t.Fatal("the document does not carry the token's signature")
	}
	if got := s.App.Preferences().String(prefSigningKey); got != uri {
		t.Errorf("signing key preference %q", got)
	}
	if !strings.Contains(s.editor.status.Text, "Signed with") {
		t.Errorf("status %q", s.editor.status.Text)
	}

	// Verify with the token key's public key, exported as a user would (PIN from a file here).
	pubURI := (&signer.URI{Token: "ui-export", Object: "fw-signing", ModulePath: h.module, PINSource: h.pinSource(t)}).String()
	s.AddTrustedKey(writePublicPEM(t, pubURI, dir))
	s.inspector.InspectFile(out)
	s.Wait()
	if !strings.HasPrefix(s.inspector.verdictTitle, "Authentic") {
		t.Fatalf("inspector verdict %q", s.inspector.verdictTitle)
	}
	if _, err := suit.Decode(data); err != nil {
		t.Fatal(err)
	}
}

// A wrong PIN typed twice then a cancel: the export fails with a dialog saying what to do, and
// nothing is written.
func TestSignExportTokenPINCancelled(t *testing.T) {
	h := newUIHSM(t)
	h.initToken(t, "ui-cancel")
	h.generate(t, "ui-cancel", "k", signer.P256)
	s := newTestStudio(t)
	s.SetDocument(DemoDocument(s.State))
	shown := make(chan *pinPrompt, 4)
	s.pin.onShow = func(pr *pinPrompt) { shown <- pr }
	out := filepath.Join(t.TempDir(), "demo.suit")
	var gotErr error
	s.SignAndExport(SignRequest{KeyRef: (&signer.URI{Token: "ui-cancel", Object: "k", ModulePath: h.module}).String(), Kind: exportEnvelope, Path: out},
		func(err error) { gotErr = err })
	pr := waitPrompt(t, shown)
	test.Tap(pr.cancel)
	s.Wait()
	if gotErr == nil {
		t.Fatal("export succeeded without a PIN")
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a file was written")
	}
	if env := s.doc.Envelope(); env.Auth != nil && len(env.Auth.Blocks) > 0 {
		t.Error("the document was signed")
	}
	if msg := devOverlayText(s.Win); !strings.Contains(msg, "What to do:") {
		t.Errorf("error dialog %q", msg)
	}
}

// "CMS firmware package" in the export dialog opens the CMS dialog on the demo's firmware (its
// integrated payload), the package is written, and the inspector opens it as a CMS package and
// verifies it with the signing key's public half.
func TestExportCMSAndInspect(t *testing.T) {
	s := newTestStudio(t)
	s.SetDocument(DemoDocument(s.State))
	key := fileKey(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "demo.cms")

	s.signDialog()
	f := s.signForm
	found := false
	for _, k := range f.kind.Options {
		found = found || k == exportCMS
	}
	if !found {
		t.Fatalf("no CMS choice in %q", f.kind.Options)
	}
	f.kind.SetSelected(exportCMS)
	if !strings.HasSuffix(f.out.Text, ".cms") {
		t.Errorf("output %q", f.out.Text)
	}
	f.key.SetSelected(key)
	f.out.SetText(out)
	f.submit()
	e := s.cmsExport
	if e == nil {
		t.Fatal("no CMS export dialog")
	}
	img, err := os.ReadFile(e.image.Text)
	if err != nil || !bytes.Equal(img, assets.DemoFirmwareV1) {
		t.Fatalf("image field %q does not hold the demo firmware: %v", e.image.Text, err)
	}
	if e.key.Selected() != key || e.output.Text != out {
		t.Errorf("key %q output %q", e.key.Selected(), e.output.Text)
	}
	if e.description.Text != "Application image" {
		t.Errorf("description %q", e.description.Text)
	}
	e.fwID.SetText(cmsFwID)
	e.targets.SetText(cmsTarget1)
	e.Create()
	e.Wait()
	der, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("no package: %v", err)
	}
	if !LooksLikeCMS(der) {
		t.Fatal("the export is not a CMS package")
	}

	s.AddTrustedKey(writePublicPEM(t, key, dir))
	s.OpenFile(out) // a CMS file goes to the inspector, not the editor
	s.Wait()
	if s.tabs.SelectedIndex() != 2 || s.inspector.cms == nil {
		t.Fatal("opening a CMS package does not show it in the inspector")
	}
	if got := s.inspector.cms.verdictTitle; got != "Valid firmware package" {
		t.Fatalf("CMS verdict %q: %s", got, s.inspector.cms.detail.Text)
	}
	if !strings.Contains(canvasText(s.inspector.content), cmsFwID+", version 1") {
		t.Error("the inspector does not show the package's attributes")
	}
	// Back to an envelope: the envelope view returns.
	s.inspector.inspectDocument()
	s.Wait()
	if s.inspector.cms != nil || s.inspector.in == nil {
		t.Error("the envelope view did not come back")
	}
}

// The demo document signed with a file key goes to the simulator, which is provisioned from it
// (example.com / demo-board, the signing key's public half): the device applies it.
func TestDemoSignedSendToSimulatorApplies(t *testing.T) {
	s := newTestStudio(t)
	s.SetDocument(DemoDocument(s.State))
	s.sim.pace.SetSelected(SimPaceInstant)
	t.Cleanup(func() { s.sim.Stop(); s.sim.Play(); s.sim.Wait() })
	key := fileKey(t)
	out := filepath.Join(t.TempDir(), "demo.suit")
	var gotErr error
	s.SignAndExport(SignRequest{KeyRef: key, Kind: exportEnvelope, Path: out}, func(err error) { gotErr = err })
	s.Wait()
	if gotErr != nil {
		t.Fatal(gotErr)
	}
	s.rememberKey(key)
	s.SendToSimulator()
	s.Wait()
	s.sim.Wait()
	if v := s.sim.Verdict(); !strings.HasPrefix(v, "Applied") {
		t.Fatalf("verdict %q", v)
	}
	if s.sim.vendorEntry.Text != "example.com" || s.sim.modelEntry.Text != "demo-board" {
		t.Errorf("provisioned for %q / %q", s.sim.vendorEntry.Text, s.sim.modelEntry.Text)
	}
	if s.tabs.SelectedIndex() != 3 {
		t.Error("the simulator view is not shown")
	}
}

// Out of the box (`make run`): the demo gets a demo key, and Send to simulator signs the unsigned
// demo with it and applies it. A document signed by another key keeps its signature and the
// device is provisioned with the trusted key that verifies it.
func TestDemoOutOfTheBoxSendToSimulator(t *testing.T) {
	s := newTestStudio(t)
	s.SetDocument(DemoDocument(s.State))
	s.sim.pace.SetSelected(SimPaceInstant)
	t.Cleanup(func() { s.sim.Stop(); s.sim.Play(); s.sim.Wait() })
	msg, err := s.EnsureDemoKey()
	if err != nil || msg == "" {
		t.Fatalf("demo key: %q %v", msg, err)
	}
	t.Logf("demo key: %s (%s)", msg, s.App.Preferences().String(prefSigningKey))
	s.SendToSimulator()
	s.Wait()
	s.sim.Wait()
	if v := s.sim.Verdict(); !strings.HasPrefix(v, "Applied") {
		t.Fatalf("verdict %q", v)
	}
	if env := s.doc.Envelope(); env.Auth == nil || len(env.Auth.Blocks) != 1 {
		t.Fatal("the document was not signed for the run")
	}
	// A second call keeps the key.
	if msg, err := s.EnsureDemoKey(); err != nil || msg != "" {
		t.Errorf("second EnsureDemoKey: %q %v", msg, err)
	}

	// Signed by the spec's example key, trusted in the inspector: that key becomes the anchor.
	s.SetDocument(DemoDocument(s.State))
	var gotErr error
	s.SignAndExport(SignRequest{KeyRef: filepath.Join(vectors, "private_key.pem"), Kind: exportEnvelope, Path: filepath.Join(t.TempDir(), "x.suit")}, func(err error) { gotErr = err })
	s.Wait()
	if gotErr != nil {
		t.Fatal(gotErr)
	}
	pub := filepath.Join(vectors, "public_key.pem")
	s.AddTrustedKey(pub)
	s.Wait()
	s.SendToSimulator()
	s.Wait()
	s.sim.Wait()
	if v := s.sim.Verdict(); !strings.HasPrefix(v, "Applied") {
		t.Fatalf("second run: verdict %q", v)
	}
	// The anchor is the trust store's copy of that key.
	if len(s.TrustedKeys) != 1 || s.sim.trustEntry.Text != s.TrustedKeys[0] {
		t.Errorf("trust anchor %q, want the trusted key %v", s.sim.trustEntry.Text, s.TrustedKeys)
	}
}

// Saving a signed document as YAML source says that the signatures are not kept (without
// blocking); saving it as an envelope does not.
func TestSaveYAMLWarnsSignaturesDropped(t *testing.T) {
	s := newTestStudio(t)
	s.SetDocument(DemoDocument(s.State))
	dir := t.TempDir()
	yaml := filepath.Join(dir, "demo.suit.yaml")
	s.saveTo(yaml, app.FormatSource)
	if strings.Contains(s.editor.status.Text, "NOT kept") {
		t.Errorf("unsigned document: status %q", s.editor.status.Text)
	}
	var gotErr error
	s.SignAndExport(SignRequest{KeyRef: filepath.Join(vectors, "private_key.pem"), Kind: exportEnvelope, Path: filepath.Join(dir, "demo.suit")}, func(err error) { gotErr = err })
	s.Wait()
	if gotErr != nil {
		t.Fatal(gotErr)
	}
	s.saveTo(yaml, app.FormatSource)
	if st := s.editor.status.Text; !strings.Contains(st, "1 signature(s) are NOT kept") || !strings.Contains(st, "Ctrl+E") {
		t.Errorf("status %q", st)
	}
	if s.Win.Canvas().Overlays().Top() != nil {
		t.Error("the warning blocks with a dialog")
	}
	s.saveTo(filepath.Join(dir, "demo2.suit"), app.FormatEnvelope)
	if strings.Contains(s.editor.status.Text, "NOT kept") {
		t.Errorf("envelope save: status %q", s.editor.status.Text)
	}
	// The YAML export of the sign dialog says the same.
	s.SignAndExport(SignRequest{KeyRef: filepath.Join(vectors, "private_key.pem"), Kind: exportSource, Path: filepath.Join(dir, "demo3.suit.yaml")}, nil)
	s.Wait()
	if !strings.Contains(s.editor.status.Text, "does NOT keep the 1 signature(s)") {
		t.Errorf("export status %q", s.editor.status.Text)
	}
}

// View > Theme switches between light and dark (kept in the preferences) and back to the system's.
func TestThemeChoice(t *testing.T) {
	t.Setenv("SUIT_STUDIO_THEME", "")
	s := newTestStudio(t)
	if got := s.ThemeChoice(); got != ThemeSystem {
		t.Fatalf("initial theme %q", got)
	}
	bg := func() color.Color {
		return s.App.Settings().Theme().Color(theme.ColorNameBackground, theme.VariantDark)
	}
	lum := func(c color.Color) uint32 { r, g, b, _ := c.RGBA(); return (r + g + b) / 3 }
	s.SetTheme(ThemeLight)
	if s.App.Preferences().String(prefTheme) != ThemeLight || lum(bg()) < 0x8000 {
		t.Fatalf("light theme: preference %q, background %v", s.App.Preferences().String(prefTheme), bg())
	}
	checked := ""
	for _, ti := range s.themeItems {
		if ti.item.Checked {
			checked += ti.choice
		}
	}
	if checked != ThemeLight {
		t.Errorf("ticked %q", checked)
	}
	s.SetTheme(ThemeDark)
	if lum(bg()) >= 0x8000 {
		t.Fatalf("dark theme background %v", bg())
	}
	// A new window of the same app starts with the kept choice; the variable overrides it.
	if got := s.ThemeChoice(); got != ThemeDark {
		t.Errorf("kept choice %q", got)
	}
	t.Setenv("SUIT_STUDIO_THEME", "light")
	if got := s.ThemeChoice(); got != ThemeLight {
		t.Errorf("SUIT_STUDIO_THEME=light gives %q", got)
	}
	s.SetTheme(ThemeSystem)
	if s.App.Preferences().String(prefTheme) != ThemeSystem {
		t.Error("system choice not kept")
	}
}
