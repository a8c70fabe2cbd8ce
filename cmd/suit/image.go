package main

import (
	"encoding/hex"
	"fmt"

	"github.com/suit-studio/suit-studio/app"
)

func init() {
	register(&command{
		name:    "image",
		usage:   "image list|confirm [--hash HEX]|erase [--slot N]|reset [--force] --port PORT [--baud N]",
		summary: "read or change a device's image slots over MCUmgr SMP",
		run:     runImage,
	})
}

func runImage(env *cmdEnv, args []string) error {
	c := commands["image"]
	if len(args) == 0 {
		return usageErr("run 'suit help image'", "image needs a subcommand: list, confirm, erase or reset")
	}
	sub := args[0]
	fs := newFlags(env, c)
	pf := addPortFlags(fs)
	hashHex := fs.String("hash", "", "confirm: the image's hash (default: the uploaded candidate)")
	slot := fs.Int("slot", -1, "erase: the slot (default: the device's candidate slot)")
	force := fs.Bool("force", false, "reset: even if the device says it is busy")
	pos, err := parseFlags(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErr("run 'suit help image'", "unexpected argument %q", pos[0])
	}
	po, err := pf.options("image " + sub)
	if err != nil {
		return err
	}
	ctx, cancel := interruptible()
	defer cancel()
	switch sub {
	case "list":
		imgs, err := app.ImageList(ctx, *pf.port, po)
		if err != nil {
			return deviceErr(err, "image list")
		}
		if len(imgs) == 0 {
			fmt.Fprintln(env.stdout, "no images")
		}
		for _, im := range imgs {
			fmt.Fprintf(env.stdout, "image %d slot %d: version %s hash %x%s\n", im.Image, im.Slot, im.Version, im.Hash, flags(im))
		}
	case "confirm":
		var h []byte
		if *hashHex != "" {
			if h, err = hex.DecodeString(*hashHex); err != nil {
				return usageErr("give the hash 'suit image list' prints", "--hash is not hex: %v", err)
			}
		}
		imgs, err := app.Confirm(ctx, *pf.port, h, po)
		if err != nil {
			return deviceErr(err, "image confirm")
		}
		for _, im := range imgs {
			fmt.Fprintf(env.stdout, "image %d slot %d: version %s hash %x%s\n", im.Image, im.Slot, im.Version, im.Hash, flags(im))
		}
	case "erase":
		if err := app.Erase(ctx, *pf.port, *slot, po); err != nil {
			return deviceErr(err, "image erase")
		}
		fmt.Fprintln(env.stdout, "erased")
	case "reset":
		if err := app.Reset(ctx, *pf.port, *force, po); err != nil {
			return deviceErr(err, "reset")
		}
		fmt.Fprintln(env.stdout, "reset")
	default:
		return usageErr("run 'suit help image'", "unknown image subcommand %q (want list, confirm, erase or reset)", sub)
	}
	return nil
}
