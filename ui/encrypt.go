package ui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/cose"
	"github.com/suit-studio/suit-studio/model"
	"github.com/suit-studio/suit-studio/signer"
)

// The editor's "Encrypt payload" helper (draft-ietf-suit-firmware-encryption): it encrypts a
// firmware image for its recipients and writes the encryption-info, the digests and sizes and
// the encrypted integrated payload into the document, as one undoable edit. It fits the MTI
// templates (and any manifest whose install sets encryption-info before write or copy).

// EncryptRequest is what the helper's dialog collects.
type EncryptRequest struct {
	Image      string   // the firmware image file
	Recipients []string // key files, trust:NAME or pkcs11: URIs, one per recipient
	Algorithm  string   // a key of app.ContentAlgorithms; "" = the profile's, else a128gcm
}

// encryptForm is the dialog's widgets, kept for tests.
type encryptForm struct {
	image, recipients *widget.Entry
	alg               *widget.Select
	profile           *widget.Label
	dlg               dialog.Dialog
}

// defaultContentAlgorithm is the document's MTI profile's content encryption, or a128gcm.
func defaultContentAlgorithm(env *model.Envelope) (string, *model.MTIProfile) {
	p := app.ProfileOf(env, nil)
	if p != nil {
		for name, id := range app.ContentAlgorithms {
			if id == p.Encryption {
				return name, p
			}
		}
	}
	return "a128gcm", p
}

// encryptDialog opens the helper (Edit > Encrypt payload…).
func (s *Studio) encryptDialog() *encryptForm {
	f := &encryptForm{image: widget.NewEntry(), recipients: widget.NewMultiLineEntry(), profile: widget.NewLabel("")}
	var names []string
	for n := range app.ContentAlgorithms {
		names = append(names, n)
	}
	sort.Strings(names)
	f.alg = widget.NewSelect(names, nil)
	def, prof := defaultContentAlgorithm(s.doc.Envelope())
	f.alg.SetSelected(def)
	if prof != nil {
		f.profile.SetText("MTI profile " + prof.Name + ": " + prof.Distribution + "; sign with " + prof.Authenticator + ".")
	} else {
		f.profile.SetText("Give each recipient's public key (P-256 or X25519, ECDH-ES + A128KW) or key-encryption key file (AES-KW).")
	}
	f.profile.Wrapping = fyne.TextWrapWord
	f.image.SetPlaceHolder("firmware image file")
	f.recipients.SetPlaceHolder("one per line: device.pub.pem, kek.pem, trust:NAME or pkcs11:…")
	if p, ok := s.imageFiles[0]; ok {
		f.image.SetText(p)
	}
	browse := widget.NewButton("Browse…", func() {
		d := dialog.NewFileOpen(func(r fyne.URIReadCloser, err error) {
			if err != nil || r == nil {
				return
			}
			r.Close()
			f.image.SetText(r.URI().Path())
		}, s.Win)
		d.Resize(fyne.NewSize(900, 600))
		d.Show()
	})
	items := []*widget.FormItem{
		widget.NewFormItem("Image", container.NewBorder(nil, nil, nil, browse, f.image)),
		widget.NewFormItem("Recipients", f.recipients),
		widget.NewFormItem("Content encryption", f.alg),
		widget.NewFormItem("", f.profile),
	}
	f.dlg = dialog.NewForm("Encrypt payload", "Encrypt", "Cancel", items, func(ok bool) {
		if !ok {
			return
		}
		s.EncryptPayload(f.request(), nil)
	}, s.Win)
	f.dlg.Resize(fyne.NewSize(640, 420))
	f.dlg.Show()
	return f
}

func (f *encryptForm) request() EncryptRequest {
	var recips []string
	for _, l := range strings.Split(f.recipients.Text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			recips = append(recips, expandHome(l))
		}
	}
	return EncryptRequest{Image: expandHome(strings.TrimSpace(f.image.Text)), Recipients: recips, Algorithm: f.alg.Selected}
}

// EncryptPayload encrypts req.Image for req.Recipients in the background and writes the result
// into the document (undoable). done, when not nil, runs on the event goroutine with the error.
func (s *Studio) EncryptPayload(req EncryptRequest, done func(error)) {
	env := app.CloneEnvelope(s.doc.Envelope()) // the background work edits this copy only
	opts := signer.LoadOptions{PIN: s.pin, Context: context.Background()}
	s.background(func() func() {
		res, err := encryptInto(env, req, opts)
		return func() {
			if err == nil {
				s.editor.apply(fmt.Sprintf("Encrypt %s for %d recipient(s)", filepath.Base(req.Image), len(req.Recipients)),
					func(e *model.Envelope) { *e = *res.env }, "")
				s.inspector.dirty = true
				s.editor.status.SetText(fmt.Sprintf("Encrypted %s with %s for %d recipient(s): %d bytes of ciphertext, encryption-info %d bytes.",
					filepath.Base(req.Image), res.enc.Algorithm.Name, len(req.Recipients), len(res.enc.Ciphertext), len(res.enc.Info)))
			} else {
				showKeyError(s.Win, "Cannot encrypt the payload", err)
			}
			if done != nil {
				done(err)
			}
		}
	})
}

type encryptResult struct {
	env *model.Envelope
	enc *app.EncryptResult
}

// encryptInto edits env (a copy of the document): a failure leaves the document as it was.
func encryptInto(env *model.Envelope, req EncryptRequest, opts signer.LoadOptions) (encryptResult, error) {
	var res encryptResult
	if req.Image == "" {
		return res, fmt.Errorf("give the firmware image to encrypt")
	}
	if len(req.Recipients) == 0 {
		return res, fmt.Errorf("give at least one recipient: a public key file, a key-encryption key file, trust:NAME or a pkcs11: URI")
	}
	img, err := os.ReadFile(req.Image)
	if err != nil {
		return res, &app.FileError{Op: "read", Path: req.Image, Err: err, Hint: "check the file name and its permissions"}
	}
	algName := req.Algorithm
	if algName == "" {
		algName, _ = defaultContentAlgorithm(env)
	}
	alg, ok := app.ContentAlgorithms[algName]
	if !ok {
		return res, fmt.Errorf("unknown content encryption %q", algName)
	}
	var specs []cose.RecipientSpec
	for i, r := range req.Recipients {
		spec, err := app.RecipientKey(r, nil, 16, opts)
		if err != nil {
			return res, fmt.Errorf("recipient %d: %w", i+1, err)
		}
		specs = append(specs, spec)
	}
	if p := app.ProfileOf(env, nil); p != nil {
		if err := app.CheckProfileRecipients(*p, specs); err != nil {
			return res, err
		}
	}
	enc, err := app.EncryptIntoEnvelope(env, img, alg, specs)
	if err != nil {
		return res, err
	}
	return encryptResult{env: env, enc: enc}, nil
}
