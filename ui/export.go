package ui

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
	"github.com/suit-studio/suit-studio/signer"
)

type signResult struct {
	signed  *model.Envelope // the document's new value (with the signature), nil when not signed
	message string
}

// signAndExport encodes env, replaces its signatures with one made by req.KeyRef (when given; a
// token key logs in with opts, whose PIN source may ask the user) and
// writes the export req.Kind to req.Path atomically, with the use cases `suit sign`, `suit sever`
// and `suit show` share (app.SignEnvelope, app.SeverEnvelope, app.Diagnostic, app.CHeader).
func signAndExport(env *model.Envelope, req SignRequest, opts signer.LoadOptions) (signResult, error) {
	var res signResult
	if req.Path == "" {
		return res, errors.New("give the file to export to")
	}
	data, err := suit.Encode(env)
	if err != nil {
		return res, fmt.Errorf("the manifest cannot be encoded: %w (fix the errors listed in the editor)", err)
	}
	var signingKey signer.Key
	if req.KeyRef != "" {
		// A signing key (file or token) or an HMAC key file (COSE_Mac0).
		key, err := signer.LoadPrivate(req.KeyRef, opts)
		if err != nil {
			return res, err
		}
		defer signer.CloseKey(key)
		if data, err = app.SignEnvelope(data, []any{key}, app.SignOptions{Replace: true}); err != nil {
			return res, err
		}
		if res.signed, err = suit.Decode(data); err != nil {
			return res, err
		}
		if sk, ok := key.(signer.Key); ok {
			signingKey = sk // an HMAC key cannot sign an MCUboot image
		}
		if d, ok := key.(interface{ Description() string }); ok {
			res.message = "Signed with " + d.Description() + ". "
		}
	}
	current := env
	if res.signed != nil {
		current = res.signed
	}
	var out []byte
	switch req.Kind {
	case exportEnvelope, "":
		out = data
	case exportSevered:
		var names []string
		for _, n := range suit.SeverableMembers {
			if severedPresent(current.Manifest, n) {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			return res, errors.New("no member is marked as severed: tick \"severed\" for install or text in the manifest's sections first")
		}
		sr, err := app.SeverEnvelope(data, names, false)
		if err != nil {
			return res, err
		}
		if sr.ManifestChanged {
			return res, errors.New("severing changed the manifest; sign again")
		}
		out = sr.Bytes
	case exportSource:
		if out, err = suit.FormatSource(current); err != nil {
			return res, err
		}
	case exportDiag:
		s, err := app.Diagnostic(data)
		if err != nil {
			return res, err
		}
		out = []byte(s + "\n")
	case exportCHeader:
		name := strings.TrimSuffix(filepath.Base(req.Path), filepath.Ext(req.Path))
		out = []byte(app.CHeader(name, data))
	case exportMCUboot:
		var what string
		if out, what, err = exportMCUbootImage(data, signingKey, req); err != nil {
			return res, err
		}
		res.message += what
	default:
		return res, fmt.Errorf("unknown export %q", req.Kind)
	}
	if err := app.WriteExport(req.Path, out, req.Overwrite); err != nil {
		return res, &app.FileError{Op: "export to", Path: req.Path, Err: err, Hint: "check that the folder exists and is writable"}
	}
	res.message += fmt.Sprintf("Exported %d bytes to %s.", len(out), req.Path)
	if req.Kind == exportSource {
		if n := signatureCount(current); n > 0 {
			res.message += fmt.Sprintf(" The YAML source does NOT keep the %d signature(s): export the envelope (.suit) to send a signed manifest.", n)
		}
	}
	return res, nil
}

func severedPresent(m *model.Manifest, name string) bool {
	switch name {
	case "text":
		return m.Text.Severed && m.Text.Present
	case "coswid":
		return m.Coswid.Severed && m.Coswid.Present
	}
	_, sev := topSequence(m, name)
	return sev != nil && sev.Severed && sev.Present
}
