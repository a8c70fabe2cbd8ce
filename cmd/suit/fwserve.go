package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/netfw"
)

func init() {
	register(&command{
		name:    "serve",
		usage:   "serve [--http ADDR] [--coap ADDR] [--device-key PEM ...] [--json] [--addr-file FILE] [--for DURATION] DIR",
		summary: "serve envelopes and payloads over HTTP and CoAP (the firmware server) and collect SUIT reports (the status tracker)",
		run:     runServe,
	})
}

// runServe runs `suit serve`: RFC 9019's firmware server and status tracker on this machine.
// The live log goes to stdout (a line, or a JSON object, per request or report).
func runServe(env *cmdEnv, args []string) error {
	fs := newFlags(env, commands["serve"])
	httpAddr := fs.String("http", "", "serve HTTP/1.1 on ADDR (such as :8080 or 127.0.0.1:8080)")
	coapAddr := fs.String("coap", "", "serve CoAP over UDP on ADDR (such as :5683)")
	asJSON := fs.Bool("json", false, "log one JSON object per request or report")
	addrFile := fs.String("addr-file", "", "write the bound addresses (http://..., coap://...) to FILE once serving")
	dur := fs.Duration("for", 0, "stop after DURATION (default: until interrupted)")
	var devKeys multiFlag
	fs.Var(&devKeys, "device-key", "PEM public key of a device whose reports are trusted (repeatable)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("write suit serve --http :8080 --coap :5683 DIR", "serve needs one DIR to serve, got %d arguments", len(pos))
	}
	if *httpAddr == "" && *coapAddr == "" {
		return usageErr("give --http ADDR, --coap ADDR or both", "nothing to serve on")
	}
	tr := app.NewTracker(pos[0])
	for _, k := range devKeys {
		b, err := readInput(env, k, app.AnyInput)
		if err != nil {
			return err
		}
		if err := tr.TrustPEM(b); err != nil {
			return inputErr(err, "give a PEM public key (P-256 or Ed25519)", "bad --device-key %s", k)
		}
	}
	enc := json.NewEncoder(env.stdout)
	logMu := make(chan struct{}, 1)
	logMu <- struct{}{}
	out := func(v any, line string) {
		<-logMu
		defer func() { logMu <- struct{}{} }()
		if *asJSON {
			enc.Encode(v)
			return
		}
		fmt.Fprintln(env.stdout, line)
	}
	tr.OnReport = func(st app.DeviceStatus) {
		out(st, st.Summary())
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *dur)
		defer cancel()
	}
	err = app.Serve(ctx, app.ServeOptions{Dir: pos[0], HTTPAddr: *httpAddr, CoAPAddr: *coapAddr, Tracker: tr,
		OnFetch: func(f netfw.Fetch) {
			// CoAP: one line per transfer start and end, not per block.
			if f.Proto == "CoAP" && f.Block != 0 && !f.Last && f.Status == 205 {
				return
			}
			out(f, f.String())
		},
		Ready: func(h, c net.Addr) {
			var lines string
			if h != nil {
				lines += "http://" + h.String() + "\n"
			}
			if c != nil {
				lines += "coap://" + c.String() + "\n"
			}
			fmt.Fprintf(env.stderr, "suit: serving %s on %s(reports: POST %s); Ctrl-C stops\n", pos[0], addrList(lines), netfw.ReportPath)
			if *addrFile != "" {
				if err := writeFileAtomic(*addrFile, []byte(lines)); err != nil {
					fmt.Fprintf(env.stderr, "suit: error: cannot write %s: %v\n", *addrFile, err)
				}
			}
		}})
	if err != nil {
		if errors.Is(err, app.ErrServe) {
			return inputErr(err, "check the directory and that the ports are free", "cannot serve")
		}
		return withCode(exitNegative, err, "")
	}
	fmt.Fprintln(env.stderr, "suit: stopped")
	return nil
}

func addrList(s string) string {
	out := ""
	for _, l := range splitLines(s) {
		out += l + " "
	}
	return out
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

func writeFileAtomic(name string, b []byte) error {
	return app.WriteFileAtomic(name, b, 0o644)
}
