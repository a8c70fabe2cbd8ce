package signer

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/term"
)

// TerminalPIN prompts for a PIN on a terminal without echo. in must be a terminal; prompts go to
// out (standard error in the CLI, so they never mix with results on standard output).
func TerminalPIN(in *os.File, out io.Writer) PINSource {
	return PINFunc(func(ctx context.Context, req PINRequest) (string, error) {
		if !term.IsTerminal(int(in.Fd())) {
			return "", fmt.Errorf("%w: standard input is not a terminal; use pin-source=file:PATH or %s", ErrNoPIN, pkcs11EnvPIN)
		}
		if err := ctx.Err(); err != nil {
			return "", err
		}
		if req.Retry {
			fmt.Fprintf(out, "Wrong PIN. ")
		}
		fmt.Fprintf(out, "PIN for token %q: ", req.Token)
		b, err := term.ReadPassword(int(in.Fd()))
		fmt.Fprintln(out)
		if err != nil {
			return "", err
		}
		return string(b), nil
	})
}

// warnedPINFiles remembers the pin-source files already warned about: one warning per file.
var warnedPINFiles sync.Map

// warnPINFileOnce warns, once per file, that a pin-source file can be read by group or others.
func warnPINFileOnce(path string, perm os.FileMode, warn func(string)) {
	if _, done := warnedPINFiles.LoadOrStore(path, true); done {
		return
	}
	who := "group and others"
	switch {
	case perm&0o040 == 0:
		who = "others"
	case perm&0o004 == 0:
		who = "its group"
	}
	warn(fmt.Sprintf("pin-source file %q (mode %04o) is readable by %s: restrict it with chmod 600", path, uint32(perm), who))
}

func (o LoadOptions) warn(msg string) {
	if o.Warn != nil {
		o.Warn(msg)
		return
	}
	fmt.Fprintln(os.Stderr, "warning: "+msg)
}
