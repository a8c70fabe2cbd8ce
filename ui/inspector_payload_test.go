package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/signer"
)

// Issue 9 item 1: the inspector's verdict covers the integrated payloads: it names the payload it
// checked, and an altered payload under an authentic manifest is never "Authentic".
func TestInspectorVerdictCoversIntegratedPayloads(t *testing.T) {
	dir := t.TempDir()
	fw := []byte(strings.Repeat("firmware ", 50))
	if err := os.WriteFile(filepath.Join(dir, "fw.bin"), fw, 0o600); err != nil {
		t.Fatal(err)
	}
	src := `
manifest:
  sequence-number: 1
  components: [[h'00']]
  shared-sequence:
    - override-parameters:
        vendor-identifier: {domain: example.com}
        class-identifier: {vendor-domain: example.com, model: m}
        image-file: fw.bin
    - vendor-identifier: 15
    - class-identifier: 15
  install:
    - override-parameters: {uri: "#fw"}
    - fetch: 2
    - image-match: 15
  validate:
    - image-match: 15
integrated-payloads:
  - key: "#fw"
    file: fw.bin
`
	unsigned, _, err := app.Create([]byte(src), dir, false)
	if err != nil {
		t.Fatal(err)
	}
	key, err := signer.LoadFile(filepath.Join(vectors, "private_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	good, err := app.SignEnvelope(unsigned, []any{key}, app.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	env, err := suit.Decode(good)
	if err != nil {
		t.Fatal(err)
	}
	env.Integrated[0].Data[0] ^= 1
	bad, err := suit.Encode(env)
	if err != nil {
		t.Fatal(err)
	}
	s := newTestStudio(t)
	s.AddTrustedKey(filepath.Join(vectors, "public_key.pem"))
	s.Wait()
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"good.suit", good, `Authentic: signed by a trusted key; covers the manifest and integrated payload "#fw"`},
		{"bad.suit", bad, `Not verified: the manifest is authentic, but integrated payload "#fw" is MISMATCH`},
	} {
		p := filepath.Join(dir, c.name)
		if err := os.WriteFile(p, c.data, 0o600); err != nil {
			t.Fatal(err)
		}
		s.OpenFile(p)
		s.Wait()
		s.ShowView(ViewInspector)
		s.Wait()
		if !strings.HasPrefix(s.inspector.verdictTitle, c.want) {
			t.Errorf("%s: inspector verdict %q, want %q...", c.name, s.inspector.verdictTitle, c.want)
		}
	}
}
