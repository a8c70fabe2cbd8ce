package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"sync"
	"time"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/devicesim"
	"github.com/suit-studio/suit-studio/netfw"
)

// netFlags are `suit sim run`'s options for a networked device: how it fetches (a real HTTP and
// CoAP client), and where it sends its SUIT reports.
type netFlags struct {
	rate, blockSize, polls *int
	report                 *string
	every                  *time.Duration
}

func addNetFlags(fs *flag.FlagSet) *netFlags {
	return &netFlags{
		rate:      fs.Int("rate", 0, "pace the device's network link at N bytes/s (default: unpaced; 15000 is about an 802.15.4 link)"),
		blockSize: fs.Int("block-size", 256, "CoAP block size the device asks for (16..1024) and its HTTP read size"),
		polls:     fs.Int("polls", 1, "with a manifest URI: poll it up to N times until it offers a newer sequence number"),
		every:     fs.Duration("poll-every", 10*time.Second, "with --polls: the time between two polls"),
		report:    fs.String("report", "", "send the device's signed SUIT report to the status tracker at URL (http://HOST:PORT or coap://HOST:PORT); sim fleet: default the manifest's server, - for none"),
	}
}

func (n *netFlags) client() (*netfw.Client, error) {
	if bs := *n.blockSize; bs < 16 || bs > 1024 || bs&(bs-1) != 0 {
		return nil, usageErr("use 16, 32, 64, 128, 256, 512 or 1024", "--block-size %d is not a power of two from 16 to 1024", bs)
	}
	if *n.rate < 0 {
		return nil, usageErr("", "--rate %d is negative", *n.rate)
	}
	return app.NetClient(*n.rate, *n.blockSize), nil
}

// locate fetches the envelope at uri (the device locating its update) and says whether it is
// newer than what the device has; nil means the device is up to date.
func (n *netFlags) locate(env *cmdEnv, c *netfw.Client, sess *app.SimSession, uri string) ([]byte, error) {
	if *n.polls < 1 || *n.polls > 100000 || *n.every < 0 {
		return nil, usageErr("", "--polls %d --poll-every %s: give 1 to 100000 polls and a positive interval", *n.polls, *n.every)
	}
	var l *app.Located
	for i := 1; ; i++ {
		var err error
		l, err = app.LocateUpdate(c, uri, sess.Device)
		if err != nil {
			return nil, inputErr(err, "check that 'suit serve' serves the file and the URI's host and port", "cannot locate the update")
		}
		if l.Newer {
			break
		}
		fmt.Fprintf(env.stdout, "locate: %s offers sequence number %d; the device has %d: up to date\n", uri, l.Sequence, l.Installed)
		if i >= *n.polls {
			return nil, nil
		}
		time.Sleep(*n.every)
	}
	fmt.Fprintf(env.stdout, "locate: %s offers sequence number %d; the device has %d: updating\n", uri, l.Sequence, l.Installed)
	return l.Envelope, nil
}

// sendReport signs the run's SUIT report with the device's key and posts it to the tracker.
func (n *netFlags) sendReport(env *cmdEnv, c *netfw.Client, sess *app.SimSession, rec *devicesim.Record, uri string) {
	if *n.report == "" || rec == nil {
		return
	}
	signed, _, err := sess.SignedReport(rec, uri)
	if err == nil {
		err = app.SendReport(c, *n.report, signed)
	}
	if err != nil {
		fmt.Fprintf(env.stderr, "suit: warning: the report did not reach %s: %v\n", *n.report, err)
		return
	}
	_, kid, _ := sess.ReportKey()
	fmt.Fprintf(env.stdout, "report: %d bytes (COSE_Sign1, device key kid %x) sent to %s\n", len(signed), kid, *n.report)
}

const fleetUsage = "sim fleet --devices N --server MANIFEST-URI [--report URL|-] [--parallel N] [--rate N] [--block-size N] [--json] " +
	"--trust PUB [--vendor-domain D --model M | --vendor-id HEX --class-id HEX] [--sequence N] [--image FILE]"

// simFleet runs `suit sim fleet`: N simulated devices, each with its own flash and RAM, poll
// the manifest URI, take the update over HTTP or CoAP and send their signed SUIT reports.
func simFleet(env *cmdEnv, args []string) error {
	fs := newFlags(env, &command{name: "sim fleet", usage: fleetUsage})
	n := fs.Int("devices", 10, "number of simulated devices")
	server := fs.String("server", "", "the manifest URI every device polls (http://HOST:PORT/fw.suit or coap://...)")
	par := fs.Int("parallel", 0, "devices working at once (default: min(N, 32))")
	asJSON := fs.Bool("json", false, "one JSON object per device progress step, then the summary")
	pf := addProvFlags(fs)
	nf := addNetFlags(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErr("give the manifest URI with --server", "unexpected argument %q", pos[0])
	}
	if *n < 1 || *n > 100000 {
		return usageErr("", "--devices %d: give 1 to 100000", *n)
	}
	if !app.IsNetURI(*server) {
		return usageErr("write --server coap://127.0.0.1:5683/fw.suit (see 'suit serve')", "--server %q is not an http or coap URI", *server)
	}
	if _, err := nf.client(); err != nil {
		return err
	}
	if *pf.state != "" {
		return usageErr("each fleet device keeps its state in memory for the run", "--state is not supported by sim fleet")
	}
	prov, _, err := pf.build(env)
	if err != nil {
		return err
	}
	if pol, err := pf.um.policy(); err != nil { // simpolicy.go: every device gets the same surroundings
		return err
	} else if !pol.Empty() {
		if prov.Config.Policy, err = pol.Merge(nil); err != nil {
			return inputErr(err, "see 'suit help sim'", "cannot set the device policy")
		}
	}
	enc := json.NewEncoder(env.stdout)
	var mu sync.Mutex
	res, err := app.RunFleet(context.Background(), app.FleetOptions{Devices: *n, Manifest: *server, Report: *nf.report, Prov: prov,
		Rate: *nf.rate, BlockSize: *nf.blockSize, Parallel: *par,
		OnProgress: func(p app.FleetProgress) {
			mu.Lock()
			defer mu.Unlock()
			if *asJSON {
				enc.Encode(p)
				return
			}
			if p.Phase == app.PhaseUpdating && p.Bytes == 0 || p.Phase == app.PhaseLocating {
				return
			}
			fmt.Fprintf(env.stdout, "%8.3fs device %4d %-10s", p.Time.Seconds(), p.Device, p.Phase)
			if p.Bytes > 0 {
				fmt.Fprintf(env.stdout, " %d bytes", p.Bytes)
			}
			if p.Detail != "" {
				fmt.Fprintf(env.stdout, " %s", p.Detail)
			}
			fmt.Fprintln(env.stdout)
		}})
	if err != nil && res == nil {
		return inputErr(err, "check the provisioning flags (see 'suit help sim')", "cannot run the fleet")
	}
	if *asJSON {
		enc.Encode(res)
	} else {
		fmt.Fprintf(env.stdout, "fleet: %d devices: %d applied, %d refused, %d up to date, %d failed in %.3f s (%.1f devices updated per second)\n",
			res.Devices, res.Applied, res.Refused, res.UpToDate, res.Failed, res.Elapsed.Seconds(), res.PerSecond)
	}
	if res.Failed > 0 {
		return negative("check that 'suit serve' is running and serves the manifest and its payloads", "%d devices failed; first: %s", res.Failed, res.FirstError)
	}
	if res.Refused > 0 {
		return negative("see the devices' reasons above", "%d devices refused the update", res.Refused)
	}
	return nil
}
