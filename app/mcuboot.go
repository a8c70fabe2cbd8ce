package app

// MCUboot boards: the use cases that turn a firmware binary into an MCUboot image signed by the
// same key (file or HSM) that signs SUIT manifests, with the signed SUIT envelope describing the
// image carried in a protected TLV, and that check such images. The GUI and `suit mcuboot` both
// call these.
//
// Which bytes the SUIT manifest describes: the image body, bytes [ih_hdr_size,
// ih_hdr_size+ih_img_size) of the MCUboot image, i.e. the application exactly as it is linked
// and as MCUboot copies it into the primary slot and runs it. With --pad-header that is the input
// file as given. The body is the largest part of the image that does not depend on the envelope
// (the header holds the size of the protected TLV area, which holds the envelope), so the
// manifest can be made and signed before the MCUboot image, from the same app.bin.

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"strings"

	"github.com/suit-studio/suit-studio/codec/mcuboot"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
	"github.com/suit-studio/suit-studio/transport"
)

// Errors of the MCUboot use cases (errors.Is).
var (
	// ErrManifestMismatch: the SUIT manifest does not describe the image body.
	ErrManifestMismatch = errors.New("the SUIT manifest does not describe this image")
	// ErrEnvelopeUnsigned: an envelope to embed has no authentication block.
	ErrEnvelopeUnsigned = errors.New("the SUIT envelope is not signed")
	// ErrNotMCUbootImage is wrapped when a file given as an MCUboot image is not one.
	ErrNotMCUbootImage = mcuboot.ErrNotImage
)

// MCUbootSignRequest is what SignMCUboot needs.
type MCUbootSignRequest struct {
	// Firmware is the application binary: either linked with an empty (zero) header area of
	// Options.HeaderSize bytes at its start (Zephyr's CONFIG_ROM_START_OFFSET), or, with
	// Options.PadHeader, the bare binary.
	Firmware []byte
	// Key signs the MCUboot image: a key file or a PKCS#11 token key (signer.Key), or any
	// crypto.Signer.
	Key     crypto.Signer
	Options mcuboot.Options
	// Envelope, if not empty, is a signed SUIT envelope (binary CBOR) whose manifest describes
	// the image body (an image-digest and image-size of some component). It is carried in the
	// protected TLV mcuboot.TLVSUITEnvelope, so MCUboot's signature covers it too.
	Envelope []byte
}

// MCUbootBody returns the part of firmware that becomes the image body for these options: the
// bytes a SUIT manifest must describe (see the package comment of this file).
func MCUbootBody(firmware []byte, o mcuboot.Options) ([]byte, error) {
	if o.PadHeader {
		return firmware, nil
	}
	hs := o.HeaderSize
	if hs == 0 {
		hs = mcuboot.DefaultHeaderSize
	}
	if len(firmware) < hs {
		return nil, fmt.Errorf("%w: the input has %d bytes, fewer than the 0x%x-byte header area; give --pad-header to prepend it", mcuboot.ErrHeaderArea, len(firmware), hs)
	}
	return firmware[hs:], nil
}

// SignMCUboot builds and signs an MCUboot image, imgtool-compatible, embedding the SUIT
// envelope when one is given after checking that its manifest describes the image body.
func SignMCUboot(req MCUbootSignRequest) ([]byte, error) {
	if req.Key == nil {
		return nil, errors.New("no key to sign the MCUboot image with")
	}
	o := req.Options
	if len(req.Envelope) > 0 {
		body, err := MCUbootBody(req.Firmware, o)
		if err != nil {
			return nil, err
		}
		env, err := suit.Decode(req.Envelope)
		if err != nil {
			return nil, fmt.Errorf("the SUIT envelope to embed: %w", err)
		}
		if env.Auth == nil || len(env.Auth.Blocks) == 0 {
			return nil, fmt.Errorf("%w: sign it first (suit sign --key KEY), so that the board's image carries both signatures", ErrEnvelopeUnsigned)
		}
		if v, err := suit.Verify(req.Envelope, nil); err == nil && !v.DigestOK {
			return nil, fmt.Errorf("%w: its manifest does not match the digest its signatures cover (changed after signing?): sign it again", ErrEnvelopeUnsigned)
		}
		if b := BindManifest(env, body); !b.OK {
			return nil, fmt.Errorf("%w: %s", ErrManifestMismatch, layoutAdvice(env, req.Firmware, o, b.Reason))
		}
		prot := make([]mcuboot.TLV, 0, len(o.Protected)+1)
		prot = append(prot, mcuboot.TLV{Type: mcuboot.TLVSUITEnvelope, Value: req.Envelope})
		for _, t := range o.Protected {
			if t.Type == mcuboot.TLVSUITEnvelope {
				return nil, fmt.Errorf("%w: TLV 0x%04x is the SUIT envelope's; it is set from the envelope", mcuboot.ErrOptions, t.Type)
			}
			prot = append(prot, t)
		}
		o.Protected = prot
	}
	return mcuboot.Sign(req.Firmware, req.Key, o)
}

// layoutAdvice explains a mismatch that comes from the header area: a manifest made from a
// Zephyr binary with its empty header area, or a binary given --pad-header that already has one.
func layoutAdvice(env *model.Envelope, firmware []byte, o mcuboot.Options, reason string) string {
	hs := o.HeaderSize
	if hs == 0 {
		hs = mcuboot.DefaultHeaderSize
	}
	switch {
	case !o.PadHeader && BindManifest(env, firmware).OK:
		return fmt.Sprintf("the manifest describes the whole input, its 0x%x-byte empty header area included; it must describe the body, the bytes after that area (e.g. tail -c +%d zephyr.bin > app.bin, then suit create from app.bin)", hs, hs+1)
	case o.PadHeader && len(firmware) > hs && BindManifest(env, firmware[hs:]).OK:
		return fmt.Sprintf("the manifest describes the input without its first 0x%x bytes: the input already has its header area, so leave out --pad-header", hs)
	}
	return reason
}

// ManifestBinding says whether a SUIT manifest describes an MCUboot image body.
type ManifestBinding struct {
	OK bool
	// Component is the component whose image-digest and image-size match the body ("" if none).
	Component string
	Digest    *model.Digest // the manifest's digest for that component (or the first one found)
	Size      uint64
	HasSize   bool
	BodySize  int
	Reason    string // why not OK, in words
}

// BindManifest checks that some component of env's manifest has the image-digest and the
// image-size of body (a size is required: a digest alone does not bound what a device reads).
func BindManifest(env *model.Envelope, body []byte) ManifestBinding {
	b := ManifestBinding{BodySize: len(body)}
	if env == nil || env.Manifest == nil {
		b.Reason = "the envelope has no manifest"
		return b
	}
	var seen []string
	for i, c := range env.Manifest.Common.Components {
		dg, size, hasSize := ImageOf(env, i)
		if dg == nil {
			continue
		}
		if b.Digest == nil {
			b.Component, b.Digest, b.Size, b.HasSize = ComponentName(c), dg, size, hasSize
		}
		got, err := suit.Digest(dg.Alg, body)
		if err != nil {
			seen = append(seen, fmt.Sprintf("component %s uses digest algorithm %d, which SUIT Studio cannot compute", ComponentName(c), dg.Alg))
			continue
		}
		switch {
		case !bytes.Equal(got.Bytes, dg.Bytes):
			seen = append(seen, fmt.Sprintf("component %s has image-digest %x, the image body's %s is %x", ComponentName(c), dg.Bytes, suit.DigestName(dg.Alg), got.Bytes))
		case !hasSize:
			seen = append(seen, fmt.Sprintf("component %s has the body's digest but no image-size (add image-size %d)", ComponentName(c), len(body)))
		case size != uint64(len(body)):
			seen = append(seen, fmt.Sprintf("component %s has image-size %d, the image body has %d bytes", ComponentName(c), size, len(body)))
		default:
			b.OK, b.Component, b.Digest, b.Size, b.HasSize, b.Reason = true, ComponentName(c), dg, size, true, ""
			return b
		}
	}
	if len(seen) == 0 {
		b.Reason = "the manifest sets no image-digest for any component"
	} else {
		b.Reason = strings.Join(seen, "; ")
	}
	b.Reason += fmt.Sprintf(" (the manifest must describe the image body: the %d bytes after the header area, i.e. app.bin as linked; make it with suit create from that file, sign it, then export)", len(body))
	return b
}

// MCUbootReport is what CheckMCUboot found in an MCUboot image.
type MCUbootReport struct {
	Image *mcuboot.Image
	// Verification is MCUboot's verdict with the given public key (nil without one).
	Verification *mcuboot.Verification
	// Envelope is the embedded SUIT envelope (nil if the image carries none), Manifest its
	// decoded form (nil when it does not decode: ManifestErr says why).
	Envelope    []byte
	EnvelopeTLV *mcuboot.TLV
	Manifest    *model.Envelope
	ManifestErr error
	Binding     ManifestBinding
	// SUIT is the envelope's verification with the SUIT keys (nil without keys or envelope).
	SUIT *suit.Verification
	// Valid: MCUboot's verdict is valid and, when an envelope is embedded, it is bound to the
	// body and authentic with the SUIT keys. Meaningful only when a key was given.
	Valid  bool
	Reason string
}

// CheckMCUboot parses an MCUboot image and, when keys are given, verifies it as MCUboot does
// (pub) and its embedded SUIT envelope (suitKeys; when empty, pub is used for the envelope
// too: one HSM key signing both). The error is for unusable input only.
func CheckMCUboot(data []byte, pub crypto.PublicKey, suitKeys []suit.VerifyKey) (*MCUbootReport, error) {
	im, err := mcuboot.Parse(data)
	if err != nil {
		return nil, err
	}
	r := &MCUbootReport{Image: im}
	if t := im.Find(mcuboot.TLVSUITEnvelope); t != nil {
		r.EnvelopeTLV = t
		r.Envelope = t.Value
		r.Manifest, r.ManifestErr = suit.Decode(t.Value)
		if r.Manifest != nil {
			r.Binding = BindManifest(r.Manifest, im.Body())
		}
	}
	if pub == nil && len(suitKeys) == 0 {
		return r, nil
	}
	var why []string
	if pub != nil {
		if r.Verification, _, err = mcuboot.Verify(data, pub); err != nil {
			return r, err
		}
		if !r.Verification.Valid {
			why = append(why, "MCUboot would not boot it: "+r.Verification.Reason)
		}
		if len(suitKeys) == 0 {
			suitKeys = []suit.VerifyKey{{Name: "the image key", Public: pub}}
		}
	}
	if r.Envelope != nil {
		switch {
		case r.ManifestErr != nil:
			why = append(why, "the embedded SUIT envelope does not decode: "+r.ManifestErr.Error())
		case !r.Binding.OK:
			why = append(why, "the embedded SUIT manifest does not describe the image body: "+r.Binding.Reason)
		}
		if r.ManifestErr == nil {
			v, err := suit.Verify(r.Envelope, suitKeys)
			if err != nil {
				why = append(why, "the embedded SUIT envelope cannot be verified: "+err.Error())
			} else {
				r.SUIT = v
				if !v.Authentic {
					why = append(why, "the embedded SUIT envelope is not authentic: "+v.Reason)
				}
			}
		}
	}
	if r.Verification == nil && r.Envelope == nil {
		why = append(why, "the image carries no SUIT envelope to check with the SUIT keys; give the MCUboot public key")
	}
	r.Valid = len(why) == 0
	r.Reason = strings.Join(why, "; ")
	return r, nil
}

// MCUbootHint is the advice for a board that refused a file because it is not an MCUboot image.
const MCUbootHint = "this board runs MCUboot: export with `suit mcuboot sign --key KEY --version X.Y.Z --manifest ENVELOPE -o app.signed.bin app.bin` and push that"

// BoardWantsMCUboot reports whether err, from pushing data, is a board saying that data is not
// an MCUboot image: Zephyr's img_mgmt refuses the first chunk with
// IMG_MGMT_ERR_INVALID_IMAGE_HEADER_MAGIC (23) for SMP v2 clients; a v1 client sees
// MGMT_ERR_EUNKNOWN (1), with "rsn" "magic mismatch" when the board has
// CONFIG_MCUMGR_GRP_IMG_VERBOSE_ERR. certain is false for the bare EUNKNOWN to an upload of a
// file that is not an MCUboot image: the likely cause, not the only one.
func BoardWantsMCUboot(err error, data []byte) (yes, certain bool) {
	if mcuboot.IsImage(data) {
		return false, false
	}
	var de *transport.DeviceError
	if !errors.As(err, &de) {
		return false, false
	}
	switch {
	case de.V2 && de.Group == transport.GroupImage && de.RC == transport.ImgErrInvalidHeaderMagic:
		return true, true
	case !de.V2 && strings.Contains(strings.ToLower(de.Reason), "magic"):
		return true, true
	case !de.V2 && de.RC == transport.MgmtUnknown && de.Reason == "" &&
		de.CmdGroup == transport.GroupImage && de.Cmd == transport.CmdImageUpload:
		return true, false
	}
	return false, false
}

// MCUbootBoardError wraps a push failure that means the board takes only MCUboot images.
type MCUbootBoardError struct {
	Err     error
	Certain bool // the board said so (magic mismatch); else it is the likely cause
}

func (e *MCUbootBoardError) Error() string {
	if e.Certain {
		return "the board takes only MCUboot images (its image header magic check refused the file): " + e.Err.Error()
	}
	return "the board refused the first chunk, as a board running MCUboot refuses a file that is not an MCUboot image: " + e.Err.Error()
}

func (e *MCUbootBoardError) Unwrap() error { return e.Err }

// Hint says what to do: export for MCUboot and push that.
func (e *MCUbootBoardError) Hint() string { return MCUbootHint }

// MCUbootImageHash is the hash a board's img_mgmt reports for an MCUboot image (its SHA256 TLV),
// or nil when data is not an MCUboot image with one.
func MCUbootImageHash(data []byte) []byte {
	if !mcuboot.IsImage(data) {
		return nil
	}
	im, err := mcuboot.Parse(data)
	if err != nil {
		return nil
	}
	for _, t := range im.TLVs {
		if t.Type == mcuboot.TLVSHA256 && len(t.Value) == 32 {
			return t.Value
		}
	}
	return nil
}

// mcubootVerdict says where an MCUboot image stands after a push.
func mcubootVerdict(r PushResult, hash []byte, test bool) string {
	for _, im := range r.Images {
		if bytes.Equal(im.Hash, hash) && im.Active {
			return fmt.Sprintf("applied: the board runs the MCUboot image, version %s", im.Version)
		}
	}
	kind := "a permanent swap"
	if test {
		kind = "a test swap (MCUboot reverts it unless the new application confirms itself)"
	}
	if r.Reset {
		return "uploaded and marked for " + kind + ": the board restarts into MCUboot, which checks the image's signature before it swaps"
	}
	return "uploaded and marked for " + kind + ": MCUboot checks the image's signature at the next reset"
}

// IsMCUbootImage reports whether data starts with the MCUboot image magic: such a file is pushed
// as is.
func IsMCUbootImage(data []byte) bool { return mcuboot.IsImage(data) }

// MCUbootExport is what ExportMCUboot made.
type MCUbootExport struct {
	Image     []byte
	Version   mcuboot.Version
	PadHeader bool // the firmware was a bare binary (a header area was prepended)
}

// ExportMCUboot is the studio's "Export for an MCUboot board": it signs firmware (the image the
// signed envelope's manifest describes) as an MCUboot image with key and carries the envelope
// inside. The layout follows the manifest: a firmware the manifest describes whole is a bare
// binary (--pad-header); a Zephyr binary whose empty 0x200-byte header area the manifest leaves
// out keeps it. The version is the component's text "component-version" when it reads as an
// MCUboot version, else 0.0.0+sequence-number.
func ExportMCUboot(envelope, firmware []byte, comp int, key crypto.Signer) (*MCUbootExport, error) {
	env, err := suit.Decode(envelope)
	if err != nil {
		return nil, fmt.Errorf("the SUIT envelope: %w", err)
	}
	o := mcuboot.Options{HeaderSize: mcuboot.DefaultHeaderSize, PadHeader: true}
	hs := o.HeaderSize
	if !BindManifest(env, firmware).OK && len(firmware) > hs && isZero(firmware[:hs]) && BindManifest(env, firmware[hs:]).OK {
		o.PadHeader = false
	}
	o.Version = mcuboot.Version{Build: uint32(min(env.Manifest.SequenceNumber, 0xffffffff))}
	if t := TextOf(env.Manifest, comp, model.TextComponentVersion); t != "" {
		if v, err := mcuboot.ParseVersion(strings.TrimPrefix(strings.TrimSpace(t), "v")); err == nil {
			o.Version = v
		}
	}
	img, err := SignMCUboot(MCUbootSignRequest{Firmware: firmware, Key: key, Options: o, Envelope: envelope})
	if err != nil {
		return nil, err
	}
	return &MCUbootExport{Image: img, Version: o.Version, PadHeader: o.PadHeader}, nil
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
