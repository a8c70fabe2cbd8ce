package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/creack/pty"
	"golang.org/x/term"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/devicesim"
	"github.com/suit-studio/suit-studio/transport"
)

func init() { simServeHook = simServe }

const serveUsage = "sim serve --pty [--board suit|mcuboot] [--link PATH] [--baud N] [--buf-size N] [--buf-count N] [--line N] [--state DIR] [--trust PUB ...] " +
	"[--vendor-domain D --model M | --vendor-id HEX --class-id HEX] [--device-id HEX] [--sequence N] [--image FILE] [--payload URI=FILE ...] [--hw-type OID --hw-serial HEX]"

// simServe runs `suit sim serve`: the simulated device answers MCUmgr SMP on a pseudo-terminal, so
// any SMP client (suit push, mcumgr, smpmgr, AuTerm) can use it like a board. The pty's path is the
// first line on stdout; the device's steps and verdicts go to stderr. It serves until interrupted.
func simServe(env *cmdEnv, args []string) error {
	fs := newFlags(env, &command{name: "sim serve", usage: serveUsage})
	usePty := fs.Bool("pty", false, "serve on a new pseudo-terminal (required)")
	link := fs.String("link", "", "also make PATH a symbolic link to the pty (a stable port name for scripts)")
	baud := fs.Int("baud", 0, "pace the line like a UART at N baud (default: unpaced)")
	bufSize := fs.Int("buf-size", devicesim.DefaultSMPBufSize, "SMP buffer size the device reports (MCUmgr params)")
	bufCount := fs.Int("buf-count", devicesim.DefaultSMPBufCount, "SMP buffer count the device reports")
	line := fs.Int("line", transport.DefaultLineMax, "longest line the device accepts")
	pf := addProvFlags(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if !*usePty {
		return usageErr("write suit sim serve --pty ...", "sim serve needs --pty (the only transport so far)")
	}
	if len(pos) != 0 {
		return usageErr("sim serve takes no envelope: push one with 'suit push --port PTY FILE'", "unexpected argument %q", pos[0])
	}
	if *bufSize < 64 || *bufCount < 1 || *line < transport.MinLineMax {
		return usageErr("", "unusable buffers: --buf-size %d --buf-count %d --line %d", *bufSize, *bufCount, *line)
	}
	prov, payloadMap, err := pf.build(env)
	if err != nil {
		return err
	}
	pl := devicesim.Payloads(payloadMap)
	sess, loaded, err := app.NewSimSession(prov, *pf.state)
	if err != nil {
		return inputErr(err, "check the keys and IDs (see 'suit help sim')", "cannot provision the simulated device")
	}
	if loaded {
		fmt.Fprintf(env.stderr, "suit: using the device kept in %s\n", *pf.state)
	}
	if err := pf.um.apply(sess); err != nil { // simpolicy.go
		return err
	}
	dev := sess.SMP()
	dev.BufSize, dev.BufCount = *bufSize, *bufCount
	if dev.CMS, err = pf.cmsIdentity(); err != nil {
		return err
	}
	dev.OnCMS = func(r *devicesim.CMSResult) {
		if r.Code != 0 {
			fmt.Fprintf(env.stderr, "load error: %s (%d)\n", r.Code, int(r.Code))
		}
	}
	dev.Fetcher = pl
	sess.Device.SetEventHandler(func(e devicesim.Event) { fmt.Fprintln(env.stderr, formatEvent(e)) })
	dev.OnRecord = func(r *devicesim.Record) {
		fmt.Fprintf(env.stderr, "result: %s", r.Outcome)
		if r.Reason != "" {
			fmt.Fprintf(env.stderr, ": %s", r.Reason)
		}
		fmt.Fprintln(env.stderr)
	}

	master, slave, err := pty.Open()
	if err != nil {
		return withCode(exitNegative, fmt.Errorf("cannot create a pseudo-terminal: %w", err), "pseudo-terminals need Linux or macOS")
	}
	defer master.Close()
	defer slave.Close() // kept open so the master does not see EOF between clients
	if _, err := term.MakeRaw(int(slave.Fd())); err != nil {
		return withCode(exitNegative, fmt.Errorf("cannot set the pty to raw mode: %w", err), "")
	}
	if *link != "" {
		// Replace a link (a stale one from an earlier run), never a file.
		if st, err := os.Lstat(*link); err == nil {
			if st.Mode()&os.ModeSymlink == 0 {
				return &cliError{code: exitUsage, msg: fmt.Sprintf("%s exists and is not a link", *link), hint: "choose another --link path; only a symbolic link is replaced"}
			}
			os.Remove(*link)
		}
		if err := os.Symlink(slave.Name(), *link); err != nil {
			return inputErr(err, "check that the directory exists and is writable", "cannot create the link %s", *link)
		}
		defer os.Remove(*link)
	}
	fmt.Fprintln(env.stdout, slave.Name())
	if f, ok := env.stdout.(*os.File); ok {
		f.Sync()
	}
	fmt.Fprintf(env.stderr, "suit: serving MCUmgr SMP on %s (buffers %d x %d bytes, lines of %d bytes); Ctrl-C stops\n",
		slave.Name(), *bufCount, *bufSize, *line)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var rw io.ReadWriter = master
	if *baud > 0 {
		rw = transport.NewPaced(master, *baud)
	}
	srv := &transport.Server{Device: dev, LineMax: *line}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ctx, rw) }()
	select {
	case <-ctx.Done():
		master.Close()
		fmt.Fprintln(env.stderr, "suit: stopped")
		return nil
	case err := <-errc:
		if err != nil && ctx.Err() == nil {
			return withCode(exitNegative, fmt.Errorf("serving stopped: %w", err), "")
		}
		return nil
	}
}
