// Package atomicfile is the one way SUIT Studio writes a file: whole or not at all, and never over
// an existing file unless the caller says so.
//
// Data goes to a temporary file in the target's folder, named
//
//	.NAME.suit-tmp-PID-RANDOM
//
// which is synced and then renamed into place (Replace) or hard-linked into place (Create: the link
// fails if the name exists, even when it appeared meanwhile, so nothing is overwritten). A process
// killed between the two steps leaves its temporary file behind; the name says whose it is, so every
// later write into the same folder removes the leftovers of processes that are gone (or that are
// older than an hour, in case the PID was reused).
//
// A target that exists and is not a regular file or a link to one (a character device such as
// /dev/null or /dev/stdout, a named pipe) is written directly: there is nothing to replace.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrExists: the target exists and the write was not allowed to replace it.
var ErrExists = errors.New("file exists")

// Mode says what to do when the target exists.
type Mode int

const (
	// Create refuses to replace an existing file (ErrExists).
	Create Mode = iota
	// Replace replaces an existing file atomically.
	Replace
)

// Marker is in the name of every temporary file this package makes.
const Marker = ".suit-tmp-"

// StaleAge: a temporary file older than this is removed even when its PID is alive (reused PID).
const StaleAge = time.Hour

// maxNamePart keeps ".NAME.suit-tmp-PID-RANDOM" within the 255 bytes most file systems allow.
const maxNamePart = 120

// Write writes data to name with permission perm (before the umask), atomically. With Create an
// existing name is left untouched and the error wraps ErrExists (and fs.ErrExist).
func Write(name string, data []byte, perm fs.FileMode, mode Mode) error {
	dir := filepath.Dir(name)
	if st, err := os.Stat(name); err == nil {
		if st.IsDir() {
			return &fs.PathError{Op: "write", Path: name, Err: errors.New("is a directory")}
		}
		if !st.Mode().IsRegular() {
			return writeDirect(name, data)
		}
		if mode == Create {
			return existsErr(name)
		}
	}
	CleanStale(dir)
	tmp, err := createTemp(dir, filepath.Base(name), perm)
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if testHookBeforeCommit != nil {
		testHookBeforeCommit(tmpName)
	}
	if mode == Create {
		err = os.Link(tmpName, name)
		switch {
		case err == nil:
			os.Remove(tmpName)
		case errors.Is(err, fs.ErrExist):
			return existsErr(name)
		default:
			// A file system without hard links: check once more, then rename.
			if _, serr := os.Lstat(name); serr == nil {
				return existsErr(name)
			}
			if err := os.Rename(tmpName, name); err != nil {
				return err
			}
		}
	} else if err := os.Rename(tmpName, name); err != nil {
		return err
	}
	done = true
	syncDir(dir)
	return nil
}

// testHookBeforeCommit, when set by a test, runs between writing the temporary file and renaming it.
var testHookBeforeCommit func(tmp string)

func existsErr(name string) error {
	return &fs.PathError{Op: "write", Path: name, Err: ErrExists}
}

// IsExists reports whether err says the target existed.
func IsExists(err error) bool { return errors.Is(err, ErrExists) }

// writeDirect writes into an existing non-regular file (a device or a pipe).
func writeDirect(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func createTemp(dir, base string, perm fs.FileMode) (*os.File, error) {
	if len(base) > maxNamePart {
		base = base[:maxNamePart]
	}
	prefix := "." + base + Marker + strconv.Itoa(os.Getpid()) + "-"
	for range 100 {
		var r [6]byte
		rand.Read(r[:])
		f, err := os.OpenFile(filepath.Join(dir, prefix+hex.EncodeToString(r[:])), os.O_RDWR|os.O_CREATE|os.O_EXCL, perm.Perm())
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, err
	}
	return nil, fmt.Errorf("cannot create a temporary file in %s", dir)
}

// TempPID returns the PID in a temporary file name this package made, and whether it is one.
func TempPID(name string) (int, bool) {
	base := filepath.Base(name)
	if !strings.HasPrefix(base, ".") {
		return 0, false
	}
	i := strings.LastIndex(base, Marker)
	if i < 0 {
		return 0, false
	}
	rest := base[i+len(Marker):]
	pid, rnd, ok := strings.Cut(rest, "-")
	if !ok || len(rnd) != 12 {
		return 0, false
	}
	if _, err := hex.DecodeString(rnd); err != nil {
		return 0, false
	}
	n, err := strconv.Atoi(pid)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// CleanStale removes the temporary files in dir left by processes that no longer run, or older
// than StaleAge. It returns how many it removed; errors are ignored (it is housekeeping).
func CleanStale(dir string) int {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	self := os.Getpid()
	n := 0
	for _, e := range entries {
		if !e.Type().IsRegular() || !strings.Contains(e.Name(), Marker) {
			continue
		}
		pid, ok := TempPID(e.Name())
		if !ok {
			continue
		}
		stale := pid != self && !processAlive(pid)
		if !stale {
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > StaleAge {
				stale = true
			}
		}
		if stale && os.Remove(filepath.Join(dir, e.Name())) == nil {
			n++
		}
	}
	return n
}
