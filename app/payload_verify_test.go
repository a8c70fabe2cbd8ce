package app

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
	"github.com/suit-studio/suit-studio/signer"
)

// Issue 9 item 1 at the inspector's layer: for each template with an image integrated into each
// component, VerifyWithFiles (what the inspector shows) checks the payloads; an altered payload is
// never authentic, and the verdict names it.
func TestVerifyWithFilesIntegratedPayloads(t *testing.T) {
	key, err := signer.LoadFile(filepath.Join(vectors, "private_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(vectors, "public_key.pem")
	for _, tpl := range model.Templates() {
		t.Run(tpl.ID, func(t *testing.T) {
			env := tpl.New()
			if err := SetIdentity(env, "example.com", "board"); err != nil {
				t.Fatal(err)
			}
			for i := range env.Manifest.Common.Components {
				img := bytes.Repeat([]byte{byte('a' + i)}, 100+i)
				if err := SetImage(env, i, img, ImageSource{Integrate: true, Name: fmt.Sprintf("img%d", i)}); err != nil {
					t.Fatal(err)
				}
			}
			data, err := suit.Encode(env)
			if err != nil {
				t.Fatal(err)
			}
			signed, err := SignEnvelope(data, []any{key}, SignOptions{})
			if err != nil {
				t.Fatal(err)
			}
			v, kerrs, err := VerifyWithFiles(signed, []string{pub})
			if err != nil || len(kerrs) > 0 {
				t.Fatal(err, kerrs)
			}
			if !v.ManifestAuthentic {
				t.Fatalf("manifest: %s", v.Reason)
			}
			for _, p := range v.Payloads {
				t.Logf("%s: %s: %s", p.Key, p.Status, p.Reason)
			}
			// A payload is verified, or (external storage: images integrated for components
			// that nothing fetches; secure boot: no fetch at all) not covered, and then the
			// verdict is not authentic.
			covered := 0
			for _, p := range v.Payloads {
				switch p.Status {
				case suit.PayloadMatches:
					covered++
				case suit.PayloadNotCovered:
					if v.Authentic {
						t.Fatalf("authentic with %s not covered", p.Key)
					}
				default:
					t.Fatalf("%s: %s: %s", p.Key, p.Status, p.Reason)
				}
			}
			if covered == len(v.Payloads) != v.Authentic {
				t.Fatalf("authentic %v with %d of %d payloads covered", v.Authentic, covered, len(v.Payloads))
			}
			dec, _ := suit.Decode(signed)
			for i := range dec.Integrated {
				if v.Payloads[i].Status != suit.PayloadMatches {
					continue
				}
				dec.Integrated[i].Data[0] ^= 0x80
				bad, err := suit.Encode(dec)
				if err != nil {
					t.Fatal(err)
				}
				dec.Integrated[i].Data[0] ^= 0x80
				v2, _, err := VerifyWithFiles(bad, []string{pub})
				if err != nil {
					t.Fatal(err)
				}
				if v2.Authentic || !v2.ManifestAuthentic || v2.Payloads[i].Status != suit.PayloadMismatch {
					t.Fatalf("altered %s: authentic %v, %+v", dec.Integrated[i].Key, v2.Authentic, v2.Payloads[i])
				}
			}
		})
	}
}
