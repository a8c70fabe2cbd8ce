package ui

import (
	"context"
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/signer"
)

// This file is the key manager (PKCS#11 modules, tokens, keys, the trust store, the development
// token) and the key picker of the sign and export dialogs. The use cases are app's (ListTokens,
// GenerateKey, ExportPublicKey, TrustAdd, DevToken); the manager adds one thing of its own: a
// logged-in token session that it keeps open until "Log out", so that listing, generating and
// exporting do not ask for the PIN again. The PIN itself is never kept.

// KeyManagerOptions configure NewKeyManager. Every field is optional.
type KeyManagerOptions struct {
	// uiLock, when set, is held while a completion of background work runs (the studio's).
	uiLock *sync.Mutex

	// Modules are the PKCS#11 module paths to list at start (the studio keeps them in its
	// preferences). Modules found on this system (signer.KnownModules) are offered in the path
	// field.
	Modules []string
	// OnModulesChanged receives the module list after the user added or removed one (on the
	// event goroutine), for the studio to keep it.
	OnModulesChanged func(modules []string)
	// KeyFiles are PEM key files (private or public) to list beside the token keys.
	KeyFiles []string
	// TrustDir is the trust store directory; "" means signer.DefaultTrustDir.
	TrustDir string
	// OnTrustChanged receives the trust store's files after a key was added or removed (on the
	// event goroutine), for the inspector to verify again.
	OnTrustChanged func(paths []string)
	// OnUseKey, when set, adds a "Use for signing" button; it receives the selected key's
	// reference: a file path or a pkcs11: URI (with pin-source when the login used one).
	OnUseKey func(ref string)
	// OfferDevToken shows the offer to create a local development token (when softhsm2 is
	// installed). The studio sets it when no signing key is configured.
	OfferDevToken bool
	// DevTokenDir is where the development token lives; "" means signer.DefaultDevTokenDir.
	DevTokenDir string
	// PIN asks for token PINs; nil means NewPINDialog(w).
	PIN signer.PINSource
	// Getenv reads the environment (SUIT_PKCS11_PIN, XDG dirs); nil means os.Getenv.
	Getenv func(string) string
}

// keyRow is one key of the manager's list.
type keyRow struct {
	app.KeyEntry
	pub   crypto.PublicKey
	kid   []byte
	token string // token label, "" for a file
}

func (r keyRow) text() string {
	where := "file " + r.Ref
	if r.OnToken {
		where = "token " + r.token
	}
	s := fmt.Sprintf("%s · %s %s · kid %s · %s", r.Label, r.Kind, r.Algorithm, r.KeyID, where)
	if !r.HasPrivate {
		s += " · public key only"
	}
	return s
}

// KeyManager is the key manager view. It is a widget: put it in a tab or a dialog. Call Close
// when it goes away, to log out of the token.
type KeyManager struct {
	widget.BaseWidget

	win    fyne.Window
	opts   KeyManagerOptions
	pin    signer.PINSource
	ctx    context.Context
	cancel context.CancelFunc
	bg     sync.WaitGroup

	// State below is touched on the event goroutine only.
	modules  []string
	module   string
	tokens   []signer.TokenInfo
	token    int // selected token, -1 none
	session  *signer.Session
	pinSrc   string // pin-source of the login URI (development token), copied into key URIs
	keys     []keyRow
	selected int // selected key, -1 none
	trusted  []signer.TrustedKey

	moduleEntry *widget.SelectEntry
	moduleList  *widget.List
	tokenList   *widget.List
	keyList     *widget.List
	trustList   *widget.List
	tabs        *container.AppTabs
	status      *widget.Label
	devOffer    *fyne.Container
	devButton   *widget.Button

	addModuleBtn, loginBtn, logoutBtn                    *widget.Button
	generateBtn, addFileBtn, exportBtn, trustBtn, useBtn *widget.Button
	importBtn                                            *widget.Button

	content fyne.CanvasObject
	now     bool // run "background" work at once (constructor, local files only)

	// Test hooks: the dialogs the manager opened last.
	lastGenerate *generateForm
	lastExport   *exportForm
	lastImport   *importForm
}

// NewKeyManager builds the key manager over w (dialogs and the PIN prompt show there).
//
// Wiring: a "Keys" tab or a "Keys…" menu item showing it in a dialog; pass the studio's module
// list and OnModulesChanged to keep it in preferences, OnTrustChanged to re-verify in the
// inspector, OnUseKey to make a key the signing key, and OfferDevToken when no signing key is
// configured. Token work runs in the background; errors show in dialogs that say what to do.
func NewKeyManager(w fyne.Window, opts KeyManagerOptions) *KeyManager {
	m := &KeyManager{win: w, opts: opts, token: -1, selected: -1, pin: opts.PIN}
	if m.pin == nil {
		m.pin = NewPINDialog(w)
	}
	if m.opts.TrustDir == "" {
		m.opts.TrustDir = signer.DefaultTrustDir(opts.Getenv)
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.modules = append([]string(nil), opts.Modules...)
	m.build()
	m.ExtendBaseWidget(m)
	// Key files and the trust store are small local files: read them at once, so that the
	// manager is complete when first shown. Token work always runs in the background.
	m.now = true
	for _, f := range opts.KeyFiles {
		m.addKeyFile(f)
	}
	m.refreshTrust(false)
	m.now = false
	return m
}

// CreateRenderer shows the manager's content.
func (m *KeyManager) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(m.content)
}

// Wait blocks until the background work started so far has finished (tests, scripts).
func (m *KeyManager) Wait() { m.bg.Wait() }

// Close cancels pending PIN prompts and logs out of the token. Call it on the event goroutine
// when the manager is no longer shown.
func (m *KeyManager) Close() {
	m.cancel()
	m.logout()
}

// background runs work off the event goroutine, then its result on it (both at once while the
// constructor runs, see now).
func (m *KeyManager) background(work func() func()) {
	if m.now {
		if done := work(); done != nil {
			done()
		}
		return
	}
	m.bg.Add(1)
	go func() {
		defer m.bg.Done()
		if done := work(); done != nil {
			fyne.DoAndWait(func() {
				// With the studio's lock, completions never run at once (fyne's test driver
				// runs them on their own goroutines).
				if m.opts.uiLock != nil {
					m.opts.uiLock.Lock()
					defer m.opts.uiLock.Unlock()
				}
				done()
			})
		}
	}()
}

func (m *KeyManager) loadOptions() signer.LoadOptions {
	return signer.LoadOptions{PIN: m.pin, Context: m.ctx, Getenv: m.opts.Getenv}
}

func bold(s string) *widget.Label {
	return widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
}

func (m *KeyManager) build() {
	m.status = wrapLabel("")
	// Modules.
	m.moduleEntry = widget.NewSelectEntry(signer.KnownModules())
	m.moduleEntry.SetPlaceHolder("PKCS#11 module: path of the library (.so, .dylib, .dll)")
	m.addModuleBtn = widget.NewButtonWithIcon("Add module", theme.ContentAddIcon(), func() {
		m.AddModule(strings.TrimSpace(m.moduleEntry.Text))
	})
	m.moduleList = widget.NewList(
		func() int { return len(m.modules) },
		func() fyne.CanvasObject { return widget.NewLabel("/usr/lib/softhsm/libsofthsm2.so") },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(m.modules[i]) },
	)
	m.moduleList.OnSelected = func(i widget.ListItemID) { m.selectModule(m.modules[i]) }
	// Tokens.
	m.tokenList = widget.NewList(
		func() int { return len(m.tokens) },
		func() fyne.CanvasObject { return widget.NewLabel("token label · manufacturer model · serial") },
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(tokenText(m.tokens[i])) },
	)
	m.tokenList.OnSelected = func(i widget.ListItemID) {
		m.token = i
		m.updateButtons()
	}
	m.tokenList.OnUnselected = func(widget.ListItemID) { m.token = -1; m.updateButtons() }
	m.loginBtn = widget.NewButtonWithIcon("Log in", theme.LoginIcon(), m.Login)
	m.logoutBtn = widget.NewButtonWithIcon("Log out", theme.LogoutIcon(), m.logout)

	// Keys.
	m.keyList = widget.NewList(
		func() int { return len(m.keys) },
		func() fyne.CanvasObject {
			return widget.NewLabel("key label · P-256 ES256 · kid 0011223344556677 · token x")
		},
		func(i widget.ListItemID, o fyne.CanvasObject) { o.(*widget.Label).SetText(m.keys[i].text()) },
	)
	m.keyList.OnSelected = func(i widget.ListItemID) { m.selected = i; m.updateButtons() }
	m.keyList.OnUnselected = func(widget.ListItemID) { m.selected = -1; m.updateButtons() }
	m.generateBtn = widget.NewButtonWithIcon("Generate key…", theme.ContentAddIcon(), m.generateDialog)
	m.addFileBtn = widget.NewButtonWithIcon("Add key file…", theme.FolderOpenIcon(), m.addFileDialog)
	m.exportBtn = widget.NewButtonWithIcon("Export public key…", theme.DocumentSaveIcon(), m.exportDialog)
	m.trustBtn = widget.NewButtonWithIcon("Trust", theme.ConfirmIcon(), m.trustSelected)
	m.useBtn = widget.NewButtonWithIcon("Use for signing", theme.ConfirmIcon(), func() {
		if k := m.selectedKey(); k != nil && m.opts.OnUseKey != nil {
			m.opts.OnUseKey(k.Ref)
		}
	})
	m.useBtn.Importance = widget.HighImportance
	keyButtons := container.NewHBox(m.generateBtn, m.addFileBtn, m.exportBtn, m.trustBtn)
	if m.opts.OnUseKey != nil {
		keyButtons.Add(m.useBtn)
	}

	// Trusted keys.
	m.trustList = widget.NewList(
		func() int { return len(m.trusted) },
		func() fyne.CanvasObject {
			return container.NewBorder(nil, nil, nil, widget.NewButtonWithIcon("", theme.DeleteIcon(), nil), widget.NewLabel("name · P-256 ES256 · kid 0011223344556677"))
		},
		func(i widget.ListItemID, o fyne.CanvasObject) {
			c := o.(*fyne.Container)
			tk := m.trusted[i]
			c.Objects[0].(*widget.Label).SetText(fmt.Sprintf("%s · %s %s · kid %x", tk.Name, tk.Kind, signer.AlgorithmName(tk.Algorithm), tk.KeyID))
			c.Objects[1].(*widget.Button).OnTapped = func() { m.RemoveTrusted(tk.Name) }
		},
	)
	m.importBtn = widget.NewButtonWithIcon("Import public key…", theme.ContentAddIcon(), m.importDialog)

	// The development token offer.
	m.devButton = widget.NewButtonWithIcon("Create a local development token (SoftHSM2, for development only)", theme.ContentAddIcon(), m.CreateDevToken)
	m.devOffer = container.NewVBox(
		bold("No signing key is configured."),
		wrapLabel("A development token is a SoftHSM2 token in files on this computer, with a P-256 key. The studio signs through PKCS#11 with it exactly as with a production HSM. It is for trying the workflow only: never sign production firmware with it."),
		m.devButton, widget.NewSeparator())
	m.devOffer.Hidden = true
	if m.opts.OfferDevToken {
		if _, err := signer.SoftHSMModule(); err == nil {
			m.devOffer.Hidden = false
		}
	}

	left := container.NewVSplit(
		container.NewBorder(container.NewVBox(bold("PKCS#11 modules"), container.NewBorder(nil, nil, nil, m.addModuleBtn, m.moduleEntry)), nil, nil, nil, m.moduleList),
		container.NewBorder(bold("Tokens"), container.NewHBox(m.loginBtn, m.logoutBtn), nil, nil, m.tokenList),
	)
	m.tabs = container.NewAppTabs(
		container.NewTabItem("Keys", container.NewBorder(nil, keyButtons, nil, nil, m.keyList)),
		container.NewTabItem("Trusted keys", container.NewBorder(wrapLabel("Public keys the inspector and suit verify accept. Folder: "+m.opts.TrustDir), m.importBtn, nil, nil, m.trustList)),
	)
	split := container.NewHSplit(left, m.tabs)
	split.Offset = 0.4
	m.content = container.NewBorder(m.devOffer, m.status, nil, nil, split)
	m.updateButtons()
}

func tokenText(t signer.TokenInfo) string {
	s := t.Label
	if !t.Initialized {
		s = "(not initialized)"
	}
	s += fmt.Sprintf(" · %s %s · serial %s", t.Manufacturer, t.Model, t.Serial)
	switch {
	case t.PINLocked:
		s += " · PIN LOCKED"
	case t.PINLowRetries:
		s += " · few PIN attempts left"
	}
	return s
}

func (m *KeyManager) updateButtons() {
	enable := func(b *widget.Button, on bool) {
		if on {
			b.Enable()
		} else {
			b.Disable()
		}
	}
	tokOK := m.token >= 0 && m.token < len(m.tokens) && m.tokens[m.token].Initialized
	enable(m.loginBtn, tokOK)
	enable(m.logoutBtn, m.session != nil)
	k := m.selectedKey()
	enable(m.exportBtn, k != nil && k.pub != nil)
	enable(m.trustBtn, k != nil && k.pub != nil)
	enable(m.useBtn, k != nil && k.HasPrivate)
}

func (m *KeyManager) selectedKey() *keyRow {
	if m.selected < 0 || m.selected >= len(m.keys) {
		return nil
	}
	return &m.keys[m.selected]
}

// AddModule adds a PKCS#11 module by path after checking that it loads, and lists its tokens.
func (m *KeyManager) AddModule(path string) {
	if path == "" {
		m.showError("No module", errors.New("type the path of a PKCS#11 library or pick one of the modules found on this system"))
		return
	}
	for i, p := range m.modules {
		if p == path {
			m.moduleList.Select(i)
			return
		}
	}
	m.status.SetText("Loading " + path + "…")
	m.background(func() func() {
		toks, err := app.ListTokens(m.ctx, path)
		return func() {
			if err != nil {
				m.status.SetText("")
				m.showError("Cannot load the module", err)
				return
			}
			m.modules = append(m.modules, path)
			m.moduleList.Refresh()
			if m.opts.OnModulesChanged != nil {
				m.opts.OnModulesChanged(append([]string(nil), m.modules...))
			}
			m.module = path
			m.moduleList.Select(len(m.modules) - 1)
			m.showTokens(path, toks)
		}
	})
}

func (m *KeyManager) selectModule(path string) {
	if path == m.module && len(m.tokens) > 0 {
		return
	}
	m.module = path
	m.status.SetText("Listing the tokens of " + path + "…")
	m.background(func() func() {
		toks, err := app.ListTokens(m.ctx, path)
		return func() {
			if err != nil {
				m.status.SetText("")
				m.showError("Cannot list the tokens", err)
				return
			}
			m.showTokens(path, toks)
		}
	})
}

func (m *KeyManager) showTokens(path string, toks []signer.TokenInfo) {
	m.tokens = toks
	m.token = -1
	m.tokenList.UnselectAll()
	m.tokenList.Refresh()
	switch len(toks) {
	case 0:
		m.status.SetText(path + " has no token: plug in the token, or create one with the vendor's tool (softhsm2-util --init-token --free --label NAME).")
	case 1:
		m.status.SetText(fmt.Sprintf("%s: one token. Select it and log in to see its keys.", path))
	default:
		m.status.SetText(fmt.Sprintf("%s: %d tokens. Select one and log in to see its keys.", path, len(toks)))
	}
	m.updateButtons()
}

// tokenURI names the selected token: label and serial (labels need not be unique), module path.
func (m *KeyManager) tokenURI(t signer.TokenInfo) string {
	return (&signer.URI{Token: t.Label, Serial: t.Serial, ModulePath: m.module}).String()
}

// Login opens a session on the selected token, asking for the PIN in a dialog, and lists the
// token's keys.
func (m *KeyManager) Login() {
	if m.token < 0 || m.token >= len(m.tokens) {
		m.showError("No token selected", errors.New("select a token in the list first"))
		return
	}
	m.loginURI(m.tokenURI(m.tokens[m.token]), nil)
}

// loginURI logs in to the token ref names (a pin-source in ref is used), lists its keys, then
// runs then (on the event goroutine) when it worked.
func (m *KeyManager) loginURI(ref string, then func()) {
	m.logout()
	label := ref
	if u, err := signer.ParseURI(ref); err == nil {
		label = u.Token
		m.pinSrc = u.PINSource
	}
	pinSrc := m.pinSrc
	m.status.SetText("Logging in to " + label + "…")
	opts := m.loadOptions()
	m.background(func() func() {
		s, err := signer.OpenSession(ref, opts)
		var keys []signer.KeyInfo
		if err == nil {
			if keys, err = s.Keys(); err != nil {
				s.Close()
			}
		}
		return func() {
			if m.ctx.Err() != nil { // the manager was closed meanwhile: no dialog, no session
				if err == nil {
					s.Close()
				}
				return
			}
			if err != nil {
				m.status.SetText("")
				m.showError("Cannot log in", err)
				return
			}
			m.session = s
			tok := s.Token().Label
			rows := m.keys[:0:0]
			for _, k := range m.keys {
				if !k.OnToken {
					rows = append(rows, k)
				}
			}
			for _, k := range keys {
				rows = append(rows, tokenKeyRow(k, tok, pinSrc))
			}
			m.setKeys(rows, -1)
			m.status.SetText(fmt.Sprintf("Logged in to token %q: %d key(s). Log out when done.", tok, len(keys)))
			if then != nil {
				then()
			}
		}
	})
}

func tokenKeyRow(k signer.KeyInfo, token, pinSource string) keyRow {
	uri := k.URI
	if pinSource != "" {
		if u, err := signer.ParseURI(uri); err == nil {
			u.PINSource = pinSource
			uri = u.String()
		}
	}
	e := app.KeyEntry{Ref: uri, Label: k.Label, Kind: k.Kind, KeyID: hex.EncodeToString(k.ID), OnToken: true, HasPrivate: k.HasPrivate}
	if k.Public != nil {
		if alg, err := signer.AlgorithmFor(k.Public); err == nil {
			e.Algorithm = signer.AlgorithmName(alg)
		}
	}
	return keyRow{KeyEntry: e, pub: k.Public, kid: k.ID, token: token}
}

func (m *KeyManager) setKeys(rows []keyRow, sel int) {
	m.keys = rows
	m.selected = -1
	m.keyList.UnselectAll()
	m.keyList.Refresh()
	if sel >= 0 && sel < len(rows) {
		m.keyList.Select(sel)
	}
	m.updateButtons()
}

// logout closes the token session (in the background: a hardware token may be slow) and drops
// its keys from the list.
func (m *KeyManager) logout() {
	s := m.session
	m.session = nil
	m.pinSrc = ""
	if s != nil {
		m.background(func() func() {
			s.Close()
			return nil
		})
		rows := m.keys[:0:0]
		for _, k := range m.keys {
			if !k.OnToken {
				rows = append(rows, k)
			}
		}
		m.setKeys(rows, -1)
		m.status.SetText("Logged out.")
	}
	m.updateButtons()
}

// addKeyFile lists a key file (private or public key, certificate).
func (m *KeyManager) addKeyFile(path string) {
	m.background(func() func() {
		ents, err := app.ListKeys(m.ctx, path, signer.LoadOptions{})
		var rows []keyRow
		for _, e := range ents {
			pub, kid, perr := app.PublicKeyOf(m.ctx, e.Ref, signer.LoadOptions{})
			if perr != nil {
				// A MAC key has no public half: list it, nothing to export.
				pub, kid = nil, nil
			}
			rows = append(rows, keyRow{KeyEntry: e, pub: pub, kid: kid})
		}
		return func() {
			if err != nil {
				m.showError("Cannot read the key file", err)
				return
			}
			keys := append([]keyRow(nil), m.keys...)
			for _, r := range rows {
				dup := false
				for _, k := range keys {
					dup = dup || k.Ref == r.Ref
				}
				if !dup {
					keys = append(keys, r)
				}
			}
			m.setKeys(keys, len(keys)-1)
		}
	})
}

func (m *KeyManager) addFileDialog() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		r.Close()
		m.addKeyFile(r.URI().Path())
	}, m.win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".pem", ".key", ".pub", ".crt", ".der"}))
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// keyTypes are the key types the generate dialog offers, in the order shown.
var keyTypes = []signer.KeyType{signer.P256, signer.P384, signer.Ed25519, signer.RSA3072}

func keyTypeNames() []string {
	out := make([]string, len(keyTypes))
	for i, k := range keyTypes {
		out[i] = k.String()
	}
	return out
}

const (
	whereToken = "On the logged-in token (sensitive, not extractable)"
	whereFile  = "In a new key file (PKCS#8, readable by you only)"
)

// generateForm is the generate dialog's fields.
type generateForm struct {
	dlg   *dialog.ConfirmDialog
	label *widget.Entry
	kind  *widget.Select
	where *widget.RadioGroup
	path  *widget.Entry
	ok    func() // what the Generate button does
}

func (m *KeyManager) generateDialog() {
	f := &generateForm{label: widget.NewEntry(), kind: widget.NewSelect(keyTypeNames(), nil), path: widget.NewEntry()}
	f.label.SetPlaceHolder("name of the key on the token, e.g. firmware-signing-2026")
	f.kind.SetSelected(signer.P256.String())
	f.path.SetPlaceHolder("new key file, e.g. ~/keys/firmware.pem")
	choices := []string{whereFile}
	if m.session != nil {
		choices = []string{whereToken, whereFile}
	}
	f.where = widget.NewRadioGroup(choices, func(s string) {
		if s == whereFile {
			f.path.Enable()
		} else {
			f.path.Disable()
		}
	})
	f.where.SetSelected(choices[0])
	help := wrapLabel("P-256 (ES256) suits most devices; Ed25519 (EdDSA) is smallest; RSA-3072 is for CMS packages whose devices only know RSA.")
	form := widget.NewForm(
		widget.NewFormItem("Type", f.kind),
		widget.NewFormItem("Where", f.where),
		widget.NewFormItem("Name", f.label),
		widget.NewFormItem("File", f.path),
	)
	f.ok = func() { m.generate(f) }
	f.dlg = dialog.NewCustomConfirm("Generate a key", "Generate", "Cancel", container.NewVBox(form, help), func(ok bool) {
		if ok {
			f.ok()
		}
	}, m.win)
	f.dlg.Resize(fyne.NewSize(640, 340))
	f.dlg.Show()
	m.lastGenerate = f
}

func (m *KeyManager) generate(f *generateForm) {
	var kind signer.KeyType
	for _, k := range keyTypes {
		if k.String() == f.kind.Selected {
			kind = k
		}
	}
	if kind == 0 {
		m.showError("Cannot generate", errors.New("choose a key type"))
		return
	}
	label := strings.TrimSpace(f.label.Text)
	if f.where.Selected == whereToken {
		s := m.session
		if s == nil {
			m.showError("Cannot generate", errors.New("log in to a token first"))
			return
		}
		if label == "" {
			m.showError("Cannot generate", errors.New("give the key a name: it is the object label the key's pkcs11: URI uses"))
			return
		}
		for _, k := range m.keys {
			if k.OnToken && k.Label == label {
				m.showError("Cannot generate", fmt.Errorf("the token already has a key named %q: choose another name", label))
				return
			}
		}
		pinSrc := m.pinSrc
		m.status.SetText(fmt.Sprintf("Generating a %s key on the token…", kind))
		m.background(func() func() {
			ki, err := s.Generate(kind, label, nil)
			return func() {
				if err != nil {
					m.status.SetText("")
					m.showError("Cannot generate the key", err)
					return
				}
				if m.session != s {
					return // logged out meanwhile
				}
				m.setKeys(append(m.keys, tokenKeyRow(ki, s.Token().Label, pinSrc)), len(m.keys))
				m.status.SetText(fmt.Sprintf("Generated %s key %q on token %q: it never leaves the token. Export its public key for the devices.", kind, label, s.Token().Label))
			}
		})
		return
	}
	path := expandHome(strings.TrimSpace(f.path.Text))
	if path == "" {
		m.showError("Cannot generate", errors.New("give the new key file's path"))
		return
	}
	m.background(func() func() {
		e, err := app.GenerateKey(m.ctx, path, kind, signer.LoadOptions{})
		var pub crypto.PublicKey
		var kid []byte
		if err == nil {
			pub, kid, err = app.PublicKeyOf(m.ctx, path, signer.LoadOptions{})
		}
		return func() {
			if err != nil {
				m.showError("Cannot generate the key file", err)
				return
			}
			m.setKeys(append(m.keys, keyRow{KeyEntry: e, pub: pub, kid: kid}), len(m.keys))
			m.status.SetText(fmt.Sprintf("Generated %s key file %s (readable by you only). Keep a backup: a lost key cannot sign updates.", kind, path))
		}
	})
}

func expandHome(p string) string {
	if strings.HasPrefix(p, "~/") {
		if h, err := os.UserHomeDir(); err == nil {
			return filepath.Join(h, p[2:])
		}
	}
	return p
}

// Export formats offered for public keys.
const (
	exportKeyPEM  = "PEM public key (.pem)"
	exportKeyCOSE = "COSE_Key (.cose, CBOR)"
	exportKeyC    = "C array for a device's trust anchor (.h)"
)

var exportKeyFormats = map[string]struct{ format, ext string }{
	exportKeyPEM:  {app.FormatPEM, ".pem"},
	exportKeyCOSE: {app.FormatCOSEKey, ".cose"},
	exportKeyC:    {app.FormatC, ".h"},
}

type exportForm struct {
	dlg    *dialog.ConfirmDialog
	format *widget.Select
	path   *widget.Entry
	ok     func()
}

func (m *KeyManager) exportDialog() {
	k := m.selectedKey()
	if k == nil || k.pub == nil {
		m.showError("Nothing to export", errors.New("select a key with a public half in the list"))
		return
	}
	row := *k
	f := &exportForm{format: widget.NewSelect([]string{exportKeyPEM, exportKeyCOSE, exportKeyC}, nil), path: widget.NewEntry()}
	base := keyFileName(row.Label)
	f.path.SetText(base + ".pem")
	f.format.OnChanged = func(s string) {
		cur := f.path.Text
		for _, v := range exportKeyFormats {
			cur = strings.TrimSuffix(cur, v.ext)
		}
		f.path.SetText(cur + exportKeyFormats[s].ext)
	}
	f.format.SetSelected(exportKeyPEM)
	form := widget.NewForm(widget.NewFormItem("Format", f.format), widget.NewFormItem("File", f.path))
	f.ok = func() {
		path := expandHome(strings.TrimSpace(f.path.Text))
		confirmReplace(m.win, []string{path}, func(overwrite bool) {
			m.export(row, exportKeyFormats[f.format.Selected].format, path, overwrite)
		})
	}
	f.dlg = dialog.NewCustomConfirm("Export the public key of "+row.Label, "Export", "Cancel", form, func(ok bool) {
		if ok {
			f.ok()
		}
	}, m.win)
	f.dlg.Resize(fyne.NewSize(600, 220))
	f.dlg.Show()
	m.lastExport = f
}

// keyFileName makes a file name from a key label.
func keyFileName(label string) string {
	var b strings.Builder
	for _, c := range label {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' {
			b.WriteRune(c)
		} else {
			b.WriteByte('-')
		}
	}
	s := strings.Trim(strings.TrimSuffix(b.String(), ".pem"), ".-")
	if s == "" {
		s = "public-key"
	}
	return s
}

// exportedKey renders a public key. File keys go through app.ExportPublicKey; token keys use
// the public key read at login, so that exporting does not ask for the PIN again.
func exportedKey(ctx context.Context, row keyRow, format string) ([]byte, error) {
	if !row.OnToken {
		return app.ExportPublicKey(ctx, row.Ref, format, "", signer.LoadOptions{})
	}
	switch format {
	case app.FormatPEM:
		return signer.PublicPEM(row.pub)
	case app.FormatCOSEKey:
		return signer.COSEKey(row.pub, row.kid)
	case app.FormatC:
		s, err := signer.CArray(row.pub, row.kid, "")
		return []byte(s), err
	}
	return nil, fmt.Errorf("unknown export format %q", format)
}

func (m *KeyManager) export(row keyRow, format, path string, overwrite bool) {
	if path == "" {
		m.showError("Cannot export", errors.New("give the file to write"))
		return
	}
	m.background(func() func() {
		data, err := exportedKey(m.ctx, row, format)
		if err == nil {
			if werr := app.WriteFile(path, data, 0o644, overwrite); werr != nil {
				err = &app.FileError{Op: "export to", Path: path, Err: werr, Hint: "check that the folder exists and is writable"}
			}
		}
		return func() {
			if err != nil {
				m.showError("Cannot export the public key", err)
				return
			}
			m.status.SetText(fmt.Sprintf("Exported the public key of %q to %s (%d bytes).", row.Label, path, len(data)))
		}
	})
}

// trustSelected adds the selected key's public key to the trust store.
func (m *KeyManager) trustSelected() {
	k := m.selectedKey()
	if k == nil || k.pub == nil {
		m.showError("Nothing to trust", errors.New("select a key with a public half in the list"))
		return
	}
	row := *k
	dir := m.opts.TrustDir
	m.background(func() func() {
		var tk signer.TrustedKey
		var err error
		if row.OnToken {
			tk, err = signer.TrustStore{Dir: dir}.Add(keyFileName(row.Label), row.pub)
		} else {
			tk, err = app.TrustAdd(m.ctx, dir, "", row.Ref, signer.LoadOptions{})
		}
		return func() {
			if err != nil {
				m.showError("Cannot trust the key", err)
				return
			}
			m.status.SetText(fmt.Sprintf("Trusted %q: the inspector and suit verify now accept its signatures.", tk.Name))
			m.refreshTrust(true)
		}
	})
}

type importForm struct {
	dlg  *dialog.ConfirmDialog
	path *widget.Entry
	name *widget.Entry
	ok   func()
}

func (m *KeyManager) importDialog() {
	f := &importForm{path: widget.NewEntry(), name: widget.NewEntry()}
	f.path.SetPlaceHolder("public key: PEM, DER, COSE_Key or certificate")
	f.name.SetPlaceHolder("optional: name in the trust store (default: the file name)")
	browse := widget.NewButtonWithIcon("", theme.FolderOpenIcon(), func() {
		d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
			if err != nil || r == nil {
				return
			}
			r.Close()
			f.path.SetText(r.URI().Path())
		}, m.win)
		d.Resize(fyne.NewSize(900, 600))
		d.Show()
	})
	form := widget.NewForm(widget.NewFormItem("File", container.NewBorder(nil, nil, nil, browse, f.path)), widget.NewFormItem("Name", f.name))
	f.ok = func() { m.ImportTrusted(expandHome(strings.TrimSpace(f.path.Text)), strings.TrimSpace(f.name.Text)) }
	f.dlg = dialog.NewCustomConfirm("Import a trusted public key", "Import", "Cancel", form, func(ok bool) {
		if ok {
			f.ok()
		}
	}, m.win)
	f.dlg.Resize(fyne.NewSize(640, 220))
	f.dlg.Show()
	m.lastImport = f
}

// ImportTrusted adds the public key in path (any form signer.LoadPublic reads) to the trust
// store under name ("" = from the file name).
func (m *KeyManager) ImportTrusted(path, name string) {
	if path == "" {
		m.showError("Cannot import", errors.New("give the public key file to import"))
		return
	}
	dir := m.opts.TrustDir
	m.background(func() func() {
		tk, err := app.TrustAdd(m.ctx, dir, name, path, signer.LoadOptions{})
		return func() {
			if err != nil {
				m.showError("Cannot import the public key", err)
				return
			}
			m.status.SetText(fmt.Sprintf("Trusted %q (%s).", tk.Name, tk.Kind))
			m.refreshTrust(true)
		}
	})
}

// RemoveTrusted removes a key from the trust store.
func (m *KeyManager) RemoveTrusted(name string) {
	dir := m.opts.TrustDir
	m.background(func() func() {
		err := signer.TrustStore{Dir: dir}.Remove(name)
		return func() {
			if err != nil {
				m.showError("Cannot remove the trusted key", err)
				return
			}
			m.status.SetText(fmt.Sprintf("%q is no longer trusted.", name))
			m.refreshTrust(true)
		}
	})
}

// refreshTrust re-reads the trust store; changed reports the change to OnTrustChanged.
func (m *KeyManager) refreshTrust(changed bool) {
	dir := m.opts.TrustDir
	m.background(func() func() {
		list, err := signer.TrustStore{Dir: dir}.List()
		return func() {
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				m.status.SetText("Cannot read the trust store: " + err.Error())
			}
			m.trusted = list
			m.trustList.Refresh()
			if changed && m.opts.OnTrustChanged != nil {
				paths := make([]string, len(list))
				for i, tk := range list {
					paths[i] = tk.Path
				}
				m.opts.OnTrustChanged(paths)
			}
		}
	})
}

// CreateDevToken creates (or reopens) the local development token, logs in to it (its PIN is in
// a 0600 file beside it, so no prompt) and offers its key through OnUseKey.
func (m *KeyManager) CreateDevToken() {
	m.devButton.Disable()
	m.status.SetText("Creating the development token…")
	m.background(func() func() {
		dt, err := app.DevToken(m.ctx, m.opts.DevTokenDir, m.opts.Getenv)
		return func() {
			m.devButton.Enable()
			if err != nil {
				m.status.SetText("")
				m.showError("Cannot create the development token", err)
				return
			}
			m.devOffer.Hide()
			found := false
			for _, p := range m.modules {
				found = found || p == dt.Module
			}
			if !found {
				m.modules = append(m.modules, dt.Module)
				m.moduleList.Refresh()
				if m.opts.OnModulesChanged != nil {
					m.opts.OnModulesChanged(append([]string(nil), m.modules...))
				}
			}
			m.module = dt.Module
			m.loginURI(dt.URI, func() {
				for i, k := range m.keys {
					if k.OnToken && k.Label == signer.DevKeyLabel {
						m.keyList.Select(i)
					}
				}
				what := "Created"
				if !dt.Created {
					what = "Opened"
				}
				m.status.SetText(fmt.Sprintf("%s the development token %q (PIN in %s). Its P-256 key signs through PKCS#11 like a production HSM; for development only.", what, signer.DevTokenLabel, dt.PINFile))
				if m.opts.OnUseKey != nil {
					m.opts.OnUseKey(dt.URI)
				}
			})
		}
	})
}

// showError shows err with what to do about it.
func (m *KeyManager) showError(title string, err error) {
	showKeyError(m.win, title, err)
}

// showKeyError shows a key or token error in a dialog: what went wrong, then what to do.
func showKeyError(w fyne.Window, title string, err error) {
	msg := err.Error()
	if hint := keyHint(err); hint != "" && !strings.Contains(msg, hint) {
		msg += "\n\nWhat to do: " + hint
	}
	lbl := wrapLabel(msg)
	d := dialog.NewCustom(title, "Close", container.NewGridWrap(fyne.NewSize(520, 180), container.NewVScroll(lbl)), w)
	d.Show()
}

// keyHint says what to do about a signer or file error.
func keyHint(err error) string {
	var fe *app.FileError
	switch {
	case errors.Is(err, ErrPINCancelled):
		return "log in again and type the token's PIN, or add pin-source=file:PATH to the key's pkcs11: URI."
	case errors.Is(err, signer.ErrPINIncorrect):
		return "type the token's user PIN again; after a few wrong PINs the token locks it."
	case errors.Is(err, signer.ErrPINLocked):
		return "the token's security officer must unlock the PIN (a development token: delete its folder and create it again)."
	case errors.Is(err, signer.ErrNoPIN):
		return "log in and type the PIN when asked, or add pin-source=file:PATH to the key's pkcs11: URI."
	case errors.Is(err, signer.ErrModule):
		return "check the module path: pick one of the modules found on this system, or install your HSM vendor's PKCS#11 module."
	case errors.Is(err, signer.ErrTokenNotFound):
		return "plug in the token, or choose another token of the module."
	case errors.Is(err, signer.ErrNotFound):
		return "the key is not there: list the token's keys again and pick one."
	case errors.Is(err, signer.ErrExists):
		return "choose another file name: existing keys are never overwritten."
	case errors.Is(err, signer.ErrUnsupportedKey), errors.Is(err, signer.ErrWrongKeyType):
		return "use a P-256, P-384, Ed25519 or RSA key."
	case errors.Is(err, signer.ErrBadName):
		return "use letters, digits, '.', '-' and '_' only."
	case errors.Is(err, signer.ErrBadURI):
		return "a key URI looks like pkcs11:token=LABEL;object=KEY?module-path=/path/to/module.so"
	case errors.As(err, &fe) && fe.Hint != "":
		return fe.Hint
	case errors.Is(err, os.ErrNotExist):
		return "check the file name."
	case errors.Is(err, os.ErrPermission):
		return "check the file's permissions."
	}
	return ""
}

// KeyPickerOptions configure NewKeyPicker.
type KeyPickerOptions struct {
	// Keys are references to offer in the list: recent signing keys, the development token's
	// key (file paths or pkcs11: URIs).
	Keys []string
	// Selected is the reference shown at start.
	Selected string
	// Manager configures the key manager that "Token key…" opens (its OnUseKey is the picker's).
	Manager KeyManagerOptions
	// OnChanged receives the reference whenever it changes.
	OnChanged func(ref string)
}

// KeyPicker chooses a signing key, in a file or on a token: a field with the known keys, a
// button for a PEM file and one that opens the key manager to pick (or generate) a token key.
type KeyPicker struct {
	widget.BaseWidget
	win     fyne.Window
	opts    KeyPickerOptions
	entry   *widget.SelectEntry
	file    *widget.Button
	token   *widget.Button
	content fyne.CanvasObject
	manager *KeyManager // the open key manager dialog's, for tests
}

// NewKeyPicker builds a key picker over w. Selected returns the chosen reference, ready for
// signer.LoadSigner / app.CreateCMS / the SUIT signing functions.
func NewKeyPicker(w fyne.Window, opts KeyPickerOptions) *KeyPicker {
	p := &KeyPicker{win: w, opts: opts}
	p.entry = widget.NewSelectEntry(opts.Keys)
	p.entry.SetPlaceHolder("private key: PEM file or pkcs11: URI")
	p.entry.SetText(opts.Selected)
	p.entry.OnChanged = func(s string) {
		if p.opts.OnChanged != nil {
			p.opts.OnChanged(strings.TrimSpace(s))
		}
	}
	p.file = widget.NewButtonWithIcon("", theme.FolderOpenIcon(), func() {
		d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
			if err != nil || r == nil {
				return
			}
			r.Close()
			p.SetSelected(r.URI().Path())
		}, w)
		d.SetFilter(storage.NewExtensionFileFilter([]string{".pem", ".key"}))
		d.Resize(fyne.NewSize(900, 600))
		d.Show()
	})
	p.token = widget.NewButtonWithIcon("Token key…", theme.StorageIcon(), p.chooseTokenKey)
	p.content = container.NewBorder(nil, nil, nil, container.NewHBox(p.file, p.token), p.entry)
	p.ExtendBaseWidget(p)
	return p
}

// CreateRenderer shows the picker's content.
func (p *KeyPicker) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(p.content)
}

// Selected is the chosen key reference ("" when none).
func (p *KeyPicker) Selected() string { return strings.TrimSpace(p.entry.Text) }

// SetSelected shows ref as the chosen key.
func (p *KeyPicker) SetSelected(ref string) { p.entry.SetText(ref) }

// chooseTokenKey opens the key manager in a dialog; "Use for signing" there picks the key.
func (p *KeyPicker) chooseTokenKey() {
	opts := p.opts.Manager
	var d *dialog.CustomDialog
	opts.OnUseKey = func(ref string) {
		p.SetSelected(ref)
		if d != nil {
			d.Hide()
		}
	}
	m := NewKeyManager(p.win, opts)
	p.manager = m
	d = dialog.NewCustom("Choose a signing key", "Close", m, p.win)
	d.SetOnClosed(m.Close)
	d.Resize(fyne.NewSize(1000, 640))
	d.Show()
}
