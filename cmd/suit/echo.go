package main

import (
	"fmt"
	"strings"

	"github.com/suit-studio/suit-studio/app"
)

func init() {
	register(&command{
		name:    "echo",
		usage:   "echo --port PORT [--baud N] [--timeout D] TEXT",
		summary: "send TEXT to a device over MCUmgr SMP and print its echo (is the link alive?)",
		run:     runEcho,
	})
}

func runEcho(env *cmdEnv, args []string) error {
	fs := newFlags(env, commands["echo"])
	pf := addPortFlags(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usageErr("write suit echo --port PORT hello", "echo needs TEXT")
	}
	po, err := pf.options("echo")
	if err != nil {
		return err
	}
	ctx, cancel := interruptible()
	defer cancel()
	r, err := app.Echo(ctx, *pf.port, strings.Join(pos, " "), po)
	if err != nil {
		return deviceErr(err, "echo")
	}
	fmt.Fprintln(env.stdout, r)
	return nil
}
