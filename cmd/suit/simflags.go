package main

import (
	"encoding/hex"
	"flag"
	"strings"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/devicesim"
)

// provFlags are the provisioning flags that `suit sim run` and `suit sim serve` share.
type provFlags struct {
	trust, payloads, deviceKeys, aliases                           multiFlag
	vendorDomain, model, vendorID, classID, deviceID, image, state *string
	hwType, hwSerial                                               *string
	sequence                                                       *uint64
	board                                                          *string
	um                                                             *umFlags // simpolicy.go
}

func addProvFlags(fs *flag.FlagSet) *provFlags {
	p := &provFlags{
		vendorDomain: fs.String("vendor-domain", "", "vendor domain name; the vendor ID is UUID5(DNS, domain)"),
		model:        fs.String("model", "", "model (class-specific information); the class ID is UUID5(vendor ID, model)"),
		vendorID:     fs.String("vendor-id", "", "vendor ID as 32 hex digits or a UUID"),
		classID:      fs.String("class-id", "", "class ID as 32 hex digits or a UUID"),
		deviceID:     fs.String("device-id", "", "device ID as 32 hex digits or a UUID"),
		sequence:     fs.Uint64("sequence", 0, "sequence number stored on the fresh device"),
		image:        fs.String("image", "", "factory image in the image slot [h'00'] (default: a generated 4 KiB demo image)"),
		state:        fs.String("state", "", "keep the device (its flash) in DIR between runs"),
		hwType:       fs.String("hw-type", devicesim.DefaultHWType.String(), "RFC 4108 packages: the device's hardware module type (OID)"),
		hwSerial:     fs.String("hw-serial", "00000001", "RFC 4108 packages: the device's serial number (hex)"),
		board:        fs.String("board", devicesim.BoardSUIT, "device profile: suit (SUIT manifest processor) or mcuboot (Zephyr img_mgmt + MCUboot swap-move; --trust keys are MCUboot's built-in keys, --image an MCUboot image)"),
	}
	fs.Var(&p.trust, "trust", "PEM public key the device trusts (repeatable)")
	fs.Var(&p.payloads, "payload", "URI=FILE: a payload the device fetches from URI (repeatable)")
	fs.Var(&p.deviceKeys, "device-key", "[KID=]FILE: a key the device holds: a key-encryption key, a P-256/X25519 private key (encrypted payloads) or an HMAC key (COSE_Mac0); repeatable")
	fs.Var(&p.aliases, "component-alias", "NAME=HEX: the manifest's component NAME is the device's [h'HEX'] (repeatable)")
	p.um = addUMFlags(fs)
	return p
}

// build reads the files the flags name and returns the provisioning and the URI-to-payload map.
func (p *provFlags) build(env *cmdEnv) (app.SimProvisioning, map[string][]byte, error) {
	prov := app.SimProvisioning{VendorDomain: *p.vendorDomain, Model: *p.model, Sequence: *p.sequence}
	switch *p.board {
	case devicesim.BoardSUIT, "":
	case devicesim.BoardMCUboot:
		prov.Config.Board = devicesim.BoardMCUboot
	default:
		return prov, nil, usageErr("--board suit (the default) or --board mcuboot", "unknown board %q", *p.board)
	}
	for _, t := range p.trust {
		b, err := readInput(env, t, app.AnyInput)
		if err != nil {
			return prov, nil, err
		}
		prov.TrustPEM = append(prov.TrustPEM, b)
		prov.TrustNames = append(prov.TrustNames, t)
	}
	for _, id := range []struct {
		s   string
		dst *[]byte
	}{{*p.vendorID, &prov.VendorID}, {*p.classID, &prov.ClassID}, {*p.deviceID, &prov.DeviceID}} {
		if id.s == "" {
			continue
		}
		b, err := app.ParseHexID(id.s)
		if err != nil {
			return prov, nil, inputErr(err, "IDs are 16 bytes: 32 hex digits or a UUID", "bad ID")
		}
		*id.dst = b
	}
	if *p.image != "" {
		b, err := readInput(env, *p.image, app.AnyInput)
		if err != nil {
			return prov, nil, err
		}
		prov.Image = b
	}
	for _, ref := range p.deviceKeys {
		k, err := app.LoadDeviceKey(ref)
		if err != nil {
			return prov, nil, inputErr(err, "give a key-encryption key, a P-256 or X25519 private key (PEM) or a SUIT HMAC KEY file", "cannot use --device-key")
		}
		prov.Keys = append(prov.Keys, k)
	}
	for _, a := range p.aliases {
		name, id, err := app.ParseComponentAlias(a)
		if err != nil {
			return prov, nil, inputErr(err, "write --component-alias plaintext-firmware=00", "bad --component-alias")
		}
		if prov.Config.ComponentAliases == nil {
			prov.Config.ComponentAliases = map[string][]byte{}
		}
		prov.Config.ComponentAliases[name] = id
	}
	pl := map[string][]byte{}
	for _, s := range p.payloads {
		uri, file, ok := strings.Cut(s, "=")
		if !ok || uri == "" || file == "" {
			return prov, nil, usageErr("write --payload http://example.com/file.bin=firmware.bin", "--payload %q is not URI=FILE", s)
		}
		read := func(env *cmdEnv, name string) ([]byte, error) { return readInput(env, name, app.AnyInput) }
		if strings.HasSuffix(file, ".hex") { // hex text, like the spec's vectors
			read = readCBOR
		}
		b, err := read(env, file)
		if err != nil {
			return prov, nil, err
		}
		pl[uri] = b
	}
	if err := p.um.trustDependencies(env, &prov); err != nil {
		return prov, nil, err
	}
	if (*p.state == "" || !fileExists(*p.state+"/device.json")) && len(prov.TrustPEM) == 0 {
		return prov, nil, usageErr("give --trust PUB.pem (for the spec examples: $VECTORS/public_key.pem)", "the device needs at least one trust anchor")
	}
	return prov, pl, nil
}

// cmsIdentity is the device's RFC 4108 identity from --hw-type and --hw-serial.
func (p *provFlags) cmsIdentity() (devicesim.CMSIdentity, error) {
	var (
		id  devicesim.CMSIdentity
		err error
	)
	if id.HWType, err = parseOID(*p.hwType); err != nil {
		return id, usageErr("write the OID in dotted form, e.g. 1.3.6.1.4.1.99999.1.1", "--hw-type %q: %v", *p.hwType, err)
	}
	if id.HWSerial, err = hex.DecodeString(*p.hwSerial); err != nil {
		return id, usageErr("give the serial number in hex", "--hw-serial %q is not hex", *p.hwSerial)
	}
	return id, nil
}
