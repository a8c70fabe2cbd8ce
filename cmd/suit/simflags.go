package main

import (
	"flag"
	"strings"

	"github.com/suit-studio/suit-studio/app"
)

// provFlags are the provisioning flags that `suit sim run` and `suit sim serve` share.
type provFlags struct {
	trust, payloads                                                multiFlag
	vendorDomain, model, vendorID, classID, deviceID, image, state *string
	sequence                                                       *uint64
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
	}
	fs.Var(&p.trust, "trust", "PEM public key the device trusts (repeatable)")
	fs.Var(&p.payloads, "payload", "URI=FILE: a payload the device fetches from URI (repeatable)")
	return p
}

// build reads the files the flags name and returns the provisioning and the URI-to-payload map.
func (p *provFlags) build(env *cmdEnv) (app.SimProvisioning, map[string][]byte, error) {
	prov := app.SimProvisioning{VendorDomain: *p.vendorDomain, Model: *p.model, Sequence: *p.sequence}
	for _, t := range p.trust {
		b, err := readInput(env, t)
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
		b, err := readInput(env, *p.image)
		if err != nil {
			return prov, nil, err
		}
		prov.Image = b
	}
	pl := map[string][]byte{}
	for _, s := range p.payloads {
		uri, file, ok := strings.Cut(s, "=")
		if !ok || uri == "" || file == "" {
			return prov, nil, usageErr("write --payload http://example.com/file.bin=firmware.bin", "--payload %q is not URI=FILE", s)
		}
		b, err := readInput(env, file)
		if err != nil {
			return prov, nil, err
		}
		pl[uri] = b
	}
	if (*p.state == "" || !fileExists(*p.state+"/device.json")) && len(prov.TrustPEM) == 0 {
		return prov, nil, usageErr("give --trust PUB.pem (for the spec examples: $VECTORS/public_key.pem)", "the device needs at least one trust anchor")
	}
	return prov, pl, nil
}
