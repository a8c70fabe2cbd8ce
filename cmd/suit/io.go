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

// readInput reads FILE ("-" = standard input) of the given kind and returns its bytes. A regular
// file larger than the cap is refused by its size; a pipe or a device is refused at the first
// bytes that cannot start that kind of input (app.ReadInput).
func readInput(env *cmdEnv, name string, kind app.InputKind) ([]byte, error) {
	var (
		b   []byte
		err error
	)
	if name == "-" {
		b, err = app.ReadInput(env.stdin, kind, maxInput)
	} else {
		b, err = app.ReadInputFile(name, kind, maxInput)
	}
	switch {
	case errors.Is(err, app.ErrTooLarge):
		return nil, inputErr(err, "", "%s is too large", name)
	case errors.Is(err, app.ErrNotInput):
		return nil, inputErr(err, kindHint[kind], "cannot use %s", name)
	case err != nil:
		return nil, inputErr(err, "check the file name and its permissions", "cannot read %s", name)
	}
	return b, nil
}

var kindHint = map[app.InputKind]string{
	app.EnvelopeInput:          "suit takes a SUIT envelope as binary CBOR or hex text; a source file goes to 'suit create'",
	app.EnvelopeOrPackageInput: "give a SUIT envelope or an RFC 4108 package, binary or hex text",
	app.PackageInput:           "give a DER RFC 4108 firmware package",
	app.TextInput:              "give a YAML or JSON source ('suit show --source' prints one for any envelope)",
}

const maxInput = 64 << 20

// readCBOR reads FILE as binary CBOR or as hex text (the spec's vectors are hex) and returns binary CBOR.
func readCBOR(env *cmdEnv, name string) ([]byte, error) {
	return readEnvelope(env, name, app.EnvelopeInput)
}

// readEnvelope is readCBOR for a kind that may also be an RFC 4108 package.
func readEnvelope(env *cmdEnv, name string, kind app.InputKind) ([]byte, error) {
	b, err := readInput(env, name, kind)
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
