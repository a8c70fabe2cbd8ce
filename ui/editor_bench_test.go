package ui

import (
	"os"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2/test"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
)

// manifest64 is a manifest with 64 components (see app's Manifest64 benchmark fixture).
func manifest64() *model.Envelope {
	env := model.Example1()
	m := env.Manifest
	m.Common.Components = nil
	shared := []model.Command{{Label: model.DirSetComponentIndex, Index: &model.ComponentIndex{All: true}},
		model.Override(model.UUIDParam(model.ParamVendorIdentifier, model.VendorID("example.com"))),
		model.Cond(model.CondVendorIdentifier, 15)}
	var install []model.Command
	for i := 0; i < 64; i++ {
		m.Common.Components = append(m.Common.Components, model.ComponentID{[]byte("flash"), {byte(i)}})
		d := make([]byte, 32)
		d[0] = byte(i)
		shared = append(shared, model.SetIndex(uint64(i)), model.Override(model.DigestParam(model.AlgSHA256, d), model.UintParam(model.ParamImageSize, uint64(1000+i))))
		install = append(install, model.SetIndex(uint64(i)), model.Override(model.TextParam(model.ParamURI, "https://fw.example.com/part.bin")),
			model.Cond(model.DirFetch, 2), model.Cond(model.CondImageMatch, 15))
	}
	m.Common.SharedSequence = model.Seq(shared...)
	m.Install.Seq = model.Seq(install...)
	return env
}

// Building the editor for a document: the tree fully expanded (every node's children and label
// computed, as the tree widget asks for them), the manifest form, the findings list, and a render
// of the window by the test driver.
func BenchmarkEditorBuild(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join(vectors, "example2.hex"))
	if err != nil {
		b.Fatal(err)
	}
	data, _ := app.DecodeHexText(raw)
	ex2, err := suit.Decode(data)
	if err != nil {
		b.Fatal(err)
	}
	a := test.NewTempApp(b)
	s := New(a, nil)
	for _, c := range []struct {
		name string
		env  *model.Envelope
	}{{"example2", ex2}, {"64-components", manifest64()}} {
		b.Run(c.name, func(b *testing.B) {
			nodes := 0
			b.ReportAllocs()
			for b.Loop() {
				s.SetDocument(app.NewDocument(app.CloneEnvelope(c.env), nil))
				s.editor.tree.OpenAllBranches()
				nodes = 0
				var walkTree func(uid string)
				walkTree = func(uid string) {
					for _, k := range s.editor.model.children(uid) {
						nodes++
						_ = s.editor.model.label(k)
						walkTree(k)
					}
				}
				walkTree("")
				s.Win.Canvas().Refresh(s.Win.Content())
			}
			b.ReportMetric(float64(nodes), "nodes")
		})
	}
}

// One edit from a form (typing a sequence number) with everything that follows it in the UI:
// snapshot, validation, tree and findings refresh.
func BenchmarkEditorEdit(b *testing.B) {
	a := test.NewTempApp(b)
	s := New(a, nil)
	s.SetDocument(app.NewDocument(manifest64(), nil))
	s.editor.Select(pathManifest)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.editor.applyField("Set sequence number", "manifest/sequence", func(env *model.Envelope) { env.Manifest.SequenceNumber = uint64(i) })
	}
}
