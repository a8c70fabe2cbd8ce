package ui

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
	"github.com/suit-studio/suit-studio/signer"
)

// A dependent built in the editor (a signed dependency added from its envelope, integrated), then
// signed, runs on the simulated device: the device checks the dependency's integrity and
// processes it.
func TestDependencyRunsOnSimulator(t *testing.T) {
	key, err := signer.LoadFile(filepath.Join(devVectors, "private_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	sign := func(env *model.Envelope) []byte {
		b, err := suit.Encode(env)
		if err != nil {
			t.Fatal(err)
		}
		out, err := app.SignEnvelope(b, []any{key}, app.SignOptions{Replace: true})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	dep := sign(model.Example0())

	s := newTestStudio(t)
	s.SetDocument(app.NewDocument(model.Example0(), s.State))
	s.editor.Select(pathComponents)
	s.editor.depIntegrate = true
	s.editor.depName = "dep"
	if !s.editor.AddDependency("dep.suit", dep) {
		t.Fatal("the dependency was not added")
	}
	dependent := sign(s.doc.Envelope())

	v, _ := newTestSimView(t, filepath.Join(devVectors, "public_key.pem"))
	v.pace.SetSelected(SimPaceInstant)
	v.Run(dependent)
	v.Wait()
	rows := v.StepRows()
	for _, want := range [][]string{
		{"check dependencies: #1", "PASS"},
		{"fetch #1", "integrated dependency envelope", "PASS"},
		{"dependency-integrity #1", "signature and digest verified", "PASS"},
		{"process-dependency #1", "done", "PASS"},
	} {
		if _, ok := devFind(rows, want...); !ok {
			t.Errorf("no step with %q in:\n%s", want, strings.Join(rows, "\n"))
		}
	}

	// A dependent whose digest for the dependency is wrong is refused at dependency-integrity.
	s.doc.Apply("break the digest", func(env *model.Envelope) {
		for i := range env.Manifest.Common.SharedSequence.Commands {
			c := &env.Manifest.Common.SharedSequence.Commands[i]
			if c.Label == model.DirSetParameters {
				c.Params[0].Value.Digest.Bytes[0] ^= 0xff
			}
		}
	})
	v2, _ := newTestSimView(t, filepath.Join(devVectors, "public_key.pem"))
	v2.pace.SetSelected(SimPaceInstant)
	v2.Run(sign(s.doc.Envelope()))
	v2.Wait()
	rows = v2.StepRows()
	if _, ok := devFind(rows, "dependency-integrity #1", "FAIL"); !ok {
		t.Errorf("a wrong dependency digest was not refused:\n%s", strings.Join(rows, "\n"))
	}
}
