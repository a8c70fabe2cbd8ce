package ui

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
	"github.com/suit-studio/suit-studio/signer"
)

// signedDependencyFile writes Example 1, signed with a key of its own, to a file.
func signedDependencyFile(t *testing.T) (string, []byte, signer.Key) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := signer.NewKey(priv, "dependency author")
	if err != nil {
		t.Fatal(err)
	}
	b, err := suit.Encode(model.Example1())
	if err != nil {
		t.Fatal(err)
	}
	signed, err := app.SignEnvelope(b, []any{k}, app.SignOptions{Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "bootloader.suit")
	if err := os.WriteFile(path, signed, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, signed, k
}

func TestAddDependencyFromSignedFile(t *testing.T) {
	s := newTestStudio(t)
	s.SetDocument(app.NewDocument(model.Example1(), s.State))
	path, signed, k := signedDependencyFile(t)
	dv, err := suit.Verify(signed, []suit.VerifyKey{{Name: "dep", Public: k.Public()}})
	if err != nil || !dv.ManifestAuthentic {
		t.Fatal("the dependency file does not verify with its own key")
	}

	s.editor.Select(pathComponents)
	var integrate *widget.Check
	walk(s.editor.formBox, func(o fyne.CanvasObject) {
		if c, ok := o.(*widget.Check); ok && strings.HasPrefix(c.Text, "Carry the dependency") {
			integrate = c
		}
	})
	if integrate == nil || s.editor.depAdd == nil {
		t.Fatal("no dependency card on the components page")
	}
	test.Tap(integrate)
	s.editor.addDependencyFile(path) // what the file dialog does with the chosen file
	s.Wait()

	m := s.doc.Envelope().Manifest
	if len(m.Common.Dependencies) != 1 || m.Common.Dependencies[0].Index != 1 || len(m.Common.Components) != 2 {
		t.Fatalf("dependencies %+v, %d components", m.Common.Dependencies, len(m.Common.Components))
	}
	if n := s.doc.Errors(); n != 0 {
		t.Fatalf("%d validation errors after adding the dependency: %+v", n, s.doc.Findings())
	}
	if !strings.Contains(s.editor.depHierarchy.Text, "integrated #bootloader") || !strings.Contains(s.editor.depHierarchy.Text, "signed") {
		t.Fatalf("hierarchy shows %q", s.editor.depHierarchy.Text)
	}
	// Encoded: suit-dependencies (key 1 of SUIT_Common) = {1: {}}, and the digest of the
	// dependency's manifest as the image digest of component 1.
	env, b := reencoded(t, s)
	if !bytes.Contains(b, []byte{0x01, 0xa1, 0x01, 0xa0}) {
		t.Fatal("the encoded common block has no suit-dependencies {1: {}}")
	}
	nodes := app.Dependencies(env)
	if len(nodes) != 1 || nodes[0].Digest == nil || !bytes.Equal(nodes[0].Digest.Bytes, dv.ComputedDigest) {
		t.Fatalf("dependency digest %+v, want %x", nodes[0].Digest, dv.ComputedDigest)
	}
	if len(env.Integrated) != 1 || env.Integrated[0].Key != "#bootloader" || !bytes.Equal(env.Integrated[0].Data, signed) {
		t.Fatal("the dependency envelope is not integrated as #bootloader")
	}
	// The palette offers process-dependency in install; set-component-index marks the dependency.
	s.editor.Select(pathManifest + "/install")
	addCommandByName(t, s, "set-component-index")
	var marked bool
	walk(s.editor.formBox, func(o fyne.CanvasObject) {
		if sel, ok := o.(*widget.Select); ok {
			for _, op := range sel.Options {
				if strings.HasSuffix(op, "(dependency)") {
					marked = true
				}
			}
		}
	})
	if !marked {
		t.Fatal("set-component-index does not mark the dependency")
	}
	s.editor.Select(pathManifest + "/install")
	addCommandByName(t, s, "process-dependency")
	// Remove it with its button, and undo that.
	s.editor.Select(pathComponents)
	if len(s.editor.depRemove) != 1 {
		t.Fatal("no remove button for the dependency")
	}
	test.Tap(s.editor.depRemove[0])
	if m := s.doc.Envelope().Manifest; len(m.Common.Dependencies) != 0 || len(m.Common.Components) != 1 {
		t.Fatal("the remove button did not remove the dependency")
	}
	if err := s.doc.Undo(); err != nil {
		t.Fatal(err)
	}
	// Undo: the two commands, then the dependency.
	for i := 0; i < 3; i++ {
		if err := s.doc.Undo(); err != nil {
			t.Fatal(err)
		}
	}
	if m := s.doc.Envelope().Manifest; len(m.Common.Dependencies) != 0 || len(m.Common.Components) != 1 || len(s.doc.Envelope().Integrated) != 0 {
		t.Fatal("undo did not remove the dependency")
	}
}

func TestAddDependencyUnsignedRefused(t *testing.T) {
	s := newTestStudio(t)
	s.SetDocument(app.NewDocument(model.Example1(), s.State))
	b, err := suit.Encode(model.Example0())
	if err != nil {
		t.Fatal(err)
	}
	s.editor.depURI = "coaps://example.com/dep.suit"
	before := s.doc.UndoDescription()
	if s.editor.AddDependency("dep.suit", b) {
		t.Fatal("an unsigned dependency was added")
	}
	if len(s.doc.Envelope().Manifest.Common.Dependencies) != 0 || s.doc.UndoDescription() != before {
		t.Fatal("a refused dependency changed the document or its history")
	}
	_, signed, _ := signedDependencyFile(t)
	if !s.editor.AddDependency("dep.suit", signed) {
		t.Fatal("a signed dependency by URI was refused")
	}
	if n := app.Dependencies(s.doc.Envelope()); len(n) != 1 || n[0].URI != "coaps://example.com/dep.suit" {
		t.Fatalf("dependency by URI: %+v", n)
	}
}

// A dependency written as source (YAML), signed in the card with its author's key (a PEM file),
// fetched by URI: the signed envelope is written beside it and verifies with that key only.
func TestAddDependencySignedWithItsOwnKey(t *testing.T) {
	s := newTestStudio(t)
	s.SetDocument(app.NewDocument(model.Example1(), s.State))
	dir := t.TempDir()
	src, err := suit.FormatSource(model.Example1())
	if err != nil {
		t.Fatal(err)
	}
	depPath := filepath.Join(dir, "radio.yaml")
	if err := os.WriteFile(depPath, src, 0o600); err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "radio-author.pem")
	if err := signer.GenerateFile(keyPath, signer.P256); err != nil {
		t.Fatal(err)
	}
	s.editor.Select(pathComponents)
	s.editor.depKey.entry.SetText(keyPath)
	s.editor.depURI = "coaps://updates.example.com/radio.signed.suit"
	s.editor.addDependencyFile(depPath)
	s.Wait()

	signedPath := filepath.Join(dir, "radio.signed.suit")
	signed, err := os.ReadFile(signedPath)
	if err != nil {
		t.Fatalf("the signed dependency was not written: %v", err)
	}
	priv, err := signer.LoadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	pub := priv.(signer.Key).Public()
	v, err := suit.Verify(signed, []suit.VerifyKey{{Name: "radio author", Public: pub}})
	if err != nil || !v.ManifestAuthentic {
		t.Fatalf("the written dependency does not verify with its author's key: %v", err)
	}
	nodes := app.Dependencies(s.doc.Envelope())
	if len(nodes) != 1 || nodes[0].URI != s.editor.depURI || nodes[0].Digest == nil || !bytes.Equal(nodes[0].Digest.Bytes, v.ComputedDigest) {
		t.Fatalf("dependency %+v, want digest %x", nodes, v.ComputedDigest)
	}
	// Adding the same file again would overwrite the signed one: refused, nothing changes.
	before := s.doc.UndoDescription()
	s.editor.addDependencyFile(depPath)
	s.Wait()
	if len(app.Dependencies(s.doc.Envelope())) != 1 || s.doc.UndoDescription() != before {
		t.Fatal("a second add over an existing signed file changed the document")
	}
}
