package main

import (
	"flag"
	"fmt"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/devicesim"
	"github.com/suit-studio/suit-studio/netfw"
)

// netFlags are `suit sim run`'s options for a networked device: how it fetches (a real HTTP and
// CoAP client), and where it sends its SUIT reports.
type netFlags struct {
	rate, blockSize *int
	report          *string
}

func addNetFlags(fs *flag.FlagSet) *netFlags {
	return &netFlags{
		rate:      fs.Int("rate", 0, "pace the device's network link at N bytes/s (default: unpaced; 15000 is about an 802.15.4 link)"),
		blockSize: fs.Int("block-size", 256, "CoAP block size the device asks for (16..1024) and its HTTP read size"),
		report:    fs.String("report", "", "send the device's signed SUIT report to the status tracker at URL (http://HOST:PORT or coap://HOST:PORT)"),
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
	l, err := app.LocateUpdate(c, uri, sess.Device)
	if err != nil {
		return nil, inputErr(err, "check that 'suit serve' serves the file and the URI's host and port", "cannot locate the update")
	}
	if !l.Newer {
		fmt.Fprintf(env.stdout, "locate: %s offers sequence number %d; the device has %d: up to date\n", uri, l.Sequence, l.Installed)
		return nil, nil
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
