package app

import (
	"testing"

	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
)

// Manifest64 is a manifest with 64 components, each with its own digest, size and URI, fetched
// and checked in install and checked in validate: the large case of the editor's benchmarks.
func Manifest64() *model.Envelope {
	env := model.Example1()
	m := env.Manifest
	m.Common.Components = nil
	shared := []model.Command{{Label: model.DirSetComponentIndex, Index: &model.ComponentIndex{All: true}},
		model.Override(model.UUIDParam(model.ParamVendorIdentifier, model.VendorID("example.com"))),
		model.Cond(model.CondVendorIdentifier, 15)}
	install := []model.Command{}
	for i := 0; i < 64; i++ {
		m.Common.Components = append(m.Common.Components, model.ComponentID{[]byte("flash"), {byte(i)}})
		d := make([]byte, 32)
		d[0] = byte(i)
		shared = append(shared, model.SetIndex(uint64(i)), model.Override(model.DigestParam(model.AlgSHA256, d), model.UintParam(model.ParamImageSize, uint64(1000+i))))
		install = append(install, model.SetIndex(uint64(i)), model.Override(model.TextParam(model.ParamURI, "https://fw.example.com/part"+string(rune('A'+i%26))+".bin")),
			model.Cond(model.DirFetch, 2), model.Cond(model.CondImageMatch, 15))
	}
	m.Common.SharedSequence = model.Seq(shared...)
	m.Install.Seq = model.Seq(install...)
	m.Validate = model.Seq(model.Command{Label: model.DirSetComponentIndex, Index: &model.ComponentIndex{All: true}}, model.Cond(model.CondImageMatch, 15))
	return env
}

// One edit (the sequence number, through Apply: snapshot for undo, validation), then the
// envelope re-encoded: what happens on every keystroke. Goal: well under 16 ms (one frame).
func BenchmarkEditEncodeValidate(b *testing.B) {
	data := mustHex(b, readVector(b, "example2.hex"))
	ex2, err := suit.Decode(data)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		env   *model.Envelope
		state bool
	}{{"example2", ex2, false}, {"64-components", Manifest64(), false}, {"example2+recovery-file", ex2, true}, {"64-components+recovery-file", Manifest64(), true}} {
		b.Run(c.name, func(b *testing.B) {
			var st *State
			if c.state {
				st = &State{Dir: b.TempDir()}
			}
			d := NewDocument(CloneEnvelope(c.env), st)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				d.Apply("Set sequence number", func(env *model.Envelope) { env.Manifest.SequenceNumber = uint64(i) })
				if _, err := d.Encode(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
