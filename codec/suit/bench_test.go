package suit

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/suit-studio/suit-studio/codec/cose"
	"github.com/suit-studio/suit-studio/model"
)

// Benchmarks for the paths with a performance goal (issue 2): open and verify a signed envelope,
// create and sign one from its source form, encode and validate a large manifest, and the source
// form both ways. Run with
//
//	go test ./codec/suit -run '^$' -bench . -benchmem

// BenchmarkDecodeVerifyExample2: what opening a signed envelope costs (example 2, 923 bytes, with
// its severed install and text members): Decode, then Verify with the spec public key.
func BenchmarkDecodeVerifyExample2(b *testing.B) {
	data := readHex(b, filepath.Join(vectorsDir(b), "example2.hex"))
	_, pub := specKeys(b)
	keys := []VerifyKey{{Name: "spec", Public: pub}}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
		v, err := Verify(data, keys)
		if err != nil || !v.Authentic {
			b.Fatalf("not authentic: %v %+v", err, v)
		}
	}
}

// BenchmarkCreateSignExample3: what `suit create --sign` costs: parse the source form of example 3,
// encode it, and add a COSE_Sign1 ES256 block made with the spec private key.
func BenchmarkCreateSignExample3(b *testing.B) {
	dir := vectorsDir(b)
	env, err := Decode(readHex(b, filepath.Join(dir, "example3.hex")))
	if err != nil {
		b.Fatal(err)
	}
	src, err := FormatSource(env)
	if err != nil {
		b.Fatal(err)
	}
	priv, pub := specKeys(b)
	sign := func(payload []byte) ([][]byte, error) {
		blk, err := cose.Sign1(rand.Reader, priv, cose.AlgES256, nil, payload)
		return [][]byte{blk}, err
	}
	var signed []byte
	b.ReportAllocs()
	for b.Loop() {
		e, err := ParseSource(src, dir)
		if err != nil {
			b.Fatal(err)
		}
		unsigned, err := Encode(e)
		if err != nil {
			b.Fatal(err)
		}
		if signed, err = AddAuthBlocks(unsigned, sign); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if v, err := Verify(signed, []VerifyKey{{Name: "spec", Public: pub}}); err != nil || !v.Authentic {
		b.Fatalf("the signed envelope does not verify: %v %+v", err, v)
	}
}

// manifest64 builds, with the model's builders, a manifest for 64 components: the shared sequence
// checks vendor and class for all of them, install fetches each one (digest, size, uri) and checks
// its image.
func manifest64() *model.Envelope {
	const n = 64
	vendor := model.VendorID("example.com")
	class, _ := model.ClassID(vendor, "board-64")
	comps := make([]model.ComponentID, n)
	var install []model.Command
	for i := range comps {
		comps[i] = model.ComponentID{[]byte("flash"), {byte(i)}}
		img := []byte(fmt.Sprintf("image %d", i))
		d := sha256.Sum256(img)
		install = append(install,
			model.SetIndex(uint64(i)),
			model.Override(model.DigestParam(model.AlgSHA256, d[:]), model.UintParam(model.ParamImageSize, uint64(4096+i)),
				model.TextParam(model.ParamURI, fmt.Sprintf("https://example.com/fw/%d.bin", i))),
			model.Cond(model.DirFetch, 2),
			model.Cond(model.CondImageMatch, 15))
	}
	shared := model.Seq(
		model.Command{Label: model.DirSetComponentIndex, Index: &model.ComponentIndex{All: true}},
		model.Override(model.UUIDParam(model.ParamVendorIdentifier, vendor), model.UUIDParam(model.ParamClassIdentifier, class)),
		model.Cond(model.CondVendorIdentifier, 15),
		model.Cond(model.CondClassIdentifier, 15))
	return &model.Envelope{
		Tagged: true,
		Auth:   &model.Authentication{Digest: model.Digest{Alg: model.AlgSHA256}},
		Manifest: &model.Manifest{
			Version: 1, SequenceNumber: 7,
			Common:  model.Common{Components: comps, SharedSequence: shared},
			Install: model.SeverableSequence{Severance: model.Severance{Present: true}, Seq: model.Seq(install...)},
		},
	}
}

// BenchmarkEncodeValidate64: what the editor pays after each edit of a large manifest: Encode and
// Validate (model rules plus the encoding checks).
func BenchmarkEncodeValidate64(b *testing.B) {
	env := manifest64()
	if fs := Validate(env); model.HasErrors(fs) {
		b.Fatalf("the 64-component manifest has errors: %v", fs)
	}
	var size int
	b.ReportAllocs()
	for b.Loop() {
		out, err := Encode(env)
		if err != nil {
			b.Fatal(err)
		}
		size = len(out)
		_ = Validate(env)
	}
	b.ReportMetric(float64(size), "envelope-bytes")
}

func BenchmarkFormatSourceExample2(b *testing.B) {
	env, err := Decode(readHex(b, filepath.Join(vectorsDir(b), "example2.hex")))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FormatSource(env); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseSourceExample2(b *testing.B) {
	dir := vectorsDir(b)
	env, err := Decode(readHex(b, filepath.Join(dir, "example2.hex")))
	if err != nil {
		b.Fatal(err)
	}
	src, err := FormatSource(env)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := ParseSource(src, dir); err != nil {
			b.Fatal(err)
		}
	}
}

// The 64-component manifest is valid, encodes, decodes to the same bytes and its source form
// round-trips: the benchmark measures a real manifest, not an error path.
func TestManifest64RoundTrip(t *testing.T) {
	env := manifest64()
	if fs := Validate(env); model.HasErrors(fs) {
		t.Fatalf("findings: %v", fs)
	}
	b1, err := Encode(env)
	if err != nil {
		t.Fatal(err)
	}
	env2, err := Decode(b1)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(env2.Manifest.Common.Components); got != 64 {
		t.Fatalf("%d components after decoding", got)
	}
	src, err := FormatSource(env2)
	if err != nil {
		t.Fatal(err)
	}
	env3, err := ParseSource(src, os.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b3, err := Encode(env3)
	if err != nil {
		t.Fatal(err)
	}
	if string(b1) != string(b3) {
		t.Fatal("the source form of the 64-component manifest does not round-trip")
	}
}
