package devicesim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/suit-studio/suit-studio/codec/lms"
)

// Config sizes the device. The zero value of every field means the default.
type Config struct {
	FlashSize      int    // internal flash, default 100 KiB
	SectorSize     int    // erase unit of both flashes, default 4 KiB (nRF52840 page size)
	BootloaderSize int    // default 16 KiB
	ImageSlotSize  int    // active image slot, default 36 KiB
	ExtFlashSize   int    // external SPI NOR flash, default 256 KiB; negative = none
	RAMBudget      int    // default 10 KiB
	MaxComponents  int    // default 3
	ImageSlot      uint64 // slot index component [h'00'] reports to component-slot, default 0
	ChunkSize      int    // transfer buffer for copying and hashing, default 256 B
	MaxTrust       int    // trust anchors the state area holds, default 4
	MaxCommands    int    // watchdog: commands one procedure may execute, default 2000
	// MaxDependencyDepth is how deeply dependency manifests may nest (draft-ietf-suit-trust-domains;
	// each level holds its manifest and processing state in RAM), default 2.
	MaxDependencyDepth int `json:",omitempty"`
	// Policy is what the device knows of its surroundings for the update-management conditions
	// (battery, clock, installed versions, authorization): see updatemgmt.go.
	Policy *Policy `json:",omitempty"`
	// Board is the device profile: BoardSUIT ("" or "suit", the default) or BoardMCUboot
	// ("mcuboot": Zephyr's img_mgmt and MCUboot's swap-move boot loader, see mcuboot_board.go).
	Board string `json:",omitempty"`
	// ComponentAliases maps other component identifiers (the single byte string) onto the
	// device's own, e.g. "plaintext-firmware" -> h'00' for the firmware-encryption examples.
	ComponentAliases map[string][]byte
}

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.FlashSize, 100<<10)
	def(&c.SectorSize, 4<<10)
	def(&c.BootloaderSize, 16<<10)
	def(&c.ImageSlotSize, 36<<10)
	def(&c.ExtFlashSize, 256<<10)
	def(&c.RAMBudget, 10<<10)
	def(&c.MaxComponents, 3)
	def(&c.ChunkSize, 256)
	def(&c.MaxTrust, 4)
	def(&c.MaxCommands, 2000)
	def(&c.MaxDependencyDepth, 2)
	c.Policy = c.Policy.clone() // each device owns its policy (set-version writes it)
	return c
}

// TrustAnchor is a public key the device accepts manifests from.
type TrustAnchor struct {
	Name string
	Key  any // *ecdsa.PublicKey (P-256) or ed25519.PublicKey
	// Scope limits the anchor to dependency manifests whose suit-dependency-prefix (first
	// element) is one of these; empty = a root authority that may sign anything (deps.go).
	Scope []string `json:",omitempty"`
}

// Provisioning is what the factory puts on the device.
type Provisioning struct {
	TrustAnchors []TrustAnchor
	VendorID     []byte // 16 bytes
	ClassID      []byte // 16 bytes
	DeviceID     []byte // 16 bytes or nil
	Sequence     uint64 // stored sequence number
	Image        []byte // factory image in component [h'00']; nil = a generated 4 KiB image
	Image2       []byte // factory content of component [h'01'] (external flash), may be nil
}

// Fetcher gives the device the payload behind a URI (a file mapped by the user, or a payload
// staged over the link). The device reads it in ChunkSize pieces.
type Fetcher interface {
	Fetch(uri string) ([]byte, error)
}

// Payloads is a Fetcher backed by a map from URI to bytes.
type Payloads map[string][]byte

// Fetch implements Fetcher.
func (p Payloads) Fetch(uri string) ([]byte, error) {
	if b, ok := p[uri]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("%w: no payload for %q (give one with --payload %s=FILE)", ErrPayloadUnavailable, uri, uri)
}

// ComponentInfo describes one component the device knows.
type ComponentInfo struct {
	ID         []byte // the single byte string of its SUIT_Component_Identifier
	Name       string
	Active     Region
	Candidate  *Region // nil when the component is written in place (scratch storage)
	Slot       uint64
	Executable bool
	Length     int // length of the current content
}

type devComp struct {
	ComponentInfo
	// during an update
	written bool
	candOff int // where the candidate content is: in the staging space, or (an integrated
	candLen int // payload taken in place) inside the staged envelope
	areaOff int // the staging space for content that is not in the envelope
	candCap int // its size
}

// Device is the simulated Class 1 device.
type Device struct {
	cfg   Config
	keys  []DeviceKey // decryption and MAC keys (decrypt.go)
	Int   *Flash
	Ext   *Flash // nil when the device has no external flash
	RAM   *RAM
	comps []*devComp

	bootloader, slot, candidate, stateA, stateB Region

	clock        time.Duration
	bytesRead    int64
	bytesWritten int64
	off          bool
	ops          int
	cutAt        int

	st        *bootState // the boot state last read from flash
	staged    int        // length of the staged envelope, -1 when none
	stagedCap int
	onEvent   func(Event)
	cancel    func() error
	reported  []Event
	step      int
	evBase    [2]int64
	evProc    string

	mb *mcubootBoard // non-nil on the "mcuboot" board
}

// New builds an unprovisioned device with blank flash.
func New(cfg Config) (*Device, error) {
	if cfg.Board == BoardMCUboot {
		return newMCUbootDevice(cfg)
	}
	if cfg.Board != "" && cfg.Board != BoardSUIT {
		return nil, fmt.Errorf("unknown board %q (want %q or %q)", cfg.Board, BoardSUIT, BoardMCUboot)
	}
	cfg = cfg.withDefaults()
	d := &Device{cfg: cfg, staged: -1}
	ss := cfg.SectorSize
	if cfg.FlashSize%ss != 0 || cfg.BootloaderSize%ss != 0 || cfg.ImageSlotSize%ss != 0 {
		return nil, fmt.Errorf("flash, boot loader and slot sizes must be multiples of the %d-byte sector", ss)
	}
	candSize := cfg.FlashSize - cfg.BootloaderSize - cfg.ImageSlotSize - 2*ss
	if candSize < cfg.ImageSlotSize+ss {
		return nil, fmt.Errorf("flash of %d bytes is too small: the candidate area (%d bytes) must hold an image slot (%d) and one sector for the envelope", cfg.FlashSize, candSize, cfg.ImageSlotSize)
	}
	if cfg.RAMBudget < 1024 {
		return nil, fmt.Errorf("a RAM budget of %d bytes is too small", cfg.RAMBudget)
	}
	d.Int = newFlash("internal", cfg.FlashSize, ss, d, false)
	d.RAM = newRAM(cfg.RAMBudget)
	off := 0
	d.bootloader = Region{"boot loader", d.Int, off, cfg.BootloaderSize}
	off += cfg.BootloaderSize
	d.slot = Region{"image slot [h'00']", d.Int, off, cfg.ImageSlotSize}
	off += cfg.ImageSlotSize
	d.candidate = Region{"candidate area (envelope + staged image)", d.Int, off, candSize}
	off += candSize
	d.stateA = Region{"state copy A", d.Int, off, ss}
	d.stateB = Region{"state copy B", d.Int, off + ss, ss}
	d.comps = append(d.comps, &devComp{ComponentInfo: ComponentInfo{
		ID: []byte{0x00}, Name: "image slot", Active: d.slot, Slot: cfg.ImageSlot, Executable: true,
		Candidate: &Region{"staged image [h'00']", d.Int, d.candidate.Offset, d.candidate.Size},
	}})
	if cfg.ExtFlashSize > 0 {
		if cfg.ExtFlashSize%ss != 0 {
			return nil, fmt.Errorf("external flash size must be a multiple of %d", ss)
		}
		d.Ext = newFlash("external", cfg.ExtFlashSize, ss, d, true)
		part := cfg.ExtFlashSize / 3 / ss * ss
		a := Region{"second image [h'01']", d.Ext, 0, part}
		b := Region{"staged second image [h'01']", d.Ext, part, part}
		c := Region{"download area [h'02']", d.Ext, 2 * part, part}
		d.comps = append(d.comps,
			&devComp{ComponentInfo: ComponentInfo{ID: []byte{0x01}, Name: "second image (external flash)", Active: a, Candidate: &b, Executable: true}},
			&devComp{ComponentInfo: ComponentInfo{ID: []byte{0x02}, Name: "download area (external flash)", Active: c}},
		)
	}
	return d, nil
}

// Config returns the device's configuration with defaults filled in.
func (d *Device) Config() Config { return d.cfg }

// FlashMap lists the regions of both flashes.
func (d *Device) FlashMap() []Region {
	if d.mb != nil {
		return d.mb.flashMap()
	}
	out := []Region{d.bootloader, d.slot, d.candidate, d.stateA, d.stateB}
	for _, c := range d.comps[1:] {
		out = append(out, c.Active)
		if c.Candidate != nil {
			out = append(out, *c.Candidate)
		}
	}
	return out
}

// Components lists the components the device supports.
func (d *Device) Components() []ComponentInfo {
	out := make([]ComponentInfo, len(d.comps))
	for i, c := range d.comps {
		out[i] = c.ComponentInfo
	}
	return out
}

// SetEventHandler sets the callback that receives every step. It runs on the caller's goroutine.
func (d *Device) SetEventHandler(f func(Event)) { d.onEvent = f }

// SetCancel installs a check the processor calls before every command; when it returns an error
// the procedure aborts (the device keeps its state, like any refusal). nil removes it.
func (d *Device) SetCancel(f func() error) { d.cancel = f }

// Clock is the simulated time since the device was created.
func (d *Device) Clock() time.Duration { return d.clock }

// FlashOps counts flash writes and erases since the device was created.
func (d *Device) FlashOps() int { return d.ops }

// PowerCutAt arms a power cut: the n-th flash write or erase from now (1 = the next one) fails
// half done and the device stops until Restart. Armed while the device is off, it counts from
// the next Restart and hits the boot loader (a second cut while it resumes an installation);
// otherwise Restart disarms it.
func (d *Device) PowerCutAt(n int) {
	if n <= 0 {
		d.cutAt = 0
		return
	}
	d.cutAt = d.ops + n
}

// PoweredOff reports whether an injected power cut stopped the device.
func (d *Device) PoweredOff() bool { return d.off }

func (d *Device) flashOp() (cut bool, err error) {
	if d.off {
		return false, ErrPowerCut
	}
	d.ops++
	if d.cutAt > 0 && d.ops >= d.cutAt {
		d.cutAt = 0
		d.off = true
		return true, ErrPowerCut
	}
	return false, nil
}

// emit sends an event with the byte counts since the previous event.
func (d *Device) emit(e Event) Event {
	d.step++
	e.Step = d.step
	if e.Procedure == "" {
		e.Procedure = d.evProc
	}
	e.BytesRead = d.bytesRead - d.evBase[0]
	e.BytesWritten = d.bytesWritten - d.evBase[1]
	d.evBase = [2]int64{d.bytesRead, d.bytesWritten}
	e.RAMInUse = d.RAM.InUse()
	e.SimTime = d.clock
	if d.onEvent != nil {
		d.onEvent(e)
	}
	return e
}

// Provision erases the device and writes the boot loader, the factory image(s) and the first
// state record (trust anchors, IDs, sequence number).
func (d *Device) Provision(p Provisioning) error {
	if d.mb != nil {
		return d.mcubootProvision(p)
	}
	if len(p.TrustAnchors) == 0 {
		return fmt.Errorf("%w: at least one trust anchor is needed", ErrNotProvisioned)
	}
	if len(p.TrustAnchors) > d.cfg.MaxTrust {
		return fmt.Errorf("%w: %d trust anchors given, the state area holds %d", ErrNotProvisioned, len(p.TrustAnchors), d.cfg.MaxTrust)
	}
	if len(p.VendorID) != 16 || len(p.ClassID) != 16 || (p.DeviceID != nil && len(p.DeviceID) != 16) {
		return fmt.Errorf("%w: vendor, class and device IDs must be 16-byte UUIDs", ErrNotProvisioned)
	}
	st := &bootState{seq: p.Sequence, hasDevice: p.DeviceID != nil}
	copy(st.vendor[:], p.VendorID)
	copy(st.class[:], p.ClassID)
	copy(st.device[:], p.DeviceID)
	for _, a := range p.TrustAnchors {
		ta, err := encodeAnchor(a)
		if err != nil {
			return err
		}
		if ta.scope, err = encodeScope(a); err != nil {
			return err
		}
		st.anchors = append(st.anchors, ta)
	}
	d.off, d.cutAt = false, 0
	for _, f := range []*Flash{d.Int, d.Ext} {
		if f == nil {
			continue
		}
		for s := range f.erases {
			if err := f.EraseSector(s); err != nil {
				return err
			}
		}
	}
	bl := bytes.Repeat([]byte("SUIT Studio simulated boot loader\n"), d.bootloader.Size/34+1)[:d.bootloader.Size]
	if err := d.Int.Write(d.bootloader.Offset, bl); err != nil {
		return err
	}
	img := p.Image
	if img == nil {
		img = FactoryImage(4096)
	}
	if len(img) > d.slot.Size {
		return fmt.Errorf("%w: factory image of %d bytes does not fit the %d-byte slot", ErrPayloadTooLarge, len(img), d.slot.Size)
	}
	if err := d.Int.Write(d.slot.Offset, img); err != nil {
		return err
	}
	st.activeLen[0] = uint32(len(img))
	if p.Image2 != nil {
		if len(d.comps) < 2 || len(p.Image2) > d.comps[1].Active.Size {
			return fmt.Errorf("%w: second factory image does not fit", ErrPayloadTooLarge)
		}
		if err := d.Ext.Write(d.comps[1].Active.Offset, p.Image2); err != nil {
			return err
		}
		st.activeLen[1] = uint32(len(p.Image2))
	}
	st.copyIdx = 1 // so that the first write goes to copy A
	if err := d.writeState(st, nil); err != nil {
		return err
	}
	d.st = st
	d.syncLengths()
	return nil
}

// FactoryImage is the deterministic demo image the device carries when provisioning gives none.
func FactoryImage(n int) []byte {
	b := make([]byte, n)
	copy(b, "SUIT Studio factory image\n")
	x := uint32(2463534242)
	for i := 26; i < n; i++ {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func encodeAnchor(a TrustAnchor) (anchor, error) {
	switch k := a.Key.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return anchor{}, fmt.Errorf("%w: trust anchor %q: only P-256 ECDSA keys are supported", ErrNotProvisioned, a.Name)
		}
		raw, err := k.Bytes()
		if err != nil {
			return anchor{}, err
		}
		return anchor{kind: anchorP256, key: raw}, nil
	case ed25519.PublicKey:
		return anchor{kind: anchorEd25519, key: append([]byte(nil), k...)}, nil
	case lms.PublicKey:
		if err := k.Check(); err != nil {
			return anchor{}, fmt.Errorf("%w: trust anchor %q: %v", ErrNotProvisioned, a.Name, err)
		}
		return anchor{kind: anchorHSSLMS, key: append([]byte(nil), k...)}, nil
	}
	return anchor{}, fmt.Errorf("%w: trust anchor %q: unsupported key type %T (want ECDSA P-256 or Ed25519)", ErrNotProvisioned, a.Name, a.Key)
}

func (d *Device) syncLengths() {
	if d.st == nil {
		return
	}
	for i, c := range d.comps {
		c.Length = int(d.st.activeLen[i])
	}
}

// Installed reports the stored sequence number and the SHA-256 digest of the installed manifest
// (the SUIT_Digest of its envelope; nil when only the factory image is installed).
func (d *Device) Installed() (seq uint64, manifestDigest []byte, ok bool) {
	if d.st == nil {
		st, err := d.readState()
		if err != nil {
			return 0, nil, false
		}
		d.st = st
	}
	if d.st.envLen > 0 {
		manifestDigest = append([]byte(nil), d.st.manDigest[:]...)
	}
	return d.st.seq, manifestDigest, true
}

// ComponentContent returns a copy of a component's current content (for tests and the GUI).
func (d *Device) ComponentContent(i int) []byte {
	if i < 0 || i >= len(d.comps) {
		return nil
	}
	c := d.comps[i]
	out := make([]byte, c.Length)
	copy(out, c.Active.Flash.data[c.Active.Offset:])
	return out
}

// ---- staging ----

// StageBegin prepares the candidate area for an envelope of size bytes (erasing the sectors it
// will occupy). Then StageWrite puts the bytes, in chunks, and StageFinish closes the staging.
func (d *Device) StageBegin(size int) error {
	if d.mb != nil {
		return d.mcubootStageBegin(size)
	}
	d.evProc = "staging"
	d.staged = -1
	if size <= 0 {
		return fmt.Errorf("%w: empty envelope", ErrInvalid)
	}
	// An envelope may fill the candidate area: integrated payloads are installed from inside it
	// (see fetch); only images fetched by URI, written or copied need staging space after it,
	// and the update says so if that space is too small.
	if size > d.candidate.Size {
		return &StepError{Procedure: "staging", Command: "stage", Err: ErrEnvelopeTooLarge,
			Reason: fmt.Sprintf("envelope of %d bytes does not fit the %d-byte candidate area", size, d.candidate.Size)}
	}
	if err := d.Int.eraseRange(d.candidate.Offset, size); err != nil {
		return err
	}
	d.stagedCap = size
	return nil
}

// StageWrite writes part of the staged envelope at off.
func (d *Device) StageWrite(off int, p []byte) error {
	if d.mb != nil {
		return d.mcubootStageWrite(off, p)
	}
	if off < 0 || off+len(p) > d.stagedCap {
		return fmt.Errorf("%w: staging write [%d, %d) outside the announced %d bytes", ErrInvalid, off, off+len(p), d.stagedCap)
	}
	return d.Int.Write(d.candidate.Offset+off, p)
}

// StageFinish marks the staged envelope complete.
func (d *Device) StageFinish() error {
	if d.mb != nil {
		return d.mcubootStageFinish()
	}
	d.staged = d.stagedCap
	d.emit(Event{Procedure: "staging", Command: "stage envelope", Argument: fmt.Sprintf("%d bytes at 0x%05x", d.staged, d.candidate.Offset), Result: Info})
	return nil
}

// Stage writes a whole envelope into the candidate area in ChunkSize pieces.
func (d *Device) Stage(env []byte) error {
	if err := d.StageBegin(len(env)); err != nil {
		return err
	}
	for off := 0; off < len(env); off += d.cfg.ChunkSize {
		if err := d.StageWrite(off, env[off:min(off+d.cfg.ChunkSize, len(env))]); err != nil {
			return err
		}
	}
	return d.StageFinish()
}

// TamperStaged flips the bits of one byte of the staged envelope, as a fault or an attacker with
// access to the staging flash would (bypassing the NOR write rule on purpose).
func (d *Device) TamperStaged(off int) error {
	if d.staged < 0 || off < 0 || off >= d.staged {
		return fmt.Errorf("no staged byte at %d", off)
	}
	d.Int.data[d.candidate.Offset+off] ^= 0xFF
	return nil
}

// StagedLen is the length of the staged envelope (-1 when none).
func (d *Device) StagedLen() int { return d.staged }

// ---- records ----

func (d *Device) startRun(proc string) (base runBase) {
	d.evProc = proc
	d.evBase = [2]int64{d.bytesRead, d.bytesWritten}
	return runBase{read: d.bytesRead, written: d.bytesWritten, clock: d.clock, ops: d.ops, step: d.step, report: len(d.reported)}
}

type runBase struct {
	read, written int64
	clock         time.Duration
	ops, step     int
	report        int
}

// beginPublic starts a run requested from outside (update, restart, verify, RFC 4108 load):
// the RAM peak and the report start afresh; nested runs (the boot after an update) add to them.
func (d *Device) beginPublic() {
	d.RAM.resetPeak()
	d.reported = d.reported[:0]
}

func (d *Device) finishRecord(r *Record, b runBase) *Record {
	r.Steps = d.step - b.step
	r.BytesRead = d.bytesRead - b.read
	r.BytesWritten = d.bytesWritten - b.written
	r.RAMPeak = d.RAM.Peak()
	r.RAMBudget = d.RAM.Budget()
	r.SimTime = d.clock - b.clock
	r.FlashOps = d.ops - b.ops
	if b.report <= len(d.reported) {
		r.Report = append([]Event(nil), d.reported[b.report:]...)
	}
	if d.st != nil {
		r.Installed = d.st.seq
	}
	return r
}

// sha256Of hashes n bytes of a flash region in chunks through the accounted transfer buffer.
func (d *Device) hashRegion(f *Flash, off, n int, h interface{ Write([]byte) (int, error) }) error {
	buf, err := d.RAM.alloc("hash chunk buffer", d.cfg.ChunkSize, true)
	if err != nil {
		return err
	}
	defer buf.Free()
	for done := 0; done < n; {
		k := min(len(buf.Buf), n-done)
		if err := f.ReadAt(buf.Buf[:k], off+done); err != nil {
			return err
		}
		h.Write(buf.Buf[:k])
		d.clock += time.Duration(k) * SHA256CyclesPerByte * time.Second / CPUHz
		done += k
	}
	return nil
}

func (d *Device) chargeHash(n int) {
	d.clock += time.Duration(n) * SHA256CyclesPerByte * time.Second / CPUHz
}

var errStopped = errors.New("device stopped")

func digestOf(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

// FlashImages returns copies of both flashes: everything the device keeps across power cycles.
func (d *Device) FlashImages() (internal, external []byte) {
	internal = d.Int.Snapshot()
	if d.Ext != nil {
		external = d.Ext.Snapshot()
	}
	return
}

// LoadFlashImages replaces the flash contents with saved images (same sizes as this device's
// configuration) and powers the device off; call Restart to boot it.
func (d *Device) LoadFlashImages(internal, external []byte) error {
	if len(internal) != len(d.Int.data) {
		return fmt.Errorf("saved internal flash is %d bytes, this device has %d", len(internal), len(d.Int.data))
	}
	if (d.Ext == nil) != (external == nil) || (d.Ext != nil && len(external) != len(d.Ext.data)) {
		return fmt.Errorf("saved external flash does not match this device's configuration")
	}
	copy(d.Int.data, internal)
	if d.Ext != nil {
		copy(d.Ext.data, external)
	}
	d.st = nil
	d.staged = -1
	d.off = true
	return nil
}

// StateInfo is what the state area says, for the GUI's board view.
type StateInfo struct {
	Sequence       uint64
	VendorID       []byte
	ClassID        []byte
	DeviceID       []byte // nil when not provisioned
	TrustAnchors   []string
	ManifestDigest []byte // nil when no SUIT manifest is installed
	PendingInstall bool   // staged images wait for the boot loader
	StaleVersion   *uint64
	StateCopy      string // "A" or "B"
}

// StateInfo reads the boot state from flash.
func (d *Device) StateInfo() (StateInfo, error) {
	st, err := d.readState()
	if err != nil {
		return StateInfo{}, err
	}
	si := StateInfo{Sequence: st.seq, VendorID: append([]byte(nil), st.vendor[:]...), ClassID: append([]byte(nil), st.class[:]...),
		PendingInstall: st.pending != 0, StateCopy: string(rune('A' + st.copyIdx))}
	if st.hasDevice {
		si.DeviceID = append([]byte(nil), st.device[:]...)
	}
	if st.envLen > 0 {
		si.ManifestDigest = append([]byte(nil), st.manDigest[:]...)
	}
	if st.hasStale {
		v := st.stale
		si.StaleVersion = &v
	}
	for i, a := range st.anchors {
		kind := "P-256"
		if a.kind == anchorEd25519 {
			kind = "Ed25519"
		} else if a.kind == anchorHSSLMS {
			kind = "HSS-LMS"
		}
		si.TrustAnchors = append(si.TrustAnchors, fmt.Sprintf("#%d %s %x…%s", i+1, kind, a.key[len(a.key)-8:], scopeWords(a.scope)))
	}
	return si, nil
}

// componentDigest is the SHA-256 of component i's current content (for records; not device code).
func (d *Device) componentDigest(i int) []byte {
	c := d.comps[i]
	s := sha256.Sum256(c.Active.Flash.data[c.Active.Offset : c.Active.Offset+c.Length])
	return s[:]
}
