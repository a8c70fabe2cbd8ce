package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/devicesim"
	"github.com/suit-studio/suit-studio/netfw"
)

// ErrServe is the sentinel for a firmware server that cannot start.
var ErrServe = errors.New("cannot serve")

// ServeOptions says what the firmware server serves and where.
type ServeOptions struct {
	Dir      string // envelopes and payloads, served by their file names
	HTTPAddr string // such as "127.0.0.1:8080" or ":8080"; "" = no HTTP
	CoAPAddr string // such as "127.0.0.1:5683"; "" = no CoAP
	// OnFetch receives the live log (every request served); it must not block.
	OnFetch func(netfw.Fetch)
	// Tracker, when set, receives the devices' SUIT reports (the status tracker).
	Tracker *Tracker
	// Ready, when set, is told the bound addresses once both servers listen.
	Ready func(httpAddr, coapAddr net.Addr)
}

// Serve runs the firmware server (and status tracker) until ctx ends: the studio's "Publish"
// action and `suit serve`.
func Serve(ctx context.Context, o ServeOptions) error {
	if o.HTTPAddr == "" && o.CoAPAddr == "" {
		return fmt.Errorf("%w: give an HTTP or a CoAP address", ErrServe)
	}
	if fi, err := os.Stat(o.Dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("%w: %s is not a directory", ErrServe, o.Dir)
	}
	srv := &netfw.Server{Dir: o.Dir, OnFetch: o.OnFetch}
	defer srv.Close()
	if o.Tracker != nil {
		srv.OnReport = o.Tracker.Receive
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	var httpAddr, coapAddr net.Addr
	running := 0
	if o.HTTPAddr != "" {
		ln, err := net.Listen("tcp", o.HTTPAddr)
		if err != nil {
			return fmt.Errorf("%w: HTTP on %s: %v", ErrServe, o.HTTPAddr, err)
		}
		httpAddr = ln.Addr()
		running++
		go func() { errc <- srv.ServeHTTPOn(ctx, ln) }()
	}
	if o.CoAPAddr != "" {
		ready := make(chan net.Addr, 1)
		running++
		go func() { errc <- srv.ServeCoAP(ctx, o.CoAPAddr, func(a net.Addr) { ready <- a }) }()
		select {
		case coapAddr = <-ready:
		case err := <-errc:
			cancel()
			if running > 1 {
				<-errc
			}
			return fmt.Errorf("%w: CoAP on %s: %v", ErrServe, o.CoAPAddr, err)
		}
	}
	if o.Ready != nil {
		o.Ready(httpAddr, coapAddr)
	}
	var first error
	for range running {
		if err := <-errc; err != nil && first == nil {
			first = err
			cancel()
		}
	}
	return first
}

// NetClient is the simulated device's network stack: rate paces received bytes (0 = unpaced),
// blockSize is the CoAP block size (0 = 256).
func NetClient(rate, blockSize int) *netfw.Client {
	return &netfw.Client{Rate: rate, BlockSize: blockSize}
}

// IsNetURI reports whether s is an http, https or coap URI.
func IsNetURI(s string) bool { return (&netfw.Client{}).Streams(s) }

// Located is what polling a manifest URI found.
type Located struct {
	URI       string
	Envelope  []byte
	Sequence  uint64 // the manifest's sequence number
	Installed uint64 // the device's stored sequence number
	Newer     bool   // Sequence > Installed: the device should take it
}

// LocateUpdate fetches the envelope at uri (the device's update server) and compares its
// sequence number with the one the device has stored.
func LocateUpdate(c *netfw.Client, uri string, dev *devicesim.Device) (*Located, error) {
	if dev.PoweredOff() {
		dev.Restart() // a device polls its server once it has booted
	}
	env, err := c.Fetch(uri)
	if err != nil {
		return nil, fmt.Errorf("cannot fetch the manifest %s: %w", uri, err)
	}
	e, err := suit.Decode(env)
	if err != nil {
		return nil, fmt.Errorf("%s is not a SUIT envelope: %w", uri, err)
	}
	l := &Located{URI: uri, Envelope: env}
	if e.Manifest != nil {
		l.Sequence = e.Manifest.SequenceNumber
	}
	seq, _, ok := dev.Installed()
	if !ok {
		return nil, fmt.Errorf("the device has no readable state")
	}
	l.Installed = seq
	l.Newer = l.Sequence > seq
	return l, nil
}

// hostOf is a URI's host:port, for messages.
func hostOf(uri string) string {
	s := uri
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	return s
}
