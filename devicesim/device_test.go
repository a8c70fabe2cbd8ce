package devicesim

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// stepList is the commands of the update and invocation procedures, as "procedure/sequence/command".
func stepList(evs []Event) []string {
	var out []string
	for _, e := range evs {
		if e.Result != Pass && e.Result != Fail {
			continue
		}
		switch e.Sequence {
		case "shared", "payload-fetch", "install", "validate", "load", "invoke":
		default:
			continue
		}
		if e.Procedure != "update" && e.Procedure != "invocation" {
			continue
		}
		if e.Command == "try-each" || e.Depth > 0 {
			continue
		}
		out = append(out, e.Procedure+"/"+e.Sequence+"/"+e.Command)
	}
	return out
}

func expand(proc string, parts ...string) []string {
	var out []string
	for _, p := range parts {
		seq, cmds, _ := strings.Cut(p, ":")
		for _, c := range strings.Fields(cmds) {
			out = append(out, proc+"/"+seq+"/"+c)
		}
	}
	return out
}

const shared01 = "shared: override-parameters vendor-identifier class-identifier"

// What each example's commands say, in order (top-level commands; try-each alternatives are nested).
var wantSteps = map[int][]string{
	0: append(expand("update", shared01, "validate: image-match"),
		expand("invocation", shared01, "validate: image-match", shared01, "invoke: invoke")...),
	1: append(expand("update", shared01, "install: override-parameters fetch image-match", shared01, "validate: image-match"),
		expand("invocation", shared01, "validate: image-match", "invoke: start-image")...),
	2: append(expand("update", shared01, "install: override-parameters fetch image-match", shared01, "validate: image-match"),
		expand("invocation", shared01, "validate: image-match", shared01, "invoke: invoke")...),
	3: append(expand("update", "shared: override-parameters vendor-identifier class-identifier", "install: fetch image-match",
		"shared: override-parameters vendor-identifier class-identifier", "validate: image-match"),
		expand("invocation", "shared: override-parameters vendor-identifier class-identifier", "validate: image-match", "invoke: start-image")...),
	4: append(expand("update",
		"shared: set-component-index override-parameters vendor-identifier class-identifier",
		"payload-fetch: set-component-index override-parameters fetch image-match",
		"shared: set-component-index override-parameters vendor-identifier class-identifier",
		"install: set-component-index override-parameters copy image-match",
		"shared: set-component-index override-parameters vendor-identifier class-identifier",
		"validate: set-component-index image-match"),
		expand("invocation",
			"shared: set-component-index override-parameters vendor-identifier class-identifier",
			"validate: set-component-index image-match",
			"shared: set-component-index override-parameters vendor-identifier class-identifier",
			"load: set-component-index override-parameters copy image-match",
			"shared: set-component-index override-parameters vendor-identifier class-identifier",
			"invoke: set-component-index invoke")...),
	5: append(expand("update",
		"shared: set-component-index override-parameters vendor-identifier class-identifier set-component-index override-parameters",
		"install: set-component-index override-parameters fetch image-match set-component-index override-parameters fetch image-match",
		"shared: set-component-index override-parameters vendor-identifier class-identifier set-component-index override-parameters",
		"validate: set-component-index image-match set-component-index image-match"),
		expand("invocation",
			"shared: set-component-index override-parameters vendor-identifier class-identifier set-component-index override-parameters",
			"validate: set-component-index image-match set-component-index image-match",
			"shared: set-component-index override-parameters vendor-identifier class-identifier set-component-index override-parameters",
			"invoke: set-component-index invoke")...),
}

func TestExamplesApply(t *testing.T) {
	for n := 0; n <= 5; n++ {
		t.Run(fmt.Sprintf("example%d", n), func(t *testing.T) {
			c := patchedExample(t, n)
			d := provisioned(t, Config{}, c.factory, 0)
			var evs []Event
			d.SetEventHandler(func(e Event) { evs = append(evs, e) })
			if err := d.Stage(c.env); err != nil {
				t.Fatal(err)
			}
			rec := d.Update(c.payloads)
			if rec.Outcome != Applied || !rec.Booted {
				for _, e := range evs {
					t.Log(e)
				}
				t.Fatalf("outcome %s: %s", rec.Outcome, rec.Reason)
			}
			want := sha256.Sum256(c.wantBoot)
			if !bytes.Equal(rec.BootedImage, want[:]) {
				t.Errorf("booted image %x, want %x", rec.BootedImage, want)
			}
			if !bytes.Equal(d.ComponentContent(0), c.wantBoot) {
				t.Errorf("image slot does not hold the expected image")
			}
			if seq, _, _ := d.Installed(); seq != uint64(n) {
				t.Errorf("installed sequence number %d, want %d", seq, n)
			}
			got := stepList(evs)
			if strings.Join(got, "\n") != strings.Join(wantSteps[n], "\n") {
				t.Errorf("steps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantSteps[n], "\n"))
			}
			if rec.RAMPeak > rec.RAMBudget || rec.RAMPeak == 0 {
				t.Errorf("RAM peak %d of %d", rec.RAMPeak, rec.RAMBudget)
			}
			t.Logf("example %d: RAM peak %d B, %d steps, %d flash ops, simulated %v", n, rec.RAMPeak, rec.Steps, rec.FlashOps, rec.SimTime)
			// A second boot runs the invocation procedure again and boots the same image.
			b := d.Restart()
			if !b.Booted || !bytes.Equal(b.BootedImage, want[:]) {
				t.Errorf("restart: booted %v (%s)", b.Booted, b.Reason)
			}
			if d.RAM.InUse() != 0 {
				t.Errorf("%d B of RAM still allocated after the run: %+v", d.RAM.InUse(), d.RAM.Live())
			}
		})
	}
}

// The official examples carry placeholder image digests (00112233…): no real payload matches them.
func TestOfficialExamplesRefused(t *testing.T) {
	for n := 0; n <= 5; n++ {
		t.Run(fmt.Sprintf("example%d", n), func(t *testing.T) {
			env := readVector(t, fmt.Sprintf("example%d.hex", n))
			d := provisioned(t, Config{}, imgF, 0)
			if err := d.Stage(env); err != nil {
				t.Fatal(err)
			}
			pl := Payloads{
				"http://example.com/file.bin": imgA, "http://example.com/file1.bin": imgA, "http://example.com/file2.bin": imgB,
				"http://example.com/very/long/path/to/file/file.bin": imgA,
			}
			rec := d.Update(pl)
			if rec.Outcome != Refused || !errors.Is(rec.Err, ErrPayloadDigest) {
				t.Fatalf("outcome %s, err %v; want refused with payload digest mismatch", rec.Outcome, rec.Err)
			}
			if !strings.Contains(rec.Reason, "payload digest mismatch") {
				t.Errorf("reason %q", rec.Reason)
			}
			if !rec.Booted || !bytes.Equal(d.ComponentContent(0), imgF) {
				t.Errorf("the device must still boot its factory image: %s", rec.BootReason)
			}
		})
	}
}

func TestStateInfoAndVerify(t *testing.T) {
	c := patchedExample(t, 2)
	d := provisioned(t, Config{}, imgF, 0)
	if err := d.Stage(c.env); err != nil {
		t.Fatal(err)
	}
	if v := d.Verify(); v.Outcome != Applied || v.SequenceNumber != 2 || v.RAMPeak == 0 {
		t.Fatalf("verify: %s %s", v.Outcome, v.Reason)
	}
	if rec := d.Update(c.payloads); rec.Outcome != Applied {
		t.Fatal(rec.Reason)
	}
	si, err := d.StateInfo()
	if err != nil {
		t.Fatal(err)
	}
	_, dg, _ := d.Installed()
	if si.Sequence != 2 || si.PendingInstall || len(si.TrustAnchors) != 1 || !bytes.Equal(si.ManifestDigest, dg) || si.DeviceID != nil {
		t.Fatalf("state: %+v", si)
	}
	// The official example 2 verifies (its signature and severed members are authentic) even
	// though its image digest is a placeholder.
	d2 := provisioned(t, Config{}, imgF, 0)
	d2.Stage(readVector(t, "example2.hex"))
	if v := d2.Verify(); v.Outcome != Applied {
		t.Fatalf("official example 2: %s", v.Reason)
	}
}

// The record's report follows the reporting policies (§8.4.5.1): example 1 uses 15 for
// vendor/class/image-match (recorded on success) and 2 for fetch (recorded on failure only).
func TestReportFollowsPolicy(t *testing.T) {
	c := patchedExample(t, 1)
	d := provisioned(t, Config{}, imgF, 0)
	d.Stage(c.env)
	rec := d.Update(c.payloads)
	var got []string
	for _, e := range rec.Report {
		if e.Procedure == "update" {
			got = append(got, e.Sequence+"/"+e.Command+" "+e.Policy)
		}
	}
	want := []string{
		"shared/vendor-identifier rec-pass rec-fail sys-pass sys-fail", "shared/class-identifier rec-pass rec-fail sys-pass sys-fail",
		"install/image-match rec-pass rec-fail sys-pass sys-fail",
		"shared/vendor-identifier rec-pass rec-fail sys-pass sys-fail", "shared/class-identifier rec-pass rec-fail sys-pass sys-fail",
		"validate/image-match rec-pass rec-fail sys-pass sys-fail",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("report:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A failing fetch (policy 2, rec-fail) is reported.
	d = provisioned(t, Config{}, imgF, 0)
	d.Stage(c.env)
	rec = d.Update(nil)
	last := rec.Report[len(rec.Report)-1]
	if last.Command != "fetch" || last.Result != Fail || last.Policy != "rec-fail" {
		t.Fatalf("last reported step %+v", last)
	}
}
