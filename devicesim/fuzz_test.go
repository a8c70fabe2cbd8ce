package devicesim

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"
)

func vectorSeeds(tb testing.TB) [][]byte {
	var out [][]byte
	for n := 0; n <= 5; n++ {
		out = append(out, readVector(tb, fmt.Sprintf("example%d.hex", n)))
		out = append(out, readVector(tb, fmt.Sprintf("example%d.unsigned.hex", n)))
	}
	return out
}

// FuzzCursor: the device's CBOR reader never panics and never reads outside its range.
func FuzzCursor(f *testing.F) {
	for _, s := range vectorSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c := newCursor(ramSource(b), "fuzz", 0, len(b))
		for !c.atEnd() {
			before := c.pos
			if err := c.skip(); err != nil {
				break
			}
			if c.pos <= before || c.pos > len(b) {
				t.Fatalf("skip moved from %d to %d (len %d)", before, c.pos, len(b))
			}
		}
		c = newCursor(ramSource(b), "fuzz", 0, len(b))
		c.optTag()
		if n, err := c.mapHead(); err == nil {
			for i := 0; i < n && !c.atEnd(); i++ {
				if _, err := c.int(); err != nil {
					break
				}
				if _, _, err := c.bstr(); err != nil {
					break
				}
			}
		}
	})
}

// FuzzEnvelope: any staged envelope is refused or applied, never a panic, never over budget, and
// all RAM is returned.
func FuzzEnvelope(f *testing.F) {
	for _, s := range vectorSeeds(f) {
		f.Add(s)
	}
	for n := 0; n <= 5; n++ {
		f.Add(patchedExample(f, n).env)
	}
	d := provisioned(f, Config{}, imgF, 0)
	f.Fuzz(func(t *testing.T, env []byte) {
		if len(env) == 0 || len(env) > 8192 {
			return
		}
		if err := d.Stage(env); err != nil {
			return
		}
		rec := d.Update(Payloads{"http://example.com/file.bin": imgA[:100]})
		if rec.RAMPeak > rec.RAMBudget {
			t.Fatalf("RAM peak %d over budget", rec.RAMPeak)
		}
		if d.RAM.InUse() != 0 {
			t.Fatalf("RAM leak %+v", d.RAM.Live())
		}
		if rec.Outcome == Applied {
			// Something signed with the spec key was applied: put the device back.
			d = provisioned(t, Config{}, imgF, 0)
		}
	})
}

// FuzzManifest signs whatever manifest the fuzzer makes, so the interpreter itself is exercised
// (an unsigned manifest never gets past authentication).
func FuzzManifest(f *testing.F) {
	for n := 0; n <= 5; n++ {
		env := patchedExample(f, n).env
		_, m := envelopeRanges(f, env)
		c := newCursor(ramSource(env), "seed", m.off, m.end)
		o, l, err := c.bstr()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(env[o : o+l])
	}
	key := specPrivateKey(f)
	d := provisioned(f, Config{}, imgF, 0)
	f.Fuzz(func(t *testing.T, man []byte) {
		if len(man) > 4096 {
			return
		}
		env := envelopeOf(t, man, key, cT("#p"), cB(imgA[:64]))
		if err := d.Stage(env); err != nil {
			return
		}
		rec := d.Update(Payloads{"http://example.com/file.bin": imgA})
		if rec.RAMPeak > rec.RAMBudget {
			t.Fatalf("RAM peak %d over budget", rec.RAMPeak)
		}
		if d.RAM.InUse() != 0 {
			t.Fatalf("RAM leak %+v", d.RAM.Live())
		}
		if !rec.Booted && rec.Outcome == Refused {
			t.Fatalf("refused but the old image does not boot: %s", rec.BootReason)
		}
		if rec.Outcome != Refused {
			d = provisioned(t, Config{}, imgF, 0) // start the next input from the factory state
		}
	})
}

// FuzzStateRecord feeds arbitrary bytes to the boot state reader as state copy A (saved flash
// images are loaded from files: the state area is input). It must never panic, and a record it
// accepts must survive being written back. With fixCRC the input is a record body: the target
// wraps it in a header and a valid CRC, so that the fuzzer reaches the body parser instead of
// stopping at the CRC check. One device is made per worker and only its state area is reset
// per input (a new device per input cost 1.6 ms and 370 KB of flash to fill: a few hundred
// executions per second).
func FuzzStateRecord(f *testing.F) {
	d := provisioned(f, Config{}, imgF, 7)
	env, _ := integratedEnvelope(f, 8, 4096)
	if err := d.Stage(env); err != nil {
		f.Fatal(err)
	}
	if rec := d.Update(nil); rec.Outcome != Applied {
		f.Fatal(rec.Reason)
	}
	snap := d.Int.Snapshot()
	for _, r := range []Region{d.stateA, d.stateB} {
		rec := snap[r.Offset : r.Offset+r.Size]
		end := len(rec)
		for end > 0 && rec[end-1] == 0xFF {
			end--
		}
		f.Add(rec[:end], false)
		if end >= 16 {
			f.Add(rec[12:end-4], true)
		}
	}
	fd := newStateFuzzDevice(f)
	f.Fuzz(func(t *testing.T, b []byte, fixCRC bool) {
		stateRecordRoundTrip(t, fd, b, fixCRC)
	})
}

// newStateFuzzDevice is a device without external flash whose state area the fuzz target rewrites.
func newStateFuzzDevice(tb testing.TB) *Device {
	fd, err := New(Config{ExtFlashSize: -1})
	if err != nil {
		tb.Fatal(err)
	}
	return fd
}

// stateRecordRoundTrip puts b (a record, or with fixCRC a record body) into state copy A of fd,
// with copy B blank, and checks that an accepted record writes back and reads again.
func stateRecordRoundTrip(t testing.TB, fd *Device, b []byte, fixCRC bool) {
	area := fd.Int.data[fd.stateA.Offset : fd.stateB.Offset+fd.stateB.Size]
	for i := range area {
		area[i] = 0xFF
	}
	if fixCRC {
		rec := make([]byte, 0, 16+len(b))
		rec = append(rec, stateMagic...)
		rec = binary.LittleEndian.AppendUint32(rec, 1)
		rec = binary.LittleEndian.AppendUint32(rec, uint32(len(b)))
		rec = append(rec, b...)
		b = binary.LittleEndian.AppendUint32(rec, crc32.ChecksumIEEE(rec))
	}
	if len(b) > fd.stateA.Size {
		b = b[:fd.stateA.Size]
	}
	copy(area, b)
	st, err := fd.readState()
	if err != nil {
		return
	}
	var env []envPart
	if st.envLen > 0 {
		env = []envPart{{f: fd.Int, off: st.envOff, n: st.envLen}}
	}
	if err := fd.writeState(st, env); err != nil {
		t.Fatalf("an accepted state record does not write back: %v", err)
	}
	if _, err := fd.readState(); err != nil {
		t.Fatalf("a written state record does not read: %v", err)
	}
	if fd.RAM.InUse() != 0 {
		t.Fatalf("RAM leak %+v", fd.RAM.Live())
	}
}
