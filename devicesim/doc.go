// Package devicesim is a simulated Class 1 device (RFC 7228: about 10 KiB of RAM, 100 KiB of
// flash) whose boot loader and SUIT manifest processor (draft-ietf-suit-manifest-37 §6, §8.4) are
// written the way device code is: a streaming CBOR reader over bytes that stay in flash, every
// buffer taken from a RAM budget and given back, images moved in 256-byte chunks, and state kept
// power-safe in NOR flash. Every step is reported as an Event; a run ends with a Record.
//
// # Hardware model
//
// Timing is that of a Nordic nRF52840 (64 MHz Cortex-M4F) with a Macronix MX25R6435F SPI NOR
// flash as external storage; see timing.go for each constant and its source. Flash is NOR: erased
// bytes read 0xFF, a write can only clear bits (writing a 1 over a 0 is an error), erase is per
// 4 KiB sector, and erases and writes are counted per sector. A power cut is injected as "the
// N-th flash write or erase fails half done and the device stops" (PowerCutAt); Restart powers it
// on again.
//
// # Flash map (defaults)
//
//	internal flash, 100 KiB (25 sectors of 4 KiB)
//	  0x00000  boot loader                       16 KiB  never written by updates
//	  0x04000  image slot        component [h'00']  36 KiB  the image the device runs
//	  0x0D000  candidate area                    40 KiB  the staged envelope (or RFC 4108
//	                                                      package), up to 40 KiB; sector aligned
//	                                                      after it, the staging space for an
//	                                                      [h'00'] image that is not inside it
//	  0x17000  state copy A                       4 KiB  boot state, see state.go
//	  0x18000  state copy B                       4 KiB
//	external SPI NOR flash, 256 KiB (ExtFlashSize; negative = none)
//	  0x00000  second image      component [h'01']  84 KiB
//	  0x15000  staged second image [h'01']          84 KiB
//	  0x2A000  download area     component [h'02']  84 KiB  scratch: written in place
//
// The state area holds the trust anchors, vendor/class/device IDs, the stored sequence number,
// the RFC 4108 stale version, the installed manifest (auth wrapper + manifest, up to about 3.5 KiB)
// and the boot state: the pending installs, each "copy this byte range of the staging flash into
// this slot; it hashes to this SHA-256". It is two copies with a counter and a CRC-32, the newer
// valid one wins, and the CRC is written last: a torn state write leaves the previous state in
// force.
//
// # Images installed from inside the envelope
//
// An integrated payload is not copied a second time into the candidate area: when fetch takes
// one for [h'00'], that component's candidate IS the payload's byte range inside the staged
// envelope, which was authenticated with the envelope (its integrity then rests on the
// manifest's image digest, which image-match checks right there). The commit records that range
// and its SHA-256; the boot loader copies it into the slot. This is what lets the default device
// take an envelope with a 32 KiB integrated image (about 32.3 KiB staged; the 16 KiB left after
// it could not hold a second copy). RFC 4108 firmware is installed from its eContent the same
// way. Images fetched by URI, written or copied are staged in the space after the envelope.
//
// Power safety of the commit and install: nothing writes the staged envelope or the staging
// space between the commit and the state write that marks the install done, so the source of
// every pending copy stays intact. At boot, for each pending component, the boot loader (1)
// skips the copy when the slot already hashes to the recorded digest (a copy that finished
// before a power cut), (2) otherwise refuses to touch the slot when the source does not hash to
// the recorded digest, (3) erases and copies the slot in 256-byte chunks, (4) checks the slot
// against the recorded digest, and only then (5) writes the state that marks the install done.
// A power cut at any write or erase — staging, commit, copy, state switch, or a second cut while
// the boot loader resumes — leaves a device that boots the old image (cut before the commit's
// CRC) or the new one (cut after it), and takes the update again; TestPowerCutIntegrated32KiB
// cuts every index of the 32 KiB update.
//
// # Components of the official examples
//
// [h'00'] is the executable image slot (examples 0-5). [h'01'] is a second image on external
// flash: the second image of example 5, and the "load" target of example 4 (on a device with a
// few KiB of RAM an image cannot be loaded into RAM, so the simulator loads it into external
// flash; its load step is a plain copy, so an envelope for example 4 must give [h'01'] the digest
// of image A). [h'02'] is the external download area example 4 fetches into. component-slot
// compares with Config.ImageSlot for [h'00'] (default 0, so example 3 takes its slot-A
// alternative; a device configured as slot 1 takes alternative B, whose 76834-byte image does not
// fit its 36 KiB slot and is refused as too large). Any other component identifier is refused.
//
// # Processing
//
// Update (staged envelope): authenticate first (SHA-256 over the whole manifest bstr item, kept in
// RAM so that what is checked is what is used; then at least one COSE_Sign1 block — ES256, ESP256,
// EdDSA, Ed25519 or HSS-LMS — against a trust anchor, or a COSE_Mac0 (HMAC 256/256) with a MAC
// key the device holds (decrypt.go); the 55-byte Sig_structure is built in RAM; unsigned
// envelopes and COSE_Mac (with recipients) blocks are refused), manifest version 1, anti-rollback (a LOWER sequence
// number is refused, an equal one is accepted so that an update can be re-applied), at most
// MaxComponents components, each known to the device; severed members present in the envelope are
// checked against their digests. Then shared → payload-fetch, shared → install, shared →
// validate. Images are written to staging regions only (or taken in place, above); when
// everything passed, one state write commits (sequence number, manifest, which ranges to install
// and their digests), the device restarts, and the boot loader copies the candidates into place —
// resumably, see above — then runs the invocation procedure (shared → validate, shared → load, shared → invoke) of the installed
// manifest. Without an invoke sequence the boot loader starts the image slot after validation.
//
// Commands: vendor/class/device identifier, image-match, component-slot, check-content (constant
// time), abort, set-component-index (uint, true, array), try-each, write, override-parameters,
// set-parameters, fetch (integrated payload "#name", or a URI served by a Fetcher: files mapped
// by the user or payloads staged over the link, or streamed block by block over HTTP or CoAP by
// a NetFetcher, resumably: fetch_net.go), copy, swap (staged both ways, so it is
// resumable), invoke, run-sequence. soft-failure follows §8.4.8.15 (scoped to the enclosing
// sequence, True at the start of each try-each alternative, False in run-sequence, setting it
// elsewhere aborts); strict-order False is accepted (this processor runs serially) and a
// component that is both source and target then aborts (§6.7). Anything unknown — command,
// parameter, envelope or manifest member, component, algorithm — is refused with a reason, never
// skipped. Manifests that declare dependencies (draft-ietf-suit-trust-domains) are refused: this
// device does not process dependencies. A watchdog stops a procedure after MaxCommands commands.
//
// The official examples carry placeholder image digests (00112233…) that no real image has, so
// the device refuses them with "payload digest mismatch" (example 0: its validate fails on the
// image the device has). The tests rebuild each example with the same structure and real digests,
// re-signed with the spec's key.
//
// Config.Board "mcuboot" is a second board: Zephyr's img_mgmt over MCUboot's swap-move boot
// loader, with its own flash map (see mcuboot_board.go).
//
// Encrypted payloads (draft-ietf-suit-firmware-encryption, decrypt.go): write and copy decrypt
// when encryption-info is set, with the device's own key (AES-KW or ECDH-ES + AES-KW over P-256
// or X25519; A128/192/256GCM, ChaCha20/Poly1305, A128/192/256CTR), streaming in ChunkSize
// pieces with every buffer and cipher context charged to the RAM budget; an AEAD tag is checked
// before the component counts as written, so a bad tag leaves nothing to commit or invoke.
//
// RFC 4108: LoadCMS takes a CMS firmware package from the same candidate area and checks it with
// device code (cmsverify.go: a DER walk over flash, hashes in chunks, every buffer charged); only
// the load receipt or load error it answers with is built by the codec/cms host library.
package devicesim
