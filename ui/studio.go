// Package ui is SUIT Studio's desktop interface, in Fyne: the start screen, the manifest editor,
// the inspector and the sign/export dialog. It holds no SUIT logic of its own: every action is a
// function of package app, which the command line shares. Work that may take time (opening,
// signing, verifying) runs off the event goroutine and comes back through fyne.Do.
package ui

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/model"
	"github.com/suit-studio/suit-studio/signer"
)

// AppID is the application ID, as in FyneApp.toml.
const AppID = "io.github.suit-studio.studio"

// View names, for ShowView and SUIT_STUDIO_SCREENSHOT_VIEW.
const (
	ViewStart     = "start"
	ViewEditor    = "editor"
	ViewInspector = "inspector"
	ViewSimulator = "simulator"
	ViewPush      = "push"
	ViewKeys      = "keys"
)

// Studio is the main window and the document it edits.
type Studio struct {
	App   fyne.App
	Win   fyne.Window
	State *app.State

	doc *app.Document

	tabs      *container.AppTabs
	start     *startView
	editor    *editorView
	inspector *inspectorView
	sim       *SimulatorView
	push      *PushView
	keys      *KeyManager
	publish   *PublishView // publish.go: firmware server, status tracker, fleet

	// TrustedKeys are the key files of the trust store (see trust.go), which the inspector
	// verifies against.
	TrustedKeys []string
	// TrustDir is the trust store of the inspector, the Keys tab and `suit verify`:
	// signer.DefaultTrustDir.
	TrustDir string

	pin        *PINDialog     // asks for token PINs (signing, key managers, CMS export)
	imageFiles map[int]string // component -> the firmware file its image was set from
	tmp        string         // the studio's temporary folder ("" until needed)
	signForm   *signForm      // the last sign and export dialog (tests)
	cmsExport  *CMSExport     // the last CMS export dialog (tests)
	themeItems []themeItem    // View > Theme's choices
	toolTips   []*tipAction   // the toolbar's buttons (tests)

	// onUITask, when set (tests, benchmarks), runs each completion of background work (on the
	// event goroutine), so that it can time it.
	onUITask func(what string, done func())

	bg sync.WaitGroup // background work in flight, so that tests can wait for it
	// doneMu serializes the completions of background work. With the real driver they already
	// run one at a time on the event goroutine; fyne's test driver runs fyne.Do inline, so
	// without it two completions could touch the same widgets at once.
	doneMu sync.Mutex
}

// New builds the studio's window for a (a real app or fyne's test app). state may be nil
// (no recent files, no recovery).
func New(a fyne.App, state *app.State) *Studio {
	s := &Studio{App: a, State: state, imageFiles: map[int]string{}}
	s.Win = a.NewWindow("SUIT Studio")
	s.pin = NewPINDialog(s.Win)
	s.TrustDir = signer.DefaultTrustDir(nil)
	trustErr := s.loadTrusted()

	s.start = newStartView(s)
	s.editor = newEditorView(s)
	s.inspector = newInspectorView(s)
	s.inspector.trustErr = trustErr
	s.inspector.refreshKeys()
	encoded := func() ([]byte, error) {
		if s.doc == nil {
			return nil, errors.New("no document is open")
		}
		return s.doc.Encode()
	}
	s.sim = NewSimulatorView(s.Win, SimulatorOptions{Envelope: encoded})
	s.push = NewPushView(s.Win, PushViewOptions{Envelope: encoded, Simulator: s.sim,
		OnSimulatorPush: func() { s.ShowView(ViewSimulator) }})
	// The push view lists the serial ports in the background. Wait for it here: under fyne's test
	// driver its completion runs on that goroutine, and would otherwise lay out widgets (and fill
	// fyne's text measuring caches) while the rest of the window is built. On a display it only
	// queues its update, so this costs the port listing.
	s.push.Wait()
	kmo := s.keyManagerOptions()
	kmo.OnUseKey = s.rememberKey
	kmo.OnTrustChanged = func([]string) {
		_ = s.loadTrusted()
		s.inspector.verify()
	}
	s.keys = NewKeyManager(s.Win, kmo)
	s.publish = NewPublishView(s.Win, PublishViewOptions{Envelope: encoded,
		Prov: func() (app.SimProvisioning, error) { return s.sim.provisioning(s.sim.readProv()) }})
	// Each view scrolls when the window is smaller than it needs: no view makes the window larger
	// than the user made it (or than the screen).
	fit := func(o fyne.CanvasObject) fyne.CanvasObject { return container.NewScroll(o) }
	s.tabs = container.NewAppTabs(
		container.NewTabItem("Start", fit(s.start.content)),
		container.NewTabItem("Editor", fit(s.editor.content)),
		container.NewTabItem("Inspector", fit(s.inspector.content)),
		container.NewTabItem("Simulator", fit(s.sim.Content)),
		container.NewTabItem("Push", fit(s.push.Content)),
		container.NewTabItem("Keys", fit(s.keys)),
		container.NewTabItem("Publish", fit(s.publish.Content)),
	)
	s.tabs.OnSelected = func(t *container.TabItem) {
		if t.Text == "Inspector" {
			s.inspector.showDocument()
		}
	}
	s.Win.SetContent(container.NewBorder(s.toolbar(), nil, nil, nil, s.tabs))
	s.Win.SetMainMenu(s.menu())
	s.applyTheme(s.ThemeChoice(), true)
	s.shortcuts()
	s.Win.SetOnDropped(func(_ fyne.Position, uris []fyne.URI) { s.dropped(uris) })
	s.Win.SetCloseIntercept(s.quit)
	s.Win.Resize(fyne.NewSize(1200, 800))
	s.SetDocument(app.NewDocument(nil, state))
	s.migrateTrustedKeys()
	return s
}

// Document returns the document being edited.
func (s *Studio) Document() *app.Document { return s.doc }

// SetDocument makes doc the document being edited; the previous one is closed.
func (s *Studio) SetDocument(doc *app.Document) {
	if s.doc != nil && s.doc != doc {
		s.doc.Close()
	}
	s.doc = doc
	s.imageFiles = map[int]string{}
	s.editor.note = ""
	s.editor.idDomain, s.editor.idModel = "", ""
	doc.OnChange(func() { s.documentChanged(false) })
	s.documentChanged(true)
}

// documentChanged refreshes what shows the document. reload is true when the whole value was
// replaced (load, undo, redo), false when an edit came from a form that is still showing.
func (s *Studio) documentChanged(reload bool) {
	s.updateTitle()
	s.editor.refresh(reload)
	s.inspector.documentChanged()
}

func (s *Studio) updateTitle() {
	s.Win.SetTitle(s.doc.Title() + " - SUIT Studio")
}

// ShowView switches to the start screen, the editor or the inspector.
func (s *Studio) ShowView(name string) {
	switch name {
	case ViewStart:
		s.tabs.SelectIndex(0)
	case ViewEditor:
		s.tabs.SelectIndex(1)
	case ViewInspector:
		s.tabs.SelectIndex(2)
		s.inspector.showDocument()
	case ViewSimulator:
		s.tabs.SelectIndex(3)
	case ViewPush:
		s.tabs.SelectIndex(4)
	case ViewKeys:
		s.tabs.SelectIndex(5)
	}
}

func (s *Studio) toolbar() fyne.CanvasObject {
	tip := func(icon fyne.Resource, text string, sc fyne.KeyboardShortcut, do func()) *tipAction {
		if sc != nil {
			text += " (" + shortcutText(sc) + ")"
		}
		a := newTipAction(s.Win, icon, text, do)
		s.toolTips = append(s.toolTips, a)
		return a
	}
	return widget.NewToolbar(
		tip(iconNew(), "New from a template", shortcutNew, func() { s.ShowView(ViewStart) }),
		tip(iconOpen(), "Open a manifest or envelope", shortcutOpen, s.openDialog),
		tip(iconSave(), "Save", shortcutSave, s.save),
		widget.NewToolbarSeparator(),
		tip(iconUndo(), "Undo", shortcutUndo, s.undo),
		tip(iconRedo(), "Redo", shortcutRedo, s.redo),
		widget.NewToolbarSeparator(),
		tip(iconSign(), "Sign and export", shortcutSign, s.signDialog),
		tip(theme.MediaPlayIcon(), "Send to the simulator", shortcutSimulate, s.SendToSimulator),
	)
}

// shortcutText is how a shortcut is written in a tooltip: "Ctrl+E".
func shortcutText(sc fyne.KeyboardShortcut) string {
	var out string
	m := sc.Mod()
	if m&fyne.KeyModifierShortcutDefault != 0 || m&fyne.KeyModifierControl != 0 {
		out += "Ctrl+"
	}
	if m&fyne.KeyModifierShift != 0 {
		out += "Shift+"
	}
	if m&fyne.KeyModifierAlt != 0 {
		out += "Alt+"
	}
	return out + string(sc.Key())
}

func (s *Studio) menu() *fyne.MainMenu {
	file := fyne.NewMenu("File",
		&fyne.MenuItem{Label: "New from template…", Action: func() { s.ShowView(ViewStart) }, Shortcut: shortcutNew},
		&fyne.MenuItem{Label: "Open…", Action: s.openDialog, Shortcut: shortcutOpen},
		&fyne.MenuItem{Label: "Save", Action: s.save, Shortcut: shortcutSave},
		&fyne.MenuItem{Label: "Save as…", Action: s.saveAs, Shortcut: shortcutSaveAs},
		fyne.NewMenuItemSeparator(),
		&fyne.MenuItem{Label: "Sign and export…", Action: s.signDialog, Shortcut: shortcutSign},
		&fyne.MenuItem{Label: "Send to simulator", Action: s.SendToSimulator, Shortcut: shortcutSimulate},
	)
	edit := fyne.NewMenu("Edit",
		&fyne.MenuItem{Label: "Undo", Action: s.undo, Shortcut: shortcutUndo},
		&fyne.MenuItem{Label: "Redo", Action: s.redo, Shortcut: shortcutRedo},
		fyne.NewMenuItemSeparator(),
		&fyne.MenuItem{Label: "Find…", Action: s.find, Shortcut: shortcutFind},
		&fyne.MenuItem{Label: "Encrypt payload…", Action: func() { s.encryptDialog() }},
	)
	view := fyne.NewMenu("View",
		&fyne.MenuItem{Label: "Start", Action: func() { s.ShowView(ViewStart) }, Shortcut: shortcutView1},
		&fyne.MenuItem{Label: "Editor", Action: func() { s.ShowView(ViewEditor) }, Shortcut: shortcutView2},
		&fyne.MenuItem{Label: "Inspector", Action: func() { s.ShowView(ViewInspector) }, Shortcut: shortcutView3},
		&fyne.MenuItem{Label: "Simulator", Action: func() { s.ShowView(ViewSimulator) }, Shortcut: shortcutView4},
		&fyne.MenuItem{Label: "Push", Action: func() { s.ShowView(ViewPush) }, Shortcut: shortcutView5},
		&fyne.MenuItem{Label: "Keys", Action: func() { s.ShowView(ViewKeys) }, Shortcut: shortcutView6},
		fyne.NewMenuItemSeparator(),
		s.themeMenu(),
	)
	return fyne.NewMainMenu(file, edit, view)
}

var (
	mod            = fyne.KeyModifierShortcutDefault
	shortcutNew    = &desktop.CustomShortcut{KeyName: fyne.KeyN, Modifier: mod}
	shortcutOpen   = &desktop.CustomShortcut{KeyName: fyne.KeyO, Modifier: mod}
	shortcutSave   = &desktop.CustomShortcut{KeyName: fyne.KeyS, Modifier: mod}
	shortcutSaveAs = &desktop.CustomShortcut{KeyName: fyne.KeyS, Modifier: mod | fyne.KeyModifierShift}
	shortcutSign   = &desktop.CustomShortcut{KeyName: fyne.KeyE, Modifier: mod}
	// Undo and redo are Fyne's own shortcuts: the desktop driver turns Ctrl+Z and Ctrl+Y into
	// fyne.ShortcutUndo and fyne.ShortcutRedo (never into a CustomShortcut), and matches menu
	// items by shortcut name. Ctrl+Shift+Z redoes too (shortcutRedoShift).
	shortcutUndo      = &fyne.ShortcutUndo{}
	shortcutRedo      = &fyne.ShortcutRedo{}
	shortcutRedoShift = &desktop.CustomShortcut{KeyName: fyne.KeyZ, Modifier: mod | fyne.KeyModifierShift}
	shortcutFind      = &desktop.CustomShortcut{KeyName: fyne.KeyF, Modifier: mod}
	shortcutView1     = &desktop.CustomShortcut{KeyName: fyne.Key1, Modifier: mod}
	shortcutView2     = &desktop.CustomShortcut{KeyName: fyne.Key2, Modifier: mod}
	shortcutView3     = &desktop.CustomShortcut{KeyName: fyne.Key3, Modifier: mod}
	shortcutView4     = &desktop.CustomShortcut{KeyName: fyne.Key4, Modifier: mod}
	shortcutView5     = &desktop.CustomShortcut{KeyName: fyne.Key5, Modifier: mod}
	shortcutView6     = &desktop.CustomShortcut{KeyName: fyne.Key6, Modifier: mod}
	// shortcutSimulate sends the document to the simulator (Ctrl+R, "run").
	shortcutSimulate = &desktop.CustomShortcut{KeyName: fyne.KeyR, Modifier: mod}
)

// shortcuts registers the keyboard shortcuts on the canvas too, so that they work while no menu
// is shown (and in the test driver, which has no menus).
func (s *Studio) shortcuts() {
	c := s.Win.Canvas()
	add := func(sc fyne.Shortcut, f func()) { c.AddShortcut(sc, func(fyne.Shortcut) { f() }) }
	add(shortcutNew, func() { s.ShowView(ViewStart) })
	add(shortcutOpen, s.openDialog)
	add(shortcutSave, s.save)
	add(shortcutSaveAs, s.saveAs)
	add(shortcutSign, s.signDialog)
	add(shortcutUndo, s.undo)
	add(shortcutRedo, s.redo)
	add(shortcutRedoShift, s.redo)
	add(shortcutFind, s.find)
	add(shortcutView1, func() { s.ShowView(ViewStart) })
	add(shortcutView2, func() { s.ShowView(ViewEditor) })
	add(shortcutView3, func() { s.ShowView(ViewInspector) })
	add(shortcutView4, func() { s.ShowView(ViewSimulator) })
	add(shortcutView5, func() { s.ShowView(ViewPush) })
	add(shortcutView6, func() { s.ShowView(ViewKeys) })
	add(shortcutSimulate, s.SendToSimulator)
}

func (s *Studio) undo() {
	if s.inDialog(&fyne.ShortcutUndo{}) {
		return
	}
	if err := s.doc.Undo(); err == nil {
		s.documentChanged(true)
	}
}

func (s *Studio) redo() {
	if s.inDialog(&fyne.ShortcutRedo{}) {
		return
	}
	if err := s.doc.Redo(); err == nil {
		s.documentChanged(true)
	}
}

// inDialog gives an undo or redo shortcut to the text field being typed in when a dialog is
// open (its text, not the document, is what the user means), and reports whether it did.
func (s *Studio) inDialog(sc fyne.Shortcut) bool {
	c := s.Win.Canvas()
	if c.Overlays().Top() == nil {
		return false
	}
	if f, ok := c.Focused().(fyne.Shortcutable); ok {
		f.TypedShortcut(sc)
		return true
	}
	return false
}

func (s *Studio) find() {
	s.ShowView(ViewEditor)
	s.Win.Canvas().Focus(s.editor.search)
}

// background runs work off the event goroutine and then done on it (through fyne.Do).
func (s *Studio) background(work func() func()) {
	s.bg.Add(1)
	go func() {
		defer s.bg.Done()
		done := work()
		if done != nil {
			fyne.DoAndWait(func() {
				s.doneMu.Lock()
				defer s.doneMu.Unlock()
				if f := s.onUITask; f != nil {
					f("completion of "+runtime.FuncForPC(reflect.ValueOf(work).Pointer()).Name(), done)
				} else {
					done()
				}
			})
		}
	}()
}

// Wait blocks until background work started so far has finished: the studio's own, the CMS
// inspector's, the key manager's and the push view's (for tests and scripts). The simulator's
// runs have their own Wait (s.sim.Wait), as a paused run never ends by itself.
func (s *Studio) Wait() {
	s.bg.Wait()
	if c := s.inspector.cms; c != nil {
		c.Wait()
	}
	s.keys.Wait()
	s.push.Wait()
}

// showError shows err in a dialog that says what went wrong and what to do.
func (s *Studio) showError(title string, err error) {
	msg := err.Error()
	var fe *app.FileError
	if errors.As(err, &fe) && fe.Hint != "" && !strings.Contains(msg, fe.Hint) {
		msg += "\n\nWhat to do: " + fe.Hint
	}
	lbl := widget.NewLabel(msg)
	lbl.Wrapping = fyne.TextWrapWord
	d := dialog.NewCustom(title, "Close", container.NewGridWrap(fyne.NewSize(480, 160), lbl), s.Win)
	d.Show()
}

// OpenFile opens path in the background and shows it in the editor, after asking about unsaved
// changes; an RFC 4108 CMS firmware package is shown in the inspector instead.
func (s *Studio) OpenFile(path string) {
	s.background(func() func() {
		cms := isCMSFile(path)
		return func() {
			if cms {
				// A CMS firmware package is inspected; the document stays as it is.
				s.inspector.InspectFile(path)
				s.tabs.SelectIndex(2)
				return
			}
			s.confirmDiscard(func() { s.openDocument(path) })
		}
	})
}

// openDocument opens path in the background and makes it the document.
func (s *Studio) openDocument(path string) {
	s.background(func() func() {
		doc, err := app.Open(path, s.State)
		return func() {
			if err != nil {
				s.showError("Cannot open "+filepath.Base(path), err)
				return
			}
			s.SetDocument(doc)
			s.ShowView(ViewEditor)
			s.start.refreshRecent()
		}
	})
}

func (s *Studio) dropped(uris []fyne.URI) {
	if len(uris) == 0 || uris[0].Scheme() != "file" {
		return
	}
	path := uris[0].Path()
	// A firmware image dropped while a component is selected sets that component's image.
	if s.tabs.SelectedIndex() == 1 && s.editor.acceptsImage() && !isDocumentFile(path) {
		s.editor.dropImage(path)
		return
	}
	s.OpenFile(path)
}

// isCMSFile tells whether path holds an RFC 4108 CMS firmware package (which the inspector
// shows; the editor edits SUIT manifests only).
func isCMSFile(path string) bool {
	b, err := readFileLimited(path)
	return err == nil && LooksLikeCMS(b)
}

// isDocumentFile tells documents from firmware images by name.
func isDocumentFile(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".suit", ".cbor", ".hex", ".yaml", ".yml", ".json", ".diag", ".cms", ".p7", ".p7m":
		return true
	}
	return false
}

func (s *Studio) openDialog() {
	d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
		if err != nil || r == nil {
			return
		}
		r.Close()
		s.OpenFile(r.URI().Path())
	}, s.Win)
	d.SetFilter(storage.NewExtensionFileFilter([]string{".suit", ".cbor", ".hex", ".yaml", ".yml", ".json", ".cms", ".p7", ".p7m", ".der"}))
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

func (s *Studio) save() {
	if s.doc.Path() == "" {
		s.saveAs()
		return
	}
	s.saveTo(s.doc.Path(), s.doc.Format())
}

func (s *Studio) saveAs() {
	d := dialog.NewFileSave(func(w fyne.URIWriteCloser, err error) {
		if err != nil || w == nil {
			return
		}
		w.Close()
		path := w.URI().Path()
		s.saveTo(path, app.FormatForPath(path))
	}, s.Win)
	name := "manifest.suit.yaml"
	if s.doc.Path() != "" {
		name = filepath.Base(s.doc.Path())
	}
	d.SetFileName(name)
	d.Resize(fyne.NewSize(900, 600))
	d.Show()
}

// saveTo saves the document; errors go to a dialog.
func (s *Studio) saveTo(path string, f app.Format) {
	signed := signatureCount(s.doc.Envelope())
	if err := s.doc.Save(path, f); err != nil {
		s.showError("Cannot save", err)
		return
	}
	s.start.refreshRecent()
	msg := "Saved " + path + "."
	if f == app.FormatSource && signed > 0 {
		msg = yamlDropsSignatures(path, signed)
	}
	s.editor.status.SetText(msg)
}

// signatureCount is the number of authentication blocks the envelope carries.
func signatureCount(env *model.Envelope) int {
	if env == nil || env.Auth == nil {
		return 0
	}
	return len(env.Auth.Blocks)
}

// yamlDropsSignatures is the warning shown when a signed document is written as YAML source: the
// source form describes an unsigned manifest, so the signatures are not in the file.
func yamlDropsSignatures(path string, n int) string {
	return fmt.Sprintf("Saved %s as YAML source: its %d signature(s) are NOT kept in that file (the source describes an unsigned manifest). Sign again after reopening it, or export the signed envelope (.suit) with Sign and export (Ctrl+E).", path, n)
}

// confirmDiscard runs next at once when the document has no unsaved changes, and otherwise
// after the user agreed to lose them.
func (s *Studio) confirmDiscard(next func()) {
	if !s.doc.Modified() {
		next()
		return
	}
	dialog.ShowConfirm("Unsaved changes",
		fmt.Sprintf("%s has changes that are not saved. Discard them?", strings.TrimPrefix(s.doc.Title(), "*")),
		func(ok bool) {
			if ok {
				next()
			}
		}, s.Win)
}

func (s *Studio) quit() {
	s.confirmDiscard(func() {
		s.doc.Close()
		s.keys.Close() // logs out of tokens
		s.publish.Stop()
		if s.tmp != "" {
			os.RemoveAll(s.tmp)
		}
		s.Win.Close()
	})
}

// NewFromTemplate starts a new document from a template.
func (s *Studio) NewFromTemplate(t model.Template) {
	s.confirmDiscard(func() {
		doc := app.NewDocument(t.New(), s.State)
		s.SetDocument(doc)
		s.ShowView(ViewEditor)
	})
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
