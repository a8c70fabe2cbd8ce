package ui

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/assets"
	"github.com/suit-studio/suit-studio/model"
	"github.com/suit-studio/suit-studio/signer"
)

// Main runs the studio: parses the command line, opens the window and returns when it closes.
//
//	suit-studio [-demo] [-view start|editor|inspector|simulator|push|keys] [FILE]
//
// FILE is opened at start (so file managers can open .suit files with the studio). -demo starts
// on a demo document: the "download, install and boot" template for example.com's demo board with
// the embedded demo firmware. The environment variable SUIT_STUDIO_SCREENSHOT_VIEW=VIEW does what
// -view does (for the screenshot test), and SUIT_STUDIO_THEME=system|light|dark overrides the
// theme chosen in View > Theme.
func Main(args []string) error {
	fs := flag.NewFlagSet("suit-studio", flag.ContinueOnError)
	demo := fs.Bool("demo", false, "start on a demo document (a manifest for the embedded demo firmware)")
	view := fs.String("view", os.Getenv("SUIT_STUDIO_SCREENSHOT_VIEW"), "view to show first: start, editor, inspector, simulator, push or keys")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return errors.New("give at most one file to open")
	}
	switch *view {
	case "", ViewStart, ViewEditor, ViewInspector, ViewSimulator, ViewPush, ViewKeys:
	default:
		return fmt.Errorf("unknown view %q: use start, editor, inspector, simulator, push or keys", *view)
	}
	a := fyneapp.NewWithID(AppID)
	a.SetIcon(fyne.NewStaticResource("icon.png", assets.Icon))
	s := New(a, app.DefaultState())
	file := ""
	if fs.NArg() == 1 {
		file = fs.Arg(0)
		if abs, err := filepath.Abs(file); err == nil {
			file = abs
		}
	}
	s.Start(file, *demo, *view, func() { fmt.Println("suit-studio: view " + *view + " ready") })
	s.Win.ShowAndRun()
	return nil
}

// Start opens file (when not ""), or the demo document, and then shows view (when not ""),
// without waiting: opening runs in the background and its completion needs the event loop, which
// only runs once the window is shown. ready, when view is set, is called on the event goroutine
// once the view has its content (the screenshot script waits for it).
func (s *Studio) Start(file string, demo bool, view string, ready func()) {
	switch {
	case file != "":
		s.OpenFile(file)
	case demo:
		s.SetDocument(DemoDocument(s.State))
		s.ShowView(ViewEditor)
		if msg, err := s.EnsureDemoKey(); err != nil {
			s.editor.note = "No demo signing key: " + err.Error() + ". Choose a key in Sign and export (Ctrl+E)."
		} else {
			s.editor.note = msg
		}
		s.editor.refresh(false)
	}
	if view == "" {
		return
	}
	go func() {
		s.Wait() // the file is open
		s.onUI(func() {
			if view == ViewInspector && file != "" {
				// Inspect the file's own bytes, not the document re-encoded from them.
				s.inspector.InspectFile(file)
			}
			s.ShowView(view)
		})
		s.Wait() // the view's own work (the inspection)
		time.Sleep(300 * time.Millisecond)
		if ready != nil {
			s.onUI(ready)
		}
	}()
}

// onUI runs f on the event goroutine and waits for it, serialized with the completions of
// background work (as background does).
func (s *Studio) onUI(f func()) {
	fyne.DoAndWait(func() {
		s.doneMu.Lock()
		defer s.doneMu.Unlock()
		f()
	})
}

// DemoDocument is the document `make run` opens: example 2's structure (download, install and
// boot, with the text severed) for the vendor example.com and the model "demo-board",
// with the embedded demo firmware as an integrated payload, so that it is valid and can be signed
// and sent to the built-in simulator without any other file.
func DemoDocument(state *app.State) *app.Document {
	env := model.TemplateByID("download-install-boot").New()
	env.Manifest.SequenceNumber, _ = app.SequenceNumbers(0, time.Now())
	env.Manifest.ReferenceURI = nil
	// The install sequence only points at the integrated payload: too small to be worth severing.
	env.Manifest.Install.Severed = false
	_ = app.SetIdentity(env, "example.com", "demo-board")
	_ = app.SetImage(env, 0, assets.DemoFirmwareV1, app.ImageSource{Integrate: true, Name: "firmware-v1.bin"})
	if t := env.Manifest.Text.Text; t != nil && len(t.Languages) > 0 {
		l := &t.Languages[0]
		l.Entries = []model.TextEntry{{Key: model.TextManifestDescription, Text: "Demo: install and boot SUIT Studio demo firmware 1.0.0 on the demo board."}}
		for i := range l.Components {
			l.Components[i].Entries = []model.TextEntry{
				{Key: model.TextVendorDomain, Text: "example.com"},
				{Key: model.TextModelInfo, Text: "demo-board"},
				{Key: model.TextComponentDescription, Text: "Application image"},
				{Key: model.TextComponentVersion, Text: "1.0.0"},
			}
		}
	}
	doc := app.NewDocument(env, state)
	return doc
}

// EnsureDemoKey gives the demo a signing key when none is configured, so that "Send to
// simulator" (Ctrl+R) signs the demo and the simulated device applies it with nothing set up.
// The default path is the HSM path: when SoftHSM2 is installed, a local development token
// (clearly labelled as such, in the studio's state folder) with a P-256 key, used through PKCS#11
// exactly as a production HSM would be. Without SoftHSM2 (or when its key cannot be used in this
// process), a P-256 key file made once in the state folder (0600). It returns what it did in
// words ("" when a signing key was already configured).
func (s *Studio) EnsureDemoKey() (string, error) {
	if s.App.Preferences().String(prefSigningKey) != "" {
		return "", nil
	}
	if s.State == nil || s.State.Dir == "" {
		return "", errors.New("no state folder")
	}
	if err := os.MkdirAll(s.State.Dir, 0o700); err != nil {
		return "", err
	}
	if _, err := signer.SoftHSMModule(); err == nil {
		dt, err := app.DevToken(context.Background(), filepath.Join(s.State.Dir, "devtoken"), nil)
		if err == nil {
			if k, lerr := signer.LoadSigner(dt.URI, signer.LoadOptions{}); lerr == nil {
				signer.CloseKey(k)
				s.rememberKey(dt.URI)
				return "Signing through PKCS#11 with the SoftHSM2 DEVELOPMENT token (not for production keys). Ctrl+R signs the demo and runs it on the simulated device.", nil
			}
		}
	}
	key := filepath.Join(s.State.Dir, "demo-signing-key.pem")
	if !fileExists(key) {
		if err := signer.GenerateFile(key, signer.P256); err != nil {
			return "", err
		}
	}
	s.rememberKey(key)
	return "Demo key " + key + " made for signing (install softhsm2 to sign through a PKCS#11 development token). Ctrl+R signs the demo and runs it on the simulated device.", nil
}

// showForm is a small dialog with one input and OK/Cancel.
func showForm(w fyne.Window, title, prompt string, input fyne.CanvasObject, ok func()) {
	d := dialog.NewCustomConfirm(title, "OK", "Cancel", container.NewVBox(widget.NewLabel(prompt), input), func(b bool) {
		if b {
			ok()
		}
	}, w)
	d.Resize(fyne.NewSize(420, 160))
	d.Show()
}

func readFileLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, app.MaxDocumentSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > app.MaxDocumentSize {
		return nil, fmt.Errorf("%w: more than %d bytes", app.ErrTooLarge, app.MaxDocumentSize)
	}
	return b, nil
}
