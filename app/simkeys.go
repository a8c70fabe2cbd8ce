package app

import (
	"crypto/ecdh"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"github.com/suit-studio/suit-studio/devicesim"
	"github.com/suit-studio/suit-studio/signer"
)

// LoadDeviceKey reads a key the simulated device holds: a key-encryption key
// (AES-KW), a P-256 or X25519 private key (ECDH-ES) or an HMAC key ("SUIT HMAC
// KEY" PEM: COSE_Mac0 authentication blocks). ref is FILE or KID=FILE (the
// kid as text).
func LoadDeviceKey(ref string) (devicesim.DeviceKey, error) {
	var k devicesim.DeviceKey
	path := ref
	if kid, file, ok := strings.Cut(ref, "="); ok && file != "" {
		k.KID, path = []byte(kid), file
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return k, fmt.Errorf("%w: device key: %v", ErrSimInput, err)
	}
	k.Name = path
	if blk, _ := pem.Decode(b); blk != nil && blk.Type == signer.MACPEMType {
		mk, err := signer.ParsePrivate(b, path)
		if err != nil {
			return k, fmt.Errorf("%w: device key %s: %v", ErrSimInput, path, err)
		}
		m, ok := mk.(signer.MACKey)
		if !ok {
			return k, fmt.Errorf("%w: device key %s: not an HMAC key", ErrSimInput, path)
		}
		k.MAC = m.MACKey()
		return k, nil
	}
	dk, err := ParseDecryptionKey(b)
	if err != nil {
		return k, fmt.Errorf("%w: device key %s: %v (or an HMAC key in a %q PEM block)", ErrSimInput, path, err, signer.MACPEMType)
	}
	k.KEK = dk.KEK
	if p, ok := dk.Private.(*ecdh.PrivateKey); ok {
		k.Private = p
	}
	return k, nil
}

// ParseComponentAlias reads NAME=HEX: the manifest's component identifier
// NAME (text) is the device's component [h'HEX'].
func ParseComponentAlias(s string) (string, []byte, error) {
	name, h, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return "", nil, fmt.Errorf("%w: component alias %q is not NAME=HEX (e.g. plaintext-firmware=00)", ErrSimInput, s)
	}
	id, err := hex.DecodeString(h)
	if err != nil || len(id) == 0 {
		return "", nil, fmt.Errorf("%w: component alias %q: the device component is hex (00, 01, 02)", ErrSimInput, s)
	}
	return name, id, nil
}
