package devicesim

import "time"

// The timing model is that of a Nordic nRF52840 (Arm Cortex-M4F at 64 MHz, 1 MiB flash in 4 KiB
// pages, 256 KiB RAM) — a common SUIT/MCUboot development board — with the Class 1 budgets of
// this simulator (100 KiB flash, 10 KiB RAM) carved out of it. External storage is modelled on the
// Macronix MX25R6435F SPI NOR flash that the nRF52840 DK carries.
//
// Every figure below is an estimate used to give events a plausible simulated time; none is
// measured by the simulator. Each names where it comes from.
const (
	// CPUHz is the nRF52840 core clock (nRF52840 Product Specification v1.7, §5.4 "CLOCK": HFCLK 64 MHz).
	CPUHz = 64_000_000

	// IntPageErase is the time to erase one 4 KiB internal flash page
	// (nRF52840 PS v1.7, §4.3.9 NVMC electrical specification, tERASEPAGE max 85 ms).
	IntPageErase = 85 * time.Millisecond
	// IntWordWrite is the time to write one 32-bit word to internal flash
	// (nRF52840 PS v1.7, §4.3.9, tWRITE max 41 µs).
	IntWordWrite = 41 * time.Microsecond
	// IntReadPerByte: internal flash is memory-mapped with a cache; reading is about one
	// AHB access per word at 64 MHz (assumption: 1 cycle per 4 bytes).
	IntReadPerByte = time.Second / CPUHz / 4

	// ExtSectorErase is the 4 KiB sector erase time of the MX25R6435F in high-performance mode
	// (Macronix MX25R6435F datasheet rev 1.6, table "ERASE AND PROGRAMMING PERFORMANCE", tSE typ 40 ms).
	ExtSectorErase = 40 * time.Millisecond
	// ExtPageProgram is the 256-byte page program time (same table, tPP typ 0.85 ms); a write is
	// charged per started 256-byte page.
	ExtPageProgram = 850 * time.Microsecond
	// ExtReadPerByte: SPI at 8 MHz (the nRF52840 SPIM maximum on non-high-speed pins, PS §6.25)
	// moves one byte per microsecond.
	ExtReadPerByte = time.Microsecond

	// SHA256CyclesPerByte is software SHA-256 on a Cortex-M4 (assumption: ~50 cycles/byte, the order
	// of magnitude reported for Mbed TLS's C implementation on Cortex-M4; the CC310 accelerator on
	// the nRF52840 is faster, so this is pessimistic).
	SHA256CyclesPerByte = 50
	// P256VerifyTime is one ECDSA P-256 signature verification (assumption: ~ 30 ms, the order of
	// magnitude of software P-256 verification on a 64 MHz Cortex-M4 with an optimised library;
	// the CC310 does it in a few ms).
	P256VerifyTime = 30 * time.Millisecond
	// Ed25519VerifyTime is one Ed25519 verification (assumption: ~ 20 ms on the same core).
	Ed25519VerifyTime = 20 * time.Millisecond
	// CommandOverhead is the interpreter cost of decoding and dispatching one command
	// (assumption: ~ 2,000 cycles).
	CommandOverhead = 2000 * time.Second / CPUHz
)

// RAM costs, in bytes, of the processor's fixed-size objects. They are what a C implementation
// would hold; the simulator charges them to the RAM budget whenever the object is live.
const (
	// SHA256CtxSize: state (8×4) + bit count (8) + block buffer (64) + length (4), rounded as in
	// Mbed TLS's mbedtls_sha256_context (~ 108 B) to 112.
	SHA256CtxSize = 112
	// P256VerifyCtxSize: working memory of a P-256 verification: the public key (64), r and s (64),
	// the hash (32), two Jacobian points and scratch field elements (~ 15 × 32) and stack
	// (assumption, rounded to 768).
	P256VerifyCtxSize = 768
	// Ed25519VerifyCtxSize: key (32), signature (64), SHA-512 context (~ 216) and two extended points
	// (4 × 4 × 32) plus scratch (assumption, rounded to 896).
	Ed25519VerifyCtxSize = 896
	// CursorSize: one CBOR cursor (source handle, position, end, head scratch of 9 bytes), 24 B.
	CursorSize = 24
	// ParamStorageSize: the parameters of one component as a C struct: a set-mask, references
	// (offset, length) into the kept manifest for vendor/class/device IDs, digest, content, URI,
	// invoke and fetch arguments, and image-size, component-slot and source-component.
	ParamStorageSize = 48
	// FrameSize: one command-sequence frame (position, saved soft-failure, index selection, strict-order
	// bookkeeping), charged per nesting level of try-each / run-sequence.
	FrameSize = 32
	// EnvelopeIndexSize: the table of envelope members found while scanning the envelope
	// (offset and length of auth, manifest, severed members), plus 12 bytes per integrated payload.
	EnvelopeIndexSize = 64
	// PayloadEntrySize: one integrated payload in the envelope index (key range and value range).
	PayloadEntrySize = 12
	// StateStructSize: the boot state read from the state area (sequence number, IDs, component
	// lengths and offsets, pending mask) and the three candidate digests the boot loader checks
	// a pending install against.
	StateStructSize = 256
)
