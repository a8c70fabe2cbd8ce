package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"

	"github.com/suit-studio/suit-studio/app"
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
	if d, ok := app.DecodeHexText(b); ok {
		return d, nil
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, usageErr("give a SUIT envelope as binary CBOR or hex text", "%s is empty", name)
	}
	return b, nil
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
	if err := app.WriteFileAtomic(name, data, 0o644); err != nil {
		return inputErr(err, "check that the directory exists and is writable", "cannot write %s", name)
	}
	return nil
}

func printf(w io.Writer, format string, args ...any) { fmt.Fprintf(w, format, args...) }
