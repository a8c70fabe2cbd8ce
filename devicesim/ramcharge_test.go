package devicesim

import (
	"strings"
	"testing"
)

// ramTrace records every allocation and release of a device's RAM budget.
type ramTrace struct {
	inUse, max int
	hashes     []string // SHA-256/512 states allocated, in order
	overlap    []string // blocks live at the same time as a hash state
}

func traceRAM(d *Device) *ramTrace {
	tr := &ramTrace{inUse: d.RAM.InUse()}
	d.RAM.trace = func(b *Block, alloc bool) {
		if !alloc {
			tr.inUse -= b.Size
			return
		}
		tr.inUse += b.Size
		tr.max = max(tr.max, tr.inUse)
		if strings.HasPrefix(b.What, "SHA-256") || strings.HasPrefix(b.What, "SHA-512") {
			tr.hashes = append(tr.hashes, b.What)
		}
	}
	return tr
}

func countPrefix(list []string, prefix string) int {
	n := 0
	for _, s := range list {
		if strings.Contains(s, prefix) {
			n++
		}
	}
	return n
}

// TestSUITHashStatesCharged: every SHA-256 the SUIT path computes has its state charged: the
// manifest digest, the Sig_structure of the signature, and the severed install and text of the
// official example 2 (issue 9, item 3). The record's peak is the true maximum of the trace.
func TestSUITHashStatesCharged(t *testing.T) {
	d := provisioned(t, Config{}, imgF, 0)
	if err := d.Stage(readVector(t, "example2.hex")); err != nil {
		t.Fatal(err)
	}
	tr := traceRAM(d)
	rec := d.Verify()
	if rec.Outcome != Applied {
		t.Fatal(rec.Reason)
	}
	for _, what := range []string{"manifest digest", "Sig_structure", "severed install"} {
		if countPrefix(tr.hashes, what) != 1 {
			t.Errorf("no SHA-256 state charged for the %s (hash states: %q)", what, tr.hashes)
		}
	}
	if len(tr.hashes) != 4 {
		t.Errorf("%d SHA-256 states charged, want 4 (manifest digest, Sig_structure, severed install, severed text): %q", len(tr.hashes), tr.hashes)
	}
	if rec.RAMPeak != tr.max || rec.RAMPeak > rec.RAMBudget {
		t.Errorf("RAM peak %d, the trace's maximum %d, budget %d", rec.RAMPeak, tr.max, rec.RAMBudget)
	}
}
