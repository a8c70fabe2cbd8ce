package app

import (
	"bytes"
	"strings"
	"testing"

	"github.com/suit-studio/suit-studio/model"
)

// The walk through: new from example 2's template, vendor domain and image set: the
// vendor text, the sample text, and the reference URI are leftovers; each fix clears its finding.
func TestTemplateLeftovers(t *testing.T) {
	env := model.TemplateByID("download-install-boot").New()
	kinds := func(ls []Leftover) map[LeftoverKind]int {
		m := map[LeftoverKind]int{}
		for _, l := range ls {
			m[l.Kind]++
		}
		return m
	}
	got := kinds(TemplateLeftovers(env))
	// Fresh from the template: the IDs are arm.com's, so the vendor text is right; the rest is sample.
	if got[LeftoverReferenceURI] != 1 || got[LeftoverSampleDigest] != 1 || got[LeftoverSampleText] != 2 || got[LeftoverVendorText] != 0 {
		t.Fatalf("fresh template: %v", TemplateLeftovers(env))
	}
	if err := SetIdentity(env, "example.com", "sensor-v2"); err != nil {
		t.Fatal(err)
	}
	if err := SetImage(env, 0, []byte("real firmware"), ImageSource{Integrate: true, Name: "fw.bin"}); err != nil {
		t.Fatal(err)
	}
	ls := TemplateLeftovers(env)
	got = kinds(ls)
	if got[LeftoverVendorText] != 1 || got[LeftoverSampleDigest] != 0 || got[LeftoverReferenceURI] != 1 {
		t.Fatalf("after setting the IDs and the image: %v", ls)
	}
	for _, l := range ls {
		if l.Severity != model.Warning || l.Fix == "" || l.Message == "" || l.Hint == "" {
			t.Errorf("incomplete leftover %+v", l)
		}
		if l.Kind == LeftoverVendorText && !strings.Contains(l.Message, "arm.com") {
			t.Errorf("vendor leftover does not name the text's vendor: %s", l.Message)
		}
	}
	// Fix them one by one, as the editor's buttons do.
	for {
		ls := TemplateLeftovers(env)
		if len(ls) == 0 {
			break
		}
		if err := FixLeftover(env, ls[0], "example.com", "sensor-v2"); err != nil {
			t.Fatalf("fix %q: %v", ls[0].Message, err)
		}
		if n := len(TemplateLeftovers(env)); n != len(ls)-1 {
			t.Fatalf("fixing %q left %d of %d leftovers", ls[0].Message, n, len(ls))
		}
	}
	if env.Manifest.ReferenceURI != nil {
		t.Error("reference URI kept")
	}
	if d := TextOf(env.Manifest, 0, model.TextVendorDomain); d != "example.com" {
		t.Errorf("vendor text %q after the fix, want example.com (the domain the ID came from)", d)
	}
}

func TestTemplateLeftoversUnknownDomainRemovesText(t *testing.T) {
	env := model.Example2()
	vendor := model.VendorID("example.org")
	_ = SetIdentity(env, "example.org", "")
	ls := TemplateLeftovers(env)
	var vl *Leftover
	for i := range ls {
		if ls[i].Kind == LeftoverVendorText {
			vl = &ls[i]
		}
	}
	if vl == nil {
		t.Fatalf("no vendor leftover: %v", ls)
	}
	// The domain given does not derive the vendor ID: the stale text is removed, not rewritten.
	if err := FixLeftover(env, *vl, "wrong.example", ""); err != nil {
		t.Fatal(err)
	}
	if d := TextOf(env.Manifest, 0, model.TextVendorDomain); d != "" {
		t.Errorf("vendor text %q kept", d)
	}
	if v, _ := Identity(env); !bytes.Equal(v, vendor) {
		t.Error("the fix changed the vendor ID")
	}
}

func TestSampleDigestFixNeedsImage(t *testing.T) {
	env := model.Example0()
	ls := TemplateLeftovers(env)
	if len(ls) != 1 || ls[0].Kind != LeftoverSampleDigest || ls[0].Path != "envelope/manifest/common/components/0" {
		t.Fatalf("example 0: %v", ls)
	}
	if err := FixLeftover(env, ls[0], "", ""); err == nil || !strings.Contains(err.Error(), "image") {
		t.Fatalf("fix without image: %v", err)
	}
}

func TestSyncIdentityText(t *testing.T) {
	env := model.Example2()
	SyncIdentityText(env, "example.com", "sensor")
	if d := TextOf(env.Manifest, 0, model.TextVendorDomain); d != "example.com" {
		t.Fatalf("vendor text %q", d)
	}
	if m := TextOf(env.Manifest, 0, model.TextModelInfo); m != "" {
		t.Fatalf("model text %q added", m)
	}
}
