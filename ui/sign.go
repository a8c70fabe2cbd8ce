package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/model"
	"github.com/suit-studio/suit-studio/signer"
)

// Export kinds offered by the sign and export dialog.
const (
	exportEnvelope = "Envelope (.suit)"
	exportSevered  = "Severed envelope (.suit, severed members left out)"
	exportSource   = "Source (.yaml)"
	exportDiag     = "Diagnostic notation (.diag)"
	exportCHeader  = "C header (.h, the envelope as a byte array)"
	// exportCMS packages the component's firmware image as an RFC 4108 CMS firmware package
	// instead of a SUIT envelope: it opens the CMS export dialog.
	exportCMS = "CMS firmware package (.cms)"
)

var exportKinds = []string{exportEnvelope, exportSevered, exportSource, exportDiag, exportCHeader, exportCMS, exportMCUboot}

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
	case exportCMS:
		return ".cms"
	case exportMCUboot:
		return ".signed.bin"
	}
	return ".suit"
}

// Preference keys of the signing keys.
const (
	prefSigningKey  = "signing-key"  // the key used last
	prefSigningKeys = "signing-keys" // recent keys, newest first
	prefModules     = "pkcs11-modules"
	maxRecentKeys   = 8
)

// SignRequest is what the sign and export dialog collects.
type SignRequest struct {
	KeyRef string // a PEM private key file or a pkcs11: URI; "" = export without signing
	Kind   string // one of exportKinds
	Path   string // where to write
	// Overwrite replaces an existing file at Path (the user said yes to "Replace the file?").
	Overwrite bool
	// Firmware and Component: the image file and component of an MCUboot export.
	Firmware  string
	Component int
}

// signForm is the open sign and export dialog (kept for tests).
type signForm struct {
	dlg    *dialog.ConfirmDialog
	key    *KeyPicker
	kind   *widget.Select
	out    *widget.Entry
	submit func() // what the dialog's confirm button does
}

// recentKeys are the signing keys used before, newest first.
func (s *Studio) recentKeys() []string {
	keys := s.App.Preferences().StringList(prefSigningKeys)
	if k := s.App.Preferences().String(prefSigningKey); k != "" && !contains(keys, k) {
		keys = append([]string{k}, keys...)
	}
	return keys
}

// rememberKey makes ref the signing key and puts it first in the recent keys.
func (s *Studio) rememberKey(ref string) {
	if ref == "" {
		return
	}
	p := s.App.Preferences()
	p.SetString(prefSigningKey, ref)
	keys := []string{ref}
	for _, k := range p.StringList(prefSigningKeys) {
		if k != ref && len(keys) < maxRecentKeys {
			keys = append(keys, k)
		}
	}
	p.SetStringList(prefSigningKeys, keys)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// keyManagerOptions are the options of every key manager the studio opens (the Keys tab and the
// key pickers' "Token key…"): the studio's PIN dialog and module list.
func (s *Studio) keyManagerOptions() KeyManagerOptions {
	return KeyManagerOptions{
		Modules:          s.App.Preferences().StringList(prefModules),
		OnModulesChanged: func(m []string) { s.App.Preferences().SetStringList(prefModules, m) },
		TrustDir:         s.TrustDir,
		PIN:              s.pin,
		OfferDevToken:    s.App.Preferences().String(prefSigningKey) == "",
		uiLock:           &s.doneMu,
	}
}

// keyPickerOptions configure the key pickers of the export dialogs.
func (s *Studio) keyPickerOptions(selected string) KeyPickerOptions {
	return KeyPickerOptions{Keys: s.recentKeys(), Selected: selected, Manager: s.keyManagerOptions()}
}

// signDialog asks for a key (a file or a token key), the export kind and a file, then signs and
// exports in the background. "CMS firmware package" hands over to the CMS export dialog.
func (s *Studio) signDialog() {
	f := &signForm{}
	f.key = NewKeyPicker(s.Win, s.keyPickerOptions(s.App.Preferences().String(prefSigningKey)))
	f.kind = widget.NewSelect(exportKinds, nil)
	f.kind.SetSelected(exportEnvelope)
	base := "manifest"
	dir := exportDir(s.doc.Path())
	if p := s.doc.Path(); p != "" {
		base = strings.TrimSuffix(strings.TrimSuffix(filepath.Base(p), filepath.Ext(p)), ".suit")
	}
	f.out = widget.NewEntry()
	f.out.SetText(filepath.Join(dir, base+exportExt(f.kind.Selected)))
	note := wrapLabel("")
	f.kind.OnChanged = func(k string) {
		cur := f.out.Text
		for _, e := range exportKinds {
			cur = strings.TrimSuffix(cur, exportExt(e))
		}
		f.out.SetText(cur + exportExt(k))
		if k == exportMCUboot {
			note.SetText(mcubootNote)
		} else if k == exportCMS {
			note.SetText("The next dialog packages the component's firmware image as an RFC 4108 CMS firmware package, signed with this key (no SUIT manifest).")
		} else {
			note.SetText("")
		}
	}
	warn := wrapLabel("")
	if n := s.doc.Errors(); n > 0 {
		warn.SetText(fmt.Sprintf("The manifest has %d validation error(s): a device would probably refuse it. Fix them in the editor first.", n))
	}
	form := widget.NewForm(
		widget.NewFormItem("Signing key", f.key),
		widget.NewFormItem("Export as", f.kind),
		widget.NewFormItem("File", savePathField(s.Win, f.out, dir)),
	)
	f.submit = func() {
		req := SignRequest{KeyRef: f.key.Selected(), Kind: f.kind.Selected, Path: fullPath(f.out.Text, dir)}
		s.rememberKey(req.KeyRef)
		if req.Kind == exportCMS {
			s.ShowCMSExport(req.KeyRef, req.Path)
			return
		}
		confirmReplace(s.Win, []string{req.Path}, func(overwrite bool) {
			req.Overwrite = overwrite
			s.SignAndExport(req, nil)
		})
	}
	f.dlg = dialog.NewCustomConfirm("Sign and export", "Sign and export", "Cancel", container.NewVBox(form, note, warn), func(ok bool) {
		if ok {
			f.submit()
		}
	}, s.Win)
	f.dlg.Resize(fyne.NewSize(760, 320))
	f.dlg.Show()
	s.signForm = f
}

// SignAndExport signs the document with req.KeyRef (when given: a key file, or a token key whose
// PIN the studio's PIN dialog asks for) and writes the export. The signature goes into the
// document too (so that saving keeps it, and the inspector shows it). done, when not nil, runs
// on the event goroutine afterwards with the error (nil on success).
func (s *Studio) SignAndExport(req SignRequest, done func(error)) {
	if req.Kind == exportMCUboot && req.Firmware == "" {
		if err := s.mcubootFirmware(&req); err != nil {
			showKeyError(s.Win, "Cannot export for MCUboot", err)
			if done != nil {
				done(err)
			}
			return
		}
	}
	env := s.doc.Envelope()
	opts := signer.LoadOptions{PIN: s.pin, Context: context.Background()}
	s.background(func() func() {
		res, err := signAndExport(env, req, opts)
		return func() {
			if err == nil && res.signed != nil {
				s.doc.Apply("Sign", func(e *model.Envelope) { *e = *res.signed })
				s.inspector.dirty = true
			}
			if err != nil {
				showKeyError(s.Win, "Cannot sign and export", err)
			} else {
				s.editor.status.SetText(res.message)
			}
			if done != nil {
				done(err)
			}
		}
	})
}

// ShowCMSExport opens the CMS firmware package dialog for the selected component's image (the
// file it was set from, or its integrated payload), signed with keyRef, written to out.
func (s *Studio) ShowCMSExport(keyRef, out string) *CMSExport {
	comp := s.editor.imageComponent()
	img, err := s.componentImageFile(comp)
	if err != nil {
		s.editor.status.SetText("No firmware image file for component " + fmt.Sprint(comp) + ": choose it in the dialog (" + err.Error() + ").")
	}
	desc := ""
	if env := s.doc.Envelope(); env != nil && env.Manifest != nil {
		desc = app.TextOf(env.Manifest, comp, model.TextComponentDescription)
	}
	s.cmsExport = ShowCMSExportDialog(s.Win, img, CMSExportOptions{
		Version:     1,
		Description: desc,
		Output:      out,
		Key:         s.keyPickerOptions(keyRef),
		PIN:         s.pin,
		OnDone: func(path string, err error) {
			if err == nil {
				s.editor.status.SetText("Wrote the CMS firmware package " + path + ".")
			}
		},
	})
	return s.cmsExport
}

// componentImageFile is a file holding component comp's firmware image: the file it was set
// from in this session, or else its integrated payload (the one whose SHA-256 the manifest
// names) written to the studio's temporary folder.
func (s *Studio) componentImageFile(comp int) (string, error) {
	if p := s.imageFiles[comp]; p != "" && fileExists(p) {
		return p, nil
	}
	env := s.doc.Envelope()
	data, name, ok := app.IntegratedImage(env, comp)
	if !ok {
		return "", fmt.Errorf("the manifest carries no integrated image for component %d", comp)
	}
	dir, err := s.tempDir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(dir, name)
	if err := app.WriteFileAtomic(p, data, 0o600); err != nil {
		return "", err
	}
	return p, nil
}

// tempDir is the studio's own temporary folder (removed when the window closes).
func (s *Studio) tempDir() (string, error) {
	if s.tmp != "" {
		return s.tmp, nil
	}
	d, err := os.MkdirTemp("", "suit-studio-")
	if err != nil {
		return "", err
	}
	s.tmp = d
	return d, nil
}
