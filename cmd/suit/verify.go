package main

import (
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/signer"
)

func init() {
	register(&command{
		name:    "verify",
		usage:   "verify [--key PUB ...] FILE",
		summary: "check an envelope's manifest digest and signatures (exit 0 authentic, 1 not, 2 unusable input)",
		run:     runVerify,
	})
}

func runVerify(env *cmdEnv, args []string) error {
	fs := newFlags(env, commands["verify"])
	var keys multiFlag
	fs.Var(&keys, "key", "public key (PEM, certificate, COSE_Key) or HMAC key file; repeatable")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("run 'suit help verify'", "verify takes one FILE")
	}
	if len(keys) == 0 {
		// The trust store the studio's inspector and Keys tab use.
		dir := trustDir(env, "")
		trusted, err := signer.TrustStore{Dir: dir}.List()
		if err != nil {
			return err
		}
		if len(trusted) == 0 {
			return usageErr("give the signer's public key: suit verify --key public.pem FILE, or trust it: suit keys trust add public.pem",
				"no --key given and the trust store %s is empty", dir)
		}
		for _, k := range trusted {
			keys = append(keys, k.Path)
		}
	}
	vk, err := loadVerifyKeys(keys)
	if err != nil {
		return err
	}
	data, err := readCBOR(env, pos[0])
	if err != nil {
		return err
	}
	v, err := suit.Verify(data, vk)
	if err != nil {
		return decodeErr(pos[0], err)
	}
	printVerification(env.stdout, v)
	if !v.Authentic {
		return negative("check that you have the right public key and an unaltered envelope", "%s is not authentic: %s", pos[0], v.Reason)
	}
	return nil
}
