package devicesim

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
)

func u64(v uint64) *uint64 { return &v }

func versionParam(typ int64, v ...int64) []byte {
	var ints [][]byte
	for _, x := range v {
		ints = append(ints, cN(x))
	}
	return cB(cArr(cN(typ), cArr(ints...)))
}

var umDeadline = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)

// umEnvelope: one component [h'00']; install checks version >= 1.2, use-before, minimum battery
// and authorization, then fetches image A; set-version 1.3.0. checks replaces the conditions.
func umEnvelope(t testing.TB, checks ...[]byte) []byte {
	t.Helper()
	params := cMap(cU(3), digestParam(imgA), cU(4), cU(uint64(umDeadline.Unix())), cU(14), cU(uint64(len(imgA))),
		cU(21), cT("http://example.com/file.bin"), cU(26), cU(1000), cU(27), cN(-1), cU(28), versionParam(2, 1, 2),
		cU(30), cB(cMap(cU(1), cT("build server"))))
	if checks == nil {
		checks = [][]byte{cU(28), cU(15), cU(4), cU(15), cU(26), cU(15), cU(27), cU(15)}
	}
	inst := append([][]byte{cU(20), params}, checks...)
	inst = append(inst, cU(21), cU(2), cU(3), cU(15))
	man := tdManifest(2, nil, [][]byte{compID(0)}, sharedIdentity(), "",
		cU(6), cB(cArr(cU(1), cU(3), cU(0))),
		cU(20), cB(seq(inst...)))
	env := envelopeOf(t, man, specPrivateKey(t))
	if _, err := suit.Decode(env); err != nil {
		t.Fatalf("host decoder refuses the test envelope: %v", err)
	}
	return env
}

func goodPolicy() *Policy {
	return &Policy{BatteryMWh: u64(1500), Clock: umDeadline.Add(-time.Hour), Authorized: true,
		Versions: map[string][]int64{"00": {1, 2, 5}}}
}

// The update-management conditions pass against a policy that allows the update; the
// manifest's set-version becomes the installed version of [h'00'].
func TestUpdateManagementApplies(t *testing.T) {
	pol := goodPolicy()
	d := provisioned(t, Config{Policy: pol}, imgF, 0)
	rec, log := runLogged(t, d, umEnvelope(t), Payloads{"http://example.com/file.bin": imgA})
	if rec.Outcome != Applied || !bytes.Equal(d.ComponentContent(0), imgA) {
		t.Fatalf("%s: %s\n%s", rec.Outcome, rec.Reason, log)
	}
	for _, want := range []string{"version", "use-before", "minimum-battery", "update-authorized", "installed 1.2.5 >= 1.2", "battery 1500 mWh", "component-metadata"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	if got := d.Policy().Versions["00"]; !reflect.DeepEqual(got, []int64{1, 3, 0}) {
		t.Errorf("installed version after set-version: %v, want [1 3 0]", got)
	}
	// The version condition now sees 1.3.0: the same manifest asking for < 1.3 is refused.
	d2 := provisioned(t, Config{Policy: d.Policy()}, imgF, 0)
	env := umEnvelope(t, cU(20), cMap(cU(28), versionParam(5, 1, 3)), cU(28), cU(15))
	if rec, log := runLogged(t, d2, env, Payloads{"http://example.com/file.bin": imgA}); rec.Outcome != Refused || !strings.Contains(rec.Reason, "installed 1.3.0 is not < 1.3") {
		t.Fatalf("%s: %s\n%s", rec.Outcome, rec.Reason, log)
	}
}

// Each condition refuses the update when the policy says so, with the reason in words.
func TestUpdateManagementRefusals(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mod    func(*Policy)
		checks [][]byte
		reason string
	}{
		{"battery low", func(p *Policy) { p.BatteryMWh = u64(500) }, nil, "battery too low: 500 mWh, the manifest needs 1000 mWh"},
		{"no battery gauge", func(p *Policy) { p.BatteryMWh = nil }, nil, "cannot measure its battery"},
		{"expired", func(p *Policy) { p.Clock = umDeadline.Add(time.Second) }, nil, "the manifest expired"},
		{"no clock", func(p *Policy) { p.Clock = time.Time{} }, nil, "no clock"},
		{"not authorized", func(p *Policy) { p.Authorized = false }, nil, "did not authorize"},
		{"version too old", func(p *Policy) { p.Versions["00"] = []int64{1, 1, 9} }, nil, "installed 1.1.9 is not >= 1.2"},
		{"version unknown", func(p *Policy) { p.Versions = nil }, nil, "installed version of image slot is unknown"},
		{"image already installed", nil, [][]byte{cU(20), cMap(cU(3), digestParam(imgF)), cU(25), cU(15)}, "already holds the image"},
		{"wait for time of day", func(p *Policy) { p.Clock = time.Date(2026, 6, 1, 1, 0, 0, 0, time.UTC) },
			[][]byte{cU(20), cMap(cU(29), cB(cMap(cU(8), cU(2*3600)))), cU(29), cU(15)}, "waiting for time-of-day-utc: until 02:00:00 UTC"},
		{"wait for authorization", func(p *Policy) { p.Authorized = false },
			[][]byte{cU(20), cMap(cU(29), cB(cMap(cU(1), cN(-1)))), cU(29), cU(15)}, "waiting for authorization"},
		{"malformed component-metadata", nil, [][]byte{cU(20), cMap(cU(30), cB([]byte{0xa1, 0x01})), cU(28), cU(15)}, "component-metadata"},
		{"wait for local time", nil, [][]byte{cU(20), cMap(cU(29), cB(cMap(cU(6), cU(0)))), cU(29), cU(15)}, "no local-time configuration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pol := goodPolicy()
			if tc.mod != nil {
				tc.mod(pol)
			}
			d := provisioned(t, Config{Policy: pol}, imgF, 0)
			rec, log := runLogged(t, d, umEnvelope(t, tc.checks...), Payloads{"http://example.com/file.bin": imgA})
			if rec.Outcome != Refused || !strings.Contains(rec.Reason, tc.reason) || !bytes.Equal(d.ComponentContent(0), imgF) {
				t.Fatalf("%s: %s, want %q\n%s", rec.Outcome, rec.Reason, tc.reason, log)
			}
			if !errors.Is(rec.Err, ErrCondition) && !errors.Is(rec.Err, ErrUnsupported) && !errors.Is(rec.Err, ErrMalformed) {
				t.Errorf("error %v", rec.Err)
			}
		})
	}
}

// Met wait events pass; a failed update-management condition inside try-each is a soft
// failure (the next alternative runs).
func TestUpdateManagementWaitAndSoftFailure(t *testing.T) {
	pol := goodPolicy()
	pol.Clock = time.Date(2026, 6, 1, 3, 0, 0, 0, time.UTC) // a Monday
	pol.ExternalPower = true
	wait := [][]byte{cU(20), cMap(cU(29), cB(cMap(cU(1), cN(-1), cU(2), cU(1), cU(5), cU(1700000000), cU(8), cU(2*3600), cU(9), cU(1)))), cU(29), cU(15)}
	alt := cU(15)
	tryEach := cArr(cB(seq(cU(20), cMap(cU(26), cU(99999)), cU(26), cU(15))), cB(seq(cU(20), cMap(cU(26), cU(100)), cU(26), cU(15))))
	checks := append(wait, alt, tryEach)
	d := provisioned(t, Config{Policy: pol}, imgF, 0)
	rec, log := runLogged(t, d, umEnvelope(t, checks...), Payloads{"http://example.com/file.bin": imgA})
	if rec.Outcome != Applied {
		t.Fatalf("%s: %s\n%s", rec.Outcome, rec.Reason, log)
	}
	for _, want := range []string{"authorization -1, power 1, time 2023-11-14T22:13:20Z, time of day 02:00 UTC, day Monday", "alternative 2 of 2 succeeded"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// override-multiple sets the parameters of both components in one directive; copy-params
// copies the digest, size and URI of [h'00'] to [h'01'].
func TestOverrideMultipleAndCopyParams(t *testing.T) {
	shared := seq(cU(12), cU(0), cU(20), identityParams(), cU(1), cU(15), cU(2), cU(15))
	comps := [][]byte{compID(0), compID(1)}
	pA := cMap(cU(3), digestParam(imgA), cU(14), cU(uint64(len(imgA))), cU(21), cT("http://example.com/file.bin"))
	p10 := cMap(cU(3), digestParam(img10), cU(14), cU(uint64(len(img10))), cU(21), cT("http://example.com/ten.bin"))
	for _, tc := range []struct {
		name    string
		install []byte
		want1   []byte
	}{
		{"override-multiple", seq(cU(12), cU(0), cU(34), cMap(cU(0), pA, cU(1), p10), cU(12), cTrue, cU(21), cU(2), cU(3), cU(15)), img10},
		{"copy-params", seq(cU(12), cU(0), cU(20), pA, cU(12), cU(1), cU(35), cMap(cU(0), cArr(cU(3), cU(14), cU(21))), cU(12), cTrue, cU(21), cU(2), cU(3), cU(15)), imgA},
	} {
		t.Run(tc.name, func(t *testing.T) {
			man := tdManifest(2, nil, comps, shared, "", cU(20), cB(tc.install))
			env := envelopeOf(t, man, specPrivateKey(t))
			e, err := suit.Decode(env)
			if err != nil {
				t.Fatalf("host decoder: %v", err)
			}
			_ = e
			d := provisioned(t, Config{}, imgF, 0)
			rec, log := runLogged(t, d, env, Payloads{"http://example.com/file.bin": imgA, "http://example.com/ten.bin": img10})
			if rec.Outcome != Applied || !bytes.Equal(d.ComponentContent(0), imgA) || !bytes.Equal(d.ComponentContent(1), tc.want1) {
				t.Fatalf("%s: %s\n%s", rec.Outcome, rec.Reason, log)
			}
			if !strings.Contains(log, tc.name) {
				t.Errorf("no %s step in the log:\n%s", tc.name, log)
			}
		})
	}
}

// compareVersion follows draft-ietf-suit-update-management §4.4: the manifest's integers are
// compared in turn; pre-releases (negative) sort below the release.
func TestVersionComparison(t *testing.T) {
	for _, tc := range []struct {
		have, want []int64
		r          int
	}{
		{[]int64{1, 5, 3}, []int64{1}, 0},            // "Equal [1]" matches every 1.x
		{[]int64{1, 0, 7}, []int64{1, 0}, 0},         // >= [1,0]
		{[]int64{1, 10}, []int64{1, 10}, 0},          // not < [1,10]
		{[]int64{2, 0, -1, 1}, []int64{2, 0, 0}, -1}, // 2.0-rc.1 < 2.0.0
		{[]int64{2, 0, -2}, []int64{2, 0, -1}, -1},   // beta < rc
		{[]int64{2}, []int64{1, 9, 9}, 1},
		{[]int64{1}, []int64{1, 0, 1}, -1}, // missing integers count as 0
	} {
		if got := compareVersion(tc.have, tc.want); got != tc.r {
			t.Errorf("compare(%v, %v) = %d, want %d", tc.have, tc.want, got, tc.r)
		}
	}
	for s, want := range map[string][]int64{"1.2.3": {1, 2, 3}, "1.2-rc.3": {1, 2, -1, 3}, "1.2-beta": {1, 2, -2}, "1.2.3-alpha.4": {1, 2, 3, -3, 4}} {
		got, err := ParseVersion(s)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v", s, got, err, want)
		}
		if back := FormatVersion(got); back != s {
			t.Errorf("FormatVersion(%v) = %q, want %q", got, back, s)
		}
	}
	for _, bad := range []string{"", "1.x", "-1", "1.2.3.4", "1.2-gamma", "01.2"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q) accepted", bad)
		}
	}
	_ = fmt.Sprint(model.ParamVersion)
}

// FuzzUpdateManagement: the manifest is the input (seeded with the update-management manifests of
// these tests), processed against a policy. No panic, RAM within budget and freed, boots after a
// refusal.
func FuzzUpdateManagement(f *testing.F) {
	for _, checks := range [][][]byte{nil,
		{cU(20), cMap(cU(29), cB(cMap(cU(1), cN(-1), cU(8), cU(3600)))), cU(29), cU(15)},
		{cU(12), cU(0), cU(34), cMap(cU(0), cMap(cU(26), cU(5))), cU(35), cMap(cU(0), cArr(cU(26))), cU(26), cU(15)}} {
		env := umEnvelope(f, checks...)
		_, m := envelopeRanges(f, env)
		c := newCursor(ramSource(env), "seed", m.off, m.end)
		o, l, err := c.bstr()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(env[o : o+l])
	}
	key := specPrivateKey(f)
	d := provisioned(f, Config{Policy: goodPolicy()}, imgF, 0)
	f.Fuzz(func(t *testing.T, man []byte) {
		if len(man) > 2048 {
			return
		}
		if err := d.Stage(envelopeOf(t, man, key)); err != nil {
			return
		}
		rec := d.Update(Payloads{"http://example.com/file.bin": imgA})
		if rec.RAMPeak > rec.RAMBudget || d.RAM.InUse() != 0 {
			t.Fatalf("RAM peak %d, in use %d", rec.RAMPeak, d.RAM.InUse())
		}
		if !rec.Booted && rec.Outcome == Refused {
			t.Fatalf("refused but the old image does not boot: %s", rec.BootReason)
		}
		if rec.Outcome != Refused {
			d = provisioned(t, Config{Policy: goodPolicy()}, imgF, 0)
		}
	})
}
