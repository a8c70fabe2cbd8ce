package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/suit-studio/suit-studio/app"
)

func init() {
	register(&command{
		name:    "devices",
		usage:   "devices",
		summary: "list serial ports with their USB details (VID:PID, serial number, product)",
		run:     runDevices,
	})
}

func runDevices(env *cmdEnv, args []string) error {
	fs := newFlags(env, commands["devices"])
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	ports, err := app.ListPorts()
	if err != nil {
		return withCode(exitNegative, err, "on Linux, check that you may read /sys/class/tty; on Windows, that the driver is installed")
	}
	tw := tabwriter.NewWriter(env.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PORT\tUSB\tSERIAL\tPRODUCT")
	n := 0
	for _, p := range ports {
		if p.Name == app.SimulatorPort {
			continue // the GUI's in-process simulator; from the command line use 'suit sim serve --pty'
		}
		n++
		usb := "-"
		if p.IsUSB {
			usb = p.VID + ":" + p.PID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.Name, usb, dash(p.SerialNumber), dash(join(p.Manufacturer, p.Product)))
	}
	tw.Flush()
	if n == 0 {
		fmt.Fprintln(env.stderr, "suit: no serial ports found (connect a board, or run 'suit sim serve --pty' for a simulated one)")
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + " " + b
}
