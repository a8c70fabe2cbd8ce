package suit

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suit-studio/suit-studio/codec/cose"
	"github.com/suit-studio/suit-studio/model"
)

// buildSigned builds an envelope from a source (files relative to a temp dir holding files) and
// signs it with the spec's key.
func buildSigned(t testing.TB, src string, files map[string][]byte) []byte {
	t.Helper()
	dir := t.TempDir()
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env, err := ParseSource([]byte(src), dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := Encode(env)
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := specKeys(t)
	signed, err := AddAuthBlocks(data, func(payload []byte) ([][]byte, error) {
		b, err := cose.Sign1(rand.Reader, priv, cose.AlgES256, nil, payload)
		return [][]byte{b}, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// replacePayload swaps an integrated payload's bytes, keeping the signed manifest as it is.
func replacePayload(t *testing.T, data []byte, key string, b []byte) []byte {
	t.Helper()
	env, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for i := range env.Integrated {
		if env.Integrated[i].Key == key {
			env.Integrated[i].Data = b
			found = true
		}
	}
	if !found {
		t.Fatalf("no payload %q", key)
	}
	out, err := Encode(env)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func verifySpec(t *testing.T, data []byte) *Verification {
	t.Helper()
	_, pub := specKeys(t)
	v, err := Verify(data, []VerifyKey{{Name: "spec key", Public: pub}})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Blocks) != 1 || !v.Blocks[0].Verified || !v.DigestOK {
		t.Fatalf("the manifest itself should verify: %+v", v)
	}
	return v
}

func payloadResult(t *testing.T, v *Verification, key string) PayloadResult {
	t.Helper()
	for _, p := range v.Payloads {
		if p.Key == key {
			return p
		}
	}
	t.Fatalf("no result for payload %q: %+v", key, v.Payloads)
	return PayloadResult{}
}

const downloadSrc = `
manifest:
  sequence-number: 7
  components: [[h'00']]
  shared-sequence:
    - override-parameters:
        vendor-identifier: {domain: example.com}
        class-identifier: {vendor-domain: example.com, model: m}
        image-file: fw.bin
    - vendor-identifier: 15
    - class-identifier: 15
  install:
    - override-parameters:
        uri: "#fw"
    - fetch: 2
    - image-match: 15
  validate:
    - image-match: 15
integrated-payloads:
  - key: "#fw"
    file: fw.bin
`

// Issue 9 item 1: an altered integrated payload is outside the signature but covered by the signed
// image digest; verification must check it.
func TestVerifyIntegratedPayloadAltered(t *testing.T) {
	fw := []byte(strings.Repeat("firmware image ", 40))
	signed := buildSigned(t, downloadSrc, map[string][]byte{"fw.bin": fw})
	v := verifySpec(t, signed)
	if !v.Authentic {
		t.Fatalf("unaltered: not authentic: %s", v.Reason)
	}
	if p := payloadResult(t, v, "#fw"); p.Status != PayloadMatches || !strings.Contains(p.Where, "install") {
		t.Fatalf("unaltered payload: %+v", p)
	}
	if !strings.Contains(v.Scope(), `"#fw"`) {
		t.Errorf("the verdict's scope does not name the payload: %q", v.Scope())
	}

	// One byte changed, same size.
	bad := append([]byte(nil), fw...)
	bad[10] ^= 1
	v = verifySpec(t, replacePayload(t, signed, "#fw", bad))
	p := payloadResult(t, v, "#fw")
	if v.Authentic || p.Status != PayloadMismatch {
		t.Fatalf("altered payload: authentic %v, %+v", v.Authentic, p)
	}
	if !strings.Contains(v.Reason, `"#fw"`) || !strings.Contains(p.Reason, "component 0") {
		t.Errorf("the verdict does not say which payload failed where: %q / %q", v.Reason, p.Reason)
	}
	// A byte appended: the size differs too.
	v = verifySpec(t, replacePayload(t, signed, "#fw", append(append([]byte(nil), fw...), 0)))
	if p := payloadResult(t, v, "#fw"); v.Authentic || p.Status != PayloadMismatch || !strings.Contains(p.Reason, "size") {
		t.Fatalf("longer payload: authentic %v, %+v", v.Authentic, p)
	}
}

// A/B slots: each alternative sets its own digest and uri; a payload is checked against the digest
// of its own slot, and swapping the two images is caught.
func TestVerifyIntegratedPayloadTryEach(t *testing.T) {
	a := []byte(strings.Repeat("A", 300))
	b := []byte(strings.Repeat("B", 200))
	src := `
manifest:
  sequence-number: 7
  components: [[h'00']]
  shared-sequence:
    - override-parameters:
        vendor-identifier: {domain: example.com}
    - vendor-identifier: 15
    - try-each:
      - - override-parameters: {component-slot: 0}
        - component-slot: 5
        - override-parameters: {image-file: a.bin}
      - - override-parameters: {component-slot: 1}
        - component-slot: 5
        - override-parameters: {image-file: b.bin}
  install:
    - try-each:
      - - override-parameters: {component-slot: 0}
        - component-slot: 5
        - override-parameters: {uri: "#a"}
      - - override-parameters: {component-slot: 1}
        - component-slot: 5
        - override-parameters: {uri: "#b"}
    - fetch: 2
    - image-match: 15
integrated-payloads:
  - key: "#a"
    file: a.bin
  - key: "#b"
    file: b.bin
`
	signed := buildSigned(t, src, map[string][]byte{"a.bin": a, "b.bin": b})
	v := verifySpec(t, signed)
	if !v.Authentic {
		t.Fatalf("unaltered: %s %+v", v.Reason, v.Payloads)
	}
	for _, k := range []string{"#a", "#b"} {
		if p := payloadResult(t, v, k); p.Status != PayloadMatches {
			t.Fatalf("%s: %+v", k, p)
		}
	}
	// Swap the images: each is checked against the other slot's digest only.
	swapped := replacePayload(t, replacePayload(t, signed, "#a", b), "#b", a)
	v = verifySpec(t, swapped)
	if v.Authentic {
		t.Fatal("swapped A/B images: authentic")
	}
	for _, k := range []string{"#a", "#b"} {
		if p := payloadResult(t, v, k); p.Status != PayloadMismatch {
			t.Fatalf("%s: %+v", k, p)
		}
	}
}

// Load from external storage: fetched into component 1, copied to component 0 by load, checked there.
func TestVerifyIntegratedPayloadThroughCopy(t *testing.T) {
	fw := []byte(strings.Repeat("x", 100))
	src := `
manifest:
  sequence-number: 7
  components: [[h'00'], [h'02']]
  shared-sequence:
    - set-component-index: 0
    - override-parameters:
        vendor-identifier: {domain: example.com}
        image-file: fw.bin
    - vendor-identifier: 15
  install:
    - set-component-index: 1
    - override-parameters: {uri: "#fw"}
    - fetch: 2
  load:
    - set-component-index: 0
    - override-parameters: {source-component: 1}
    - copy: 2
    - image-match: 15
integrated-payloads:
  - key: "#fw"
    file: fw.bin
`
	signed := buildSigned(t, src, map[string][]byte{"fw.bin": fw})
	v := verifySpec(t, signed)
	if p := payloadResult(t, v, "#fw"); !v.Authentic || p.Status != PayloadMatches || !strings.Contains(p.Where, "load") {
		t.Fatalf("unaltered: %s %+v", v.Reason, p)
	}
	v = verifySpec(t, replacePayload(t, signed, "#fw", []byte(strings.Repeat("y", 100))))
	if p := payloadResult(t, v, "#fw"); v.Authentic || p.Status != PayloadMismatch {
		t.Fatalf("altered: %+v", p)
	}
}

// Payloads that no image-match checks are reported as not covered, and the verdict is not authentic.
func TestVerifyIntegratedPayloadNotCovered(t *testing.T) {
	src := `
manifest:
  sequence-number: 7
  components: [[h'00']]
  install:
    - override-parameters: {uri: "#fw"}
    - fetch: 2
integrated-payloads:
  - key: "#fw"
    data: h'0102' 
  - key: "#stray"
    data: h'0304' 
`
	v := verifySpec(t, buildSigned(t, src, nil))
	if v.Authentic {
		t.Fatal("payloads nothing checks: authentic")
	}
	for _, k := range []string{"#fw", "#stray"} {
		if p := payloadResult(t, v, k); p.Status != PayloadNotCovered || p.Reason == "" {
			t.Fatalf("%s: %+v", k, p)
		}
	}
	if !strings.Contains(v.Reason, "not covered by the signature") {
		t.Errorf("reason: %q", v.Reason)
	}
}

// A check that cannot be followed statically (an unknown command between fetch and image-match, a
// severed install that is not carried) is "not checked", never authentic.
func TestVerifyIntegratedPayloadNotChecked(t *testing.T) {
	fw := []byte("fw")
	src := `
manifest:
  sequence-number: 7
  components: [[h'00']]
  shared-sequence:
    - override-parameters: {image-file: fw.bin}
  install:
    - override-parameters: {uri: "#fw"}
    - fetch: 2
    - custom(-300): {cbor: h'00'}
    - image-match: 15
integrated-payloads:
  - key: "#fw"
    file: fw.bin
`
	signed := buildSigned(t, src, map[string][]byte{"fw.bin": fw})
	v := verifySpec(t, replacePayload(t, signed, "#fw", []byte("FW")))
	if p := payloadResult(t, v, "#fw"); v.Authentic || p.Status != PayloadNotChecked || !strings.Contains(p.Reason, "custom(-300)") {
		t.Fatalf("unknown command: authentic %v %+v", v.Authentic, p)
	}

	// Severed install, not carried: nothing can say what checks the payload.
	src = strings.Replace(downloadSrc, "  validate:\n    - image-match: 15\n", "", 1)
	env, err := ParseSource([]byte(src), writeFiles(t, map[string][]byte{"fw.bin": fw}))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Sever(env, []string{"install"}, false); err != nil {
		t.Fatal(err)
	}
	data, err := Encode(env)
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := specKeys(t)
	signed, err = AddAuthBlocks(data, func(payload []byte) ([][]byte, error) {
		b, err := cose.Sign1(rand.Reader, priv, cose.AlgES256, nil, payload)
		return [][]byte{b}, err
	})
	if err != nil {
		t.Fatal(err)
	}
	v = verifySpec(t, signed)
	if p := payloadResult(t, v, "#fw"); v.Authentic || p.Status != PayloadNotChecked || !strings.Contains(p.Reason, "install") {
		t.Fatalf("severed install: authentic %v %+v", v.Authentic, p)
	}
}

func writeFiles(t testing.TB, files map[string][]byte) string {
	dir := t.TempDir()
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// The trust-domains example with an integrated dependency: its image digest is the digest of the
// dependency's manifest (its identity), and its size the whole envelope's.
func TestVerifyIntegratedDependency(t *testing.T) {
	data := readHex(t, filepath.Join(vectorsDir(t), "trust-domains", "example2_integrated.hex"))
	v, err := Verify(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := payloadResult(t, v, "#dependent.suit")
	if p.Status != PayloadMatches {
		t.Fatalf("%+v", p)
	}
	env, _ := Decode(data)
	dep := env.Integrated[0].Data
	dep[len(dep)-3] ^= 1 // inside the dependency's manifest
	out, _ := Encode(env)
	v, _ = Verify(out, nil)
	if p := payloadResult(t, v, "#dependent.suit"); p.Status != PayloadMismatch {
		t.Fatalf("altered dependency: %+v", p)
	}
}

// Every carried severed member is checked and a mismatch named, even when several are altered.
func TestVerifyEverySeveredMember(t *testing.T) {
	data := readHex(t, filepath.Join(vectorsDir(t), "example2.hex"))
	re, err := SplitEnvelope(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []int64{20, 23} { // install, text
		m := re.Member(key)
		if m == nil {
			t.Fatalf("example 2 carries no member %d", key)
		}
		m[len(m)-1] ^= 1
	}
	v := verifySpec(t, re.Bytes())
	if v.Authentic {
		t.Fatal("altered severed members: authentic")
	}
	bad := map[string]bool{}
	for _, m := range v.Members {
		if m.Present && !m.DigestOK {
			bad[m.Name] = true
			if !strings.Contains(m.Reason, "hashes to") {
				t.Errorf("%s: %q", m.Name, m.Reason)
			}
		}
	}
	if !bad["install"] || !bad["text"] || len(bad) != 2 {
		t.Fatalf("mismatching members reported: %v (%+v)", bad, v.Members)
	}
}

// A manifest built to make the analysis explode (many components, nested alternatives) is cut
// short: its payload is "not checked", never authentic, and verification still ends.
func TestVerifyIntegratedPayloadBudget(t *testing.T) {
	m := &model.Manifest{Version: 1, SequenceNumber: 1}
	for i := range 400 {
		m.Common.Components = append(m.Common.Components, model.ComponentID{[]byte{byte(i), byte(i >> 8)}})
	}
	alt := model.Seq(model.SetIndex(0), model.Override(model.UintParam(model.ParamComponentSlot, 0)))
	var cmds []model.Command
	for range 40 {
		cmds = append(cmds, model.TryEach(alt, alt, alt, alt), model.Command{Label: model.DirSetComponentIndex, Index: &model.ComponentIndex{All: true}})
	}
	cmds = append(cmds, model.Override(model.Parameter{Label: model.ParamURI, Value: model.Value{Kind: model.KindText, Text: "#fw"}}), model.Command{Label: model.DirFetch, Policy: 2}, model.Cond(model.CondImageMatch, 15))
	m.Install.Present = true
	m.Install.Seq = model.Seq(cmds...)
	env := &model.Envelope{Manifest: m, Integrated: []model.IntegratedPayload{{Key: "#fw", Data: []byte("x")}}}
	res := CheckPayloads(env)
	if len(res) != 1 || res[0].Status != PayloadNotChecked || !strings.Contains(res[0].Reason, "too large") {
		t.Fatalf("%+v", res)
	}
}
