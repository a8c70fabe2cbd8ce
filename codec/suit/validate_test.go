package suit

import (
	"strings"
	"testing"

	"github.com/suit-studio/suit-studio/model"
)

// The official examples are valid manifests: validation finds no errors in any of them.
func TestValidateVectorsNoErrors(t *testing.T) {
	for name, data := range envelopeVectors(t) {
		env, err := Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, f := range model.Validate(env) {
			if f.Severity == model.Error {
				t.Errorf("%s: %s", name, f)
			}
		}
	}
}

func mustDecode(t *testing.T, name string) *model.Envelope {
	t.Helper()
	env, err := Decode(readHex(t, vectorsDir(t)+"/"+name))
	if err != nil {
		t.Fatal(err)
	}
	return env
}

func findingAt(fs []model.Finding, sev model.Severity, pathPrefix, msgPart string) bool {
	for _, f := range fs {
		if f.Severity == sev && strings.HasPrefix(f.Path, pathPrefix) && strings.Contains(f.Message, msgPart) {
			return true
		}
	}
	return false
}

// Each rule fires on a manifest broken in exactly that way.
func TestValidateRules(t *testing.T) {
	cases := []struct {
		name    string
		vector  string
		breakIt func(m *model.Manifest)
		sev     model.Severity
		path    string
		msg     string
	}{
		{"no vendor check", "example0.hex", func(m *model.Manifest) {
			s := m.Common.SharedSequence
			s.Commands = s.Commands[:1] // keep override-parameters only
		}, model.Warning, "envelope/manifest/common/shared-sequence", "does not check both"},
		{"index out of range", "example5.hex", func(m *model.Manifest) {
			m.Install.Seq.Commands[0].Index.Indices[0] = 7
		}, model.Error, "envelope/manifest/install/0/set-component-index", "out of range"},
		{"no set-component-index first", "example5.hex", func(m *model.Manifest) {
			m.Validate.Commands = m.Validate.Commands[1:]
		}, model.Error, "envelope/manifest/validate/0", "does not start with set-component-index"},
		{"fetch without digest check", "example4.hex", func(m *model.Manifest) {
			cs := m.PayloadFetch.Seq.Commands
			m.PayloadFetch.Seq.Commands = cs[:len(cs)-1] // drop image-match
		}, model.Warning, "envelope/manifest/payload-fetch/2/fetch", "never checked"},
		{"try-each with one alternative", "example3.hex", func(m *model.Manifest) {
			for i := range m.Common.SharedSequence.Commands {
				c := &m.Common.SharedSequence.Commands[i]
				if c.Label == model.DirTryEach {
					c.Sequences = c.Sequences[:1]
				}
			}
		}, model.Error, "envelope/manifest/common/shared-sequence", "needs at least two"},
		{"fetch in shared sequence", "example0.hex", func(m *model.Manifest) {
			m.Common.SharedSequence.Commands = append(m.Common.SharedSequence.Commands, model.Command{Label: model.DirFetch, Policy: 2})
		}, model.Error, "envelope/manifest/common/shared-sequence/3/fetch", "not allowed in the shared sequence"},
		{"unknown command", "example0.hex", func(m *model.Manifest) {
			m.Validate.Commands = append(m.Validate.Commands, model.Command{Label: 99, Raw: []byte{0x0f}})
		}, model.Error, "envelope/manifest/validate/1/unknown(99)", "not defined"},
		{"short vendor id", "example0.hex", func(m *model.Manifest) {
			m.Common.SharedSequence.Commands[0].Params[0].Value.Bytes = []byte{1, 2, 3}
		}, model.Error, "envelope/manifest/common/shared-sequence/0/override-parameters/vendor-identifier", "16-byte UUID"},
		{"manifest version", "example0.hex", func(m *model.Manifest) { m.Version = 2 }, model.Error, "envelope/manifest/manifest-version", "version 1"},
		{"soft-failure outside try-each", "example0.hex", func(m *model.Manifest) {
			m.Validate.Commands = append([]model.Command{{Label: model.DirOverrideParameters, Params: []model.Parameter{{Label: model.ParamSoftFailure, Value: model.Value{Kind: model.KindBool, Bool: true}}}}}, m.Validate.Commands...)
		}, model.Error, "envelope/manifest/validate/0/override-parameters/soft-failure", "inside try-each"},
		{"text for unknown component", "example2.hex", func(m *model.Manifest) {
			m.Text.Text.Languages[0].Components[0].Component = model.ComponentID{{9}}
		}, model.Error, "envelope/manifest/text/en-US", "not in components"},
		{"bad language tag", "example2.hex", func(m *model.Manifest) {
			m.Text.Text.Languages[0].Tag = "en_US!"
		}, model.Error, "envelope/manifest/text/en_US!", "not a language tag"},
		{"fetch in try-each without digest check", "example3.hex", func(m *model.Manifest) {
			seq := m.Install.Seq
			te := seq.Commands[0]
			te.Sequences[0].Commands = append(te.Sequences[0].Commands, model.Cond(model.DirFetch, 2))
			seq.Commands = seq.Commands[:1] // drop the fetch and image-match after try-each
			m.Validate = model.Seq(model.Cond(model.CondVendorIdentifier, 15))
		}, model.Warning, "envelope/manifest/install/0/try-each", "never checked"},
		{"empty sequence", "example0.hex", func(m *model.Manifest) { m.Invoke.Commands = nil }, model.Error, "envelope/manifest/invoke", "empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := mustDecode(t, tc.vector)
			if findingAt(model.Validate(env), tc.sev, tc.path, tc.msg) {
				t.Fatalf("the intact %s already has the finding", tc.vector)
			}
			tc.breakIt(env.Manifest)
			fs := model.Validate(env)
			if !findingAt(fs, tc.sev, tc.path, tc.msg) {
				t.Fatalf("no %s at %s containing %q; got:\n%v", tc.sev, tc.path, tc.msg, fs)
			}
		})
	}
}

func TestValidateSmallSevered(t *testing.T) {
	env := mustDecode(t, "example0.hex")
	m := env.Manifest
	m.Install = model.SeverableSequence{Severance: model.Severance{Severed: true, Present: true},
		Seq: &model.CommandSequence{Commands: []model.Command{{Label: model.CondImageMatch, Policy: 15}}}}
	if !findingAt(Validate(env), model.Warning, "envelope/manifest/install", "smaller than its digest") {
		t.Fatal("a 3-byte severed install was not reported")
	}
	m.Install.Severed = false
	if findingAt(Validate(env), model.Warning, "envelope/manifest/install", "smaller than its digest") {
		t.Fatal("an inline install was reported as severed")
	}
}
