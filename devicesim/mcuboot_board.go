package devicesim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
)

// The "mcuboot" board: a Zephyr application with MCUmgr's img_mgmt (mcuboot_smp.go) on top of
// MCUboot built for swap-move (CONFIG_BOOT_SWAP_USING_MOVE, Zephyr's default on nRF), with
// MCUBOOT_VALIDATE_PRIMARY_SLOT, one image, BOOT_MAX_IMG_SECTORS 128, a 4-byte write block
// (nRF52840) and BOOT_MAX_ALIGN 8.
//
//	internal flash, 100 KiB (25 sectors of 4 KiB); no external flash
//	  0x00000  mcuboot_partition   16 KiB  the boot loader; its built-in keys at the end
//	  0x04000  slot0_partition     44 KiB  primary slot: the image that runs (11 sectors)
//	  0x0F000  slot1_partition     40 KiB  secondary slot: uploads land here (10 sectors)
//
// Swap-move wants the primary one sector larger than the secondary; the trailer of each slot
// (1584 bytes: 128 × 3 status entries of 4 bytes, swap size, swap info, copy done, image ok, magic)
// takes the last sector, so an image may be 36 KiB (app_max_size: 44 - 4 trailer - 4 move
// padding). At boot MCUboot reads both trailers, resumes an interrupted swap from the status
// entries, or picks the swap type (test, permanent, revert) from the trailer table, validates the
// secondary image (hash, key hash, signature with a built-in key; an invalid one is erased), moves
// the primary image up one sector, swaps sector by sector writing a status entry after each step,
// sets copy done (and image ok for a permanent swap or a revert), validates the primary slot and
// starts it. A power cut at any flash write or erase is recovered from the status entries, as
// MCUboot does.

// Board names for Config.Board.
const (
	BoardSUIT    = "suit"
	BoardMCUboot = "mcuboot"
)

const (
	mbMaxImgSectors = 128 // BOOT_MAX_IMG_SECTORS
	mbWriteSz       = 4   // BOOT_WRITE_SZ: the nRF52840 flash write block
	mbMaxAlign      = 8   // BOOT_MAX_ALIGN
	mbMagicSz       = 16
	// boot_trailer_sz: status (128 entries × 3 states × write size) + swap size, swap info, copy
	// done, image ok (4 × BOOT_MAX_ALIGN) + magic.
	mbTrailerSz = mbMaxImgSectors*3*mbWriteSz + 4*mbMaxAlign + mbMagicSz

	// MCUbootSectorTableSize is what the sector tables of both slots take in RAM
	// (2 × BOOT_MAX_IMG_SECTORS × struct flash_sector of 8 bytes).
	MCUbootSectorTableSize = 2 * mbMaxImgSectors * 8
	// MCUbootCopyBufSize is boot_copy_region's buffer (BUF_SZ in loader.c).
	MCUbootCopyBufSize = 1024
	// MCUbootStateSize is struct boot_loader_state and struct boot_status without the sector
	// tables (headers of both slots, swap types, status).
	MCUbootStateSize = 160
)

// boot_img_magic for BOOT_MAX_ALIGN 8.
var mbTrailerMagic = []byte{0x77, 0xc2, 0x95, 0xf3, 0x60, 0xd2, 0xef, 0x7f, 0x35, 0x52, 0x50, 0x0f, 0x2c, 0xb6, 0x79, 0x80}

var errMBNoImage = errors.New("no bootable image")

type mcubootBoard struct {
	bootloader, primary, secondary Region
	sectorSize                     int
	sigTLV                         uint16 // EXPECTED_SIG_TLV of this build (from its keys)
	staged                         int    // bytes staged in the secondary slot by StageBegin/Write (sim run)

	// what the last boot did, for records and the SMP side
	lastSwap    string   // "", "test", "perm", "revert", "fail", "resumed"
	lastRefusal error    // why the last boot refused the secondary image
	running     *mbImage // the image started by the last boot (nil: none)
}

func newMCUbootDevice(cfg Config) (*Device, error) {
	cfg.ExtFlashSize = -1
	cfg = cfg.withDefaults()
	ss := cfg.SectorSize
	if cfg.FlashSize%ss != 0 || cfg.BootloaderSize%ss != 0 {
		return nil, fmt.Errorf("flash and boot loader sizes must be multiples of the %d-byte sector", ss)
	}
	secSectors := (cfg.FlashSize - cfg.BootloaderSize - ss) / 2 / ss
	if secSectors < 2 || mbTrailerSz > ss || secSectors+1 > mbMaxImgSectors {
		return nil, fmt.Errorf("flash of %d bytes is too small for two MCUboot slots after a %d-byte boot loader", cfg.FlashSize, cfg.BootloaderSize)
	}
	if cfg.RAMBudget < 1024 {
		return nil, fmt.Errorf("a RAM budget of %d bytes is too small", cfg.RAMBudget)
	}
	cfg.ImageSlotSize = (secSectors + 1) * ss
	d := &Device{cfg: cfg, staged: -1}
	d.Int = newFlash("internal", cfg.FlashSize, ss, d, false)
	d.RAM = newRAM(cfg.RAMBudget)
	mb := &mcubootBoard{sectorSize: ss, sigTLV: mbTLVECDSASig}
	mb.bootloader = Region{"mcuboot_partition (MCUboot)", d.Int, 0, cfg.BootloaderSize}
	mb.primary = Region{"slot0_partition (primary)", d.Int, cfg.BootloaderSize, (secSectors + 1) * ss}
	mb.secondary = Region{"slot1_partition (secondary)", d.Int, mb.primary.Offset + mb.primary.Size, secSectors * ss}
	d.mb = mb
	d.bootloader, d.slot, d.candidate = mb.bootloader, mb.primary, mb.secondary
	d.comps = []*devComp{{ComponentInfo: ComponentInfo{ID: []byte{0x00}, Name: "primary slot", Active: mb.primary, Executable: true,
		Candidate: &Region{mb.secondary.Name, d.Int, mb.secondary.Offset, mb.secondary.Size}}}}
	return d, nil
}

func (mb *mcubootBoard) flashMap() []Region { return []Region{mb.bootloader, mb.primary, mb.secondary} }

// appMaxSize is swap-move's app_max_size: the largest image (header to the end of its TLVs).
func (mb *mcubootBoard) appMaxSize() int {
	trailer := (mbTrailerSz + mb.sectorSize - 1) / mb.sectorSize * mb.sectorSize
	return min(mb.primary.Size-trailer-mb.sectorSize, mb.secondary.Size-trailer)
}

func (mb *mcubootBoard) sigName() string {
	if mb.sigTLV == mbTLVEd25519 {
		return "Ed25519"
	}
	return "ECDSA P-256"
}

// IsMCUboot reports whether the device is the "mcuboot" board.
func (d *Device) IsMCUboot() bool { return d.mb != nil }

// MCUbootMaxImageSize is the largest MCUboot image the board takes (0 on the SUIT board).
func (d *Device) MCUbootMaxImageSize() int {
	if d.mb == nil {
		return 0
	}
	return d.mb.appMaxSize()
}

// The built-in keys sit at the end of the boot loader area, as they are compiled into MCUboot:
// "MBKY" | count u8 | per key: kind u8, length u8, SubjectPublicKeyInfo DER.
const mbKeyTableSize = 512

func (mb *mcubootBoard) keyTableOff() int {
	return mb.bootloader.Offset + mb.bootloader.Size - mbKeyTableSize
}

func (d *Device) mbKeys() ([]mbKey, error) {
	tbl := make([]byte, mbKeyTableSize) // flash is memory mapped: MCUboot reads its keys in place
	if err := d.Int.ReadAt(tbl, d.mb.keyTableOff()); err != nil {
		return nil, err
	}
	if string(tbl[:4]) != "MBKY" {
		return nil, fmt.Errorf("%w: the boot loader has no built-in keys", ErrNotProvisioned)
	}
	var keys []mbKey
	pos := 5
	for i := 0; i < int(tbl[4]); i++ {
		if pos+2 > len(tbl) || pos+2+int(tbl[pos+1]) > len(tbl) {
			return nil, fmt.Errorf("%w: damaged key table", ErrNotProvisioned)
		}
		n := int(tbl[pos+1])
		keys = append(keys, mbKey{kind: tbl[pos], der: tbl[pos+2 : pos+2+n]})
		pos += 2 + n
	}
	return keys, nil
}

// mcubootProvision writes the boot loader with its built-in keys (the trust anchors; MCUboot is
// built for one signature type, so they must all be P-256 or all Ed25519) and, if given, the
// factory image into the primary slot. Without a factory image the primary slot stays empty and
// the boot loader finds nothing to boot until an image is uploaded and swapped in.
func (d *Device) mcubootProvision(p Provisioning) error {
	if len(p.TrustAnchors) == 0 {
		return fmt.Errorf("%w: MCUboot needs at least one built-in key", ErrNotProvisioned)
	}
	tbl := []byte("MBKY")
	tbl = append(tbl, byte(len(p.TrustAnchors)))
	kind := byte(0)
	for _, a := range p.TrustAnchors {
		ta, err := encodeAnchor(a)
		if err != nil {
			return err
		}
		if kind != 0 && ta.kind != kind {
			return fmt.Errorf("%w: MCUboot is built for one signature type: give only P-256 or only Ed25519 keys", ErrNotProvisioned)
		}
		kind = ta.kind
		var der []byte
		switch k := a.Key.(type) {
		case *ecdsa.PublicKey:
			der, err = x509.MarshalPKIXPublicKey(k)
		case ed25519.PublicKey:
			der, err = x509.MarshalPKIXPublicKey(k)
		}
		if err != nil {
			return err
		}
		tbl = append(tbl, ta.kind, byte(len(der)))
		tbl = append(tbl, der...)
	}
	if len(tbl) > mbKeyTableSize {
		return fmt.Errorf("%w: %d keys do not fit the boot loader's key table", ErrNotProvisioned, len(p.TrustAnchors))
	}
	d.mb.sigTLV = sigTLVFor(kind)
	d.off, d.cutAt = false, 0
	for s := range d.Int.erases {
		if err := d.Int.EraseSector(s); err != nil {
			return err
		}
	}
	bl := bytes.Repeat([]byte("MCUboot (simulated, swap-move)\n"), d.mb.bootloader.Size/31+1)[:d.mb.bootloader.Size-mbKeyTableSize]
	if err := d.Int.Write(d.mb.bootloader.Offset, bl); err != nil {
		return err
	}
	if err := d.Int.Write(d.mb.keyTableOff(), tbl); err != nil {
		return err
	}
	if p.Image != nil {
		if len(p.Image) < mbHeaderSize || binary.LittleEndian.Uint32(p.Image) != mbImageMagic {
			return fmt.Errorf("%w: the factory image is not an MCUboot image (sign it with imgtool or 'suit mcuboot sign')", ErrNotProvisioned)
		}
		if len(p.Image) > d.mb.appMaxSize() {
			return fmt.Errorf("%w: factory image of %d bytes does not fit the %d bytes a slot holds", ErrPayloadTooLarge, len(p.Image), d.mb.appMaxSize())
		}
		if err := d.Int.Write(d.mb.primary.Offset, p.Image); err != nil {
			return err
		}
		d.comps[0].Length = len(p.Image)
	}
	return nil
}

// The key table is the device's provisioning; sigTLV follows from it after a reload.
func (d *Device) mbLoadSigType() {
	d.mb.sigTLV = mbTLVECDSASig
	if keys, err := d.mbKeys(); err == nil && len(keys) > 0 {
		d.mb.sigTLV = sigTLVFor(keys[0].kind)
	}
}

// sigTLVFor is the signature TLV MCUboot is built to check for keys of this kind.
func sigTLVFor(kind byte) uint16 {
	if kind == anchorEd25519 {
		return mbTLVEd25519
	}
	return mbTLVECDSASig
}

// ---- staging (sim run): the image goes to the secondary slot as img_mgmt would put it ----

func (d *Device) mcubootStageBegin(size int) error {
	d.evProc = "staging"
	d.staged, d.mb.staged = -1, 0
	if size < mbHeaderSize {
		return &StepError{Procedure: "staging", Command: "stage", Err: ErrInvalid, Reason: fmt.Sprintf("%d bytes are shorter than an MCUboot image header", size)}
	}
	if size > d.mb.secondary.Size {
		return &StepError{Procedure: "staging", Command: "stage", Err: ErrEnvelopeTooLarge,
			Reason: fmt.Sprintf("image of %d bytes does not fit the %d-byte secondary slot", size, d.mb.secondary.Size)}
	}
	if err := d.mbEraseForUpload(size); err != nil {
		return err
	}
	d.stagedCap = size
	return nil
}

func (d *Device) mcubootStageWrite(off int, p []byte) error {
	if off < 0 || off+len(p) > d.stagedCap {
		return fmt.Errorf("%w: staging write [%d, %d) outside the announced %d bytes", ErrInvalid, off, off+len(p), d.stagedCap)
	}
	if off == 0 && (len(p) < 4 || binary.LittleEndian.Uint32(p) != mbImageMagic) {
		return &StepError{Procedure: "staging", Command: "image header magic", Err: ErrInvalid,
			Reason: "magic mismatch: not an MCUboot image (export or sign the firmware for MCUboot)"}
	}
	return d.Int.Write(d.mb.secondary.Offset+off, p)
}

func (d *Device) mcubootStageFinish() error {
	d.staged = d.stagedCap
	d.emit(Event{Procedure: "staging", Command: "stage image", Argument: fmt.Sprintf("%d bytes in the secondary slot at 0x%05x", d.staged, d.mb.secondary.Offset), Result: Info})
	return nil
}

// mbEraseForUpload is img_mgmt_erase_image_data: erase the sectors the image will take, and the
// trailer sector if it was not among them.
func (d *Device) mbEraseForUpload(size int) error {
	sec := d.mb.secondary
	if err := sec.Flash.eraseRange(sec.Offset, size); err != nil {
		return err
	}
	last := sec.Offset + sec.Size - d.mb.sectorSize
	if sec.Offset+size <= last {
		return sec.Flash.EraseSector(last / d.mb.sectorSize)
	}
	return nil
}

// mcubootUpdate is `sim run` on this board: the staged image is marked for a test swap (as
// `mcumgr image test HASH` does) and the device resets; MCUboot validates and swaps it in. An
// unconfirmed test image reverts at the next reset.
func (d *Device) mcubootUpdate() *Record {
	d.beginPublic()
	if d.off {
		return &Record{Outcome: PowerCut, Reason: "the device is off after a power cut", RAMBudget: d.RAM.Budget()}
	}
	if d.staged < 0 {
		return &Record{Outcome: Refused, Reason: "no image is staged", Err: ErrInvalid, RAMBudget: d.RAM.Budget()}
	}
	d.evProc = "update"
	if err := d.mbSetNext(d.mb.secondary, false, false); err != nil {
		rec := &Record{Outcome: Refused, Reason: err.Error(), Err: err, RAMBudget: d.RAM.Budget()}
		if d.off {
			rec.Outcome = PowerCut
		}
		return rec
	}
	d.emit(Event{Procedure: "update", Command: "image test", Argument: "secondary slot marked for a test swap (magic, swap info)", Result: Pass})
	rec := d.Restart()
	if rec.Outcome == Applied && d.mb.lastSwap != "test" {
		rec.Outcome, rec.Reason = Refused, "MCUboot did not swap the image in: "+rec.BootReason
		if rec.Err == nil {
			rec.Err = d.mb.lastRefusal
		}
	}
	return rec
}

// MCUbootSummary describes the board's slots and trailers in words for the GUI's board view,
// read straight from the flash array (no simulated time or reads are charged). "" on the SUIT
// board.
func (d *Device) MCUbootSummary() string {
	if d.mb == nil {
		return ""
	}
	slot := func(r Region) string {
		b := d.Int.data[r.Offset : r.Offset+r.Size]
		h := parseMBHeader(b)
		img := "empty"
		switch {
		case h.Magic == mbImageMagic:
			img = "image " + h.Version()
		case !erasedBytes(b[:4]):
			img = "no MCUboot image"
		}
		tr := "trailer erased"
		if bytes.Equal(b[mbMagicOff(r):], mbTrailerMagic) {
			flag := func(off int) string {
				switch b[off] {
				case 0xff:
					return "unset"
				case mbFlagSet:
					return "set"
				}
				return "bad"
			}
			info := "none"
			if b[mbSwapInfoOff(r)] != 0xff {
				info = swapTypeName(int(b[mbSwapInfoOff(r)] & 0x0f))
			}
			tr = fmt.Sprintf("magic good, swap info %s, copy done %s, image ok %s", info, flag(mbCopyDoneOff(r)), flag(mbImageOKOff(r)))
		}
		return img + " · " + tr
	}
	keys := "none"
	if tbl := d.Int.data[d.mb.keyTableOff():]; string(tbl[:4]) == "MBKY" {
		keys = fmt.Sprintf("%d %s", tbl[4], d.mb.sigName())
	}
	running := "nothing booted yet"
	if r := d.mb.running; r != nil {
		running = "runs " + r.Header.Version()
	}
	return fmt.Sprintf("Zephyr + MCUboot (swap-move) · %s · built-in keys: %s\nPrimary slot: %s\nSecondary slot: %s",
		running, keys, slot(d.mb.primary), slot(d.mb.secondary))
}
