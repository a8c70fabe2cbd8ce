package devicesim

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/suit-studio/suit-studio/transport"
)

// The "mcuboot" board's SMP side is Zephyr's img_mgmt (img_mgmt.c, zephyr_img_mgmt.c,
// img_mgmt_state.c) with one updatable image and CONFIG_MCUMGR_GRP_IMG_VERBOSE_ERR: the same
// checks in the same order, the same group error codes and the same "rsn" strings ("magic
// mismatch", "header malformed", "no slot", "img too large", "downgrade", "fa erase fail", "fa
// write fail"). transport.Server runs the offset/resume/SHA part of the upload; a v1 client gets
// the codes translated by img_mgmt_translate_error_code (transport's errorBody).

type mbUpload struct {
	hdr mbHeader // header of the upload in progress (from its first chunk)
}

func mbErr(rc int, rsn string) error { return transport.ImageError(rc, rsn) }

// InspectUpload implements transport.UploadInspector: img_mgmt_upload_inspect's checks of the
// first chunk. The SUIT board inspects nothing here.
func (s *SMPDevice) InspectUpload(req transport.UploadRequest) error {
	if s.dev.mb == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.powered(); err != nil {
		return err
	}
	if len(req.Data) < mbHeaderSize {
		return mbErr(transport.ImgErrInvalidImageHeader, "header malformed")
	}
	if req.Len == nil {
		return mbErr(transport.ImgErrInvalidLength, "header malformed")
	}
	h := parseMBHeader(req.Data)
	if h.Magic != mbImageMagic {
		s.dev.emit(Event{Procedure: "img_mgmt", Command: "upload: image header magic", Argument: fmt.Sprintf("0x%08x", h.Magic), Result: Fail,
			Reason: fmt.Sprintf("magic mismatch: %08X != %08X; this board takes MCUboot images, not SUIT envelopes", h.Magic, uint32(mbImageMagic))})
		return mbErr(transport.ImgErrInvalidHeaderMagic, "magic mismatch")
	}
	if len(req.SHA) > 32 {
		return mbErr(transport.ImgErrInvalidHash, "")
	}
	s.mbUp.hdr = h
	return nil
}

// nextBoot is img_mgmt_get_next_boot_slot for swap modes: the slot that boots next and how.
func (s *SMPDevice) mbNextBoot() (slot int, typ int, err error) {
	t, err := s.dev.mbSwapType()
	if err != nil {
		return 0, 0, err
	}
	switch t {
	case mbSwapNone:
		return 0, mbSwapNone, nil
	case mbSwapPerm:
		return 1, mbSwapNone, nil // NEXT_BOOT_TYPE_NORMAL, to the other slot
	}
	return 1, t, nil // test or revert
}

// mbSlotInUse is img_mgmt_slot_in_use (without CONFIG_MCUMGR_GRP_IMG_ALLOW_ERASE_PENDING).
func (s *SMPDevice) mbSlotInUse(slot int) (bool, error) {
	nbs, typ, err := s.mbNextBoot()
	if err != nil {
		return false, err
	}
	if slot == nbs && typ == mbSwapRevert {
		return true, nil
	}
	if (slot == nbs && typ == mbSwapTest) || (nbs != 0 && typ == mbSwapNone) {
		return true, nil
	}
	return slot == 0, nil
}

func (s *SMPDevice) mbSlot(i int) Region {
	if i == 0 {
		return s.dev.mb.primary
	}
	return s.dev.mb.secondary
}

func (s *SMPDevice) mbBeginUpload(image, size int, upgrade bool) error {
	d := s.dev
	s.staged = false
	// img_mgmt_get_unused_slot_area_id: with one updatable image, the first slot not in use.
	free := -1
	for slot := 0; slot < 2 && free < 0; slot++ {
		inUse, err := s.mbSlotInUse(slot)
		if err != nil {
			return mbErr(transport.ImgErrFlashReadFailed, "")
		}
		if !inUse {
			free = slot
		}
	}
	if free != 1 {
		return mbErr(transport.ImgErrNoFreeSlot, "no slot")
	}
	if size > d.mb.secondary.Size {
		return mbErr(transport.ImgErrImageTooLarge, "img too large")
	}
	if upgrade {
		cur, _, rc := d.mbReadInfo(d.mb.primary)
		if rc != 0 {
			return mbErr(transport.ImgErrVersionGetFailed, "")
		}
		h := s.mbUp.hdr
		if mbVerCmp(cur, h) >= 0 {
			return mbErr(transport.ImgErrCurrentVersionNewer, "downgrade")
		}
	}
	// img_mgmt_flash_check_empty, then erase what the image needs and the trailer sector.
	sec := d.mb.secondary
	empty := true
	var buf [64]byte
	for off := 0; off < sec.Size && empty; off += len(buf) {
		if err := sec.Flash.ReadAt(buf[:], sec.Offset+off); err != nil {
			return mbErr(transport.ImgErrFlashReadFailed, "")
		}
		empty = erasedBytes(buf[:])
	}
	d.evProc = "img_mgmt"
	if !empty {
		if err := d.mbEraseForUpload(size); err != nil {
			return mbErr(transport.ImgErrFlashEraseFailed, "fa erase fail")
		}
	}
	d.emit(Event{Procedure: "img_mgmt", Command: "upload: image header magic ok", Argument: fmt.Sprintf("version %s, %d bytes into the secondary slot", s.mbUp.hdr.Version(), size), Result: Pass})
	return nil
}

func mbVerCmp(a, b mbHeader) int {
	for _, p := range [][2]int{{int(a.Major), int(b.Major)}, {int(a.Minor), int(b.Minor)}, {int(a.Revision), int(b.Revision)}} {
		if p[0] != p[1] {
			if p[0] < p[1] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func (s *SMPDevice) mbWriteUpload(off int, data []byte) error {
	sec := s.dev.mb.secondary
	if off < 0 || off+len(data) > sec.Size {
		return mbErr(transport.ImgErrFlashWriteFailed, "fa write fail")
	}
	if err := sec.Flash.Write(sec.Offset+off, data); err != nil {
		return mbErr(transport.ImgErrFlashWriteFailed, "fa write fail")
	}
	return nil
}

func (s *SMPDevice) mbEndUpload() error {
	d := s.dev
	h, hash, rc := d.mbReadInfo(d.mb.secondary)
	arg := "no readable image info"
	if rc == 0 {
		arg = fmt.Sprintf("version %s, hash (SHA-256 TLV) %x…", h.Version(), hash[:8])
	}
	d.emit(Event{Procedure: "img_mgmt", Command: "upload complete", Argument: arg, Result: Info,
		Reason: "mark it for test (image test HASH) or confirm it, then reset: MCUboot validates and swaps it in"})
	if s.OnChange != nil {
		s.OnChange()
	}
	return nil
}

// mbImageState is img_mgmt_state_read.
func (s *SMPDevice) mbImageState() ([]transport.ImageSlot, error) {
	d := s.dev
	if err := s.powered(); err != nil {
		return nil, err
	}
	nbs, typ, err := s.mbNextBoot()
	if err != nil {
		return nil, mbErr(transport.ImgErrFlashReadFailed, "")
	}
	const (
		active    = 1
		pending   = 2
		confirmed = 4
		permanent = 8
	)
	flagsA, flagsO := active, 0
	if typ != mbSwapRevert {
		flagsA |= confirmed
	}
	if nbs != 0 {
		switch typ {
		case mbSwapNone:
			flagsO = pending | permanent
		case mbSwapRevert:
			flagsO = confirmed
		case mbSwapTest:
			flagsO = pending
		}
	}
	var out []transport.ImageSlot
	for slot, f := range []int{flagsA, flagsO} {
		h, hash, rc := d.mbReadInfo(s.mbSlot(slot))
		if rc != 0 {
			continue
		}
		out = append(out, transport.ImageSlot{Slot: slot, Version: h.Version(), Hash: hash,
			Bootable: h.Flags&mbFlagNonBootable == 0, Pending: f&pending != 0, Confirmed: f&confirmed != 0,
			Active: f&active != 0, Permanent: f&permanent != 0})
	}
	return out, nil
}

// mbSetState is img_mgmt_state_write with img_mgmt_set_next_boot_slot.
func (s *SMPDevice) mbSetState(hash []byte, confirm bool) error {
	d := s.dev
	slot := 0
	switch {
	case len(hash) == 0 && !confirm:
		return mbErr(transport.ImgErrInvalidHash, "")
	case len(hash) == 0:
		slot = 0
	case len(hash) != 32:
		return mbErr(transport.ImgErrInvalidHash, "")
	default:
		slot = -1
		for i := 0; i < 2; i++ {
			if _, h, rc := d.mbReadInfo(s.mbSlot(i)); rc == 0 && bytes.Equal(h, hash) {
				slot = i
				break
			}
		}
		if slot < 0 {
			return mbErr(transport.ImgErrHashNotFound, "")
		}
	}
	nbs, typ, err := s.mbNextBoot()
	if err != nil {
		return mbErr(transport.ImgErrFlashReadFailed, "")
	}
	if !confirm && slot == 0 {
		return mbErr(transport.ImgErrTestToActiveDenied, "")
	}
	switch typ {
	case mbSwapTest:
		if !confirm && slot == nbs {
			return nil
		}
		return mbErr(transport.ImgErrImageAlreadyPending, "")
	case mbSwapNone:
		if confirm && slot == nbs {
			return nil
		}
		if (slot == 0 && nbs != 0) || (!confirm && slot != 0 && slot == nbs) {
			return mbErr(transport.ImgErrImageAlreadyPending, "")
		}
	case mbSwapRevert:
		if confirm && slot == nbs {
			return nil
		}
		if !confirm {
			return mbErr(transport.ImgErrImageAlreadyPending, "")
		}
	}
	d.evProc = "img_mgmt"
	err = d.mbSetNext(s.mbSlot(slot), slot == 0, confirm)
	if s.OnChange != nil {
		s.OnChange()
	}
	switch {
	case errors.Is(err, errMBFlash):
		return mbErr(transport.ImgErrFlashWriteFailed, "")
	case errors.Is(err, errMBBadVect):
		return mbErr(transport.ImgErrInvalidVectorTable, "")
	case errors.Is(err, errMBBadImage):
		return mbErr(transport.ImgErrInvalidHeaderMagic, "")
	}
	what := map[bool]string{true: "confirm", false: "test"}[confirm]
	arg := "the running image: MCUboot keeps it (image ok)"
	if slot == 1 {
		arg = "the secondary slot: MCUboot swaps it in at the next reset"
		if confirm {
			arg += ", for good"
		} else {
			arg += ", for one boot"
		}
	}
	d.emit(Event{Procedure: "img_mgmt", Command: "image " + what, Argument: arg, Result: Pass})
	return nil
}

// mbErase is img_mgmt_erase.
func (s *SMPDevice) mbErase(slot int) error {
	d := s.dev
	if slot < 0 {
		slot = 1
	}
	if slot > 1 {
		return mbErr(transport.ImgErrInvalidSlot, "")
	}
	r := s.mbSlot(slot)
	if _, _, rc := d.mbReadInfo(r); rc == 0 {
		inUse, err := s.mbSlotInUse(slot)
		if err != nil {
			return mbErr(transport.ImgErrFlashReadFailed, "")
		}
		if inUse {
			return mbErr(transport.ImgErrNoFreeSlot, "")
		}
	}
	empty := true
	var buf [64]byte
	for off := 0; off < r.Size && empty; off += len(buf) {
		if err := r.Flash.ReadAt(buf[:], r.Offset+off); err != nil {
			return mbErr(transport.ImgErrFlashReadFailed, "")
		}
		empty = erasedBytes(buf[:])
	}
	if !empty {
		if err := r.Flash.eraseRange(r.Offset, r.Size); err != nil {
			return mbErr(transport.ImgErrFlashEraseFailed, "")
		}
	}
	s.staged = false
	if s.OnChange != nil {
		s.OnChange()
	}
	return nil
}

var _ transport.UploadInspector = (*SMPDevice)(nil)
