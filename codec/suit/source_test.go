package suit

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suit-studio/suit-studio/model"
)

// unsignedBytes re-encodes env without its authentication blocks.
func unsignedBytes(t *testing.T, env *model.Envelope) []byte {
	t.Helper()
	cp := *env
	if cp.Auth != nil {
		a := *cp.Auth
		a.Blocks = nil
		a.Digest.Bytes = nil
		cp.Auth = &a
	}
	b, err := Encode(&cp)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The source form of every vector, parsed back, encodes to the vector's unsigned bytes.
func TestSourceRoundTripVectors(t *testing.T) {
	for name, data := range envelopeVectors(t) {
		t.Run(name, func(t *testing.T) {
			env, err := Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			src, err := FormatSource(env)
			if err != nil {
				t.Fatal(err)
			}
			back, err := ParseSource(src, t.TempDir())
			if err != nil {
				t.Fatalf("parse: %v\n%s", err, src)
			}
			want := unsignedBytes(t, env)
			got, err := Encode(back)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("source round trip differs:\n got %x\nwant %x\nsource:\n%s", got, want, src)
			}
		})
	}
}

// suit show --source of an official example fed to suit create reproduces the published unsigned bytes
// (example 2 after severing).
func TestSourceReproducesUnsignedExamples(t *testing.T) {
	dir := vectorsDir(t)
	for i := 0; i <= 5; i++ {
		name := filepath.Join(dir, "example"+string(rune('0'+i))+".hex")
		env, err := Decode(readHex(t, name))
		if err != nil {
			t.Fatal(err)
		}
		src, err := FormatSource(env)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseSource(src, dir)
		if err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			if _, changed, err := Sever(back, nil, false); err != nil || changed {
				t.Fatalf("sever: %v (manifest changed: %v)", err, changed)
			}
		}
		got, err := Encode(back)
		if err != nil {
			t.Fatal(err)
		}
		want := readHex(t, filepath.Join(dir, "example"+string(rune('0'+i))+".unsigned.hex"))
		if !bytes.Equal(got, want) {
			t.Errorf("example %d: got %x\nwant %x", i, got, want)
		}
	}
}

func TestSourceConveniences(t *testing.T) {
	dir := t.TempDir()
	fw := bytes.Repeat([]byte{0xA5}, 1000)
	if err := os.WriteFile(filepath.Join(dir, "fw.bin"), fw, 0o644); err != nil {
		t.Fatal(err)
	}
	src := `
manifest:
  sequence-number: 7
  components: [[h'00']]
  shared-sequence:
    - override-parameters:
        vendor-identifier: {domain: arm.com}
        class-identifier: {model: suit}
        image-file: fw.bin
    - vendor-identifier: [record-on-success, record-on-failure, sysinfo-on-success, sysinfo-on-failure]
    - class-identifier: 15
  validate:
    - image-match: 15
  invoke:
    - invoke: 2
`
	env, err := ParseSource([]byte(src), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := model.Example0()
	want.Manifest.SequenceNumber = 7
	ps := want.Manifest.Common.SharedSequence.Commands[0].Params
	d, _ := Digest(model.AlgSHA256, fw)
	ps[2].Value.Digest = d
	ps[3].Value.Uint = 1000
	a, err := EncodeManifest(env.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := EncodeManifest(want.Manifest)
	if !bytes.Equal(a, b) {
		t.Fatalf("conveniences built another manifest:\n got %x\nwant %x", a, b)
	}
}

func TestSourceErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{"manifest:\n  components: [[h'00']]\n", "sequence-number is missing"},
		{"manifest:\n  sequence-number: 1\n  components: [[h'00']]\n  validate:\n    - image-mach: 15\n", "did you mean image-match"},
		{"manifest:\n  sequence-number: 1\n  components: [[h'0']]\n", "even number of hex digits"},
		{"manifest:\n  sequence-number: -1\n  components: [[h'00']]\n", "unsigned integer"},
		{"manifest:\n  sequence-number: 1\n  components: [[h'00']]\n  shared-sequence:\n    - override-parameters:\n        vendor-identifier: not-a-uuid\n", "not a UUID"},
		{"manifest:\n  sequence-number: 1\n  components: [[h'00']]\n  install:\n    - override-parameters:\n        image-file: missing.bin\n", "cannot read"},
		{"manifest: [\n", "not valid YAML"},
		{"manifest:\n  sequence-number: 1\n  components: [[h'00']]\n  frobnicate: 1\n", "unknown field"},
	}
	for _, tc := range cases {
		_, err := ParseSource([]byte(tc.src), t.TempDir())
		if err == nil || !strings.Contains(err.Error()+hintOf(err), tc.want) {
			t.Errorf("source %q: error %v, want it to mention %q", tc.src, err, tc.want)
		}
		if err != nil && !errors.Is(err, ErrSource) {
			t.Errorf("error %v is not ErrSource", err)
		}
	}
}

func hintOf(err error) string {
	var se *SourceError
	if errors.As(err, &se) {
		return " " + se.Hint
	}
	return ""
}

// JSON is accepted too.
func TestSourceJSON(t *testing.T) {
	src := `{"manifest": {"sequence-number": 1, "components": [["h'00'"]], "validate": [{"image-match": 15}]}}`
	env, err := ParseSource([]byte(src), "")
	if err != nil {
		t.Fatal(err)
	}
	if env.Manifest.SequenceNumber != 1 || len(env.Manifest.Validate.Commands) != 1 {
		t.Fatalf("JSON source parsed wrong: %+v", env.Manifest)
	}
}

// Severing the full example 2 keeps its signature and gives the published severed envelope.
func TestSeverExample2(t *testing.T) {
	dir := vectorsDir(t)
	env, err := Decode(readHex(t, filepath.Join(dir, "example2.hex")))
	if err != nil {
		t.Fatal(err)
	}
	names, changed, err := Sever(env, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if changed || len(names) != 2 {
		t.Fatalf("severed %v, manifest changed %v", names, changed)
	}
	got, err := Encode(env)
	if err != nil {
		t.Fatal(err)
	}
	want := readHex(t, filepath.Join(dir, "example2.severed-signed.hex"))
	if !bytes.Equal(got, want) {
		t.Fatalf("got %x\nwant %x", got, want)
	}
	// Severing an inline member changes the manifest (and so drops signatures).
	env1, _ := Decode(readHex(t, filepath.Join(dir, "example1.hex")))
	if _, changed, err := Sever(env1, []string{"install"}, true); err != nil || !changed {
		t.Fatalf("example 1 install: changed=%v err=%v", changed, err)
	}
	if _, _, err := Sever(env1, []string{"frobnicate"}, false); err == nil {
		t.Fatal("an unknown member was accepted")
	}
}

// The JSON source form of every vector parses back to the same envelope.
func TestSourceJSONRoundTrip(t *testing.T) {
	for name, data := range envelopeVectors(t) {
		env, err := Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		js, err := FormatSourceJSON(env)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseSource(js, "")
		if err != nil {
			t.Fatalf("%s: %v\n%s", name, err, js)
		}
		got, _ := Encode(back)
		if !bytes.Equal(got, unsignedBytes(t, env)) {
			t.Fatalf("%s: JSON round trip differs", name)
		}
	}
}

// override-multiple and copy-params (update-management), and a custom command, survive both the
// binary and the source round trip.
func TestUpdateManagementArgumentsRoundTrip(t *testing.T) {
	env := model.Example5()
	env.Manifest.Install.Seq.Commands = append(env.Manifest.Install.Seq.Commands,
		model.Command{Label: model.DirOverrideMultiple, Multiple: []model.IndexedParams{
			{Index: 0, Params: []model.Parameter{model.UintParam(model.ParamImageSize, 10)}},
			{Index: 1, Params: []model.Parameter{model.TextParam(model.ParamURI, "#b")}},
		}},
		model.Command{Label: model.DirCopyParams, CopyParams: []model.IndexedLabels{{Index: 0, Labels: []int64{model.ParamImageDigest, model.ParamImageSize}}}},
		model.Command{Label: -300, Raw: []byte{0x43, 1, 2, 3}},
	)
	b, err := Encode(env)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	cs := back.Manifest.Install.Seq.Commands
	if n := len(cs); n < 3 || len(cs[n-3].Multiple) != 2 || len(cs[n-2].CopyParams) != 1 || cs[n-1].Raw == nil {
		t.Fatalf("decoded commands: %+v", cs[len(cs)-3:])
	}
	src, err := FormatSource(back)
	if err != nil {
		t.Fatal(err)
	}
	fromSrc, err := ParseSource(src, "")
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	b2, err := Encode(fromSrc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, b2) {
		t.Fatalf("source round trip differs:\n%s", src)
	}
	// A copy-params entry whose labels are not integers is kept raw, not dropped.
	bad := []byte{0x82, 0x18, 0x23, 0xa1, 0x00, 0x81, 0x61, 0x78} // [35, {0: ["x"]}]
	d := &decoder{r: reader{data: bad}}
	it, _ := d.item(0, 0, "t")
	if s, err := d.sequence(it, 0, "t"); err != nil || s.Commands[0].Raw == nil || s.Commands[0].CopyParams != nil {
		t.Fatalf("malformed copy-params: %+v %v", s, err)
	}
}
