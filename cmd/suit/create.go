package main

import (
	"errors"
	"fmt"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/model"
)

func init() {
	register(&command{
		name:    "create",
		usage:   "create [--force] [-o OUT] SOURCE",
		summary: "build an unsigned envelope from a YAML/JSON source file (see 'suit show --source')",
		run:     runCreate,
	})
}

func runCreate(env *cmdEnv, args []string) error {
	fs := newFlags(env, commands["create"])
	force := fs.Bool("force", false, "write the envelope even when validation finds errors, and replace an existing output file")
	out := outputFlag(fs, "o", "output file (- for standard output)", force)
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
	src, err := readInput(env, pos[0])
	if err != nil {
		return err
	}
	data, findings, err := app.Create(src, baseDirOf(pos[0]), *force)
	for _, f := range findings {
		fmt.Fprintf(env.stderr, "suit: %s: %s: %s\n", f.Severity, f.Path, f.Message)
		if f.Hint != "" {
			fmt.Fprintf(env.stderr, "suit: hint: %s\n", f.Hint)
		}
	}
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
