package devicesim

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
)

// The trust-domains examples name their components '00' and '10' (text bytes): the device maps
// them onto its image slot [h'00'] and its second image [h'01'].
var tdAliases = map[string][]byte{"00": {0x00}, "10": {0x01}}

func tdDevice(t testing.TB, cfg Config, anchors ...TrustAnchor) *Device {
	t.Helper()
	cfg.ComponentAliases = tdAliases
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	vid := model.VendorID("arm.com")
	cid, _ := model.ClassID(vid, "suit")
	if len(anchors) == 0 {
		anchors = []TrustAnchor{{Name: "spec", Key: specPublicKey(t)}}
	}
	if err := d.Provision(Provisioning{TrustAnchors: anchors, VendorID: vid, ClassID: cid, Image: imgF}); err != nil {
		t.Fatal(err)
	}
	return d
}

// runLogged stages env, runs the update and returns the record and the step log.
func runLogged(t testing.TB, d *Device, env []byte, pl Payloads) (*Record, string) {
	t.Helper()
	var log strings.Builder
	d.SetEventHandler(func(e Event) {
		fmt.Fprintf(&log, "%-10s %-22s d%d %-22s %-40s %s %s\n", e.Procedure, e.Sequence, e.Depth, e.Command, e.Argument, e.Result, e.Reason)
	})
	if err := d.Stage(env); err != nil {
		t.Fatal(err)
	}
	return d.Update(pl), log.String()
}

// The three trust-domains examples as published (ESP256, RFC 6979, the spec's key; their digests
// are real: the dependent's image-digest is the digest of example 0's manifest) run on the device.
func TestTrustDomainsVectorsApply(t *testing.T) {
	dependent := readVector(t, "trust-domains/example0_dependent.hex")
	for _, name := range []string{"example0_dependent", "example1_process", "example2_integrated"} {
		t.Run(name, func(t *testing.T) {
			env := readVector(t, "trust-domains/"+name+".hex")
			// The host decoder is the oracle for the structure.
			e, err := suit.Decode(env)
			if err != nil {
				t.Fatalf("host decoder: %v", err)
			}
			d := tdDevice(t, Config{})
			rec, log := runLogged(t, d, env, Payloads{"http://example.com/dependent.suit": dependent})
			if rec.Outcome != Applied || !rec.Booted {
				t.Fatalf("%s: %s\n%s", rec.Outcome, rec.Reason, log)
			}
			if got := d.ComponentContent(0); string(got) != "hello world" {
				t.Errorf("[h'00'] holds %q, want the dependency's %q\n%s", got, "hello world", log)
			}
			if len(e.Manifest.Common.Dependencies) > 0 {
				if got := d.ComponentContent(1); string(got) != " in multiple trust domains" {
					t.Errorf("[h'01'] holds %q\n%s", got, log)
				}
				if !strings.Contains(log, "process-dependency") || !strings.Contains(log, "d1 write") {
					t.Errorf("no dependency processing in the log:\n%s", log)
				}
			}
			t.Logf("%s: RAM peak %d of %d bytes, %d steps", name, rec.RAMPeak, rec.RAMBudget, rec.Steps)
		})
	}
}

// ---- rebuilt trust-domains manifests with real payloads and other keys ----

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// tdManifest builds a manifest with suit-dependencies (deps: encoded map or nil), components,
// a shared sequence (or nil), a manifest component id, then sections (key, bstr value, ...).
func tdManifest(seqNr uint64, deps []byte, comps [][]byte, shared []byte, mcid string, sections ...[]byte) []byte {
	var ckv [][]byte
	if deps != nil {
		ckv = append(ckv, cU(1), deps)
	}
	ckv = append(ckv, cU(2), cArr(comps...))
	if shared != nil {
		ckv = append(ckv, cU(4), cB(shared))
	}
	kv := [][]byte{cU(1), cU(1), cU(2), cU(seqNr), cU(3), cB(cMap(ckv...))}
	if mcid != "" {
		kv = append(kv, cU(5), cArr(cB([]byte(mcid))))
	}
	kv = append(kv, sections...)
	return cMap(kv...)
}

func depsMap(idx uint64, prefix string) []byte {
	return cMap(cU(idx), cMap(cU(1), cArr(cB([]byte(prefix)))))
}

// manifestDigestParam is image-digest = the digest of env's bstr-wrapped manifest.
func manifestDigestParam(t testing.TB, env []byte) []byte {
	_, m := envelopeRanges(t, env)
	return digestParam(env[m.off:m.end])
}

var img10 = testImage(10, 20000) // the root's own payload for [h'01']

// tdCase builds a root manifest (signed by rootKey) that depends on a manifest signed by depKey
// which installs imgA into '00'; the root installs img10 into '10'. integrated puts the
// dependency into the root's envelope, otherwise it is fetched from a URI.
type tdCase struct {
	root, dep []byte
	pl        Payloads
}

func buildTD(t testing.TB, rootKey, depKey *ecdsa.PrivateKey, integrated bool, tamperDigest bool) tdCase {
	t.Helper()
	shared := sharedIdentity()
	depMan := tdManifest(3, nil, [][]byte{cArr(cB([]byte("00")))}, shared, "dependent.suit",
		cU(20), cB(seq(cU(20), cMap(cU(3), digestParam(imgA), cU(14), cU(uint64(len(imgA))), cU(21), cT("http://example.com/file.bin")),
			cU(21), cU(2), cU(3), cU(15))))
	dep := envelopeOf(t, depMan, depKey)
	dg := manifestDigestParam(t, dep)
	if tamperDigest {
		dg = digestParam([]byte("another manifest"))
	}
	uri := "http://example.com/dependent.suit"
	if integrated {
		uri = "#dependent.suit"
	}
	rootShared := seq(cU(12), cU(0), cU(20), identityParams(), cU(1), cU(15), cU(2), cU(15))
	rootMan := tdManifest(1, depsMap(1, "dependent.suit"), [][]byte{cArr(cB([]byte("10")))}, rootShared, "depending.suit",
		cU(7), cB(seq(cU(12), cU(0), cU(20), cMap(cU(3), digestParam(img10)), cU(3), cU(15))),
		cU(9), cB(seq(cU(12), cU(0), cU(23), cU(15))),
		cU(15), cB(seq(cU(12), cU(1), cU(20), cMap(cU(3), dg, cU(14), cU(uint64(len(dep))), cU(21), cT(uri)), cU(21), cU(2), cU(3), cU(15))),
		cU(20), cB(seq(cU(12), cU(1), cU(20), cMap(cU(3), dg), cU(7), cU(15), cU(11), cU(0),
			cU(12), cU(0), cU(20), cMap(cU(3), digestParam(img10), cU(14), cU(uint64(len(img10))), cU(21), cT("http://example.com/ten.bin")),
			cU(21), cU(2), cU(3), cU(15))))
	var extra [][]byte
	if integrated {
		extra = append(extra, cT("#dependent.suit"), cB(dep))
	}
	root := envelopeOf(t, rootMan, rootKey, extra...)
	pl := Payloads{"http://example.com/file.bin": imgA, "http://example.com/ten.bin": img10}
	if !integrated {
		pl["http://example.com/dependent.suit"] = dep
	}
	return tdCase{root: root, dep: dep, pl: pl}
}

// A root manifest delegates [h'00'] to a dependency signed by another key, trusted only for that
// dependency; both payloads are real. Fetched and integrated dependencies apply; the host codec
// decodes the same envelopes.
func TestDependencySignedByScopedKeyApplies(t *testing.T) {
	spec, depKey := specPrivateKey(t), newKey(t)
	for _, integrated := range []bool{false, true} {
		t.Run(fmt.Sprintf("integrated=%v", integrated), func(t *testing.T) {
			c := buildTD(t, spec, depKey, integrated, false)
			e, err := suit.Decode(c.root)
			if err != nil {
				t.Fatalf("host decoder: %v", err)
			}
			if len(e.Manifest.Common.Dependencies) != 1 {
				t.Fatalf("host decoder sees %d dependencies", len(e.Manifest.Common.Dependencies))
			}
			d := tdDevice(t, Config{},
				TrustAnchor{Name: "root", Key: &spec.PublicKey},
				TrustAnchor{Name: "dependency", Key: &depKey.PublicKey, Scope: []string{"dependent.suit"}})
			rec, log := runLogged(t, d, c.root, c.pl)
			if rec.Outcome != Applied || !rec.Booted {
				t.Fatalf("%s: %s\n%s", rec.Outcome, rec.Reason, log)
			}
			if !bytes.Equal(d.ComponentContent(0), imgA) || !bytes.Equal(d.ComponentContent(1), img10) {
				t.Fatalf("components not installed\n%s", log)
			}
			if !strings.Contains(log, "with trust anchor #2") {
				t.Errorf("the dependency was not verified with its own anchor:\n%s", log)
			}
			want := sha256.Sum256(img10)
			if !bytes.Equal(rec.BootedImage, want[:]) {
				t.Errorf("booted %x, want [h'01'] %x", rec.BootedImage, want)
			}
			if rec.RAMPeak > rec.RAMBudget {
				t.Errorf("RAM peak %d over the budget %d", rec.RAMPeak, rec.RAMBudget)
			}
			t.Logf("RAM peak %d of %d bytes, %d steps", rec.RAMPeak, rec.RAMBudget, rec.Steps)
		})
	}
}

// The device refuses a dependency signed by a key not trusted for it, a dependency whose
// manifest digest differs from the dependent's, and a root signed by a dependency-only key; it
// keeps booting its factory image.
func TestDependencyRefusals(t *testing.T) {
	spec, depKey, stranger := specPrivateKey(t), newKey(t), newKey(t)
	rootA := TrustAnchor{Name: "root", Key: &spec.PublicKey}
	cases := []struct {
		name    string
		c       tdCase
		anchors []TrustAnchor
		want    error
		reason  string
	}{
		{"dependency key scoped to another dependency", buildTD(t, spec, depKey, true, false),
			[]TrustAnchor{rootA, {Name: "dep", Key: &depKey.PublicKey, Scope: []string{"other.suit"}}}, ErrSignature, "scoped to other dependencies"},
		{"dependency signed by an unknown key", buildTD(t, spec, stranger, false, false),
			[]TrustAnchor{rootA, {Name: "dep", Key: &depKey.PublicKey, Scope: []string{"dependent.suit"}}}, ErrSignature, "does not verify"},
		{"dependency digest mismatch", buildTD(t, spec, depKey, false, true),
			[]TrustAnchor{rootA, {Name: "dep", Key: &depKey.PublicKey, Scope: []string{"dependent.suit"}}}, ErrPayloadDigest, "dependency digest mismatch"},
		{"root signed by a dependency-only key", buildTD(t, depKey, depKey, true, false),
			[]TrustAnchor{rootA, {Name: "dep", Key: &depKey.PublicKey, Scope: []string{"dependent.suit"}}}, ErrSignature, "may sign a root manifest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := tdDevice(t, Config{}, tc.anchors...)
			rec, log := runLogged(t, d, tc.c.root, tc.c.pl)
			if rec.Outcome != Refused || !errors.Is(rec.Err, tc.want) || !strings.Contains(rec.Reason, tc.reason) {
				t.Fatalf("%s (%v): %s, want %v %q\n%s", rec.Outcome, rec.Err, rec.Reason, tc.want, tc.reason, log)
			}
			if !rec.Booted || !bytes.Equal(d.ComponentContent(0), imgF) {
				t.Fatalf("the device does not boot its factory image after the refusal")
			}
		})
	}
}

// chain builds root -> dep1 -> ... -> depN (each integrated in its dependent's envelope), the
// last writing content into '00'; all signed with the spec key.
func chain(t testing.TB, n int, content string) []byte {
	key := specPrivateKey(t)
	comps := [][]byte{cArr(cB([]byte("00")))}
	env := envelopeOf(t, tdManifest(1, nil, comps, nil, fmt.Sprintf("level%d.suit", n),
		cU(20), cB(seq(cU(20), cMap(cU(18), cB([]byte(content))), cU(18), cU(15)))), key)
	for lvl := n - 1; lvl >= 0; lvl-- {
		childName := fmt.Sprintf("level%d.suit", lvl+1)
		man := tdManifest(1, depsMap(1, childName), comps, nil, fmt.Sprintf("level%d.suit", lvl),
			cU(20), cB(seq(cU(12), cU(1), cU(20), cMap(cU(3), manifestDigestParam(t, env), cU(14), cU(uint64(len(env))), cU(21), cT("#"+childName)),
				cU(21), cU(2), cU(7), cU(15), cU(11), cU(0))))
		env = envelopeOf(t, man, key, cT("#"+childName), cB(env))
	}
	return env
}

// Dependencies nest up to Config.MaxDependencyDepth levels; one more is refused with a reason.
func TestDependencyNesting(t *testing.T) {
	for _, tc := range []struct {
		levels, max int
		ok          bool
	}{{1, 0, true}, {2, 0, true}, {3, 0, false}, {3, 3, true}} {
		t.Run(fmt.Sprintf("%d levels, max %d", tc.levels, tc.max), func(t *testing.T) {
			d := tdDevice(t, Config{MaxDependencyDepth: tc.max})
			rec, log := runLogged(t, d, chain(t, tc.levels, "deep content"), nil)
			if tc.ok {
				if rec.Outcome != Applied || string(d.ComponentContent(0)) != "deep content" {
					t.Fatalf("%s: %s\n%s", rec.Outcome, rec.Reason, log)
				}
				t.Logf("%d levels: RAM peak %d of %d bytes", tc.levels, rec.RAMPeak, rec.RAMBudget)
				return
			}
			if rec.Outcome != Refused || !errors.Is(rec.Err, ErrDependencies) || !strings.Contains(rec.Reason, "nesting too deep") {
				t.Fatalf("%s (%v): %s\n%s", rec.Outcome, rec.Err, rec.Reason, log)
			}
		})
	}
}

// process-dependency without an integrity check, outside a dependency, and a dependency never
// processed are refused.
func TestProcessDependencyChecks(t *testing.T) {
	key := specPrivateKey(t)
	comps := [][]byte{cArr(cB([]byte("00")))}
	leaf := envelopeOf(t, tdManifest(1, nil, comps, nil, "", cU(20), cB(seq(cU(20), cMap(cU(18), cB([]byte("x"))), cU(18), cU(15)))), key)
	fetch := func(tail ...[]byte) []byte {
		s := [][]byte{cU(12), cU(1), cU(20), cMap(cU(21), cT("#d")), cU(21), cU(2)}
		return cB(seq(append(s, tail...)...))
	}
	for _, tc := range []struct {
		name   string
		inst   []byte
		reason string
	}{
		{"no integrity check", fetch(cU(11), cU(0)), "has not passed dependency-integrity"},
		{"not a dependency", fetch(cU(12), cU(0), cU(11), cU(0)), "not in suit-dependencies"},
		{"never processed", fetch(), "never processes dependency #1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			man := tdManifest(1, depsMap(1, "d"), comps, nil, "", cU(20), tc.inst)
			env := envelopeOf(t, man, key, cT("#d"), cB(leaf))
			d := tdDevice(t, Config{})
			rec, log := runLogged(t, d, env, nil)
			if rec.Outcome != Refused || !strings.Contains(rec.Reason, tc.reason) {
				t.Fatalf("%s: %s\n%s", rec.Outcome, rec.Reason, log)
			}
		})
	}
}

// The dependent's set-parameters reaches its dependency (set-if-unset: the dependency's own
// default URI does not replace it): both manifests name [h'00'], which has one parameter set.
func TestDependentSetParametersReachDependency(t *testing.T) {
	key := specPrivateKey(t)
	comps := [][]byte{cArr(cB([]byte("00")))}
	dep := envelopeOf(t, tdManifest(1, nil, comps, nil, "",
		cU(20), cB(seq(cU(19), cMap(cU(21), cT("http://example.com/default.bin")), cU(20), cMap(cU(3), digestParam(imgA), cU(14), cU(uint64(len(imgA)))),
			cU(21), cU(2), cU(3), cU(15)))), key)
	for _, tc := range []struct {
		name, uri string
		ok        bool
	}{{"dependent sets the uri", "http://example.com/file.bin", true}, {"dependency default", "", false}} {
		t.Run(tc.name, func(t *testing.T) {
			inst := [][]byte{cU(12), cU(1), cU(20), cMap(cU(3), manifestDigestParam(t, dep), cU(21), cT("#d")), cU(21), cU(2), cU(7), cU(15)}
			if tc.uri != "" {
				inst = append(inst, cU(12), cU(0), cU(19), cMap(cU(21), cT(tc.uri)), cU(12), cU(1))
			}
			inst = append(inst, cU(11), cU(0))
			env := envelopeOf(t, tdManifest(1, depsMap(1, "d"), comps, nil, "", cU(20), cB(seq(inst...))), key, cT("#d"), cB(dep))
			d := tdDevice(t, Config{})
			rec, log := runLogged(t, d, env, Payloads{"http://example.com/file.bin": imgA})
			if tc.ok != (rec.Outcome == Applied) {
				t.Fatalf("%s: %s\n%s", rec.Outcome, rec.Reason, log)
			}
			if tc.ok && !bytes.Equal(d.ComponentContent(0), imgA) {
				t.Fatal("image A not installed")
			}
			if !tc.ok && !strings.Contains(rec.Reason, "default.bin") {
				t.Fatalf("refused for another reason: %s", rec.Reason)
			}
		})
	}
}

// BenchmarkDependencyExample2: the integrated-dependency example as published: authenticate the
// root, take the dependency in place, authenticate it (dependency-resolution image-match, then
// process-dependency), write both components, commit, boot.
func BenchmarkDependencyExample2(b *testing.B) {
	env := readVector(b, "trust-domains/example2_integrated.hex")
	d := tdDevice(b, Config{})
	benchUpdate(b, d, env, nil)
}

// The update procedure runs the trust-domains sections in the draft's order: staging
// (dependency-resolution, payload-fetch), installation (candidate-verification, install), validate.
func TestTrustDomainsSectionOrder(t *testing.T) {
	check := cB(seq(cU(1), cU(15)))
	man := tdManifest(1, nil, [][]byte{compID(0)}, sharedIdentity(), "",
		cU(7), check, cU(15), check, cU(16), check, cU(18), check, cU(20), check)
	d := provisioned(t, Config{}, imgF, 0)
	var order []string
	d.SetEventHandler(func(e Event) {
		if e.Procedure == "update" && e.Command == "vendor-identifier" && e.Sequence != "shared" {
			order = append(order, e.Sequence)
		}
	})
	d.Stage(envelopeOf(t, man, specPrivateKey(t)))
	if rec := d.Update(nil); rec.Outcome != Applied {
		t.Fatalf("%s: %s", rec.Outcome, rec.Reason)
	}
	want := []string{"dependency-resolution", "payload-fetch", "candidate-verification", "install", "validate"}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Fatalf("order %v, want %v", order, want)
	}
}

// set-component-index True then process-dependency processes the dependencies and skips the
// other components.
func TestProcessDependencyIndexTrue(t *testing.T) {
	key := specPrivateKey(t)
	comps := [][]byte{cArr(cB([]byte("10")))}
	leaf := envelopeOf(t, tdManifest(1, nil, [][]byte{cArr(cB([]byte("00")))}, nil, "", cU(20), cB(seq(cU(20), cMap(cU(18), cB([]byte("via true"))), cU(18), cU(15)))), key)
	inst := cB(seq(cU(12), cU(1), cU(20), cMap(cU(3), manifestDigestParam(t, leaf), cU(21), cT("#d")), cU(21), cU(2), cU(7), cU(15),
		cU(12), cTrue, cU(11), cU(0)))
	env := envelopeOf(t, tdManifest(1, depsMap(1, "d"), comps, nil, "", cU(20), inst), key, cT("#d"), cB(leaf))
	d := tdDevice(t, Config{})
	rec, log := runLogged(t, d, env, nil)
	if rec.Outcome != Applied || string(d.ComponentContent(0)) != "via true" || !strings.Contains(log, "applies to the dependencies only") {
		t.Fatalf("%s: %s\n%s", rec.Outcome, rec.Reason, log)
	}
}

// What a dependency sets on a shared component: integers persist in the dependent; byte strings
// pointed into the dependency's manifest, which leaves RAM when it is done, so they are unset
// (the device never reads freed memory): a write of the dependency's content is refused.
func TestDependencyParametersAfterRelease(t *testing.T) {
	key := specPrivateKey(t)
	comps := [][]byte{cArr(cB([]byte("00")))}
	leaf := envelopeOf(t, tdManifest(1, nil, comps, nil, "", cU(20), cB(seq(cU(20), cMap(cU(18), cB([]byte("from dep")), cU(14), cU(8))))), key)
	for _, tc := range []struct {
		name string
		tail [][]byte
		want error
	}{
		// image-size 8 from the dependency still holds: the 34768-byte fetch is refused.
		{"integer persists", [][]byte{cU(12), cU(0), cU(20), cMap(cU(21), cT("http://example.com/file.bin")), cU(21), cU(2)}, ErrPayloadSize},
		{"byte string unset", [][]byte{cU(12), cU(0), cU(18), cU(15)}, ErrParamUnset},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inst := append([][]byte{cU(12), cU(1), cU(20), cMap(cU(3), manifestDigestParam(t, leaf), cU(21), cT("#d")), cU(21), cU(2), cU(7), cU(15), cU(11), cU(0)}, tc.tail...)
			env := envelopeOf(t, tdManifest(1, depsMap(1, "d"), comps, nil, "", cU(20), cB(seq(inst...))), key, cT("#d"), cB(leaf))
			d := tdDevice(t, Config{})
			rec, log := runLogged(t, d, env, Payloads{"http://example.com/file.bin": imgA})
			if rec.Outcome != Refused || !errors.Is(rec.Err, tc.want) {
				t.Fatalf("%s (%v): %s, want %v\n%s", rec.Outcome, rec.Err, rec.Reason, tc.want, log)
			}
		})
	}
}

// FuzzDependency: the dependency manifest is the input (signed with the spec key, integrated in
// a root that checks its digest and processes it in install). The device must never panic, stay
// within its RAM, free everything, and keep booting after a refusal.
func FuzzDependency(f *testing.F) {
	key := specPrivateKey(f)
	for _, env := range [][]byte{readVector(f, "trust-domains/example0_dependent.hex"), chain(f, 1, "x"), chain(f, 2, "y")} {
		_, m := envelopeRanges(f, env)
		c := newCursor(ramSource(env), "seed", m.off, m.end)
		o, l, err := c.bstr()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(env[o : o+l])
	}
	comps := [][]byte{cArr(cB([]byte("10")))}
	d := tdDevice(f, Config{})
	f.Fuzz(func(t *testing.T, man []byte) {
		if len(man) > 2048 {
			return
		}
		dep := envelopeOf(t, man, key)
		inst := cB(seq(cU(12), cU(1), cU(20), cMap(cU(3), manifestDigestParam(t, dep), cU(21), cT("#d")), cU(21), cU(2), cU(7), cU(15), cU(11), cU(0)))
		env := envelopeOf(t, tdManifest(1, depsMap(1, "d"), comps, nil, "", cU(20), inst), key, cT("#d"), cB(dep))
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
		if !rec.Booted && rec.Outcome == Refused {
			t.Fatalf("refused but the old image does not boot: %s", rec.BootReason)
		}
		if rec.Outcome != Refused {
			d = tdDevice(t, Config{})
		}
	})
}
