package ui

import (
	"fmt"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/model"
)

// Export kinds offered by the sign and export dialog.
const (
	exportEnvelope = "Envelope (.suit)"
	exportSevered  = "Severed envelope (.suit, severed members left out)"
	exportSource   = "Source (.yaml)"
	exportDiag     = "Diagnostic notation (.diag)"
	exportCHeader  = "C header (.h, the envelope as a byte array)"
)

var exportKinds = []string{exportEnvelope, exportSevered, exportSource, exportDiag, exportCHeader}

// exportExt is the file name extension of each export kind.
func exportExt(kind string) string {
	switch kind {
	case exportSource:
		return ".suit.yaml"
	case exportDiag:
		return ".diag"
	case exportCHeader:
		return ".h"
	case exportSevered:
		return ".severed.suit"
	}
	return ".suit"
}

// SignRequest is what the sign and export dialog collects.
type SignRequest struct {
	KeyRef string // a PEM private key file or a pkcs11: URI; "" = export without signing
	Kind   string // one of exportKinds
	Path   string // where to write
}

// signDialog asks for a key, the export kind and a file, then signs and exports in the
// background.
func (s *Studio) signDialog() {
	key := widget.NewEntry()
	key.SetPlaceHolder("private key: PEM file or pkcs11: URI (empty: export unsigned)")
	if k := s.App.Preferences().String("signing-key"); k != "" {
		key.SetText(k)
	}
	browse := widget.NewButtonWithIcon("", iconOpen(), func() {
		d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
			if err != nil || r == nil {
				return
			}
			r.Close()
			key.SetText(r.URI().Path())
		}, s.Win)
		d.SetFilter(storage.NewExtensionFileFilter([]string{".pem", ".key"}))
		d.Resize(fyne.NewSize(900, 600))
		d.Show()
	})
	kind := widget.NewSelect(exportKinds, nil)
	kind.SetSelected(exportEnvelope)
	base := "manifest"
	if p := s.doc.Path(); p != "" {
		base = strings.TrimSuffix(strings.TrimSuffix(filepath.Base(p), filepath.Ext(p)), ".suit")
	}
	dir := "."
	if p := s.doc.Path(); p != "" {
		dir = filepath.Dir(p)
	}
	out := widget.NewEntry()
	out.SetText(filepath.Join(dir, base+exportExt(kind.Selected)))
	kind.OnChanged = func(k string) {
		cur := out.Text
		for _, e := range exportKinds {
			cur = strings.TrimSuffix(cur, exportExt(e))
		}
		out.SetText(cur + exportExt(k))
	}
	warn := wrapLabel("")
	if n := s.doc.Errors(); n > 0 {
		warn.SetText(fmt.Sprintf("The manifest has %d validation error(s): a device would probably refuse it. Fix them in the editor first.", n))
	}
	form := widget.NewForm(
		widget.NewFormItem("Signing key", container.NewBorder(nil, nil, nil, browse, key)),
		widget.NewFormItem("Export as", kind),
		widget.NewFormItem("File", out),
	)
	d := dialog.NewCustomConfirm("Sign and export", "Sign and export", "Cancel", container.NewVBox(form, warn), func(ok bool) {
		if !ok {
			return
		}
		req := SignRequest{KeyRef: strings.TrimSpace(key.Text), Kind: kind.Selected, Path: strings.TrimSpace(out.Text)}
		if req.KeyRef != "" {
			s.App.Preferences().SetString("signing-key", req.KeyRef)
		}
		s.SignAndExport(req, nil)
	}, s.Win)
	d.Resize(fyne.NewSize(640, 300))
	d.Show()
}

// SignAndExport signs the document with req.KeyRef (when given) and writes the export. The
// signature goes into the document too (so that saving keeps it, and the inspector shows it).
// done, when not nil, runs on the event goroutine afterwards with the error (nil on success).
func (s *Studio) SignAndExport(req SignRequest, done func(error)) {
	env := s.doc.Envelope()
	s.background(func() func() {
		res, err := signAndExport(env, req)
		return func() {
			if err == nil && res.signed != nil {
				s.doc.Apply("Sign", func(e *model.Envelope) { *e = *res.signed })
				s.inspector.dirty = true
			}
			if err != nil {
				s.showError("Cannot sign and export", err)
			} else {
				s.editor.status.SetText(res.message)
			}
			if done != nil {
				done(err)
			}
		}
	})
}
