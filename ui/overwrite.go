package ui

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"

	"github.com/suit-studio/suit-studio/app"
)

// confirmReplace runs write(false) when none of paths exists; otherwise it asks whether to replace
// them and runs write(true) only on yes. The writers refuse an existing file unless told to
// replace it (app.WriteFile), so nothing is overwritten without this question.
func confirmReplace(win fyne.Window, paths []string, write func(overwrite bool)) {
	var existing []string
	for _, p := range paths {
		if p != "" && app.FileExists(p) {
			existing = append(existing, p)
		}
	}
	if len(existing) == 0 {
		write(false)
		return
	}
	dialog.ShowConfirm("Replace the file?", strings.Join(existing, "\n")+"\nalready exists. Replace it?", func(yes bool) {
		if yes {
			write(true)
		}
	}, win)
}
