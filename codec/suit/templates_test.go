package suit

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/suit-studio/suit-studio/model"
)

// Each template's manifest is byte-for-byte the manifest of the draft's example.
func TestTemplatesMatchExamples(t *testing.T) {
	for i, tpl := range model.ExampleTemplates() {
		t.Run(tpl.ID, func(t *testing.T) {
			want := mustDecode(t, fmt.Sprintf("example%d.hex", i))
			wantMan, err := EncodeManifest(want.Manifest)
			if err != nil {
				t.Fatal(err)
			}
			env := tpl.New()
			got, err := EncodeManifest(env.Manifest)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, wantMan) {
				t.Fatalf("template %s differs from example %d:\n got %x\nwant %x", tpl.ID, i, got, wantMan)
			}
			// Unsigned, the whole envelope matches the published unsigned vector (example 2 once severed).
			full, err := Encode(env)
			if err != nil {
				t.Fatal(err)
			}
			unsigned := readHex(t, vectorsDir(t)+fmt.Sprintf("/example%d.unsigned.hex", i))
			if i == 2 {
				env2, err := Decode(full)
				if err != nil {
					t.Fatal(err)
				}
				if _, _, err := Sever(env2, nil, false); err != nil {
					t.Fatal(err)
				}
				if full, err = Encode(env2); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(full, unsigned) {
				t.Fatalf("unsigned envelope differs:\n got %x\nwant %x", full, unsigned)
			}
			if fs := Validate(env); model.HasErrors(fs) {
				t.Fatalf("template has validation errors: %v", fs)
			}
		})
	}
}
