package signer

import (
	"context"
	"fmt"
	"io"
	"os"

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
