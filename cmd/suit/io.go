package main

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"
)

func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// readInput reads FILE ("-" = standard input) and returns its bytes.
func readInput(env *cmdEnv, name string) ([]byte, error) {
	var (
		b   []byte
		err error
	)
	if name == "-" {
		b, err = io.ReadAll(io.LimitReader(env.stdin, maxInput+1))
	} else {
		b, err = readFileLimited(name)
	}
	if err != nil {
		return nil, inputErr(err, "check the file name and its permissions", "cannot read %s", name)
	}
	if len(b) > maxInput {
		return nil, usageErr("", "%s is larger than %d bytes", name, maxInput)
	}
	return b, nil
}

const maxInput = 64 << 20

func readFileLimited(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxInput+1))
}

// readCBOR reads FILE as binary CBOR or as hex text (the spec's vectors are hex) and returns binary CBOR.
func readCBOR(env *cmdEnv, name string) ([]byte, error) {
	b, err := readInput(env, name)
	if err != nil {
		return nil, err
	}
	if d, ok := decodeHexText(b); ok {
		return d, nil
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, usageErr("give a SUIT envelope as binary CBOR or hex text", "%s is empty", name)
	}
	return b, nil
}

// decodeHexText decodes b when it is hex text (whitespace allowed, optional 0x prefix).
func decodeHexText(b []byte) ([]byte, bool) {
	s := strings.TrimSpace(string(b))
	s = strings.TrimPrefix(s, "0x")
	if s == "" {
		return nil, false
	}
	var clean strings.Builder
	for _, r := range s {
		switch {
		case r == ' ' || r == '\n' || r == '\r' || r == '\t':
			continue
		case (r >= '0' && r <= '9') || (r >= 'a' && r <= 'f') || (r >= 'A' && r <= 'F'):
			clean.WriteRune(r)
		default:
			return nil, false
		}
	}
	if clean.Len()%2 != 0 {
		return nil, false
	}
	d, err := hex.DecodeString(clean.String())
	if err != nil {
		return nil, false
	}
	return d, true
}

// writeOutput writes data to name ("-" or "" = standard output). Binary data to a terminal is
// refused. Files are written to a temporary file and renamed, so a failure never leaves half a file.
func writeOutput(env *cmdEnv, name string, data []byte, binary bool) error {
	if name == "" || name == "-" {
		if binary && env.stdoutTTY && name == "" {
			return usageErr("give -o FILE, or pipe the output (use -o - to force)", "refusing to write binary CBOR to a terminal")
		}
		_, err := env.stdout.Write(data)
		return err
	}
	if err := writeFileAtomic(name, data, 0o644); err != nil {
		return inputErr(err, "check that the directory exists and is writable", "cannot write %s", name)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file in the same directory and renames it into place.
func writeFileAtomic(name string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		return err
	}
	ok = true
	return nil
}

func printf(w io.Writer, format string, args ...any) { fmt.Fprintf(w, format, args...) }
