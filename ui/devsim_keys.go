package ui

import (
	"strings"

	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/devicesim"
)

// The simulated device's own keys (draft-ietf-suit-firmware-encryption, COSE_Mac0): a
// key-encryption key, a P-256 or X25519 private key, or an HMAC key file, one a line, optionally
// KID=FILE. They are the device's, kept in its key store (not its flash state): provisioning
// gives them again.

func (v *SimulatorView) deviceKeysItem() *widget.FormItem {
	v.deviceKeysEntry = widget.NewMultiLineEntry()
	v.deviceKeysEntry.SetPlaceHolder("the device's keys, one a line: [KID=]FILE (KEK, P-256/X25519 private key, or HMAC key)")
	v.deviceKeysEntry.SetMinRowsVisible(2)
	return widget.NewFormItem("Device keys", v.deviceKeysEntry)
}

func (v *SimulatorView) readDeviceKeys() []string {
	var out []string
	for _, l := range strings.Split(v.deviceKeysEntry.Text, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, expandHome(l))
		}
	}
	return out
}

func loadDeviceKeys(refs []string) ([]devicesim.DeviceKey, error) {
	var keys []devicesim.DeviceKey
	for _, r := range refs {
		k, err := app.LoadDeviceKey(r)
		if err != nil {
			return nil, &simHintError{err: err, hint: "give a key-encryption key (16, 24 or 32 bytes, or a SUIT KEY ENCRYPTION KEY PEM), a P-256 or X25519 private key, or a SUIT HMAC KEY file"}
		}
		keys = append(keys, k)
	}
	return keys, nil
}
