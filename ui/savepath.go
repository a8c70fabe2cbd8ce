package ui

import (
	"os"
	"path/filepath"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// Exports are written to a full path the user sees and can choose in a save dialog, never to a
// path relative to the folder the studio happened to be started from.

// exportDir is the folder an export goes to by default: the document's folder, else the
// user's home folder.
func exportDir(docPath string) string {
	if docPath != "" {
		if abs, err := filepath.Abs(filepath.Dir(docPath)); err == nil {
			return abs
		}
	}
	if h, err := os.UserHomeDir(); err == nil && h != "" {
		return h
	}
	abs, _ := filepath.Abs(".")
	return abs
}

// fullPath is p with ~ expanded and, when relative, taken in dir.
func fullPath(p, dir string) string {
	p = expandHome(strings.TrimSpace(p))
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// savePathField is entry with a "Choose…" button that opens a save dialog in the entry's folder
// and puts the full path chosen into the entry.
func savePathField(w fyne.Window, entry *widget.Entry, dir string) fyne.CanvasObject {
	choose := widget.NewButtonWithIcon("Choose…", theme.FolderOpenIcon(), func() {
		cur := fullPath(entry.Text, dir)
		d := dialog.NewFileSave(func(wc fyne.URIWriteCloser, err error) {
			if err != nil || wc == nil {
				return
			}
			wc.Close()
			// The dialog made an empty file: the export replaces it (atomically) or it goes.
			p := wc.URI().Path()
			if fi, err := os.Stat(p); err == nil && fi.Size() == 0 {
				os.Remove(p)
			}
			entry.SetText(p)
		}, w)
		if cur != "" {
			d.SetFileName(filepath.Base(cur))
			if l, err := storage.ListerForURI(storage.NewFileURI(filepath.Dir(cur))); err == nil {
				d.SetLocation(l)
			}
		}
		d.Resize(fyne.NewSize(900, 600))
		d.Show()
	})
	return container.NewBorder(nil, nil, nil, choose, entry)
}
