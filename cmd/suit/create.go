package main

import (
	"errors"
	"fmt"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
)

func init() {
	register(&command{
		name:    "create",
		usage:   "create [--force] [--allow-outside] [-o OUT] SOURCE",
		summary: "build an unsigned envelope from a YAML/JSON source file (see 'suit show --source')",
		run:     runCreate,
	})
}

func runCreate(env *cmdEnv, args []string) error {
	fs := newFlags(env, commands["create"])
	force := fs.Bool("force", false, "write the envelope even when validation finds errors, and replace an existing output file")
	out := outputFlag(fs, "o", "output file (- for standard output)", force)
	allowOutside := fs.Bool("allow-outside", false, "let file names in the source leave its folder (absolute paths, .., links out): only for a source you trust")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := out.check(); err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("run 'suit help create'", "create takes one SOURCE file")
	}
	src, err := readInput(env, pos[0], app.TextInput)
	if err != nil {
		return err
	}
	data, findings, err := app.CreateWith(src, suit.SourceOptions{BaseDir: baseDirOf(pos[0]), AllowOutside: *allowOutside}, *force)
	printFindings(env, findings)
	if errors.Is(err, app.ErrInvalidManifest) {
		n := 0
		for _, f := range findings {
			if f.Severity == model.Error {
				n++
			}
		}
		return usageErr("fix the errors above, or pass --force to write it anyway", "%s: %d validation error(s)", pos[0], n)
	}
	if err != nil {
		return decodeErr(pos[0], err)
	}
	return out.write(env, data, true)
}

// maxPrintedFindings: a source with thousands of errors gets the first few dozen, then a count.
const maxPrintedFindings = 30

// printFindings prints errors first, then warnings and notes, at most maxPrintedFindings.
func printFindings(env *cmdEnv, findings []model.Finding) {
	ordered := make([]model.Finding, 0, len(findings))
	for _, f := range findings {
		if f.Severity == model.Error {
			ordered = append(ordered, f)
		}
	}
	for _, f := range findings {
		if f.Severity != model.Error {
			ordered = append(ordered, f)
		}
	}
	for i, f := range ordered {
		if i == maxPrintedFindings {
			fmt.Fprintf(env.stderr, "suit: ... and %d more findings\n", len(ordered)-i)
			break
		}
		fmt.Fprintf(env.stderr, "suit: %s: %s: %s\n", f.Severity, f.Path, f.Message)
		if f.Hint != "" {
			fmt.Fprintf(env.stderr, "suit: hint: %s\n", f.Hint)
		}
	}
}
