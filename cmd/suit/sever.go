package main

import (
	"fmt"
	"strings"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/suit"
)

func init() {
	register(&command{
		name:    "sever",
		usage:   "sever [--member NAME ...] [--keep] [-o OUT] IN",
		summary: "move severable members out of the manifest into digests (payload-fetch, install, text, ...)",
		run:     runSever,
	})
}

func runSever(env *cmdEnv, args []string) error {
	fs := newFlags(env, commands["sever"])
	var members multiFlag
	fs.Var(&members, "member", "member to sever: "+strings.Join(suit.SeverableMembers, ", ")+"; repeatable (default: every one present)")
	keep := fs.Bool("keep", false, "keep the severed content in the envelope (default: remove it, as in the draft's example 2)")
	out := outputFlag(fs, "o", "output file (- for standard output)", nil)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := out.check(); err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("run 'suit help sever'", "sever takes one IN file")
	}
	data, err := readCBOR(env, pos[0])
	if err != nil {
		return err
	}
	res, err := app.SeverEnvelope(data, members, *keep)
	if err != nil {
		if _, ok := err.(*suit.DecodeError); ok {
			return decodeErr(pos[0], err)
		}
		return usageErr("severable members: "+strings.Join(suit.SeverableMembers, ", "), "%v", err)
	}
	if len(res.Severed) == 0 {
		fmt.Fprintf(env.stderr, "suit: nothing to sever in %s\n", pos[0])
	} else {
		fmt.Fprintf(env.stderr, "suit: severed %s\n", strings.Join(res.Severed, ", "))
	}
	if res.DroppedSignatures > 0 {
		fmt.Fprintf(env.stderr, "suit: warning: the manifest changed, so %d signature(s) no longer apply and were removed\n", res.DroppedSignatures)
		fmt.Fprintf(env.stderr, "suit: hint: sign the severed envelope again: suit sign --key KEY\n")
	}
	return out.write(env, res.Bytes, true)
}
