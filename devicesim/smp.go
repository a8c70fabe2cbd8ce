package devicesim

import (
	"bytes"
	"crypto/sha256"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"sync"

	"github.com/suit-studio/suit-studio/transport"
)

// SMP side of the device: SMPDevice makes a Device answer MCUmgr SMP through transport.Server,
// the way Nordic's SUIT-over-SMP devices do (sdk-nrf ug_nrf54h20_suit_smp):
//
//   - an envelope uploaded to image 0 is staged in the candidate area, chunk by chunk as the
//     requests arrive (never whole in RAM);
//   - image state write with "confirm": true starts the update on the staged envelope;
//   - image state read reports slot 0 as the installed root manifest (version = its sequence
//     number, hash = its digest) and slot 1 as the staged candidate (hash = SHA-256 of the
//     envelope);
//   - reset restarts the device (its boot loader runs).

// Zephyr's defaults: CONFIG_MCUMGR_TRANSPORT_NETBUF_SIZE 384, CONFIG_MCUMGR_TRANSPORT_NETBUF_COUNT 4.
const (
	DefaultSMPBufSize  = 384
	DefaultSMPBufCount = 4
)

// SMPDevice adapts a Device to transport.Device. Its methods are safe for concurrent use.
type SMPDevice struct {
	// BufSize and BufCount are what the device reports as its MCUmgr parameters (defaults 384, 4).
	BufSize, BufCount int
	// Fetcher gives the update the payloads behind URIs (may be nil).
	Fetcher Fetcher
	// OnRecord, if set, receives the record of every update and restart the SMP side starts.
	OnRecord func(*Record)
	// OnChange, if set, runs after anything changed the flash (to save a kept device).
	OnChange func()
	// CMS is the identity the device checks RFC 4108 firmware packages against (hardware type,
	// serial number, the key that signs its load receipts and errors).
	CMS CMSIdentity
	// OnCMS, if set, receives the result of every RFC 4108 package the SMP side loads, with the
	// load receipt or load error the device answers with.
	OnCMS func(*CMSResult)

	mu       sync.Mutex
	isCMS    bool // the staged upload is an RFC 4108 package (DER SEQUENCE), not a SUIT envelope
	dev      *Device
	h        hash.Hash
	staged   bool
	candHash []byte
	last     *Record
	mbUp     mbUpload // the "mcuboot" board's upload (mcuboot_smp.go)
}

// NewSMPDevice wraps d with Zephyr's default buffers.
func NewSMPDevice(d *Device) *SMPDevice {
	return &SMPDevice{dev: d, BufSize: DefaultSMPBufSize, BufCount: DefaultSMPBufCount,
		CMS: CMSIdentity{HWType: DefaultHWType, HWSerial: []byte{0, 0, 0, 1}}}
}

// DefaultHWType is the hardware module type (RFC 4108) a simulated device has unless told otherwise.
var DefaultHWType = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1, 1}

var _ transport.Device = (*SMPDevice)(nil)

// Device returns the wrapped device.
func (s *SMPDevice) Device() *Device { return s.dev }

// LastRecord is the record of the last update or restart started over SMP (nil if none).
func (s *SMPDevice) LastRecord() *Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// Params implements transport.Device.
func (s *SMPDevice) Params() transport.Params {
	p := transport.Params{BufSize: s.BufSize, BufCount: s.BufCount}
	if p.BufSize <= 0 {
		p.BufSize = DefaultSMPBufSize
	}
	if p.BufCount <= 0 {
		p.BufCount = DefaultSMPBufCount
	}
	return p
}

// ImageState implements transport.Device.
func (s *SMPDevice) ImageState() ([]transport.ImageSlot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dev.mb != nil {
		return s.mbImageState()
	}
	var out []transport.ImageSlot
	if seq, digest, ok := s.dev.Installed(); ok {
		out = append(out, transport.ImageSlot{Slot: 0, Version: strconv.FormatUint(seq, 10), Hash: digest,
			Bootable: true, Active: true, Confirmed: true, Permanent: true})
	}
	if s.staged {
		out = append(out, transport.ImageSlot{Slot: 1, Version: "candidate", Hash: s.candHash, Bootable: true})
	}
	return out, nil
}

func (s *SMPDevice) powered() error {
	if s.dev.PoweredOff() {
		return transport.MgmtError(transport.MgmtBadState, "the device is off after a power cut: reset it")
	}
	return nil
}

// SetState implements transport.Device: confirm starts the update on the staged envelope and
// answers with its verdict. A refusal comes back as IMG_MGMT_ERR_IMAGE_CONFIRMATION_DENIED with
// the device's reason.
func (s *SMPDevice) SetState(hash []byte, confirm bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.powered(); err != nil {
		return err
	}
	if s.dev.mb != nil {
		return s.mbSetState(hash, confirm)
	}
	if !confirm {
		return transport.MgmtError(transport.MgmtNotSupported, "a SUIT device installs on confirm; test mode is not supported")
	}
	if !s.staged {
		if _, digest, ok := s.dev.Installed(); ok && (hash == nil || bytes.Equal(hash, digest)) {
			return nil // confirming the running manifest: nothing to do
		}
		return transport.ImageError(transport.ImgErrNoImage, "no envelope staged: upload one to image 0 first")
	}
	if hash != nil && !bytes.Equal(hash, s.candHash) {
		return transport.ImageError(transport.ImgErrHashNotFound, "hash names neither the installed manifest nor the staged envelope")
	}
	var rec *Record
	if s.isCMS {
		// The same link carries RFC 4108 packages: the device tells them by their first byte
		// (a DER SEQUENCE; a SUIT envelope is a CBOR tag or map).
		res := s.dev.LoadCMS(s.CMS)
		rec = res.Record
		if s.OnCMS != nil {
			s.OnCMS(res)
		}
	} else {
		rec = s.dev.Update(s.Fetcher)
	}
	s.staged = false
	s.last = rec
	s.notify(rec)
	switch rec.Outcome {
	case Applied:
		return nil
	case PowerCut:
		return transport.MgmtError(transport.MgmtBadState, "power cut during the update: "+rec.Reason)
	}
	return transport.ImageError(transport.ImgErrConfirmationDenied, string(rec.Outcome)+": "+rec.Reason)
}

func (s *SMPDevice) notify(rec *Record) {
	if s.OnRecord != nil && rec != nil {
		s.OnRecord(rec)
	}
	if s.OnChange != nil {
		s.OnChange()
	}
}

// BeginUpload implements transport.Device: it erases the candidate area for size bytes.
func (s *SMPDevice) BeginUpload(image, size int, upgrade bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.powered(); err != nil {
		return err
	}
	if s.dev.mb != nil {
		return s.mbBeginUpload(image, size, upgrade)
	}
	if image != 0 {
		return transport.ImageError(transport.ImgErrInvalidSlot, fmt.Sprintf("image %d: this device takes envelopes in image 0", image))
	}
	s.staged = false
	if err := s.dev.StageBegin(size); err != nil {
		if errors.Is(err, ErrEnvelopeTooLarge) {
			return transport.ImageError(transport.ImgErrImageTooLarge, err.Error())
		}
		return transport.ImageError(transport.ImgErrFlashEraseFailed, err.Error())
	}
	s.h = sha256.New()
	return nil
}

// WriteUpload implements transport.Device: the chunk goes straight to the candidate area.
func (s *SMPDevice) WriteUpload(image, off int, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dev.mb != nil {
		return s.mbWriteUpload(off, data)
	}
	if err := s.dev.StageWrite(off, data); err != nil {
		return transport.ImageError(transport.ImgErrFlashWriteFailed, err.Error())
	}
	if off == 0 && len(data) > 0 {
		s.isCMS = data[0] == 0x30
	}
	s.h.Write(data)
	return nil
}

// EndUpload implements transport.Device.
func (s *SMPDevice) EndUpload(image int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dev.mb != nil {
		return s.mbEndUpload()
	}
	if err := s.dev.StageFinish(); err != nil {
		return transport.ImageError(transport.ImgErrFlashWriteFailed, err.Error())
	}
	s.staged = true
	s.candHash = s.h.Sum(nil)
	if s.OnChange != nil {
		s.OnChange()
	}
	return nil
}

// AbortUpload implements transport.Device.
func (s *SMPDevice) AbortUpload(image int) {
	s.mu.Lock()
	s.staged = false
	s.mu.Unlock()
}

// Erase implements transport.Device: slot 1 (the default) drops the staged envelope.
func (s *SMPDevice) Erase(slot int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dev.mb != nil {
		return s.mbErase(slot)
	}
	switch {
	case slot < 0 || slot == 1:
		s.staged = false
		return nil
	case slot == 0:
		return transport.MgmtError(transport.MgmtAccessDenied, "slot 0 holds the installed manifest and cannot be erased")
	}
	return transport.ImageError(transport.ImgErrInvalidSlot, fmt.Sprintf("slot %d: the device has slots 0 and 1", slot))
}

// Reset implements transport.Device: after the reply, the device restarts and its boot loader
// runs (a power-cut device comes back on).
func (s *SMPDevice) Reset(force bool) (func(), error) {
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		rec := s.dev.Restart()
		s.last = rec
		s.notify(rec)
	}, nil
}

// Echo implements transport.Device.
func (s *SMPDevice) Echo(text string) (string, error) { return text, nil }
