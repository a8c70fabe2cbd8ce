package app

import (
	"strings"
	"testing"

	"github.com/suit-studio/suit-studio/model"
)

// downloadInstall is the spec's example 1 ("simultaneous download and installation") as a model
// value: shared sequence checks vendor and class, install fetches and verifies, validate checks.
func downloadInstall() *model.Envelope {
	cls, _ := model.ClassID(model.VendorID("arm.com"), "suit")
	uri := "http://example.com/file.bin"
	return &model.Envelope{Tagged: true, Manifest: &model.Manifest{
		Version: 1, SequenceNumber: 1,
		Common: model.Common{
			Components: []model.ComponentID{{{0x00}}},
			SharedSequence: &model.CommandSequence{Commands: []model.Command{
				{Label: model.DirOverrideParameters, Params: []model.Parameter{
					{Label: model.ParamVendorIdentifier, Value: model.Value{Kind: model.KindUUID, Bytes: model.VendorID("arm.com")}},
					{Label: model.ParamClassIdentifier, Value: model.Value{Kind: model.KindUUID, Bytes: cls}},
					{Label: model.ParamImageDigest, Value: model.Value{Kind: model.KindDigest, Digest: &model.Digest{Alg: model.AlgSHA256, Bytes: make([]byte, 32)}}},
					{Label: model.ParamImageSize, Value: model.Value{Kind: model.KindUint, Uint: 34768}},
				}},
				{Label: model.CondVendorIdentifier, Policy: 15},
				{Label: model.CondClassIdentifier, Policy: 15},
			}},
		},
		Install: model.SeverableSequence{Severance: model.Severance{Present: true}, Seq: &model.CommandSequence{Commands: []model.Command{
			{Label: model.DirOverrideParameters, Params: []model.Parameter{{Label: model.ParamURI, Value: model.Value{Kind: model.KindText, Text: uri}}}},
			{Label: model.DirFetch, Policy: 2},
			{Label: model.CondImageMatch, Policy: 15},
		}}},
		Validate: &model.CommandSequence{Commands: []model.Command{{Label: model.CondImageMatch, Policy: 15}}},
	}}
}

func stepTexts(p Procedure) string {
	var b strings.Builder
	for _, s := range p.Steps {
		b.WriteString(strings.Repeat("  ", s.Depth) + s.Text + "\n")
	}
	return b.String()
}

func TestDescribeDownloadInstall(t *testing.T) {
	d := Describe(downloadInstall())
	if len(d.Procedures) != 2 || d.Procedures[0].Name != "Update" || d.Procedures[1].Name != "Invocation" {
		t.Fatalf("procedures = %+v", d.Procedures)
	}
	up := stepTexts(d.Procedures[0])
	for _, want := range []string{
		"install:",
		"check that component [h'00'] is from vendor fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe",
		"check that component [h'00'] is of class 1492af14-2569-5e48-bf42-9b2d51f2ab45",
		`fetch "http://example.com/file.bin" (34768 bytes) into component [h'00']`,
		"verify that the digest of component [h'00'] is SHA-256 0000",
		"validate:",
	} {
		if !strings.Contains(up, want) {
			t.Errorf("update procedure lacks %q:\n%s", want, up)
		}
	}
	inv := stepTexts(d.Procedures[1])
	if strings.Contains(inv, "boot") {
		t.Errorf("example 1 has no invoke, but the description boots:\n%s", inv)
	}
	// Paths point at the commands, so that the UI can select them.
	var found bool
	for _, s := range d.Procedures[0].Steps {
		if strings.HasPrefix(s.Text, "fetch") {
			found = true
			if s.Path != "envelope/manifest/install/1/fetch" || s.Kind != StepAction {
				t.Errorf("fetch step path/kind = %q/%v", s.Path, s.Kind)
			}
		}
	}
	if !found {
		t.Error("no fetch step")
	}
}

func TestDescribeTryEachAndSevered(t *testing.T) {
	env := downloadInstall()
	m := env.Manifest
	m.Install = model.SeverableSequence{Severance: model.Severance{Severed: true, Digest: &model.Digest{Alg: model.AlgSHA256, Bytes: make([]byte, 32)}}}
	slot := func(n uint64) *model.CommandSequence {
		return &model.CommandSequence{Commands: []model.Command{
			{Label: model.DirOverrideParameters, Params: []model.Parameter{{Label: model.ParamComponentSlot, Value: model.Value{Kind: model.KindUint, Uint: n}}}},
			{Label: model.CondComponentSlot, Policy: 5},
		}}
	}
	m.Invoke = &model.CommandSequence{Commands: []model.Command{
		{Label: model.DirTryEach, Sequences: []*model.CommandSequence{slot(0), slot(1), nil}},
		{Label: model.DirInvoke, Policy: 2},
	}}
	d := Describe(env)
	up := stepTexts(d.Procedures[0])
	if !strings.Contains(up, "install: severed and not in this envelope") {
		t.Errorf("missing severed note:\n%s", up)
	}
	inv := stepTexts(d.Procedures[1])
	for _, want := range []string{
		"try each of 3 alternatives in order",
		"alternative 2:",
		"check that component [h'00'] is slot 1",
		"alternative 3: do nothing",
		"boot component [h'00']",
	} {
		if !strings.Contains(inv, want) {
			t.Errorf("invocation lacks %q:\n%s", want, inv)
		}
	}
}

func TestDescribeEmpty(t *testing.T) {
	if d := Describe(nil); len(d.Notes) == 0 {
		t.Error("nil envelope: no note")
	}
	d := Describe(&model.Envelope{Manifest: &model.Manifest{Version: 1}})
	if len(d.Procedures) != 2 || d.Procedures[0].Steps[0].Kind != StepNote {
		t.Errorf("empty manifest: %+v", d)
	}
}

func TestComponentName(t *testing.T) {
	for _, c := range []struct {
		id   model.ComponentID
		want string
	}{
		{model.ComponentID{{0}}, "[h'00']"},
		{model.ComponentID{[]byte("bin"), []byte("app")}, "['bin', 'app']"},
		{model.ComponentID{}, "[]"},
	} {
		if got := ComponentName(c.id); got != c.want {
			t.Errorf("ComponentName(%v) = %q, want %q", c.id, got, c.want)
		}
	}
}
