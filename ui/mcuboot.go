package ui

import (
	"fmt"
	"path/filepath"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/signer"
)

// exportMCUboot is the sign and export dialog's "Export for an MCUboot board": the component's
// firmware as an MCUboot image (what a stock Zephyr board takes), signed with the same key as the
// manifest, the signed envelope inside (app.ExportMCUboot, as `suit mcuboot sign --manifest`).
const exportMCUboot = "MCUboot image for a Zephyr board (.signed.bin, envelope inside)"

const mcubootNote = "The component's firmware image becomes an MCUboot image signed with this key, the signed envelope inside (TLV 0x53a0): push it to a board that runs MCUboot."

// mcubootFirmware fills in the firmware of an MCUboot export: the image file of the component
// the editor shows (or its integrated payload).
func (s *Studio) mcubootFirmware(req *SignRequest) error {
	req.Component = s.editor.imageComponent()
	p, err := s.componentImageFile(req.Component)
	if err != nil {
		return fmt.Errorf("no firmware image for component %d: set its image from a file in the editor first (%w)", req.Component, err)
	}
	req.Firmware = p
	return nil
}

// exportMCUbootImage builds the MCUboot image from the signed envelope data and the request's
// firmware file, and says what it made.
func exportMCUbootImage(data []byte, key signer.Key, req SignRequest) ([]byte, string, error) {
	if key == nil {
		return nil, "", fmt.Errorf("an MCUboot image must be signed: choose a signing key")
	}
	fw, err := readBounded(req.Firmware, app.MaxDocumentSize)
	if err != nil {
		return nil, "", &app.FileError{Op: "read", Path: req.Firmware, Err: err, Hint: "set the component's image from a file in the editor"}
	}
	ex, err := app.ExportMCUboot(data, fw, req.Component, key)
	if err != nil {
		return nil, "", err
	}
	return ex.Image, fmt.Sprintf("MCUboot image version %s of %s, the envelope inside. ", ex.Version, filepath.Base(req.Firmware)), nil
}

// mcubootPushHint is what the push view says when a board refused a file for its MCUboot magic.
const mcubootPushHint = "This board runs MCUboot: export for it with Sign and export → \"" + exportMCUboot + "\" (or `suit mcuboot sign`), and push that file."
