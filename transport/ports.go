package transport

import (
	"fmt"
	"io"
	"sort"

	"go.bug.st/serial"
	"go.bug.st/serial/enumerator"
)

// PortInfo describes a serial port and, for a USB port, its USB identity.
type PortInfo struct {
	Name         string // /dev/ttyACM0, COM3, /dev/cu.usbmodem1101
	IsUSB        bool
	VID, PID     string // hex, as the OS reports them
	SerialNumber string
	Product      string // the USB product string, when the OS exposes it
	Manufacturer string
}

// ListPorts lists the serial ports with their USB details (Linux, macOS and Windows through
// go.bug.st/serial). Ports are sorted by name.
func ListPorts() ([]PortInfo, error) {
	details, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return nil, fmt.Errorf("cannot list serial ports: %w", err)
	}
	out := make([]PortInfo, 0, len(details))
	for _, d := range details {
		out = append(out, PortInfo{
			Name: d.Name, IsUSB: d.IsUSB, VID: d.VID, PID: d.PID,
			SerialNumber: d.SerialNumber, Product: d.Product, Manufacturer: d.Manufacturer,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// DefaultBaud is the usual rate of an MCUmgr UART (Zephyr and MCUboot defaults).
const DefaultBaud = 115200

// OpenPort opens a serial port at baud (8 data bits, no parity, 1 stop bit). It also opens
// pseudo-terminals, which is how the simulator is reached. Close the port to unblock a reader.
func OpenPort(name string, baud int) (io.ReadWriteCloser, error) {
	if baud <= 0 {
		baud = DefaultBaud
	}
	p, err := serial.Open(name, &serial.Mode{BaudRate: baud, DataBits: 8, Parity: serial.NoParity, StopBits: serial.OneStopBit})
	if err != nil {
		return nil, fmt.Errorf("cannot open serial port %s: %w", name, err)
	}
	return p, nil
}
