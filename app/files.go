package app

import (
	"fmt"
	"os"

	"github.com/suit-studio/suit-studio/internal/atomicfile"
)

// ErrExists: the file to write exists and replacing it was not allowed (the command line's
// --force, or the studio's "Replace?" question).
var ErrExists = atomicfile.ErrExists

// WriteFile writes data to name atomically (a temporary file in the same folder, synced, then
// renamed or linked into place), so a failure never leaves half a file. An existing file is
// replaced only when overwrite is set; otherwise the error wraps ErrExists and the file is left
// as it was. Every file the studio and the command line write goes through here.
func WriteFile(name string, data []byte, perm os.FileMode, overwrite bool) error {
	mode := atomicfile.Create
	if overwrite {
		mode = atomicfile.Replace
	}
	return atomicfile.Write(name, data, perm, mode)
}

// WriteFileAtomic replaces name with data atomically: for the studio's own files (state,
// recovery, its temporary folder) and for saving a document to its own path.
func WriteFileAtomic(name string, data []byte, perm os.FileMode) error {
	return WriteFile(name, data, perm, true)
}

// WriteExport writes an export (0644); overwrite as for WriteFile.
func WriteExport(path string, data []byte, overwrite bool) error {
	if err := WriteFile(path, data, 0o644, overwrite); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}

// FileExists reports whether name exists (a question to ask before writing without overwrite).
func FileExists(name string) bool {
	_, err := os.Lstat(name)
	return err == nil
}
