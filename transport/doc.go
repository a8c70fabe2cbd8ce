// Package transport speaks MCUmgr SMP (the Simple Management Protocol of Zephyr, MCUboot serial
// recovery and nRF boards) over a serial byte stream.
//
// The layers, bottom up:
//
//   - serial framing (frame.go): a packet travels as be16(len(body)+2) || body || be16(crc) where the
//     CRC is CRC-16/XMODEM (poly 0x1021, init 0); the bytes are cut into frames of at most 93 raw bytes,
//     each base64-encoded on its own line: "\x06\x09" starts a packet, "\x04\x14" continues it, '\n'
//     ends a line, and a line holds at most 127 bytes by default (Zephyr's CONFIG_UART_MCUMGR_RX_BUF_SIZE).
//   - SMP packets (smp.go): an 8-byte big-endian header (op, version, flags, length, group, sequence,
//     command) and a CBOR map with string keys. Errors come back as v1 {"rc","rsn"} or v2
//     {"err":{"group","rc"}}; both become a *DeviceError that says what the code means (errors.go).
//   - the client (client.go): asks the device for its buffer size and count (MCUmgr params), packs each
//     upload request to fill the device buffer exactly, keeps buf_count-1 requests in flight, resumes from
//     the offset the device returns, and bounds every wait with a timeout and a retry budget.
//   - the server (server.go): the device side, for simulators; it runs Zephyr's upload state machine
//     (offset check, resume by SHA-256, restart at offset 0) over a Device interface.
//   - links (link.go, ports.go): real serial ports through go.bug.st/serial, a paced link that behaves
//     like a UART at a given baud rate, and a fault link that drops or corrupts bytes or is "unplugged".
//
// Everything here follows Zephyr's documentation and serial_util.c byte for byte; the spec notes are in
// shared/spec/SMP.md.
package transport
