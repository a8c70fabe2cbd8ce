package ui

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// suit-studio -view inspector FILE: Start returns at once (the window must be shown for the
// opening to complete: waiting for it first was a deadlock), then the inspector shows the file's
// own bytes and the ready callback runs.
func TestStartViewInspectorWithFile(t *testing.T) {
	s := newTestStudio(t)
	data := bigEnvelope(t, 256<<10)
	file := filepath.Join(t.TempDir(), "big.suit")
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	returned := make(chan struct{})
	go func() {
		s.Start(file, false, ViewInspector, func() { close(ready) })
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("Start blocks")
	}
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		t.Fatal("the inspector view never became ready")
	}
	s.Wait()
	if s.tabs.SelectedIndex() != 2 || s.inspector.in == nil || len(s.inspector.in.Data) != len(data) || s.inspector.file != file {
		t.Fatalf("tab %d, inspected %v", s.tabs.SelectedIndex(), s.inspector.file)
	}
	if s.doc.Path() != file {
		t.Errorf("the file is not the open document (%q)", s.doc.Path())
	}
}
