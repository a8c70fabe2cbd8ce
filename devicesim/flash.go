package devicesim

import (
	"errors"
	"fmt"
	"time"
)

// ErrPowerCut is returned by every flash operation from the injected power cut on, until the
// device is restarted.
var ErrPowerCut = errors.New("power cut")

// ErrFlash is the sentinel for flash misuse by device code (writing 1 over 0, out of range).
var ErrFlash = errors.New("flash error")

// Flash is one NOR flash device: erased bytes read 0xFF, a write can only clear bits, erase is per
// sector. It counts erases and writes per sector and charges simulated time to the device clock.
type Flash struct {
	Name       string
	data       []byte
	sectorSize int
	erases     []uint32
	writes     []uint32

	erase     time.Duration // per sector
	writeUnit int           // bytes per programming unit (word or page)
	writeTime time.Duration // per unit
	readByte  time.Duration
	dev       *Device
	maxRead   int // the largest single read (tests: device code reads in bounded pieces)
}

func newFlash(name string, size, sector int, dev *Device, external bool) *Flash {
	f := &Flash{Name: name, data: make([]byte, size), sectorSize: sector, dev: dev}
	n := (size + sector - 1) / sector
	f.erases = make([]uint32, n)
	f.writes = make([]uint32, n)
	for i := range f.data {
		f.data[i] = 0xFF
	}
	if external {
		f.erase, f.writeUnit, f.writeTime, f.readByte = ExtSectorErase, 256, ExtPageProgram, ExtReadPerByte
	} else {
		f.erase, f.writeUnit, f.writeTime, f.readByte = IntPageErase, 4, IntWordWrite, IntReadPerByte
	}
	return f
}

// Size is the flash size in bytes.
func (f *Flash) Size() int { return len(f.data) }

// SectorSize is the erase unit in bytes.
func (f *Flash) SectorSize() int { return f.sectorSize }

// SectorCounts returns copies of the per-sector erase and write counters.
func (f *Flash) SectorCounts() (erases, writes []uint32) {
	return append([]uint32(nil), f.erases...), append([]uint32(nil), f.writes...)
}

// Snapshot returns a copy of the flash contents (for the GUI's flash view and for tests).
func (f *Flash) Snapshot() []byte { return append([]byte(nil), f.data...) }

func (f *Flash) check(off, n int) error {
	if off < 0 || n < 0 || off+n > len(f.data) {
		return fmt.Errorf("%w: %s access [%d, %d) outside 0..%d", ErrFlash, f.Name, off, off+n, len(f.data))
	}
	return nil
}

// ReadAt copies flash bytes at off into p.
func (f *Flash) ReadAt(p []byte, off int) error {
	if err := f.check(off, len(p)); err != nil {
		return err
	}
	if f.dev != nil && f.dev.off {
		return ErrPowerCut
	}
	copy(p, f.data[off:])
	f.maxRead = max(f.maxRead, len(p))
	if f.dev != nil {
		f.dev.clock += time.Duration(len(p)) * f.readByte
		f.dev.bytesRead += int64(len(p))
	}
	return nil
}

// Write programs p at off. Like real NOR flash it can only clear bits: writing a 1 where the flash
// holds a 0 is an error (the sector must be erased first).
func (f *Flash) Write(off int, p []byte) error {
	if err := f.check(off, len(p)); err != nil {
		return err
	}
	for i, b := range p {
		if f.data[off+i]&b != b {
			return fmt.Errorf("%w: %s write at 0x%05x would set bits (0x%02x over 0x%02x): erase the sector first", ErrFlash, f.Name, off+i, b, f.data[off+i])
		}
	}
	if f.dev != nil {
		if cut, err := f.dev.flashOp(); err != nil {
			if cut { // the power fails half way: only the first half is programmed
				for i := 0; i < len(p)/2; i++ {
					f.data[off+i] &= p[i]
				}
			}
			return err
		}
	}
	for i, b := range p {
		f.data[off+i] &= b
	}
	for s := off / f.sectorSize; s <= (off+len(p)-1)/f.sectorSize && len(p) > 0; s++ {
		f.writes[s]++
	}
	if f.dev != nil {
		units := (len(p) + f.writeUnit - 1) / f.writeUnit
		f.dev.clock += time.Duration(units) * f.writeTime
		f.dev.bytesWritten += int64(len(p))
	}
	return nil
}

// EraseSector sets every byte of sector s to 0xFF.
func (f *Flash) EraseSector(s int) error {
	if s < 0 || s >= len(f.erases) {
		return fmt.Errorf("%w: %s has no sector %d", ErrFlash, f.Name, s)
	}
	start := s * f.sectorSize
	end := min(start+f.sectorSize, len(f.data))
	if f.dev != nil {
		if cut, err := f.dev.flashOp(); err != nil {
			if cut { // an interrupted erase leaves the page undefined: here half erased
				for i := start; i < start+(end-start)/2; i++ {
					f.data[i] = 0xFF
				}
			}
			return err
		}
	}
	for i := start; i < end; i++ {
		f.data[i] = 0xFF
	}
	f.erases[s]++
	if f.dev != nil {
		f.dev.clock += f.erase
	}
	return nil
}

// eraseRange erases every sector that overlaps [off, off+n).
func (f *Flash) eraseRange(off, n int) error {
	if n <= 0 {
		return nil
	}
	if err := f.check(off, n); err != nil {
		return err
	}
	for s := off / f.sectorSize; s <= (off+n-1)/f.sectorSize; s++ {
		if err := f.EraseSector(s); err != nil {
			return err
		}
	}
	return nil
}

// Region is a named range of one flash device.
type Region struct {
	Name   string
	Flash  *Flash
	Offset int
	Size   int
}

func (r Region) String() string {
	return fmt.Sprintf("%s %s 0x%05x..0x%05x (%d KiB)", r.Name, r.Flash.Name, r.Offset, r.Offset+r.Size, r.Size/1024)
}
