package devicesim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// MCUboot's trailer and swap-move boot loader (bootutil_public.c, bootutil_misc.c, swap_misc.c,
// swap_move.c, loader.c), step for step. Offsets are relative to the start of a slot.

const (
	mbMagicGood  = 1
	mbMagicBad   = 2
	mbMagicUnset = 3

	mbFlagSet   = 1
	mbFlagBad   = 2
	mbFlagUnset = 3

	mbSwapNone   = 1
	mbSwapTest   = 2
	mbSwapPerm   = 3
	mbSwapRevert = 4
	mbSwapFail   = 5

	mbOpMove = 1
	mbOpSwap = 2

	mbSourceNone    = 0
	mbSourcePrimary = 2
)

func mbMagicOff(r Region) int    { return r.Size - mbMagicSz }
func mbImageOKOff(r Region) int  { return (r.Size - mbMagicSz - mbMaxAlign) / mbMaxAlign * mbMaxAlign }
func mbCopyDoneOff(r Region) int { return mbImageOKOff(r) - mbMaxAlign }
func mbSwapInfoOff(r Region) int { return mbCopyDoneOff(r) - mbMaxAlign }
func mbSwapSizeOff(r Region) int { return mbSwapInfoOff(r) - mbMaxAlign }
func mbStatusOff(r Region) int   { return r.Size - mbTrailerSz }

type mbSwapState struct{ magic, swapType, copyDone, imageOK uint8 }

func swapTypeName(t int) string {
	switch t {
	case mbSwapTest:
		return "test"
	case mbSwapPerm:
		return "perm"
	case mbSwapRevert:
		return "revert"
	case mbSwapFail:
		return "fail"
	}
	return "none"
}

func erasedBytes(b []byte) bool {
	for _, x := range b {
		if x != 0xff {
			return false
		}
	}
	return true
}

// mbReadSwapState is boot_read_swap_state.
func (d *Device) mbReadSwapState(r Region) (mbSwapState, error) {
	var st mbSwapState
	var m [mbMagicSz]byte
	if err := r.Flash.ReadAt(m[:], r.Offset+mbMagicOff(r)); err != nil {
		return st, err
	}
	switch {
	case erasedBytes(m[:]):
		st.magic = mbMagicUnset
	case bytes.Equal(m[:], mbTrailerMagic):
		st.magic = mbMagicGood
	default:
		st.magic = mbMagicBad
	}
	flag := func(off int) (uint8, error) {
		var b [1]byte
		if err := r.Flash.ReadAt(b[:], r.Offset+off); err != nil {
			return 0, err
		}
		switch b[0] {
		case 0xff:
			return mbFlagUnset, nil
		case mbFlagSet:
			return mbFlagSet, nil
		}
		return mbFlagBad, nil
	}
	var info [1]byte
	if err := r.Flash.ReadAt(info[:], r.Offset+mbSwapInfoOff(r)); err != nil {
		return st, err
	}
	st.swapType = info[0] & 0x0f
	if info[0] == 0xff || st.swapType > mbSwapRevert {
		st.swapType = mbSwapNone
	}
	var err error
	if st.copyDone, err = flag(mbCopyDoneOff(r)); err != nil {
		return st, err
	}
	st.imageOK, err = flag(mbImageOKOff(r))
	return st, err
}

// mbSwapType is boot_swap_type_multi: the swap table over both trailers.
func (d *Device) mbSwapType() (int, error) {
	pri, err := d.mbReadSwapState(d.mb.primary)
	if err != nil {
		return 0, err
	}
	sec, err := d.mbReadSwapState(d.mb.secondary)
	if err != nil {
		return 0, err
	}
	switch {
	case sec.magic == mbMagicGood && sec.imageOK == mbFlagUnset:
		return mbSwapTest, nil
	case sec.magic == mbMagicGood && sec.imageOK == mbFlagSet:
		return mbSwapPerm, nil
	case pri.magic == mbMagicGood && pri.imageOK == mbFlagUnset && pri.copyDone == mbFlagSet:
		return mbSwapRevert, nil
	}
	return mbSwapNone, nil
}

// boot_write_trailer: one write of the write-block size, the value then 0xff padding.
func (d *Device) mbWriteTrailer(r Region, off int, val []byte) error {
	buf := bytes.Repeat([]byte{0xff}, (len(val)+mbWriteSz-1)/mbWriteSz*mbWriteSz)
	copy(buf, val)
	return r.Flash.Write(r.Offset+off, buf)
}

func (d *Device) mbWriteMagic(r Region) error {
	return r.Flash.Write(r.Offset+mbMagicOff(r), mbTrailerMagic)
}

func (d *Device) mbWriteImageOK(r Region) error {
	return d.mbWriteTrailer(r, mbImageOKOff(r), []byte{mbFlagSet})
}

func (d *Device) mbWriteCopyDone(r Region) error {
	return d.mbWriteTrailer(r, mbCopyDoneOff(r), []byte{mbFlagSet})
}

func (d *Device) mbWriteSwapInfo(r Region, swapType int) error {
	return d.mbWriteTrailer(r, mbSwapInfoOff(r), []byte{byte(swapType)}) // image 0 in the high nibble
}

func (d *Device) mbWriteSwapSize(r Region, n int) error {
	return d.mbWriteTrailer(r, mbSwapSizeOff(r), binary.LittleEndian.AppendUint32(nil, uint32(n)))
}

// mbScrambleTrailer is swap_scramble_trailer_sectors: erase the sector(s) holding the trailer.
func (d *Device) mbScrambleTrailer(r Region) error {
	ss := d.mb.sectorSize
	start := (r.Offset + mbStatusOff(r)) / ss * ss
	return r.Flash.eraseRange(start, r.Offset+r.Size-start)
}

// Errors of boot_set_next, as Zephyr translates them.
var (
	errMBFlash    = errors.New("BOOT_EFLASH")
	errMBBadVect  = errors.New("BOOT_EBADVECT")
	errMBBadImage = errors.New("BOOT_EBADIMAGE")
)

// mbSetNext is boot_set_next: what the application (img_mgmt's state write) does to ask MCUboot
// for a test or permanent swap of the secondary slot, or to confirm the running image.
func (d *Device) mbSetNext(r Region, active, confirm bool) error {
	if active {
		confirm = true
	}
	st, err := d.mbReadSwapState(r)
	if err != nil {
		return errMBFlash
	}
	wrap := func(err error) error {
		if err != nil {
			return fmt.Errorf("%w: %v", errMBFlash, err)
		}
		return nil
	}
	switch st.magic {
	case mbMagicGood:
		if active && st.imageOK == mbFlagUnset {
			return wrap(d.mbWriteImageOK(r))
		}
	case mbMagicUnset:
		if active {
			return nil
		}
		if err := d.mbWriteMagic(r); err != nil {
			return wrap(err)
		}
		t := mbSwapTest
		if confirm {
			if err := d.mbWriteImageOK(r); err != nil {
				return wrap(err)
			}
			t = mbSwapPerm
		}
		return wrap(d.mbWriteSwapInfo(r, t))
	case mbMagicBad:
		if active {
			return errMBBadVect
		}
		return errMBBadImage
	}
	return nil
}

// mbStatus is struct boot_status.
type mbStatus struct {
	idx, state, op int
	swapType       int
	swapSize       int
	source         int
}

func (bs *mbStatus) reset() { *bs = mbStatus{idx: 1, state: 1, op: mbOpMove, swapType: mbSwapNone} }
func (bs *mbStatus) isReset() bool {
	return bs.op == mbOpMove && bs.idx == 1 && bs.state == 1
}

// swap_status_source for swap-move.
func (d *Device) mbStatusSource() (int, error) {
	pri, err := d.mbReadSwapState(d.mb.primary)
	if err != nil {
		return 0, err
	}
	sec, err := d.mbReadSwapState(d.mb.secondary)
	if err != nil {
		return 0, err
	}
	if pri.magic == mbMagicGood && pri.copyDone == mbFlagUnset && sec.magic != mbMagicGood {
		return mbSourcePrimary, nil
	}
	return mbSourceNone, nil
}

// mbReadStatus is swap_read_status + swap_read_status_bytes.
func (d *Device) mbReadStatus(bs *mbStatus) error {
	src, err := d.mbStatusSource()
	if err != nil {
		return err
	}
	bs.source = src
	if src == mbSourceNone {
		return nil
	}
	r := d.mb.primary
	found := -1
	var b [1]byte
	for i := 3 * mbMaxImgSectors; i > 0; i-- {
		if err := r.Flash.ReadAt(b[:], r.Offset+mbStatusOff(r)+(i-1)*mbWriteSz); err != nil {
			return err
		}
		if b[0] != 0xff && found == -1 {
			found = i
		}
	}
	switch {
	case found == -1:
	case found < mbMaxImgSectors:
		bs.op, bs.idx, bs.state = mbOpMove, found+1, 1
	default:
		bs.op = mbOpSwap
		bs.idx = (found-mbMaxImgSectors)/2 + 1
		bs.state = (found-mbMaxImgSectors)%2 + 1
	}
	var info [1]byte
	if err := r.Flash.ReadAt(info[:], r.Offset+mbSwapInfoOff(r)); err != nil {
		return err
	}
	bs.swapType = int(info[0] & 0x0f)
	if info[0] == 0xff {
		bs.swapType = mbSwapNone
	}
	return nil
}

// boot_write_status: the state byte of this step, padded to the write block.
func (d *Device) mbWriteStatus(bs *mbStatus) error {
	r := d.mb.primary
	off := mbStatusOff(r) + (bs.idx-1)*mbWriteSz + (bs.state-1)*mbWriteSz
	if bs.op == mbOpSwap {
		off = mbStatusOff(r) + mbMaxImgSectors*mbWriteSz + (bs.idx-1)*2*mbWriteSz + (bs.state-1)*mbWriteSz
	}
	return d.mbWriteTrailer(r, off, []byte{byte(bs.state)})
}

// mbCopySector is boot_erase_region + boot_copy_region for one sector, through the 1024-byte
// copy buffer.
func (d *Device) mbCopySector(dst Region, dIdx int, src Region, sIdx int, buf *Block) error {
	ss := d.mb.sectorSize
	doff, soff := dst.Offset+dIdx*ss, src.Offset+sIdx*ss
	if err := dst.Flash.EraseSector(doff / ss); err != nil {
		return err
	}
	for done := 0; done < ss; done += len(buf.Buf) {
		k := min(len(buf.Buf), ss-done)
		if err := src.Flash.ReadAt(buf.Buf[:k], soff+done); err != nil {
			return err
		}
		if err := dst.Flash.Write(doff+done, buf.Buf[:k]); err != nil {
			return err
		}
	}
	return nil
}

// mbSwapRun is swap_move.c's swap_run (with boot_move_sector_up, boot_swap_sectors and
// fixup_revert).
func (d *Device) mbSwapRun(bs *mbStatus, copySize int) error {
	mb := d.mb
	ss := mb.sectorSize
	lastIdx := max(1, (copySize+ss-1)/ss)
	n := lastIdx
	firstTrailerIdx := mb.primary.Size/ss - 1
	if !bs.isReset() && lastIdx >= firstTrailerIdx {
		// A swap size no swap can have: the trailer is damaged. Stop rather than move sectors
		// outside the slot.
		return &StepError{Procedure: "boot", Sequence: "swap", Command: "resume interrupted swap", Err: ErrInvalid,
			Reason: fmt.Sprintf("the swap size in the primary trailer (%d bytes) exceeds what a swap can move", copySize)}
	}
	if bs.isReset() {
		if lastIdx >= firstTrailerIdx {
			d.emit(Event{Procedure: "boot", Sequence: "swap", Command: "swap", Result: Fail,
				Reason: fmt.Sprintf("not enough free space to run swap upgrade: %d bytes needed, %d available", (lastIdx+1)*ss, firstTrailerIdx*ss)})
			bs.swapType = mbSwapNone
			return nil
		}
	}
	buf, err := d.RAM.alloc("swap copy buffer", MCUbootCopyBufSize, true)
	if err != nil {
		return err
	}
	defer buf.Free()
	// fixup_revert
	if bs.swapType == mbSwapRevert && bs.op == mbOpMove && bs.idx == 1 {
		st, err := d.mbReadSwapState(mb.secondary)
		if err != nil {
			return err
		}
		if st.magic == mbMagicUnset {
			if err := d.mbScrambleTrailer(mb.secondary); err != nil {
				return err
			}
			if err := d.mbWriteImageOK(mb.secondary); err != nil {
				return err
			}
			if err := d.mbWriteSwapSize(mb.secondary, bs.swapSize); err != nil {
				return err
			}
			if err := d.mbWriteMagic(mb.secondary); err != nil {
				return err
			}
			d.emit(Event{Procedure: "boot", Sequence: "swap", Command: "revert: mark the old image ok", Argument: "secondary trailer: image ok, swap size, magic", Result: Info})
		}
	}
	if bs.op == mbOpMove {
		for idx := lastIdx; idx > 0; idx-- {
			if idx > lastIdx-bs.idx+1 {
				continue
			}
			if bs.idx == 1 {
				if bs.source != mbSourcePrimary {
					if err := d.mbScrambleTrailer(mb.primary); err != nil {
						return err
					}
					if err := d.mbStatusInit(bs); err != nil {
						return err
					}
				}
				if err := d.mbScrambleTrailer(mb.secondary); err != nil {
					return err
				}
			}
			if err := d.mbCopySector(mb.primary, idx, mb.primary, idx-1, buf); err != nil {
				return err
			}
			if err := d.mbWriteStatus(bs); err != nil {
				return err
			}
			d.emit(Event{Procedure: "boot", Sequence: "swap", Command: fmt.Sprintf("move: sector %d/%d", lastIdx-idx+1, n),
				Argument: fmt.Sprintf("primary sector %d → %d", idx-1, idx), Result: Pass})
			bs.idx++
		}
		bs.idx = 1
	}
	bs.op = mbOpSwap
	for idx := 1; idx <= lastIdx; idx++ {
		if idx < bs.idx {
			continue
		}
		if bs.state == 1 {
			if err := d.mbCopySector(mb.primary, idx-1, mb.secondary, idx-1, buf); err != nil {
				return err
			}
			if err := d.mbWriteStatus(bs); err != nil {
				return err
			}
			bs.state = 2
		}
		if bs.state == 2 {
			if err := d.mbCopySector(mb.secondary, idx-1, mb.primary, idx, buf); err != nil {
				return err
			}
			if err := d.mbWriteStatus(bs); err != nil {
				return err
			}
			d.emit(Event{Procedure: "boot", Sequence: "swap", Command: fmt.Sprintf("swap: sector %d/%d", idx, n),
				Argument: fmt.Sprintf("secondary sector %d ↔ primary sector %d", idx-1, idx-1), Result: Pass})
			bs.idx++
			bs.state = 1
		}
	}
	return nil
}

// swap_status_init: the primary trailer gets the swap info, image ok (if the secondary had it),
// the swap size and the magic.
func (d *Device) mbStatusInit(bs *mbStatus) error {
	sec, err := d.mbReadSwapState(d.mb.secondary)
	if err != nil {
		return err
	}
	pri := d.mb.primary
	if bs.swapType != mbSwapNone {
		if err := d.mbWriteSwapInfo(pri, bs.swapType); err != nil {
			return err
		}
	}
	if sec.imageOK == mbFlagSet {
		if err := d.mbWriteImageOK(pri); err != nil {
			return err
		}
	}
	if err := d.mbWriteSwapSize(pri, bs.swapSize); err != nil {
		return err
	}
	if err := d.mbWriteMagic(pri); err != nil {
		return err
	}
	d.emit(Event{Procedure: "boot", Sequence: "swap", Command: "swap status init", Argument: fmt.Sprintf("primary trailer: swap type %s, swap size %d, magic", swapTypeName(bs.swapType), bs.swapSize), Result: Info})
	return nil
}

// mbImageSize is boot_read_image_size of a slot whose header has the image magic (0 otherwise).
func (d *Device) mbImageSize(r Region) (int, error) {
	h, _, err := d.mbReadHeader(r)
	if err != nil || h.Magic != mbImageMagic {
		return 0, err
	}
	n, err := d.mbTLVEnd(r, h)
	if err != nil && d.off {
		return 0, err
	}
	if err != nil {
		return 0, nil
	}
	return n, nil
}

// mbSwapImage is boot_swap_image: size the swap (fresh) or read it back (resume), then run it.
func (d *Device) mbSwapImage(bs *mbStatus) error {
	r := d.mb.primary
	if bs.isReset() {
		a, err := d.mbImageSize(d.mb.primary)
		if err != nil {
			return err
		}
		b, err := d.mbImageSize(d.mb.secondary)
		if err != nil {
			return err
		}
		bs.swapSize = max(a, b)
	} else {
		var sz [4]byte
		if err := r.Flash.ReadAt(sz[:], r.Offset+mbSwapSizeOff(r)); err != nil {
			return err
		}
		bs.swapSize = int(binary.LittleEndian.Uint32(sz[:]))
	}
	return d.mbSwapRun(bs, bs.swapSize)
}

// mbFinishSwap sets image ok (permanent swap, revert) and copy done, as boot_perform_update and
// boot_complete_partial_swap do after the swap.
func (d *Device) mbFinishSwap(swapType int) error {
	pri := d.mb.primary
	if swapType == mbSwapRevert || swapType == mbSwapPerm {
		st, err := d.mbReadSwapState(pri)
		if err != nil {
			return err
		}
		if st.imageOK == mbFlagUnset {
			if err := d.mbWriteImageOK(pri); err != nil {
				return err
			}
		}
	}
	if swapType == mbSwapTest || swapType == mbSwapPerm || swapType == mbSwapRevert {
		if err := d.mbWriteCopyDone(pri); err != nil {
			return err
		}
	}
	return nil
}

// mbValidateSecondary is boot_validate_slot for the secondary slot: an empty slot leaves a trailer
// behind that is scrambled; an invalid image is erased so that it is never tried again.
func (d *Device) mbValidateSecondary(bs *mbStatus) (bool, error) {
	mb := d.mb
	_, err := d.mbValidate("secondary slot", mb.secondary)
	if err == nil {
		return true, nil
	}
	if d.off || errors.Is(err, ErrPowerCut) || errors.Is(err, ErrInsufficientMemory) {
		return false, err
	}
	mb.lastRefusal = err
	if errors.Is(err, errMBNoImage) {
		if err := d.mbScrambleTrailer(mb.secondary); err != nil {
			return false, err
		}
		t, terr := d.mbSwapType()
		if terr != nil {
			return false, terr
		}
		if bs.swapType == mbSwapRevert || t == mbSwapRevert {
			if err := d.mbScrambleTrailer(mb.primary); err != nil {
				return false, err
			}
		}
		return false, nil
	}
	if err := mb.secondary.Flash.eraseRange(mb.secondary.Offset, mb.secondary.Size); err != nil {
		return false, err
	}
	d.emit(Event{Procedure: "boot", Sequence: "validate secondary slot", Command: "erase invalid image", Argument: mb.secondary.String(), Result: Info,
		Reason: "the image in the secondary slot is not valid: MCUboot erases it and keeps booting the primary slot"})
	return false, nil
}

// mcubootBoot is MCUboot's context_boot_go for one image with swap-move.
func (d *Device) mcubootBoot() *Record {
	saved := d.cancel
	d.cancel = nil
	defer func() { d.cancel = saved }()
	base := d.startRun("boot")
	mb := d.mb
	mb.lastSwap, mb.lastRefusal, mb.running = "", nil, nil
	rec := &Record{}
	done := func(err error) *Record {
		if err != nil {
			rec.Err = err
			rec.Reason = err.Error()
			if errors.Is(err, ErrPowerCut) || d.off {
				rec.Outcome = PowerCut
				d.emit(Event{Procedure: "boot", Command: "power cut", Result: Fail, Reason: "the power failed during a flash operation; MCUboot resumes from the swap status at the next reset"})
			} else {
				rec.Outcome = NoBoot
				rec.BootReason = "MCUboot: Unable to find bootable image: " + rec.Reason
				d.emit(Event{Procedure: "boot", Command: "halt", Result: Fail, Reason: rec.BootReason})
			}
		}
		return d.finishRecord(rec, base)
	}
	if d.off {
		return done(ErrPowerCut)
	}
	d.mbLoadSigType()
	stBlk, err := d.RAM.alloc("boot loader state", MCUbootStateSize, false)
	if err != nil {
		return done(err)
	}
	defer stBlk.Free()
	secBlk, err := d.RAM.alloc("sector tables (2 slots × 128 sectors)", MCUbootSectorTableSize, false)
	if err != nil {
		return done(err)
	}
	defer secBlk.Free()

	var bs mbStatus
	bs.reset()
	if err := d.mbReadStatus(&bs); err != nil {
		return done(err)
	}
	swapType := mbSwapNone
	if !bs.isReset() {
		op := "move"
		if bs.op == mbOpSwap {
			op = "swap"
		}
		d.emit(Event{Procedure: "boot", Sequence: "swap", Command: "resume interrupted swap", Result: Info,
			Argument: fmt.Sprintf("swap status: %s step %d, state %d, swap type %s", op, bs.idx, bs.state, swapTypeName(bs.swapType)),
			Reason:   "a reset or power cut interrupted the swap: MCUboot completes it from the status entries"})
		if err := d.mbSwapImage(&bs); err != nil {
			return done(err)
		}
		if err := d.mbFinishSwap(bs.swapType); err != nil {
			return done(err)
		}
		mb.lastSwap = "resumed " + swapTypeName(bs.swapType)
	} else {
		if bs.swapType == mbSwapNone {
			t, err := d.mbSwapType()
			if err != nil {
				return done(err)
			}
			swapType = t
			if t == mbSwapTest || t == mbSwapPerm || t == mbSwapRevert {
				ok, err := d.mbValidateSecondary(&bs)
				if err != nil {
					return done(err)
				}
				if !ok {
					swapType = mbSwapNone
				}
			}
		} else {
			ok, err := d.mbValidateSecondary(&bs)
			if err != nil {
				return done(err)
			}
			swapType = bs.swapType
			if !ok {
				swapType = mbSwapFail
			}
		}
		arg := map[int]string{
			mbSwapNone:   "none: boot the primary slot",
			mbSwapTest:   "test: swap the secondary image in for one boot",
			mbSwapPerm:   "perm: swap the secondary image in for good",
			mbSwapRevert: "revert: test image not confirmed, swap the previous image back",
			mbSwapFail:   "fail: the secondary image is not valid",
		}[swapType]
		d.emit(Event{Procedure: "boot", Sequence: "swap", Command: "swap type", Argument: arg, Result: Info})
		bs.swapType = swapType
		switch swapType {
		case mbSwapTest, mbSwapPerm, mbSwapRevert:
			if err := d.mbSwapImage(&bs); err != nil {
				return done(err)
			}
			if err := d.mbFinishSwap(bs.swapType); err != nil {
				return done(err)
			}
			mb.lastSwap = swapTypeName(bs.swapType)
		case mbSwapFail:
			pri := mb.primary
			st, err := d.mbReadSwapState(pri)
			if err != nil {
				return done(err)
			}
			if st.imageOK == mbFlagUnset {
				if err := d.mbWriteImageOK(pri); err != nil {
					return done(err)
				}
			}
			mb.lastSwap = "fail"
		}
	}
	img, err := d.mbValidate("primary slot", mb.primary)
	if err != nil {
		return done(err)
	}
	mb.running = img
	d.comps[0].Length = img.Size
	st, err := d.mbReadSwapState(mb.primary)
	if err != nil {
		return done(err)
	}
	mode := "confirmed"
	if st.magic == mbMagicGood && st.imageOK == mbFlagUnset && st.copyDone == mbFlagSet {
		mode = "test mode: the application must confirm it, or the next reset reverts it"
	}
	rec.Booted = true
	rec.BootedImage = append([]byte(nil), img.Hash[:]...)
	rec.BootReason = fmt.Sprintf("MCUboot starts version %s from the primary slot (%s)", img.Header.Version(), mode)
	rec.Outcome = Applied
	d.emit(Event{Procedure: "boot", Command: "start image", Argument: fmt.Sprintf("version %s, %d bytes at 0x%05x", img.Header.Version(), img.Size, mb.primary.Offset+int(img.Header.HdrSize)), Result: Pass, Reason: mode})
	return done(nil)
}

// MCUbootRunning reports the version and hash (SHA-256 TLV) of the image the last boot started,
// and whether it runs in test mode (not confirmed). ok is false when nothing was booted.
func (d *Device) MCUbootRunning() (version string, hash []byte, test bool, ok bool) {
	if d.mb == nil || d.mb.running == nil {
		return "", nil, false, false
	}
	st, err := d.mbReadSwapState(d.mb.primary)
	test = err == nil && st.magic == mbMagicGood && st.imageOK == mbFlagUnset && st.copyDone == mbFlagSet
	return d.mb.running.Header.Version(), append([]byte(nil), d.mb.running.Hash[:]...), test, true
}
