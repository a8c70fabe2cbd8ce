package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/mcuboot"
	"github.com/suit-studio/suit-studio/transport"
)

func init() {
	register(&command{
		name:    "push",
		usage:   "push --port PORT [--baud N] [--no-confirm] [--no-reset] [--test] [--timeout D] [--line N] [--wait D] FILE",
		summary: "upload an envelope or an MCUboot image to a device over MCUmgr SMP (serial), confirm it and reset the device",
		run:     runPush,
	})
}

// portFlags are the flags of every command that talks to a device.
type portFlags struct {
	port    *string
	baud    *int
	timeout *time.Duration
	line    *int
	wait    *time.Duration
}

func addPortFlags(fs *flag.FlagSet) portFlags {
	return portFlags{
		port:    fs.String("port", "", "serial port (see 'suit devices'), e.g. /dev/ttyACM0, COM3, or the path 'suit sim serve --pty' printed"),
		baud:    fs.Int("baud", transport.DefaultBaud, "baud rate"),
		timeout: fs.Duration("timeout", 5*time.Second, "wait at most this long for each reply"),
		line:    fs.Int("line", transport.DefaultLineMax, "longest SMP line the device accepts (CONFIG_UART_MCUMGR_RX_BUF_SIZE)"),
		wait:    fs.Duration("wait", 0, "wait up to this long for the port to appear"),
	}
}

func (p portFlags) options(name string) (app.PortOptions, error) {
	if *p.port == "" {
		return app.PortOptions{}, usageErr("run 'suit devices' for the ports, or 'suit sim serve --pty' for a simulated device", "%s needs --port PORT", name)
	}
	if *p.port == app.SimulatorPort {
		return app.PortOptions{}, usageErr("run 'suit sim serve --pty' and give the path it prints", "the built-in simulator is a GUI port")
	}
	if *p.line < transport.MinLineMax {
		return app.PortOptions{}, usageErr("", "--line %d is below the minimum of %d", *p.line, transport.MinLineMax)
	}
	return app.PortOptions{Baud: *p.baud, Timeout: *p.timeout, LineMax: *p.line, Wait: *p.wait}, nil
}

// deviceErr turns a failure to talk to the device into a CLI error with a hint.
func deviceErr(err error, what string) error {
	var de *transport.DeviceError
	var mb *app.MCUbootBoardError
	switch {
	case errors.As(err, &mb):
		return withCode(exitNegative, fmt.Errorf("%s: %w", what, err), mb.Hint())
	case errors.As(err, &de):
		return withCode(exitNegative, fmt.Errorf("%s: the device answered: %w", what, err), de.Hint())
	case errors.Is(err, transport.ErrTimeout):
		return withCode(exitNegative, fmt.Errorf("%s: %w", what, err), "check --port and --baud, and that the device runs an SMP server (Zephyr with CONFIG_MCUMGR, MCUboot serial recovery)")
	case errors.Is(err, context.Canceled):
		return withCode(exitNegative, fmt.Errorf("%s: interrupted", what), "pushing again resumes from the device's offset")
	}
	return withCode(exitNegative, fmt.Errorf("%s: %w", what, err), "check the port and the cable")
}

// interruptible returns a context cancelled by Ctrl-C.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

func runPush(env *cmdEnv, args []string) error {
	c := commands["push"]
	fs := newFlags(env, c)
	pf := addPortFlags(fs)
	noConfirm := fs.Bool("no-confirm", false, "upload only; do not start the update")
	noReset := fs.Bool("no-reset", false, "do not reset the device after confirming")
	test := fs.Bool("test", false, "MCUboot image: mark it for a test swap instead of confirming it for good")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("give exactly one envelope file (binary CBOR or hex, - for stdin)", "push needs one FILE, got %d arguments", len(pos))
	}
	po, err := pf.options("push")
	if err != nil {
		return err
	}
	data, err := readInput(env, pos[0], app.AnyInput)
	if err != nil {
		return err
	}
	if !mcuboot.IsImage(data) { // an MCUboot image goes as is; an envelope may be hex text
		if d, ok := app.DecodeHexText(data); ok {
			data = d
		}
	}
	ctx, cancel := interruptible()
	defer cancel()
	bar := &progressBar{env: env, on: env.stdoutTTY}
	res, err := app.Push(ctx, *pf.port, data, app.PushOptions{
		PortOptions: po, NoConfirm: *noConfirm, NoReset: *noReset, Test: *test, Progress: bar.update,
	})
	bar.done()
	if res.ResumedFrom > 0 {
		fmt.Fprintf(env.stderr, "suit: the device already held %d bytes of this envelope: resumed\n", res.ResumedFrom)
	}
	if err != nil {
		if errors.Is(err, app.ErrRefused) {
			fmt.Fprintf(env.stdout, "device: %s\n", res.Verdict)
			printThroughput(env, res)
			return negative("see the device's reason above; 'suit sim run' shows every step of a simulated update", "the device refused the update")
		}
		return deviceErr(err, "push")
	}
	for _, im := range res.Images {
		fmt.Fprintf(env.stdout, "slot %d: version %s hash %x%s\n", im.Slot, im.Version, im.Hash, flags(im))
	}
	fmt.Fprintf(env.stdout, "device: %s\n", res.Verdict)
	printThroughput(env, res)
	return nil
}

func printThroughput(env *cmdEnv, res app.PushResult) {
	fmt.Fprintf(env.stdout, "sent %d bytes in %.1f s (%.2f KB/s)\n", res.Bytes, res.Elapsed.Seconds(), res.BytesPerSec/1000)
}

func flags(im transport.ImageSlot) string {
	var f []string
	for _, x := range []struct {
		on   bool
		name string
	}{{im.Active, "active"}, {im.Confirmed, "confirmed"}, {im.Pending, "pending"}, {im.Permanent, "permanent"}, {im.Bootable, "bootable"}} {
		if x.on {
			f = append(f, x.name)
		}
	}
	if len(f) == 0 {
		return ""
	}
	return " (" + strings.Join(f, ", ") + ")"
}

// progressBar draws "[=====>    ]  45%  14.7/32.1 KB  7.21 KB/s  ETA 2s" on a terminal.
type progressBar struct {
	env  *cmdEnv
	on   bool
	last time.Time
	drew bool
}

func (p *progressBar) update(pr transport.Progress) {
	if !p.on || pr.Total == 0 || (time.Since(p.last) < 100*time.Millisecond && pr.Done < pr.Total) {
		return
	}
	p.last = time.Now()
	const width = 30
	fill := width * pr.Done / pr.Total
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	fmt.Fprintf(p.env.stdout, "\r[%s] %3d%%  %.1f/%.1f KB  %.2f KB/s  ETA %s ", bar, 100*pr.Done/pr.Total,
		float64(pr.Done)/1000, float64(pr.Total)/1000, pr.BytesPerSec/1000, pr.ETA.Round(time.Second))
	p.drew = true
}

func (p *progressBar) done() {
	if p.drew {
		fmt.Fprintln(p.env.stdout)
	}
}
