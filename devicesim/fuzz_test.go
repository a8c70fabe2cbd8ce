package devicesim

import (
	"fmt"
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
// accepts must survive being written back.
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
		f.Add(rec[:end])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := New(Config{})
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > d.stateA.Size {
			b = b[:d.stateA.Size]
		}
		copy(d.Int.data[d.stateA.Offset:], b)
		st, err := d.readState()
		if err != nil {
			return
		}
		var env []envPart
		if st.envLen > 0 {
			env = []envPart{{f: d.Int, off: st.envOff, n: st.envLen}}
		}
		if err := d.writeState(st, env); err != nil {
			t.Fatalf("an accepted state record does not write back: %v", err)
		}
		if _, err := d.readState(); err != nil {
			t.Fatalf("a written state record does not read: %v", err)
		}
	})
}
