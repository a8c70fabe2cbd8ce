package app

import (
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/suit-studio/suit-studio/devicesim"
	"github.com/suit-studio/suit-studio/model"
	"github.com/suit-studio/suit-studio/signer"
	"github.com/suit-studio/suit-studio/transport"
)

// ErrSimInput is the sentinel for unusable simulator input (keys, IDs, state directory).
var ErrSimInput = errors.New("unusable simulator input")

// SimProvisioning says how a fresh simulated device is provisioned.
type SimProvisioning struct {
	// TrustPEM holds PEM public keys (P-256 or Ed25519), one per trust anchor; TrustNames names them.
	TrustPEM   [][]byte
	TrustNames []string
	// TrustScopes limits anchor i to the dependency manifests whose suit-dependency-prefix is
	// listed (draft-ietf-suit-trust-domains); nil or empty = a root authority.
	TrustScopes [][]string
	// Either VendorDomain + Model (UUIDv5 as in §8.4.8.1-2), or VendorID + ClassID (16 bytes each).
	VendorDomain string
	Model        string
	VendorID     []byte
	ClassID      []byte
	DeviceID     []byte // optional, 16 bytes
	Sequence     uint64 // stored sequence number
	Image        []byte // factory image for [h'00']; nil = the device's generated demo image
	Config       devicesim.Config
	// Keys the device holds for payload decryption and COSE_Mac0 (app/simkeys.go). They are not
	// part of the saved flash state: they are given again for a loaded device.
	Keys []devicesim.DeviceKey
}

// simStateFile holds the device's configuration beside its flash images.
type simStateFile struct {
	Config devicesim.Config `json:"config"`
}

// SimSession is one simulated device for the CLI and the GUI: provisioned fresh or loaded from a
// state directory, fed envelopes, with fault injection, saved back after each run.
type SimSession struct {
	Device *devicesim.Device
	dir    string
	// nextCut arms a power cut at the next flash write or erase of the next run ("cut power" button).
	nextCut int

	// The SMP side (app/push.go), made once and kept so that an interrupted upload resumes.
	smpMu     sync.Mutex
	smp       *devicesim.SMPDevice
	smpServer *transport.Server

	reportKey *ecdsa.PrivateKey // signs the device's SUIT reports (report.go)
}

// NewSimSession provisions a fresh device, or loads the one kept in dir when dir holds one (then
// prov is not used, except that it must be valid when dir is empty). dir "" keeps nothing.
func NewSimSession(prov SimProvisioning, dir string) (*SimSession, bool, error) {
	if dir != "" {
		if s, err := loadSimSession(dir); err == nil {
			s.Device.SetKeys(prov.Keys)
			return s, true, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, false, err
		}
	}
	p, err := prov.resolve()
	if err != nil {
		return nil, false, err
	}
	d, err := devicesim.New(prov.Config)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrSimInput, err)
	}
	if err := d.Provision(p); err != nil {
		return nil, false, fmt.Errorf("%w: %v", ErrSimInput, err)
	}
	d.SetKeys(prov.Keys)
	return &SimSession{Device: d, dir: dir}, false, nil
}

func (prov SimProvisioning) resolve() (devicesim.Provisioning, error) {
	var p devicesim.Provisioning
	if len(prov.TrustPEM) == 0 {
		return p, fmt.Errorf("%w: no trust anchor: give the public key the device accepts manifests from", ErrSimInput)
	}
	for i, b := range prov.TrustPEM {
		name := fmt.Sprintf("trust anchor %d", i+1)
		if i < len(prov.TrustNames) {
			name = prov.TrustNames[i]
		}
		pub, err := signer.ParsePublic(b)
		if err != nil {
			return p, fmt.Errorf("%w: %s: %v", ErrSimInput, name, err)
		}
		ta := devicesim.TrustAnchor{Name: name, Key: pub}
		if i < len(prov.TrustScopes) {
			ta.Scope = prov.TrustScopes[i]
		}
		p.TrustAnchors = append(p.TrustAnchors, ta)
	}
	switch {
	case prov.VendorDomain != "" || prov.Model != "":
		if prov.VendorDomain == "" || prov.Model == "" || prov.VendorID != nil || prov.ClassID != nil {
			return p, fmt.Errorf("%w: give a vendor domain and a model together, or a vendor ID and a class ID", ErrSimInput)
		}
		p.VendorID = model.VendorID(prov.VendorDomain)
		cid, err := model.ClassID(p.VendorID, prov.Model)
		if err != nil {
			return p, fmt.Errorf("%w: %v", ErrSimInput, err)
		}
		p.ClassID = cid
	case prov.VendorID != nil || prov.ClassID != nil:
		if len(prov.VendorID) != 16 || len(prov.ClassID) != 16 {
			return p, fmt.Errorf("%w: vendor ID and class ID must both be 16 bytes (UUIDs)", ErrSimInput)
		}
		p.VendorID, p.ClassID = prov.VendorID, prov.ClassID
	case prov.Config.Board == devicesim.BoardMCUboot:
		// MCUboot checks signatures only: no vendor or class IDs.
	default:
		return p, fmt.Errorf("%w: the device needs a vendor and class: a vendor domain and model, or a vendor ID and class ID", ErrSimInput)
	}
	if prov.DeviceID != nil && len(prov.DeviceID) != 16 {
		return p, fmt.Errorf("%w: device ID must be 16 bytes (a UUID), got %d", ErrSimInput, len(prov.DeviceID))
	}
	p.DeviceID = prov.DeviceID
	p.Sequence = prov.Sequence
	p.Image = prov.Image
	return p, nil
}

// ParseHexID reads a 16-byte ID given as hex or as a UUID string.
func ParseHexID(s string) ([]byte, error) {
	if b, err := model.ParseUUID(s); err == nil {
		return b, nil
	}
	b, err := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if err != nil || len(b) != 16 {
		return nil, fmt.Errorf("%w: %q is not 16 bytes of hex or a UUID", ErrSimInput, s)
	}
	return b, nil
}

func loadSimSession(dir string) (*SimSession, error) {
	meta, err := os.ReadFile(filepath.Join(dir, "device.json"))
	if err != nil {
		return nil, err
	}
	var st simStateFile
	if err := json.Unmarshal(meta, &st); err != nil {
		return nil, fmt.Errorf("%w: %s/device.json: %v", ErrSimInput, dir, err)
	}
	d, err := devicesim.New(st.Config)
	if err != nil {
		return nil, fmt.Errorf("%w: %s/device.json: %v", ErrSimInput, dir, err)
	}
	in, err := os.ReadFile(filepath.Join(dir, "internal-flash.bin"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSimInput, err)
	}
	var ext []byte
	if d.Ext != nil {
		if ext, err = os.ReadFile(filepath.Join(dir, "external-flash.bin")); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSimInput, err)
		}
	}
	if err := d.LoadFlashImages(in, ext); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrSimInput, dir, err)
	}
	return &SimSession{Device: d, dir: dir}, nil
}

// Save writes the device's flash to its state directory (temp file + rename per file).
func (s *SimSession) Save() error {
	if s.dir == "" {
		return nil
	}
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	in, ext := s.Device.FlashImages()
	meta, _ := json.MarshalIndent(simStateFile{Config: s.Device.Config()}, "", "  ")
	files := map[string][]byte{"device.json": meta, "internal-flash.bin": in}
	if ext != nil {
		files["external-flash.bin"] = ext
	}
	for name, data := range files {
		if err := WriteFileAtomic(filepath.Join(s.dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// SimRun is what one run needs besides the envelope.
type SimRun struct {
	Payloads   map[string][]byte // URI → payload ("files mapped to URIs")
	PowerCutAt int               // the n-th flash write or erase of this run fails (0 = none)
	TamperAt   int               // flip this byte of the staged envelope before processing (-1 = none)
	// Net, when set, is the device's network stack: URIs not in Payloads are fetched through it
	// (http, https, coap; see package netfw).
	Net devicesim.NetFetcher
	// OnEvent receives every step on the goroutine that called Run. It may block: the device
	// waits, which is how the GUI pauses and single-steps a run.
	OnEvent func(devicesim.Event)
}

// Run powers the device on (its boot loader runs and finishes any interrupted installation),
// stages the envelope and processes it. The record says applied, refused, power-cut or no-boot.
// The device is saved to its state directory afterwards, whatever happened.
func (s *SimSession) Run(ctx context.Context, envelope []byte, r SimRun) (*devicesim.Record, error) {
	d := s.Device
	d.SetEventHandler(func(e devicesim.Event) {
		if r.OnEvent != nil {
			r.OnEvent(e)
		}
	})
	defer d.SetEventHandler(nil)
	d.SetCancel(ctx.Err)
	defer d.SetCancel(nil)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if d.PoweredOff() {
		d.Restart()
	}
	cut := r.PowerCutAt
	if s.nextCut > 0 && cut == 0 {
		cut = s.nextCut
	}
	s.nextCut = 0
	d.PowerCutAt(cut)
	var rec *devicesim.Record
	if err := d.Stage(envelope); err != nil {
		// The record shows what the device still holds (stored sequence number, the boot of the
		// old image), not an empty one.
		rec = d.RefuseStaging(err)
	} else {
		if r.TamperAt >= 0 && r.TamperAt < len(envelope) {
			_ = d.TamperStaged(r.TamperAt)
		}
		var f devicesim.Fetcher = devicesim.Payloads(r.Payloads)
		if r.Net != nil {
			f = devicesim.Fetchers{Files: r.Payloads, Net: r.Net}
		}
		rec = d.Update(f)
	}
	if err := s.Save(); err != nil {
		return rec, fmt.Errorf("saving the device state: %w", err)
	}
	return rec, nil
}

// Restart resets the device (or powers it on after a power cut): its boot loader finishes any
// committed installation and runs the invocation procedure. The device is saved afterwards.
func (s *SimSession) Restart(onEvent func(devicesim.Event)) (*devicesim.Record, error) {
	s.Device.SetEventHandler(onEvent)
	defer s.Device.SetEventHandler(nil)
	rec := s.Device.Restart()
	return rec, s.Save()
}

// CutPowerAtNextWrite arms a power cut at the first flash write or erase of the next run.
func (s *SimSession) CutPowerAtNextWrite() { s.nextCut = 1 }

// RollbackSequence rewrites the stored sequence number (fault injection) and saves the device.
func (s *SimSession) RollbackSequence(seq uint64) error {
	d := s.Device
	if d.PoweredOff() {
		d.Restart()
	}
	if err := d.RollbackSequence(seq); err != nil {
		return err
	}
	return s.Save()
}

// IsCMSPackage reports whether data looks like a DER ContentInfo (an RFC 4108 firmware package)
// rather than a CBOR SUIT envelope.
func IsCMSPackage(data []byte) bool { return len(data) > 2 && data[0] == 0x30 }

// RunCMS powers the device on, stages an RFC 4108 firmware package and loads it. The result
// carries the load receipt or load error (DER) the device answers with.
func (s *SimSession) RunCMS(ctx context.Context, pkg []byte, id devicesim.CMSIdentity, r SimRun) (*devicesim.CMSResult, error) {
	d := s.Device
	d.SetEventHandler(func(e devicesim.Event) {
		if r.OnEvent != nil {
			r.OnEvent(e)
		}
	})
	defer d.SetEventHandler(nil)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if d.PoweredOff() {
		d.Restart()
	}
	d.PowerCutAt(r.PowerCutAt)
	var res *devicesim.CMSResult
	if err := d.Stage(pkg); err != nil {
		res = d.RefuseCMSStaging(err, id)
	} else {
		res = d.LoadCMS(id)
	}
	if err := s.Save(); err != nil {
		return res, fmt.Errorf("saving the device state: %w", err)
	}
	return res, nil
}
