package app

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"
	"time"

	"github.com/suit-studio/suit-studio/codec/cms"
	"github.com/suit-studio/suit-studio/signer"
)

// CMSCreateRequest is what a user fills in to make an RFC 4108 firmware package.
type CMSCreateRequest struct {
	Image       []byte
	FirmwareID  string   // dotted OID of the package (fwPkgID)
	Version     int64    // verNum
	Targets     []string // dotted OIDs of target hardware
	Stale       *int64   // stale version (optional)
	Description string   // content-hints description (optional)
	SigningTime time.Time
	KeyRef      string // file path or pkcs11: URI
	// CertFile is a certificate (PEM or DER) to embed; MakeCertFile instead generates a
	// self-signed certificate with the key, writes it there (PEM) and embeds it.
	CertFile     string
	MakeCertFile string
	RSAPSS       bool
	// Overwrite lets MakeCertFile replace an existing file (otherwise ErrExists).
	Overwrite bool
}

// CreateCMS signs a firmware package with the key of req.KeyRef (a token key works the same).
func CreateCMS(ctx context.Context, req CMSCreateRequest, opts signer.LoadOptions) ([]byte, error) {
	if opts.Context == nil {
		opts.Context = ctx
	}
	id, err := cms.ParseOID(req.FirmwareID)
	if err != nil {
		return nil, fmt.Errorf("--fw-id: %w", err)
	}
	attrs := cms.Attributes{ID: cms.PackageID{OID: id, Version: req.Version}, Description: req.Description, SigningTime: req.SigningTime}
	for _, t := range req.Targets {
		o, err := cms.ParseOID(t)
		if err != nil {
			return nil, fmt.Errorf("--target: %w", err)
		}
		attrs.Targets = append(attrs.Targets, o)
	}
	if req.Stale != nil {
		attrs.Stale = &cms.StaleVersion{Version: *req.Stale}
	}
	if req.CertFile != "" && req.MakeCertFile != "" {
		return nil, fmt.Errorf("give either a certificate or ask for a new one, not both")
	}
	key, err := signer.LoadSigner(req.KeyRef, opts)
	if err != nil {
		return nil, err
	}
	defer signer.CloseKey(key)
	so := cms.SignOptions{RSAPSS: req.RSAPSS}
	switch {
	case req.CertFile != "":
		certs, err := loadCerts(req.CertFile)
		if err != nil || len(certs) == 0 {
			return nil, fmt.Errorf("certificate %s: %v", req.CertFile, orNone(err))
		}
		so.Certificate = certs[0].Raw
	case req.MakeCertFile != "":
		der, err := cms.SelfSignedCertificate(key, "SUIT Studio firmware signer "+hex.EncodeToString(key.KeyID()), 5*365*24*time.Hour)
		if err != nil {
			return nil, err
		}
		if err := WriteFile(req.MakeCertFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644, req.Overwrite); err != nil {
			return nil, err
		}
		so.Certificate = der
	}
	return cms.Create(req.Image, attrs, key, so)
}

func orNone(err error) error {
	if err != nil {
		return err
	}
	return fmt.Errorf("no certificate in the file")
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i+1]
	}
	return "."
}

// loadCerts reads PEM or DER certificates.
func loadCerts(path string) ([]*x509.Certificate, error) {
	b, err := ReadInputFile(path, AnyInput, 4<<20)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	rest := b
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type == "CERTIFICATE" {
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		if c, err := x509.ParseCertificate(b); err == nil {
			out = append(out, c)
		}
	}
	return out, nil
}

// LoadTrust reads trust anchors from files: certificates (their SubjectKeyIdentifier matches
// the SignerInfo) and public keys in any form signer.LoadPublic reads.
func LoadTrust(paths []string) (cms.Trust, error) {
	var t cms.Trust
	for _, p := range paths {
		certs, err := loadCerts(p)
		if err == nil && len(certs) > 0 {
			t.Certs = append(t.Certs, certs...)
			continue
		}
		pub, err := signer.LoadPublic(p)
		if err != nil {
			return t, err
		}
		t.Keys = append(t.Keys, pub)
	}
	return t, nil
}

// TrustFromStore adds the keys of a trust store directory.
func TrustFromStore(dir string) ([]crypto.PublicKey, error) {
	return signer.TrustStore{Dir: dir}.Public()
}

// CMSVerifyRequest is a device's view for checking a package.
type CMSVerifyRequest struct {
	Trust        cms.Trust
	HardwareType string // dotted OID, optional
	// HardwareSerial is the device's serial number, matched against community-identifiers'
	// hardware module lists (optional).
	HardwareSerial []byte
	// StaleVersion is the newest version the device refuses for the package identifier
	// StaleFor (dotted OID). Stale versions are per package identifier (RFC 4108 §2.2.3): with
	// StaleFor empty it applies to the identifier of the package being checked.
	StaleVersion *int64
	StaleFor     string
	// Communities are the device's community OIDs (dotted); a package restricted to
	// communities is refused by a device in none of them.
	Communities []string
}

// VerifyCMS checks a package; a failure is a *cms.Error whose Code is the RFC 4108 error code.
func VerifyCMS(ctx context.Context, pkg []byte, req CMSVerifyRequest) (*cms.Package, error) {
	opts := cms.VerifyOptions{Trust: req.Trust, HardwareSerial: req.HardwareSerial}
	if req.HardwareType != "" {
		o, err := cms.ParseOID(req.HardwareType)
		if err != nil {
			return nil, fmt.Errorf("--target: %w", err)
		}
		opts.HardwareType = o
	}
	for _, c := range req.Communities {
		o, err := cms.ParseOID(c)
		if err != nil {
			return nil, fmt.Errorf("--community: %w", err)
		}
		opts.Communities = append(opts.Communities, o)
	}
	if req.StaleVersion != nil {
		var id asn1.ObjectIdentifier
		if req.StaleFor != "" {
			o, err := cms.ParseOID(req.StaleFor)
			if err != nil {
				return nil, fmt.Errorf("--stale-id: %w", err)
			}
			id = o
		} else if p, _ := cms.Parse(pkg); p != nil {
			id = p.ID.OID // nil for a legacy name: numeric stale versions do not apply to it
		}
		if id != nil {
			opts.Stale = []cms.StaleEntry{{ID: id, Version: *req.StaleVersion}}
		}
	}
	return cms.Verify(pkg, opts)
}

// DescribeCMS tells what a package says, attribute by attribute, in plain words (the
// inspector's and `suit cms show`'s view). Each line is "name: value".
func DescribeCMS(p *cms.Package) []string {
	var l []string
	add := func(format string, args ...any) { l = append(l, fmt.Sprintf(format, args...)) }
	add("content: %s, %d bytes of firmware", cms.OIDName(p.ContentType), len(p.Firmware))
	if p.ID.OID != nil {
		add("firmware package: %s, version %d", p.ID.OID, p.ID.Version)
	} else {
		add("firmware package: legacy identifier %x", p.ID.Legacy)
	}
	if p.Stale != nil {
		if p.Stale.Legacy != nil {
			add("stale version: legacy %x (devices refuse it and older ones once this package is loaded)", p.Stale.Legacy)
		} else {
			add("stale version: %d (devices refuse it and older ones once this package is loaded)", p.Stale.Version)
		}
	}
	for _, t := range p.Targets {
		add("target hardware: %s", t)
	}
	if !p.SigningTime.IsZero() {
		add("signed at: %s", p.SigningTime.UTC().Format(time.RFC3339))
	}
	if p.HasHints {
		add("description: %q (content type %s)", p.Description, cms.OIDName(p.HintsType))
	}
	if p.Info != nil {
		if p.Info.Type != nil {
			add("package type: %d", *p.Info.Type)
		}
		for _, d := range p.Info.Dependencies {
			if d.OID != nil {
				add("needs: %s version %d or newer", d.OID, d.Version)
			} else {
				add("needs: legacy package %x", d.Legacy)
			}
		}
	}
	for _, c := range p.Communities {
		if c.OID != nil {
			add("community: %s", c.OID)
			continue
		}
		var s []string
		for _, e := range c.Serials {
			switch {
			case e.All:
				s = append(s, "all")
			case e.Single != nil:
				s = append(s, hex.EncodeToString(e.Single))
			default:
				s = append(s, hex.EncodeToString(e.Low)+".."+hex.EncodeToString(e.High))
			}
		}
		add("community: hardware %s, serial numbers %s", c.HWType, strings.Join(s, ", "))
	}
	if len(p.ImplementedCrypto) > 0 {
		add("signer's crypto algorithms: %s", oidList(p.ImplementedCrypto))
	}
	if len(p.ImplementedCompress) > 0 {
		add("signer's compression algorithms: %s", oidList(p.ImplementedCompress))
	}
	if p.DecryptKeyID != nil {
		add("decrypt key: %x", p.DecryptKeyID)
	}
	add("message digest: %x", p.MessageDigest)
	add("signer: subjectKeyIdentifier %x, %s with %s", p.SubjectKeyID, cms.OIDName(p.SignatureAlgorithm), cms.OIDName(p.DigestAlgorithm))
	for _, c := range p.Certificates {
		add("certificate: %s (valid %s to %s)", c.Subject, c.NotBefore.Format("2006-01-02"), c.NotAfter.Format("2006-01-02"))
	}
	add("structure: SignedData version %d, SignerInfo version %d", p.SignedDataVersion, p.SignerVersion)
	for _, u := range p.UnknownAttributes {
		add("unknown signed attribute (ignored): %s", u)
	}
	return l
}

func oidList(o []asn1.ObjectIdentifier) string {
	s := make([]string, len(o))
	for i, x := range o {
		s[i] = cms.OIDName(x)
	}
	return strings.Join(s, ", ")
}
