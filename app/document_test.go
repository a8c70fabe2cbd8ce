package app

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
)

// vectors is the official test vectors directory, beside the module root.
const vectors = "../../shared/spec/vectors"

func readVector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectors, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUndoRedo(t *testing.T) {
	d := NewDocument(model.Example1(), nil)
	if d.Modified() || d.Title() != "Untitled" {
		t.Fatalf("new document: modified=%v title=%q", d.Modified(), d.Title())
	}
	changes := 0
	d.OnChange(func() { changes++ })
	d.Apply("Set sequence number", func(env *model.Envelope) { env.Manifest.SequenceNumber = 42 })
	d.Apply("Remove install", func(env *model.Envelope) { env.Manifest.Install = model.SeverableSequence{} })
	if !d.Modified() || d.Title() != "*Untitled" || changes != 2 {
		t.Fatalf("after edits: modified=%v title=%q changes=%d", d.Modified(), d.Title(), changes)
	}
	if d.UndoDescription() != "Remove install" {
		t.Errorf("undo description = %q", d.UndoDescription())
	}
	if err := d.Undo(); err != nil {
		t.Fatal(err)
	}
	if d.Envelope().Manifest.Install.Seq == nil || d.Envelope().Manifest.SequenceNumber != 42 {
		t.Fatal("undo did not restore install")
	}
	if err := d.Undo(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(d.Envelope(), model.Example1()) {
		t.Fatal("two undos do not give the original value")
	}
	if err := d.Undo(); !errors.Is(err, ErrNothingToUndo) {
		t.Fatalf("third undo: %v", err)
	}
	if err := d.Redo(); err != nil || d.Envelope().Manifest.SequenceNumber != 42 {
		t.Fatalf("redo: %v, seq %d", err, d.Envelope().Manifest.SequenceNumber)
	}
	// A new edit clears the redo stack.
	d.Apply("x", func(env *model.Envelope) { env.Manifest.SequenceNumber = 7 })
	if err := d.Redo(); !errors.Is(err, ErrNothingToRedo) {
		t.Fatalf("redo after new edit: %v", err)
	}
}

func TestUndoCoalescesTyping(t *testing.T) {
	d := NewDocument(model.Example0(), nil)
	for _, n := range []uint64{1, 12, 123} {
		d.ApplyKeyed("Set sequence number", "seq", func(env *model.Envelope) { env.Manifest.SequenceNumber = n })
	}
	if err := d.Undo(); err != nil {
		t.Fatal(err)
	}
	if got := d.Envelope().Manifest.SequenceNumber; got != 0 {
		t.Fatalf("one undo after typing gives %d, want the value before typing (0)", got)
	}
}

func TestCloneIsDeep(t *testing.T) {
	env, err := suit.Decode(mustHex(t, readVector(t, "example2.hex")))
	if err != nil {
		t.Fatal(err)
	}
	c := CloneEnvelope(env)
	if !reflect.DeepEqual(c, env) {
		t.Fatal("clone differs")
	}
	c.Manifest.Common.Components[0][0][0] = 9
	c.Manifest.Install.Seq.Commands[0].Params[0].Value.Text = "changed"
	c.Auth.Blocks[0][0] = 0
	c.Manifest.Text.Text.Languages[0].Entries[0].Text = "changed"
	if env.Manifest.Common.Components[0][0][0] == 9 || env.Manifest.Install.Seq.Commands[0].Params[0].Value.Text == "changed" ||
		env.Auth.Blocks[0][0] == 0 || env.Manifest.Text.Text.Languages[0].Entries[0].Text == "changed" {
		t.Fatal("changing the clone changed the original")
	}
}

func mustHex(t testing.TB, b []byte) []byte {
	t.Helper()
	d, ok := DecodeHexText(b)
	if !ok {
		t.Fatal("not hex")
	}
	return d
}

// Open -> save -> open again gives an equal document, in every format, for every official example.
func TestOpenSaveOpen(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"example0.hex", "example1.hex", "example2.hex", "example3.hex", "example4.hex", "example5.hex", "example2.severed-signed.hex"} {
		src := filepath.Join(vectors, name)
		d, err := Open(src, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d.Format() != FormatHex {
			t.Errorf("%s: format %v", name, d.Format())
		}
		orig := d.Envelope()
		want, err := suit.Encode(orig)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []struct {
			ext string
			fmt Format
		}{{".suit", FormatEnvelope}, {".yaml", FormatSource}, {".hex", FormatHex}} {
			path := filepath.Join(dir, name+f.ext)
			if err := d.Save(path, f.fmt); err != nil {
				t.Fatalf("%s%s: %v", name, f.ext, err)
			}
			if d.Modified() || d.Path() != path {
				t.Errorf("after save: modified=%v path=%q", d.Modified(), d.Path())
			}
			d2, err := Open(path, nil)
			if err != nil {
				t.Fatalf("reopen %s%s: %v", name, f.ext, err)
			}
			if d2.Format() != f.fmt {
				t.Errorf("%s%s reopened as %v", name, f.ext, d2.Format())
			}
			got, err := suit.Encode(d2.Envelope())
			if err != nil {
				t.Fatal(err)
			}
			if f.fmt == FormatSource {
				// The source form keeps the manifest, severed members and payloads, but not the
				// signatures (they must be made again over the source's manifest).
				m1, _ := suit.EncodeManifest(orig.Manifest)
				m2, err := suit.EncodeManifest(d2.Envelope().Manifest)
				if err != nil || !bytes.Equal(m1, m2) || !reflect.DeepEqual(orig.Integrated, d2.Envelope().Integrated) {
					t.Errorf("%s%s: reopened manifest differs (%v)", name, f.ext, err)
				}
				continue
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s%s: reopened document encodes differently", name, f.ext)
			}
			if f.fmt != FormatSource && !reflect.DeepEqual(d2.Envelope(), orig) {
				t.Errorf("%s%s: reopened model differs", name, f.ext)
			}
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "junk.bin")
	os.WriteFile(bin, []byte{0x00, 0x01, 0x02, 0xff}, 0o644)
	_, err := Open(bin, nil)
	var fe *FileError
	if !errors.As(err, &fe) || !errors.Is(err, ErrUnrecognized) || fe.Hint == "" {
		t.Fatalf("binary junk: %v", err)
	}
	if _, err := Open(filepath.Join(dir, "missing.suit"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	trunc := filepath.Join(dir, "trunc.suit")
	b := mustHex(t, readVector(t, "example0.hex"))
	os.WriteFile(trunc, b[:len(b)/2], 0o644)
	if _, err := Open(trunc, nil); err == nil {
		t.Fatal("truncated envelope opened")
	}
}

func TestSaveIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.suit")
	os.WriteFile(path, []byte("previous"), 0o644)
	d := NewDocument(&model.Envelope{}, nil) // no manifest: cannot encode
	if err := d.Save(path, FormatEnvelope); err == nil {
		t.Fatal("saving an envelope without manifest worked")
	}
	if b, _ := os.ReadFile(path); string(b) != "previous" {
		t.Fatalf("failed save changed the file: %q", b)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(m) != 0 {
		t.Fatalf("temporary files left: %v", m)
	}
}

func TestRecoveryAndRecent(t *testing.T) {
	st := &State{Dir: t.TempDir()}
	d := NewDocument(model.Example1(), st)
	if len(st.Recoveries()) != 0 {
		t.Fatal("recovery file before any edit")
	}
	d.Apply("Set sequence number", func(env *model.Envelope) { env.Manifest.SequenceNumber = 99 })
	if d.RecoveryErr != nil {
		t.Fatal(d.RecoveryErr)
	}
	recs := st.Recoveries()
	if len(recs) != 1 || recs[0].Path != "" || time.Since(recs[0].Time) > time.Minute {
		t.Fatalf("recoveries = %+v", recs)
	}
	// The next session restores it: modified, same value.
	r, err := st.Restore(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !r.Modified() || r.Envelope().Manifest.SequenceNumber != 99 {
		t.Fatalf("restored: modified=%v seq=%d", r.Modified(), r.Envelope().Manifest.SequenceNumber)
	}
	// A clean save removes the recovery file and records the file as recent.
	path := filepath.Join(t.TempDir(), "m.yaml")
	if err := r.Save(path, FormatSource); err != nil {
		t.Fatal(err)
	}
	if n := len(st.Recoveries()); n != 0 {
		t.Fatalf("%d recovery files after save", n)
	}
	if rec := st.Recent(); len(rec) != 1 || rec[0] != path {
		t.Fatalf("recent = %v", rec)
	}
	// Closing a modified document also removes its recovery file (the user chose).
	r.Apply("x", func(env *model.Envelope) { env.Manifest.SequenceNumber = 100 })
	if len(st.Recoveries()) != 1 {
		t.Fatal("no recovery file after edit")
	}
	r.Close()
	if len(st.Recoveries()) != 0 {
		t.Fatal("recovery file left after close")
	}
}

func TestSetIdentityAndImage(t *testing.T) {
	env := model.Example1()
	if err := SetIdentity(env, "example.com", "sensor-v2"); err != nil {
		t.Fatal(err)
	}
	v, c := Identity(env)
	wantC, _ := model.ClassID(model.VendorID("example.com"), "sensor-v2")
	if !bytes.Equal(v, model.VendorID("example.com")) || !bytes.Equal(c, wantC) {
		t.Fatalf("identity = %x %x", v, c)
	}
	img := bytes.Repeat([]byte{0xa5}, 1000)
	if err := SetImage(env, 0, img, ImageSource{URI: "https://fw.example.com/sensor-v2.bin"}); err != nil {
		t.Fatal(err)
	}
	dg, size, ok := ImageOf(env, 0)
	want, _ := suit.Digest(model.AlgSHA256, img)
	if dg == nil || !bytes.Equal(dg.Bytes, want.Bytes) || size != 1000 || !ok {
		t.Fatalf("image = %+v %d %v", dg, size, ok)
	}
	if got := env.Manifest.Install.Seq.Commands[0].Params[0].Value.Text; got != "https://fw.example.com/sensor-v2.bin" {
		t.Errorf("uri = %q", got)
	}
	if fs := suit.Validate(env); model.HasErrors(fs) {
		t.Errorf("findings: %v", fs)
	}
	// Integrated payload: the uri points at "#fw.bin" and the envelope carries the bytes.
	if err := SetImage(env, 0, img, ImageSource{Integrate: true, Name: "fw.bin"}); err != nil {
		t.Fatal(err)
	}
	if len(env.Integrated) != 1 || env.Integrated[0].Key != "#fw.bin" || !bytes.Equal(env.Integrated[0].Data, img) {
		t.Fatalf("integrated = %+v", env.Integrated)
	}
	if got := env.Manifest.Install.Seq.Commands[0].Params[0].Value.Text; got != "#fw.bin" {
		t.Errorf("uri = %q", got)
	}
	if err := SetImage(env, 3, img, ImageSource{}); err == nil {
		t.Error("component 3 of 1 accepted")
	}
	if err := SetIdentity(env, " ", ""); err == nil {
		t.Error("empty domain accepted")
	}
}

func TestSetIdentityAddsCompatibilityCheck(t *testing.T) {
	env := &model.Envelope{Manifest: &model.Manifest{Version: 1, Common: model.Common{Components: []model.ComponentID{{{0}}}}}}
	if err := SetIdentity(env, "example.com", "m"); err != nil {
		t.Fatal(err)
	}
	cmds := env.Manifest.Common.SharedSequence.Commands
	if len(cmds) != 3 || cmds[0].Label != model.DirOverrideParameters || cmds[1].Label != model.CondVendorIdentifier || cmds[2].Label != model.CondClassIdentifier {
		t.Fatalf("shared sequence = %+v", cmds)
	}
}

func TestSequenceNumbers(t *testing.T) {
	ts, next := SequenceNumbers(41, time.Unix(1700000000, 0))
	if ts != 1700000000 || next != 42 {
		t.Fatalf("got %d %d", ts, next)
	}
}

// With a large integrated payload the recovery file is written in the background (typing stays
// fluid), it still arrives, and closing the document leaves none behind even while one is being
// written.
func TestRecoveryLargePayloadInBackground(t *testing.T) {
	st := &State{Dir: t.TempDir()}
	env := model.Example1()
	payload := bytes.Repeat([]byte{0x5a, 0xa5}, 64<<10) // 128 KiB: past recoveryInlineLimit
	if err := SetImage(env, 0, payload, ImageSource{Integrate: true, Name: "fw.bin"}); err != nil {
		t.Fatal(err)
	}
	d := NewDocument(env, st)
	d.Apply("Set sequence number", func(env *model.Envelope) { env.Manifest.SequenceNumber = 7 })
	deadline := time.Now().Add(20 * time.Second)
	for len(st.Recoveries()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no recovery file")
		}
		time.Sleep(20 * time.Millisecond)
	}
	r, err := st.Restore(st.Recoveries()[0])
	if err != nil {
		t.Fatal(err)
	}
	if r.Envelope().Manifest.SequenceNumber != 7 || len(r.Envelope().Integrated) != 1 || !bytes.Equal(r.Envelope().Integrated[0].Data, payload) {
		t.Fatal("the recovered document differs")
	}
	for i := 0; i < 3; i++ {
		d.Apply("edit", func(env *model.Envelope) { env.Manifest.SequenceNumber = uint64(8 + i) })
	}
	d.Close()
	if n := len(st.Recoveries()); n != 0 {
		t.Fatalf("%d recovery files after close", n)
	}
}
