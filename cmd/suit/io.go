package main

import (
	"bytes"
	"errors"
	"flag"
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

// output is a command's -o FILE with its --force: every command that writes a file uses one, so
// that no command replaces an existing file unless told to.
type output struct {
	name  *string
	force *bool
	flag  string // "-o", or the flag that names the file ("--receipt")
}

// outputFlag registers -o (or the named flag) and --force. A command whose --force already means
// more (create: also write an envelope with validation errors) passes it in.
func outputFlag(fs *flag.FlagSet, name, usage string, force *bool) *output {
	o := &output{name: fs.String(name, "", usage), force: force, flag: "--" + name}
	if name == "o" {
		o.flag = "-o"
	}
	if force == nil {
		o.force = fs.Bool("force", false, "replace an existing output file")
	}
	return o
}

// check refuses an existing output file before any work is done (a PIN asked, a key generated).
func (o *output) check() error {
	return checkOutput(*o.name, *o.force)
}

func (o *output) write(env *cmdEnv, data []byte, binary bool) error {
	return writeOutput(env, *o.name, data, binary, *o.force)
}

func checkOutput(name string, force bool) error {
	if name == "" || name == "-" || force {
		return nil
	}
	if st, err := os.Stat(name); err == nil && st.Mode().IsRegular() {
		return existsErr(name)
	}
	return nil
}

func existsErr(name string) error {
	return &cliError{code: exitUsage, msg: fmt.Sprintf("%s exists", name), hint: "pass --force to replace it, or choose another name", err: nil}
}

// writeOutput writes data to name ("-" or "" = standard output). Binary data to a terminal is
// refused. Files are written with atomicfile (a temporary file renamed into place: never half a
// file, never a leftover after a crash), and an existing file is replaced only with force.
func writeOutput(env *cmdEnv, name string, data []byte, binary, force bool) error {
	if name == "" || name == "-" {
		if binary && env.stdoutTTY && name == "" {
			return usageErr("give -o FILE, or pipe the output (use -o - to force)", "refusing to write binary CBOR to a terminal")
		}
		_, err := env.stdout.Write(data)
		return err
	}
	if err := app.WriteFile(name, data, 0o644, force); err != nil {
		if errors.Is(err, app.ErrExists) {
			return existsErr(name)
		}
		return inputErr(err, "check that the directory exists and is writable", "cannot write %s", name)
	}
	return nil
}

func printf(w io.Writer, format string, args ...any) { fmt.Fprintf(w, format, args...) }
