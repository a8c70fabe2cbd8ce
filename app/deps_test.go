package app

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
	"github.com/suit-studio/suit-studio/signer"
)

func testKey(t *testing.T, name string) signer.Key {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := signer.NewKey(priv, name)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func signedBytes(t *testing.T, env *model.Envelope, k signer.Key) []byte {
	t.Helper()
	b, err := suit.Encode(env)
	if err != nil {
		t.Fatal(err)
	}
	out, err := SignEnvelope(b, []any{k}, SignOptions{Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A three-level hierarchy, each level signed with its own key: root -> mid -> leaf, the lower
// levels integrated.
func TestAddDependencyHierarchy(t *testing.T) {
	leafKey, midKey := testKey(t, "leaf"), testKey(t, "mid")
	leafBytes := signedBytes(t, model.Example1(), leafKey)
	leafV, err := suit.Verify(leafBytes, []suit.VerifyKey{{Name: "leaf", Public: leafKey.Public()}})
	if err != nil || !leafV.ManifestAuthentic {
		t.Fatalf("leaf does not verify: %v %+v", err, leafV)
	}

	mid := model.Example1()
	n, err := AddDependency(mid, leafBytes, DependencySource{Integrate: true, Name: "leaf"})
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 || len(mid.Manifest.Common.Dependencies) != 1 || mid.Manifest.Common.Dependencies[0].Index != 1 {
		t.Fatalf("dependency entry: index %d, %+v", n, mid.Manifest.Common.Dependencies)
	}
	midBytes := signedBytes(t, mid, midKey)

	// The mid manifest as a device receives it: decode the signed bytes.
	got, err := suit.Decode(midBytes)
	if err != nil {
		t.Fatal(err)
	}
	m := got.Manifest
	if len(m.Common.Dependencies) != 1 || m.Common.Dependencies[0].Index != 1 || len(m.Common.Components) != 2 {
		t.Fatalf("decoded dependencies %+v, components %d", m.Common.Dependencies, len(m.Common.Components))
	}
	// The image digest set for component 1 is the digest in the leaf's authentication wrapper,
	// which is the digest of the leaf's manifest bytes.
	nodes := Dependencies(got)
	if len(nodes) != 1 || nodes[0].Digest == nil || !bytes.Equal(nodes[0].Digest.Bytes, leafV.ComputedDigest) || nodes[0].Digest.Alg != leafV.Digest.Alg {
		t.Fatalf("dependency digest %+v, want %x", nodes[0].Digest, leafV.ComputedDigest)
	}
	if nodes[0].URI != "#leaf" || !nodes[0].Signed || nodes[0].Envelope == nil {
		t.Fatalf("node %+v", nodes[0])
	}
	if len(got.Integrated) != 1 || got.Integrated[0].Key != "#leaf" || !bytes.Equal(got.Integrated[0].Data, leafBytes) {
		t.Fatal("the leaf envelope is not carried under #leaf")
	}
	// The template's commands: dependency-resolution and validate end with dependency-integrity
	// and process-dependency on component 1.
	dr := m.DependencyResolution.Seq.Commands
	if len(dr) < 5 || dr[0].Label != model.DirSetComponentIndex || dr[0].Index.Indices[0] != 1 ||
		dr[2].Label != model.DirFetch || dr[3].Label != model.CondDependencyIntegrity || dr[4].Label != model.DirProcessDependency {
		t.Fatalf("dependency-resolution = %+v", dr)
	}
	v := m.Validate.Commands
	if v[len(v)-1].Label != model.DirProcessDependency || v[len(v)-2].Label != model.CondDependencyIntegrity {
		t.Fatalf("validate = %+v", v)
	}
	// The existing sequences now name component 0 first.
	if c := m.Install.Seq.Commands[0]; c.Label != model.DirSetComponentIndex || c.Index.Indices[0] != 0 {
		t.Fatalf("install starts with %+v", c)
	}
	// Each level verifies with its own key only.
	mv, _ := suit.Verify(midBytes, []suit.VerifyKey{{Name: "mid", Public: midKey.Public()}})
	if !mv.ManifestAuthentic {
		t.Fatalf("mid does not verify with its key: %s", mv.Reason)
	}
	if wv, _ := suit.Verify(midBytes, []suit.VerifyKey{{Name: "leaf", Public: leafKey.Public()}}); wv.ManifestAuthentic {
		t.Fatal("mid verifies with the leaf's key")
	}
	if fs := suit.Validate(got); hasError(fs) {
		t.Fatalf("findings on the dependent: %+v", fs)
	}

	root := model.Example1()
	if _, err := AddDependency(root, midBytes, DependencySource{Integrate: true, Name: "mid"}); err != nil {
		t.Fatal(err)
	}
	tree := Dependencies(root)
	if len(tree) != 1 || len(tree[0].Children) != 1 || tree[0].Children[0].URI != "#leaf" {
		t.Fatalf("hierarchy %+v", tree)
	}
}

func hasError(fs []model.Finding) bool {
	for _, f := range fs {
		if f.Severity == model.Error {
			return true
		}
	}
	return false
}

func TestAddDependencyRefusals(t *testing.T) {
	unsigned, err := suit.Encode(model.Example1())
	if err != nil {
		t.Fatal(err)
	}
	env := model.Example1()
	if _, err := AddDependency(env, unsigned, DependencySource{URI: "https://example.com/dep.suit"}); err == nil || !strings.Contains(err.Error(), "sign") {
		t.Fatalf("unsigned dependency: %v", err)
	}
	signed := signedBytes(t, model.Example1(), testKey(t, "k"))
	// Change the sequence number inside the signed manifest: the digest no longer matches.
	tampered := append([]byte(nil), signed...)
	dec, _ := suit.Decode(signed)
	sn := dec.Manifest.SequenceNumber
	i := bytes.Index(tampered, []byte{0x02, byte(sn)})
	if sn >= 24 || i < 0 {
		t.Skip("example sequence number not in one byte")
	}
	tampered[i+1]++
	if _, err := AddDependency(env, tampered, DependencySource{URI: "https://example.com/dep.suit"}); err == nil || !strings.Contains(err.Error(), "changed after signing") {
		t.Fatalf("tampered dependency: %v", err)
	}
	if _, err := AddDependency(env, signed, DependencySource{}); err == nil || !strings.Contains(err.Error(), "URI") {
		t.Fatalf("no URI: %v", err)
	}
	if len(env.Manifest.Common.Components) != 1 {
		t.Fatal("a refused dependency changed the manifest")
	}
	if _, err := AddDependency(env, signed, DependencySource{URI: "https://example.com/dep.suit"}); err != nil {
		t.Fatal(err)
	}
}

func TestRemoveDependency(t *testing.T) {
	signed := signedBytes(t, model.Example1(), testKey(t, "k"))
	orig := model.Example1()
	env := CloneEnvelope(orig)
	if _, err := AddDependency(env, signed, DependencySource{Integrate: true, Name: "a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := AddDependency(env, signed, DependencySource{URI: "https://example.com/b.suit"}); err != nil {
		t.Fatal(err)
	}
	if err := RemoveDependency(env, 1); err == nil || !strings.Contains(err.Error(), "not the last") {
		t.Fatalf("removing a middle dependency: %v", err)
	}
	if err := RemoveDependency(env, 0); err == nil {
		t.Fatal("component 0 removed as a dependency")
	}
	for _, idx := range []uint64{2, 1} {
		if err := RemoveDependency(env, idx); err != nil {
			t.Fatal(err)
		}
	}
	m := env.Manifest
	if len(m.Common.Components) != 1 || m.Common.Dependencies != nil || len(env.Integrated) != 0 || m.DependencyResolution.Seq != nil {
		t.Fatalf("after removal: %d components, deps %v, %d integrated", len(m.Common.Components), m.Common.Dependencies, len(env.Integrated))
	}
	for _, s := range allSequences(m) {
		if s == nil {
			continue
		}
		for _, c := range s.Commands {
			if c.Label == model.CondDependencyIntegrity || c.Label == model.DirProcessDependency || c.Label == model.DirSetParameters {
				t.Fatalf("left behind: %s", model.CommandName(c.Label))
			}
		}
	}
	if fs := suit.Validate(env); hasError(fs) {
		t.Fatalf("findings %+v", fs)
	}
}
