package ui

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
	"github.com/suit-studio/suit-studio/signer"
)

// This file is "Send to simulator": the document goes to the built-in simulated device, which is
// provisioned for it first (the document's vendor and model, the key that signed it as the trust
// anchor), so that a manifest made and signed in the studio applies without setting anything up.

// simSend is what the background half of SendToSimulator found out.
type simSend struct {
	signed        *model.Envelope // the document signed for the run (it was not signed), or nil
	message       string
	domain, model string // the device's vendor and model (names or UUIDs), "" = leave the fields
	trust         string // a PEM public key file the device trusts, "" = leave the field
	note          string // where the provisioning came from, for the simulator view
}

// SendToSimulator runs the document on the built-in simulated device, in the simulator view.
// An unsigned document is signed first with the studio's signing key (the signature goes into the
// document, as "Sign and export" does; a token key asks for its PIN). The device is provisioned
// from the document: the vendor domain and model its text gives (when they derive the IDs it
// checks) and the public key that verifies its signature (the signing key's public half, or one
// of the trusted keys) as the trust anchor. A device provisioned otherwise is replaced.
func (s *Studio) SendToSimulator() {
	s.ShowView(ViewSimulator)
	env := s.doc.Envelope()
	ref := s.App.Preferences().String(prefSigningKey)
	trusted := append([]string(nil), s.TrustedKeys...)
	tmp, tmpErr := s.tempDir()
	opts := signer.LoadOptions{PIN: s.pin, Context: context.Background()}
	s.background(func() func() {
		res, err := prepareSimSend(env, ref, trusted, tmp, tmpErr, opts)
		return func() {
			if err != nil {
				showKeyError(s.Win, "Cannot sign the manifest for the simulator", err)
				return
			}
			if res.signed != nil {
				s.doc.Apply("Sign", func(e *model.Envelope) { *e = *res.signed })
				s.inspector.dirty = true
			}
			if res.message != "" {
				s.editor.status.SetText(res.message)
			}
			s.sim.Prefill(res.domain, res.model, res.trust)
			s.sim.SetProvisionNote(res.note)
			s.sim.RunOpen()
		}
	})
}

// prepareSimSend signs env when it is not signed and ref names a key, and finds the trust anchor
// and identity to provision the device with. It runs off the event goroutine (a token may ask for
// its PIN). An envelope that cannot be encoded is left to the simulator view, which says why.
func prepareSimSend(env *model.Envelope, ref string, trusted []string, tmp string, tmpErr error, opts signer.LoadOptions) (res simSend, err error) {
	var fromText bool
	res.domain, res.model, fromText = app.IdentityText(env, 0)
	if !fromText {
		// The IDs are not derived from the text (or there is none): the device gets the IDs.
		vendor, class := app.Identity(env)
		if vendor != nil {
			res.domain = model.FormatUUID(vendor)
		}
		if class != nil {
			res.model = model.FormatUUID(class)
		}
	}
	defer func() {
		var parts []string
		switch {
		case fromText:
			parts = append(parts, fmt.Sprintf("vendor %s and model %s (the document's text, which gives its IDs)", res.domain, res.model))
		case res.domain != "" || res.model != "":
			parts = append(parts, "the document's vendor and class IDs")
		}
		if res.trust != "" {
			parts = append(parts, "the key that verifies its signature as the trust anchor")
		}
		if len(parts) > 0 {
			res.note = "Provisioned from the open document: " + strings.Join(parts, ", ") + "."
		}
	}()
	data, err := suit.Encode(env)
	if err != nil {
		return res, nil
	}
	if (env.Auth == nil || len(env.Auth.Blocks) == 0) && ref != "" {
		key, err := signer.LoadSigner(ref, opts)
		if err != nil {
			return res, err
		}
		data, err = app.SignEnvelope(data, []any{key}, app.SignOptions{Replace: true})
		desc := key.Description()
		signer.CloseKey(key)
		if err != nil {
			return res, err
		}
		if res.signed, err = suit.Decode(data); err != nil {
			return res, err
		}
		res.message = "Signed with " + desc + " for the simulator."
	}
	var candidates []string
	if ref != "" {
		if p, err := publicKeyFile(ref, tmp, tmpErr, opts); err == nil {
			candidates = append(candidates, p)
		}
	}
	candidates = append(candidates, trusted...)
	for _, c := range candidates {
		if ver, _, err := app.VerifyWithFiles(data, []string{c}); err == nil && ver != nil && ver.Authentic {
			res.trust = c
			break
		}
	}
	return res, nil
}

// publicKeyFile writes the public half of the key ref names (a file or a token key) as PEM to
// the studio's temporary folder, for the simulated device's trust anchor, and returns the path.
func publicKeyFile(ref, tmp string, tmpErr error, opts signer.LoadOptions) (string, error) {
	if tmpErr != nil {
		return "", tmpErr
	}
	if tmp == "" {
		return "", errors.New("no temporary folder")
	}
	pem, err := app.ExportPublicKey(opts.Context, ref, app.FormatPEM, "", opts)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(ref))
	p := filepath.Join(tmp, "signing-key-"+hex.EncodeToString(sum[:6])+".pub.pem")
	if b, err := os.ReadFile(p); err == nil && string(b) == string(pem) {
		return p, nil
	}
	return p, app.WriteFileAtomic(p, pem, 0o644)
}
