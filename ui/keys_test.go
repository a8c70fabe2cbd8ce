package ui

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/signer"
)

const (
	testUISOPIN = "ui-so-secret-5521907"
	testUIPIN   = "ui-user-pin-8830142"
)

func noEnv(string) string { return "" }

// uiHSM is the SoftHSM2 setup of the ui tests. SoftHSM2 reads SOFTHSM2_CONF once per process, so
// the whole test binary uses one configuration path (fixed at the first call); each test
// re-creates the directory behind it and removes it afterwards. The same directory is a valid
// development token directory (signer.EnsureDevToken finds its configuration there), so the
// development token test stays inside it too. Tests of the package that use no token are not
// affected: only the SOFTHSM2_CONF variable is set.
type uiHSM struct {
	module string
	root   string
	conf   string
}

var (
	uiHSMOnce sync.Once
	uiHSMRoot string
)

func newUIHSM(t *testing.T) *uiHSM {
	t.Helper()
	mod, err := signer.SoftHSMModule()
	if err != nil {
		t.Fatalf("%v: the token tests need a real SoftHSM2; run scripts/install-deps.sh or apt-get install softhsm2", err)
	}
	if _, err := exec.LookPath("softhsm2-util"); err != nil {
		t.Fatal("softhsm2-util not found: install softhsm2 (scripts/install-deps.sh)")
	}
	uiHSMOnce.Do(func() {
		uiHSMRoot = filepath.Join(os.TempDir(), fmt.Sprintf("suit-ui-softhsm-%d", os.Getpid()))
		os.Setenv("SOFTHSM2_CONF", filepath.Join(uiHSMRoot, "softhsm2.conf"))
	})
	h := &uiHSM{module: mod, root: uiHSMRoot, conf: filepath.Join(uiHSMRoot, "softhsm2.conf")}
	if err := os.MkdirAll(filepath.Join(h.root, "tokens"), 0o700); err != nil {
		t.Fatal(err)
	}
	body := "directories.tokendir = " + filepath.Join(h.root, "tokens") + "\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n"
	if err := os.WriteFile(h.conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(h.root) })
	return h
}

func (h *uiHSM) initToken(t *testing.T, label string) {
	t.Helper()
	cmd := exec.Command("softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", testUISOPIN, "--pin", testUIPIN)
	cmd.Env = append(os.Environ(), "SOFTHSM2_CONF="+h.conf)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("softhsm2-util --init-token: %v\n%s", err, out)
	}
}

// pinSource writes the user PIN to a 0600 file (for setting tokens up without a dialog).
func (h *uiHSM) pinSource(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "pin")
	if err := os.WriteFile(p, []byte(testUIPIN+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return "file:" + p
}

// generate puts a key on the token through signer, as `suit keys generate` would.
func (h *uiHSM) generate(t *testing.T, token, label string, kind signer.KeyType) signer.KeyInfo {
	t.Helper()
	uri := (&signer.URI{Token: token, ModulePath: h.module, PINSource: h.pinSource(t)}).String()
	s, err := signer.OpenSession(uri, signer.LoadOptions{Getenv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ki, err := s.Generate(kind, label, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ki
}

// walkObjects visits o and everything under it (containers and widget renderers) until f
// returns true.
func walkObjects(o fyne.CanvasObject, f func(fyne.CanvasObject) bool) bool {
	if o == nil || !o.Visible() {
		return false
	}
	if f(o) {
		return true
	}
	switch x := o.(type) {
	case *fyne.Container:
		for _, c := range x.Objects {
			if walkObjects(c, f) {
				return true
			}
		}
	case fyne.Widget:
		if r := test.WidgetRenderer(x); r != nil {
			for _, c := range r.Objects() {
				if walkObjects(c, f) {
					return true
				}
			}
		}
	}
	return false
}

// tapDialogButton taps the button labelled text in the top dialog.
func tapDialogButton(t *testing.T, w fyne.Window, text string) {
	t.Helper()
	var btn *widget.Button
	walkObjects(w.Canvas().Overlays().Top(), func(o fyne.CanvasObject) bool {
		if b, ok := o.(*widget.Button); ok && b.Text == text {
			btn = b
			return true
		}
		return false
	})
	if btn == nil {
		t.Fatalf("no %q button in the dialog:\n%s", text, canvasText(w.Canvas().Overlays().Top()))
	}
	test.Tap(btn)
}

type managerFixture struct {
	w       fyne.Window
	m       *KeyManager
	shown   chan *pinPrompt
	trusted chan []string
	used    chan string
}

func newManager(t *testing.T, opts KeyManagerOptions) *managerFixture {
	t.Helper()
	test.NewTempApp(t)
	w := test.NewTempWindow(t, widget.NewLabel(""))
	w.Resize(fyne.NewSize(1200, 800))
	pd := NewPINDialog(w)
	f := &managerFixture{w: w, shown: make(chan *pinPrompt, 4), trusted: make(chan []string, 8), used: make(chan string, 4)}
	pd.onShow = func(pr *pinPrompt) { f.shown <- pr }
	opts.PIN = pd
	opts.Getenv = noEnv
	if opts.TrustDir == "" {
		opts.TrustDir = filepath.Join(t.TempDir(), "trust")
	}
	opts.OnTrustChanged = func(p []string) { f.trusted <- p }
	opts.OnUseKey = func(ref string) { f.used <- ref }
	f.m = NewKeyManager(w, opts)
	w.SetContent(f.m)
	t.Cleanup(func() {
		f.m.Close()
		f.m.Wait()
	})
	f.m.Wait()
	return f
}

// login selects the token and logs in through the PIN dialog.
func (f *managerFixture) login(t *testing.T, token string) {
	t.Helper()
	f.m.moduleList.Select(0)
	f.m.Wait()
	idx := -1
	for i, tk := range f.m.tokens {
		if tk.Label == token {
			idx = i
		}
	}
	if idx < 0 {
		t.Fatalf("token %q not listed: %v (status %q)", token, f.m.tokens, f.m.status.Text)
	}
	f.m.tokenList.Select(idx)
	if f.m.loginBtn.Disabled() {
		t.Fatal("Log in is disabled with a token selected")
	}
	test.Tap(f.m.loginBtn)
	pr := waitPrompt(t, f.shown)
	test.Type(pr.entry, testUIPIN)
	test.Tap(pr.ok)
	f.m.Wait()
	if f.m.session == nil {
		t.Fatalf("not logged in: %q\n%s", f.m.status.Text, canvasText(f.w.Canvas().Overlays().Top()))
	}
}

func (f *managerFixture) row(label string) int {
	for i, k := range f.m.keys {
		if k.Label == label {
			return i
		}
	}
	return -1
}

func TestKeysManagerListsTokenKeys(t *testing.T) {
	h := newUIHSM(t)
	h.initToken(t, "ui-list")
	h.initToken(t, "ui-other")
	ka := h.generate(t, "ui-list", "fw-a", signer.P256)
	h.generate(t, "ui-list", "fw-b", signer.Ed25519)
	h.generate(t, "ui-other", "not-here", signer.P256)

	f := newManager(t, KeyManagerOptions{Modules: []string{h.module}})
	f.login(t, "ui-list")
	if len(f.m.keys) != 2 {
		t.Fatalf("keys: %+v", f.m.keys)
	}
	a := f.m.keys[f.row("fw-a")]
	if !a.OnToken || !a.HasPrivate || a.Kind != "P-256" || a.Algorithm != "ES256" || a.token != "ui-list" {
		t.Errorf("fw-a row: %+v", a)
	}
	if !strings.HasPrefix(a.Ref, "pkcs11:") || !strings.Contains(a.Ref, "object=fw-a") || strings.Contains(a.Ref, "pin-") {
		t.Errorf("fw-a ref %q", a.Ref)
	}
	if b := f.m.keys[f.row("fw-b")]; b.Kind != "Ed25519" || b.Algorithm != "EdDSA" {
		t.Errorf("fw-b row: %+v", b)
	}
	if !a.pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(ka.Public) {
		t.Error("the listed public key is not the token's")
	}
	// The list shows the rows.
	if txt := canvasText(f.m); !strings.Contains(txt, "fw-a · P-256 ES256") {
		t.Errorf("list text:\n%s", txt)
	}
	// "Use for signing" hands the key's URI over; logging out drops the token keys.
	f.m.keyList.Select(f.row("fw-a"))
	test.Tap(f.m.useBtn)
	if got := <-f.used; got != a.Ref {
		t.Errorf("used %q, want %q", got, a.Ref)
	}
	test.Tap(f.m.logoutBtn)
	f.m.Wait()
	if f.m.session != nil || len(f.m.keys) != 0 {
		t.Errorf("after logout: %d keys", len(f.m.keys))
	}
}

func TestKeysManagerGenerateAddsRow(t *testing.T) {
	h := newUIHSM(t)
	h.initToken(t, "ui-gen")
	h.generate(t, "ui-gen", "existing", signer.P256)
	f := newManager(t, KeyManagerOptions{Modules: []string{h.module}})
	f.login(t, "ui-gen")
	before := len(f.m.keys)

	test.Tap(f.m.generateBtn)
	g := f.m.lastGenerate
	if g == nil || g.where.Selected != whereToken {
		t.Fatal("the generate dialog does not offer the token first")
	}
	g.kind.SetSelected("P-384")
	test.Type(g.label, "fw-new")
	tapDialogButton(t, f.w, "Generate")
	f.m.Wait()
	if len(f.m.keys) != before+1 {
		t.Fatalf("%d keys after generating, want %d (status %q)", len(f.m.keys), before+1, f.m.status.Text)
	}
	i := f.row("fw-new")
	if i < 0 || f.m.keys[i].Kind != "P-384" || f.m.keys[i].Algorithm != "ES384" || f.m.selected != i {
		t.Fatalf("new row: %+v (selected %d)", f.m.keys, f.m.selected)
	}
	// The key is on the token: another session lists it.
	ents, err := app.ListKeys(context.Background(), (&signer.URI{Token: "ui-gen", ModulePath: h.module, PINSource: h.pinSource(t)}).String(), signer.LoadOptions{Getenv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range ents {
		found = found || e.Label == "fw-new" && e.Kind == "P-384" && e.HasPrivate
	}
	if !found {
		t.Errorf("fw-new not on the token: %+v", ents)
	}

	// A second key with the same name is refused with a dialog, nothing generated.
	test.Tap(f.m.generateBtn)
	test.Type(f.m.lastGenerate.label, "fw-new")
	tapDialogButton(t, f.w, "Generate")
	f.m.Wait()
	if len(f.m.keys) != before+1 || !strings.Contains(canvasText(f.w.Canvas().Overlays().Top()), "choose another name") {
		t.Errorf("duplicate name: %d keys; dialog:\n%s", len(f.m.keys), canvasText(f.w.Canvas().Overlays().Top()))
	}

	// A key file: generated with 0600 permissions and listed.
	f.w.Canvas().Overlays().Remove(f.w.Canvas().Overlays().Top())
	test.Tap(f.m.generateBtn)
	g = f.m.lastGenerate
	g.where.SetSelected(whereFile)
	g.kind.SetSelected("Ed25519")
	path := filepath.Join(t.TempDir(), "file-key.pem")
	test.Type(g.path, path)
	tapDialogButton(t, f.w, "Generate")
	f.m.Wait()
	if i := f.row("file-key.pem"); i < 0 || f.m.keys[i].OnToken || f.m.keys[i].Kind != "Ed25519" {
		t.Fatalf("file key row: %+v (status %q)", f.m.keys, f.m.status.Text)
	}
	if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v %v", st.Mode(), err)
	}
}

func TestKeysManagerExportAndTrust(t *testing.T) {
	h := newUIHSM(t)
	h.initToken(t, "ui-export")
	ki := h.generate(t, "ui-export", "fw signing", signer.P256)
	trustDir := filepath.Join(t.TempDir(), "trust")
	f := newManager(t, KeyManagerOptions{Modules: []string{h.module}, TrustDir: trustDir})
	f.login(t, "ui-export")
	f.m.keyList.Select(f.row("fw signing"))
	out := t.TempDir()
	equal := func(p crypto.PublicKey) bool { return p.(interface{ Equal(crypto.PublicKey) bool }).Equal(ki.Public) }

	for _, c := range []struct{ format, file string }{{exportKeyPEM, "k.pem"}, {exportKeyCOSE, "k.cose"}, {exportKeyC, "k.h"}} {
		test.Tap(f.m.exportBtn)
		e := f.m.lastExport
		if !strings.HasPrefix(e.path.Text, "fw-signing") {
			t.Errorf("default export name %q", e.path.Text)
		}
		e.format.SetSelected(c.format)
		e.path.SetText(filepath.Join(out, c.file))
		tapDialogButton(t, f.w, "Export")
		f.m.Wait()
		data, err := os.ReadFile(filepath.Join(out, c.file))
		if err != nil {
			t.Fatalf("%s: %v (status %q)", c.format, err, f.m.status.Text)
		}
		switch c.format {
		case exportKeyPEM:
			pub, err := signer.ParsePublic(data)
			if err != nil || !equal(pub) {
				t.Errorf("PEM export: %v", err)
			}
		case exportKeyCOSE:
			pub, err := signer.ParseCOSEKey(data)
			if err != nil || !equal(pub) {
				t.Errorf("COSE_Key export: %v", err)
			}
			if !bytes.Contains(data, ki.ID) {
				t.Error("the COSE_Key lacks the token key's kid")
			}
		case exportKeyC:
			if !strings.Contains(string(data), "suit_trust_anchor") {
				t.Errorf("C export:\n%s", data)
			}
		}
	}

	// Trust the token key: the trust store gets it and the studio hears of it.
	test.Tap(f.m.trustBtn)
	f.m.Wait()
	paths := waitTrusted(t, f)
	if len(paths) != 1 || len(f.m.trusted) != 1 || f.m.trusted[0].Name != "fw-signing" || !equal(f.m.trusted[0].Public) {
		t.Fatalf("trusted: %v %+v", paths, f.m.trusted)
	}
	// Import a public key file under a name.
	other := filepath.Join(t.TempDir(), "other.pem")
	if err := signer.GenerateFile(other, signer.Ed25519); err != nil {
		t.Fatal(err)
	}
	pubFile := filepath.Join(t.TempDir(), "other.pub.pem")
	pemBytes, err := app.ExportPublicKey(context.Background(), other, app.FormatPEM, "", signer.LoadOptions{})
	if err != nil || os.WriteFile(pubFile, pemBytes, 0o644) != nil {
		t.Fatal(err)
	}
	test.Tap(f.m.importBtn)
	test.Type(f.m.lastImport.path, pubFile)
	test.Type(f.m.lastImport.name, "release-2026")
	tapDialogButton(t, f.w, "Import")
	f.m.Wait()
	if paths := waitTrusted(t, f); len(paths) != 2 {
		t.Fatalf("after import: %v", paths)
	}
	f.m.tabs.SelectIndex(1)
	if txt := canvasText(f.m); !strings.Contains(txt, "release-2026 · Ed25519 EdDSA") {
		t.Errorf("trusted list text:\n%s", txt)
	}
	// Remove it again.
	f.m.RemoveTrusted("fw-signing")
	f.m.Wait()
	if paths := waitTrusted(t, f); len(paths) != 1 || f.m.trusted[0].Name != "release-2026" {
		t.Fatalf("after remove: %v", paths)
	}
	// A bad name is refused with what to do.
	f.m.ImportTrusted(pubFile, "../escape")
	f.m.Wait()
	if txt := canvasText(f.w.Canvas().Overlays().Top()); !strings.Contains(txt, "What to do") {
		t.Errorf("bad name dialog:\n%s", txt)
	}
}

func waitTrusted(t *testing.T, f *managerFixture) []string {
	t.Helper()
	select {
	case p := <-f.trusted:
		return p
	case <-time.After(pinTimeout):
		t.Fatal("OnTrustChanged was not called")
	}
	return nil
}

func TestKeysManagerDevTokenOffer(t *testing.T) {
	h := newUIHSM(t)
	f := newManager(t, KeyManagerOptions{OfferDevToken: true, DevTokenDir: h.root})
	if f.m.devOffer.Hidden || !strings.Contains(f.m.devButton.Text, "for development only") {
		t.Fatal("no development token offer while no key is configured")
	}
	test.Tap(f.m.devButton)
	f.m.Wait()
	var ref string
	select {
	case ref = <-f.used:
	default:
		t.Fatalf("the development key was not offered for signing (status %q)\n%s", f.m.status.Text, canvasText(f.w.Canvas().Overlays().Top()))
	}
	if !f.m.devOffer.Hidden || f.m.session == nil {
		t.Error("offer still shown or not logged in")
	}
	i := f.row(signer.DevKeyLabel)
	if i < 0 || f.m.selected != i || f.m.keys[i].Kind != "P-256" || !strings.Contains(ref, "object=SUIT%20development%20key") || !strings.Contains(f.m.keys[i].Ref, "pin-source=file:") {
		t.Fatalf("development key row: %+v, ref %q", f.m.keys, ref)
	}
	if len(f.m.modules) != 1 || f.m.modules[0] != h.module {
		t.Errorf("modules %v", f.m.modules)
	}
	// The key signs through PKCS#11 without a prompt (its PIN is in the token's pin file).
	k, err := signer.LoadSigner(ref, signer.LoadOptions{Getenv: noEnv})
	if err != nil {
		t.Fatal(err)
	}
	defer signer.CloseKey(k)
	d := sha256.Sum256([]byte("firmware"))
	if _, err := k.Sign(nil, d[:], crypto.SHA256); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(f.m.status.Text, "development only") {
		t.Errorf("status %q", f.m.status.Text)
	}
}

func TestKeysPickerReturnsRef(t *testing.T) {
	test.NewTempApp(t)
	w := test.NewTempWindow(t, widget.NewLabel(""))
	w.Resize(fyne.NewSize(1200, 800))
	keyFile := filepath.Join(t.TempDir(), "signing.pem")
	if err := signer.GenerateFile(keyFile, signer.P256); err != nil {
		t.Fatal(err)
	}
	var changed []string
	p := NewKeyPicker(w, KeyPickerOptions{
		Keys:      []string{"pkcs11:token=a;object=b?module-path=/x.so", keyFile},
		Selected:  "pkcs11:token=a;object=b?module-path=/x.so",
		Manager:   KeyManagerOptions{KeyFiles: []string{keyFile}, TrustDir: t.TempDir(), Getenv: noEnv},
		OnChanged: func(r string) { changed = append(changed, r) },
	})
	w.SetContent(p)
	if p.Selected() != "pkcs11:token=a;object=b?module-path=/x.so" {
		t.Errorf("selected %q", p.Selected())
	}
	// "Token key…" opens the key manager; "Use for signing" there picks the key and closes it.
	test.Tap(p.token)
	m := p.manager
	if m == nil || w.Canvas().Overlays().Top() == nil {
		t.Fatal("no key manager dialog")
	}
	m.Wait()
	i := -1
	for j, k := range m.keys {
		if k.Ref == keyFile {
			i = j
		}
	}
	if i < 0 {
		t.Fatalf("key file not listed: %+v", m.keys)
	}
	m.keyList.Select(i)
	test.Tap(m.useBtn)
	m.Wait()
	if p.Selected() != keyFile || len(changed) == 0 || changed[len(changed)-1] != keyFile {
		t.Errorf("selected %q, changes %v", p.Selected(), changed)
	}
	if w.Canvas().Overlays().Top() != nil {
		t.Error("the key manager dialog stays open")
	}
}

// Closing the manager while the PIN dialog waits ends the login quietly: no session, no dialog.
// A module that does not load is reported with what to do.
func TestKeysManagerCloseDuringLoginAndBadModule(t *testing.T) {
	h := newUIHSM(t)
	h.initToken(t, "ui-close")
	f := newManager(t, KeyManagerOptions{Modules: []string{h.module}})

	f.m.AddModule(filepath.Join(t.TempDir(), "no-such-module.so"))
	f.m.Wait()
	if txt := canvasText(f.w.Canvas().Overlays().Top()); !strings.Contains(txt, "What to do: check the module path") {
		t.Errorf("missing module dialog:\n%s", txt)
	}
	if len(f.m.modules) != 1 {
		t.Errorf("a module that does not load was added: %v", f.m.modules)
	}
	f.w.Canvas().Overlays().Remove(f.w.Canvas().Overlays().Top())

	f.m.moduleList.Select(0)
	f.m.Wait()
	f.m.tokenList.Select(0)
	test.Tap(f.m.loginBtn)
	waitPrompt(t, f.shown)
	f.m.Close()
	f.m.Wait()
	if f.m.session != nil {
		t.Error("logged in after Close")
	}
	if top := f.w.Canvas().Overlays().Top(); top != nil {
		t.Errorf("a dialog remains after Close:\n%s", canvasText(top))
	}
}
