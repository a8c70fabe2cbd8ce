// Command suit is the headless command line of SUIT Studio: it inspects, creates, signs,
// verifies and severs SUIT envelopes (draft-ietf-suit-manifest-37), makes RFC 4108 firmware
// packages, simulates a Class 1 device and pushes updates over MCUmgr SMP.
//
// Output rules: results go to standard output; messages go to standard error as
// "suit: error: ..." followed by "suit: hint: ..."; exit codes are documented in the README
// (0 success, 1 a negative verdict such as a failed verification, 2 unusable input or arguments,
// 3 a simulated power cut).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Exit codes.
const (
	exitOK       = 0
	exitNegative = 1 // the answer is "no": not authentic, refused by the device, ...
	exitUsage    = 2 // unusable input or arguments
	exitPowerCut = 3
)

// command is one subcommand. Each lives in its own file and registers itself in init().
type command struct {
	name    string
	usage   string // one line: "show [--source | --diag | --json] [--key PUB ...] FILE"
	summary string
	run     func(env *cmdEnv, args []string) error
}

var commands = map[string]*command{}

func register(c *command) {
	if _, dup := commands[c.name]; dup {
		panic("suit: duplicate command " + c.name)
	}
	commands[c.name] = c
}

// cmdEnv is what a command may touch: its streams and the environment. Tests run commands in-process.
type cmdEnv struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// stdoutTTY reports whether stdout is a terminal (binary output to a terminal is refused).
	stdoutTTY bool
	// stdinTTY reports whether stdin is a terminal (for PIN prompts).
	stdinTTY bool
	getenv   func(string) string
}

// cliError is an error with a hint and an exit code.
type cliError struct {
	code int
	msg  string
	hint string
	err  error
}

func (e *cliError) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

func (e *cliError) Unwrap() error { return e.err }

// usageErr reports unusable arguments or input (exit 2).
func usageErr(hint string, format string, args ...any) error {
	return &cliError{code: exitUsage, msg: fmt.Sprintf(format, args...), hint: hint}
}

// inputErr wraps an error about unusable input (exit 2).
func inputErr(err error, hint string, format string, args ...any) error {
	return &cliError{code: exitUsage, msg: fmt.Sprintf(format, args...), hint: hint, err: err}
}

// negative reports a "no" verdict (exit 1) whose details were already printed.
func negative(hint string, format string, args ...any) error {
	return &cliError{code: exitNegative, msg: fmt.Sprintf(format, args...), hint: hint}
}

// withCode returns an error that exits with code and prints msg.
func withCode(code int, err error, hint string) error {
	return &cliError{code: code, msg: err.Error(), hint: hint}
}

func main() {
	env := &cmdEnv{
		stdin:     os.Stdin,
		stdout:    os.Stdout,
		stderr:    os.Stderr,
		stdoutTTY: isTerminal(os.Stdout),
		stdinTTY:  isTerminal(os.Stdin),
		getenv:    os.Getenv,
	}
	os.Exit(runMain(env, os.Args[1:]))
}

// runMain dispatches to a subcommand and turns its error into messages and an exit code.
func runMain(env *cmdEnv, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) > 1 {
			c := commands[args[1]]
			if c == nil {
				fmt.Fprintf(env.stderr, "suit: error: unknown command %q\n", args[1])
				fmt.Fprintf(env.stderr, "suit: hint: run 'suit help' for the list of commands\n")
				return exitUsage
			}
			fmt.Fprintf(env.stdout, "usage: suit %s\n\n%s\n", c.usage, c.summary)
			return exitOK
		}
		printUsage(env.stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	c := commands[args[0]]
	if c == nil {
		fmt.Fprintf(env.stderr, "suit: error: unknown command %q\n", args[0])
		fmt.Fprintf(env.stderr, "suit: hint: run 'suit help' for the list of commands\n")
		return exitUsage
	}
	err := c.run(env, args[1:])
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var ce *cliError
	if errors.As(err, &ce) {
		printMsg(env.stderr, "error", ce.Error())
		if ce.hint != "" {
			printMsg(env.stderr, "hint", ce.hint)
		}
		return exitCode(err)
	}
	printMsg(env.stderr, "error", err.Error())
	return exitCode(err)
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: suit COMMAND [ARGS]")
	fmt.Fprintln(w, "")
	fmt.Fprintln(w, "SUIT Studio command line: SUIT manifests (draft-ietf-suit-manifest-37), RFC 4108 firmware packages,")
	fmt.Fprintln(w, "a Class 1 device simulator and MCUmgr SMP serial push.")
	fmt.Fprintln(w, "")
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "")
	fmt.Fprintln(w, "Run 'suit help COMMAND' for a command's usage.")
}

// newFlags makes a FlagSet for a command that prints its usage to stderr on errors.
func newFlags(env *cmdEnv, c *command) *flag.FlagSet {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "usage: suit %s\n", c.usage)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, allowing flags after positional arguments (suit show FILE --diag).
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &cliError{code: exitUsage, msg: err.Error(), hint: "run 'suit help " + fs.Name() + "'"}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
		if rest[0] == "--" {
			positional = append(positional[:len(positional)-1], args...)
			return positional, nil
		}
	}
}

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
