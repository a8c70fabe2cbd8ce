package main

import (
	"crypto"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/signer"
)

func init() {
	register(&command{
		name:    "delegate",
		usage:   "delegate --key ISSUER --subject PUB [--subject-kid TEXT] [--exp RFC3339] [--nbf RFC3339] -o TOKEN | delegate attach --chain T1[,T2...] [--chain ...] -o OUT IN",
		summary: "make a delegation token (CWT with a cnf key) or attach delegation chains to an envelope (member 1)",
		run:     runDelegate,
	})
}

func runDelegate(env *cmdEnv, args []string) error {
	if len(args) > 0 && args[0] == "attach" {
		return runDelegateAttach(env, args[1:])
	}
	fs := newFlags(env, commands["delegate"])
	var keys multiFlag
	fs.Var(&keys, "key", "the issuer's private key (PEM file or pkcs11: URI): a trust anchor, or the key a previous token delegates to")
	subject := fs.String("subject", "", "the delegated public key (PEM, certificate or COSE_Key)")
	subjectKID := fs.String("subject-kid", "", "kid of the delegated key in the token (default: the kid suit sign gives that key)")
	expS := fs.String("exp", "", "expiry (RFC 3339), optional")
	nbfS := fs.String("nbf", "", "not valid before (RFC 3339), optional")
	out := outputFlag(fs, "o", "output token file (- for standard output)", nil)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := out.check(); err != nil {
		return err
	}
	if len(pos) != 0 || len(keys) != 1 || *subject == "" {
		return usageErr("run 'suit help delegate'", "delegate takes one --key, one --subject and no other argument")
	}
	var c suit.DelegationClaims
	for _, f := range []struct {
		name string
		s    string
		t    *time.Time
	}{{"--exp", *expS, &c.Expires}, {"--nbf", *nbfS, &c.NotBefore}} {
		if f.s == "" {
			continue
		}
		if *f.t, err = time.Parse(time.RFC3339, f.s); err != nil {
			return usageErr("give a time like 2027-01-01T00:00:00Z", "%s %q is not an RFC 3339 time", f.name, f.s)
		}
	}
	pub, err := signer.LoadPublic(*subject)
	if err != nil {
		return inputErr(err, "give the delegated key's public part as PEM, a certificate or a COSE_Key", "cannot load --subject %s", *subject)
	}
	c.Subject = pub
	if *subjectKID != "" {
		c.SubjectKID = []byte(*subjectKID)
	} else if c.SubjectKID, err = signer.PublicKeyID(pub); err != nil {
		return inputErr(err, "use a P-256/384/521 or Ed25519 key", "cannot derive a kid for --subject")
	}
	loaded, closeKeys, err := loadSigningKeys(env, keys)
	if err != nil {
		return err
	}
	defer closeKeys()
	k, ok := loaded[0].(signer.Key)
	if !ok {
		return usageErr("give an asymmetric private key: a delegation token is a COSE_Sign1", "--key is not a signing key")
	}
	tok, err := suit.MakeDelegationToken(crypto.Signer(k), k.Algorithm(), k.KeyID(), c)
	if err != nil {
		return &cliError{code: exitUsage, msg: "cannot make the token: " + err.Error(), hint: "delegate to an EC (P-256/384/521) or Ed25519 key"}
	}
	if err := out.write(env, tok, true); err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "suit: delegation token to %s signed by %s (%d bytes)\n", suit.KeyLabel(pub, c.SubjectKID), k.Description(), len(tok))
	return nil
}

func runDelegateAttach(env *cmdEnv, args []string) error {
	fs := newFlags(env, commands["delegate"])
	var chainFlags multiFlag
	fs.Var(&chainFlags, "chain", "comma-separated token files, first one signed by a trust anchor; repeat for several chains")
	out := outputFlag(fs, "o", "output file (- for standard output)", nil)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := out.check(); err != nil {
		return err
	}
	if len(pos) != 1 || len(chainFlags) == 0 {
		return usageErr("run 'suit help delegate'", "delegate attach takes --chain T1[,T2...] and one IN envelope")
	}
	var chains [][][]byte
	for _, cf := range chainFlags {
		var chain [][]byte
		for _, name := range strings.Split(cf, ",") {
			b, err := os.ReadFile(name)
			if err != nil {
				return inputErr(err, "give token files made by suit delegate", "cannot read token %s", name)
			}
			if _, err := suit.ParseDelegationToken(b); err != nil {
				return inputErr(err, "give token files made by suit delegate", "%s is not a delegation token: %v", name, err)
			}
			chain = append(chain, b)
		}
		chains = append(chains, chain)
	}
	data, err := readCBOR(env, pos[0])
	if err != nil {
		return err
	}
	res, err := suit.AttachDelegation(data, chains)
	if err != nil {
		return inputErr(err, "check the envelope and the chain (at most 4 tokens each)", "cannot attach: %v", err)
	}
	return out.write(env, res, true)
}
