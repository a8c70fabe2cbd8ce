package devicesim

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// The state area is two flash sectors, each holding one copy of the boot state. A copy is
//
//	"SUST" | counter u32 | body length u32 | body | CRC-32 (IEEE) of everything before it
//
// (little endian). The device writes a new state into the sector that does NOT hold the newest
// valid copy, with counter+1, and writes the CRC last; at boot it takes the valid copy with the
// highest counter. A power cut while writing therefore leaves the previous copy in force: the
// state switch is atomic.
//
// body:
//
//	version u8 (2) | flags u8 (bit0: device ID set, bit1: stale version set) | pending u8
//	(component bit mask to copy from candidate to active at boot) | anchor count u8 |
//	sequence u64 | RFC 4108 stale version u64 | vendor ID [16] |
//	class ID [16] | device ID [16] | per component: active length u32, candidate offset u32,
//	candidate length u32 (3 components) | manifest digest [32] | per component: candidate
//	SHA-256 [32] (3 components) | anchors: kind u8, length u8, key |
//	installed envelope length u16 | installed envelope (tag 107 { 2: auth, 3: manifest })
//
// A pending component is the instruction "copy candidate length bytes at candidate offset (of
// the component's staging flash) into its slot; they hash to candidate SHA-256". The candidate
// offset may point inside the staged envelope (an integrated payload taken in place). Version 1
// records (no candidate digests) are still read; their pending copies are not checked.

const stateVersion = 2

const stateMagic = "SUST"

const (
	anchorP256    = 1
	anchorEd25519 = 2
	anchorHSSLMS  = 3 // HSS public key, 60 bytes (hsslms.go)
)

type anchor struct {
	kind byte
	key  []byte // P-256: 65-byte uncompressed point; Ed25519: 32 bytes
	// scope: the dependency identities (suit-dependency-prefix, first element) this anchor may
	// sign; empty = a root authority (root manifests and any dependency). Stored as kind|0x80
	// after the key: count u8, then per entry length u8 and bytes (deps.go).
	scope [][]byte
}

const anchorScoped = 0x80

type bootState struct {
	counter   uint32
	copyIdx   int // 0 = A, 1 = B
	seq       uint64
	hasDevice bool
	vendor    [16]byte
	class     [16]byte
	device    [16]byte
	pending   uint8
	activeLen [3]uint32
	candOff   [3]uint32
	candLen   [3]uint32
	candHash  [3][32]byte // SHA-256 of each pending candidate; all zero = unknown (version 1)
	manDigest [32]byte
	hasStale  bool
	stale     uint64 // RFC 4108: packages at this version or older are refused
	anchors   []anchor
	envOff    int // flash offset of the installed envelope
	envLen    int
}

func (s *bootState) clone() *bootState {
	c := *s
	c.anchors = append([]anchor(nil), s.anchors...)
	return &c
}

func (s *bootState) fixedBody() []byte {
	b := make([]byte, 0, 200)
	flags := byte(0)
	if s.hasDevice {
		flags |= 1
	}
	if s.hasStale {
		flags |= 2
	}
	b = append(b, stateVersion, flags, s.pending, byte(len(s.anchors)))
	b = binary.LittleEndian.AppendUint64(b, s.seq)
	b = binary.LittleEndian.AppendUint64(b, s.stale)
	b = append(b, s.vendor[:]...)
	b = append(b, s.class[:]...)
	b = append(b, s.device[:]...)
	for i := 0; i < 3; i++ {
		b = binary.LittleEndian.AppendUint32(b, s.activeLen[i])
		b = binary.LittleEndian.AppendUint32(b, s.candOff[i])
		b = binary.LittleEndian.AppendUint32(b, s.candLen[i])
	}
	b = append(b, s.manDigest[:]...)
	for i := range s.candHash {
		b = append(b, s.candHash[i][:]...)
	}
	for _, a := range s.anchors {
		kind := a.kind
		if len(a.scope) > 0 {
			kind |= anchorScoped
		}
		b = append(b, kind, byte(len(a.key)))
		b = append(b, a.key...)
		if len(a.scope) > 0 {
			b = append(b, byte(len(a.scope)))
			for _, sc := range a.scope {
				b = append(b, byte(len(sc)))
				b = append(b, sc...)
			}
		}
	}
	return b
}

// envPart is a piece of the envelope to store: bytes already in RAM, or a flash range.
type envPart struct {
	lit []byte
	f   *Flash
	off int
	n   int
}

func (p envPart) len() int {
	if p.f != nil {
		return p.n
	}
	return len(p.lit)
}

// recordWriter streams a state record to flash through an accounted buffer, computing the CRC.
type recordWriter struct {
	d   *Device
	f   *Flash
	off int
	buf *Block
	n   int
	crc uint32
}

func (w *recordWriter) write(p []byte) error {
	for len(p) > 0 {
		k := copy(w.buf.Buf[w.n:], p)
		w.crc = crc32.Update(w.crc, crc32.IEEETable, p[:k])
		w.n += k
		p = p[k:]
		if w.n == len(w.buf.Buf) {
			if err := w.flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *recordWriter) flush() error {
	if w.n == 0 {
		return nil
	}
	if err := w.f.Write(w.off, w.buf.Buf[:w.n]); err != nil {
		return err
	}
	w.off += w.n
	w.n = 0
	return nil
}

// writeState writes s as the newest state copy. env is the installed envelope (nil keeps none).
func (d *Device) writeState(s *bootState, env []envPart) error {
	target := d.stateA
	idx := 0
	if s.copyIdx == 0 {
		target, idx = d.stateB, 1
	}
	fixed := s.fixedBody()
	envLen := 0
	for _, p := range env {
		envLen += p.len()
	}
	bodyLen := len(fixed) + 2 + envLen
	if 12+bodyLen+4 > target.Size {
		return &StepError{Procedure: d.evProc, Command: "commit", Err: ErrEnvelopeTooLarge,
			Reason: fmt.Sprintf("installed manifest of %d bytes does not fit the %d-byte state record", envLen, target.Size-16-len(fixed))}
	}
	buf, err := d.RAM.alloc("state write buffer", d.cfg.ChunkSize, true)
	if err != nil {
		return err
	}
	defer buf.Free()
	if err := target.Flash.eraseRange(target.Offset, target.Size); err != nil {
		return err
	}
	w := &recordWriter{d: d, f: target.Flash, off: target.Offset, buf: buf}
	hdr := make([]byte, 0, 12)
	hdr = append(hdr, stateMagic...)
	hdr = binary.LittleEndian.AppendUint32(hdr, s.counter+1)
	hdr = binary.LittleEndian.AppendUint32(hdr, uint32(bodyLen))
	if err := w.write(hdr); err != nil {
		return err
	}
	if err := w.write(fixed); err != nil {
		return err
	}
	if err := w.write(binary.LittleEndian.AppendUint16(nil, uint16(envLen))); err != nil {
		return err
	}
	envOff := target.Offset + 12 + len(fixed) + 2
	for _, p := range env {
		if p.f == nil {
			if err := w.write(p.lit); err != nil {
				return err
			}
			continue
		}
		chunk, err := d.RAM.alloc("state copy chunk", min(64, p.n), true)
		if err != nil {
			return err
		}
		for done := 0; done < p.n; {
			k := min(len(chunk.Buf), p.n-done)
			if err := p.f.ReadAt(chunk.Buf[:k], p.off+done); err != nil {
				chunk.Free()
				return err
			}
			if err := w.write(chunk.Buf[:k]); err != nil {
				chunk.Free()
				return err
			}
			done += k
		}
		chunk.Free()
	}
	crc := binary.LittleEndian.AppendUint32(nil, w.crc)
	if err := w.flush(); err != nil {
		return err
	}
	// The CRC is written last, on its own: only a complete record becomes valid.
	if err := target.Flash.Write(w.off, crc); err != nil {
		return err
	}
	s.counter++
	s.copyIdx = idx
	s.envOff, s.envLen = envOff, envLen
	return nil
}

// readState returns the newest valid state copy.
func (d *Device) readState() (*bootState, error) {
	if d.mb != nil {
		return nil, fmt.Errorf("%w: the %s board has no SUIT state area (MCUboot keeps its state in the slot trailers)", ErrUnsupported, BoardMCUboot)
	}
	var best *bootState
	for idx, r := range []Region{d.stateA, d.stateB} {
		s, err := d.readStateCopy(r)
		if err != nil {
			continue
		}
		s.copyIdx = idx
		if best == nil || s.counter > best.counter {
			best = s
		}
	}
	if best == nil {
		return nil, fmt.Errorf("%w: no valid state copy (run provisioning)", ErrNotProvisioned)
	}
	return best, nil
}

func (d *Device) readStateCopy(r Region) (*bootState, error) {
	hdr := make([]byte, 12)
	if err := r.Flash.ReadAt(hdr, r.Offset); err != nil {
		return nil, err
	}
	if string(hdr[:4]) != stateMagic {
		return nil, fmt.Errorf("no state record")
	}
	counter := binary.LittleEndian.Uint32(hdr[4:])
	bodyLen := int(binary.LittleEndian.Uint32(hdr[8:]))
	if bodyLen < 0 || 12+bodyLen+4 > r.Size {
		return nil, fmt.Errorf("bad length")
	}
	// CRC over header and body, streamed.
	crc := crc32.Update(0, crc32.IEEETable, hdr)
	chunk := make([]byte, 64)
	for done := 0; done < bodyLen; {
		k := min(len(chunk), bodyLen-done)
		if err := r.Flash.ReadAt(chunk[:k], r.Offset+12+done); err != nil {
			return nil, err
		}
		crc = crc32.Update(crc, crc32.IEEETable, chunk[:k])
		done += k
	}
	var want [4]byte
	if err := r.Flash.ReadAt(want[:], r.Offset+12+bodyLen); err != nil {
		return nil, err
	}
	if binary.LittleEndian.Uint32(want[:]) != crc {
		return nil, fmt.Errorf("CRC mismatch")
	}
	var ver [1]byte
	if err := r.Flash.ReadAt(ver[:], r.Offset+12); err != nil {
		return nil, err
	}
	fixedLen := 4 + 8 + 8 + 48 + 36 + 32
	switch ver[0] {
	case 1:
	case stateVersion:
		fixedLen += 3 * 32
	default:
		return nil, fmt.Errorf("unknown state version %d", ver[0])
	}
	if bodyLen < fixedLen+2 {
		return nil, fmt.Errorf("short body")
	}
	b := make([]byte, fixedLen)
	if err := r.Flash.ReadAt(b, r.Offset+12); err != nil {
		return nil, err
	}
	s := &bootState{counter: counter}
	s.hasDevice = b[1]&1 != 0
	s.hasStale = b[1]&2 != 0
	s.pending = b[2]
	nAnchors := int(b[3])
	s.seq = binary.LittleEndian.Uint64(b[4:])
	s.stale = binary.LittleEndian.Uint64(b[12:])
	b = b[8:]
	copy(s.vendor[:], b[12:28])
	copy(s.class[:], b[28:44])
	copy(s.device[:], b[44:60])
	for i := 0; i < 3; i++ {
		s.activeLen[i] = binary.LittleEndian.Uint32(b[60+12*i:])
		s.candOff[i] = binary.LittleEndian.Uint32(b[64+12*i:])
		s.candLen[i] = binary.LittleEndian.Uint32(b[68+12*i:])
	}
	copy(s.manDigest[:], b[96:128])
	if ver[0] == stateVersion {
		for i := range s.candHash {
			copy(s.candHash[i][:], b[128+32*i:])
		}
	}
	pos := r.Offset + 12 + fixedLen
	end := r.Offset + 12 + bodyLen
	for i := 0; i < nAnchors; i++ {
		var kl [2]byte
		if pos+2 > end {
			return nil, fmt.Errorf("truncated anchors")
		}
		r.Flash.ReadAt(kl[:], pos)
		pos += 2
		if pos+int(kl[1]) > end {
			return nil, fmt.Errorf("truncated anchor")
		}
		key := make([]byte, kl[1])
		r.Flash.ReadAt(key, pos)
		pos += int(kl[1])
		a := anchor{kind: kl[0] &^ anchorScoped, key: key}
		if kl[0]&anchorScoped != 0 {
			var err error
			if a.scope, pos, err = readScope(r.Flash, pos, end); err != nil {
				return nil, err
			}
		}
		s.anchors = append(s.anchors, a)
	}
	var el [2]byte
	if pos+2 > end {
		return nil, fmt.Errorf("truncated envelope length")
	}
	r.Flash.ReadAt(el[:], pos)
	pos += 2
	s.envLen = int(binary.LittleEndian.Uint16(el[:]))
	s.envOff = pos
	if pos+s.envLen != end {
		return nil, fmt.Errorf("envelope length does not match the body")
	}
	return s, nil
}
