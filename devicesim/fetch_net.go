package devicesim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"

	"github.com/suit-studio/suit-studio/model"
)

// A networked device fetches payloads itself: the fetch directive opens the URI through the
// host's network stack (NetFetcher: a real HTTP or CoAP client, see package netfw) and streams
// the payload into flash one block at a time, so the device never holds more than one block
// (plus the stack's message buffer) in RAM. Both buffers are charged to the RAM budget.
//
// Resumption. A transfer that breaks (a cut connection, a CoAP exchange that times out) is
// reopened from the first byte the device does not have yet: an HTTP Range request or a CoAP
// Block2 request for that block. Progress also survives a power cut: after every block the device
// appends an 8-byte progress word to a fetch journal (the last sector of the external flash, which
// the flash map leaves free), so an update re-run after the restart resumes where the flash has
// the data. The journal is keyed by the manifest digest, the component and the URI: another
// update never resumes from it. A block cut half-written leaves non-blank bytes; the device then
// resumes from the start of that sector instead (NOR cannot reprogram them). Whatever happened,
// the image is accepted only by the manifest's image-match over the whole staged image.

// NetFetcher is the device's network stack, supplied by the host.
type NetFetcher interface {
	// Streams reports whether this stack serves uri (http, https, coap URIs).
	Streams(uri string) bool
	// Open starts the transfer of uri from byte offset off. args are the manifest's
	// fetch-arguments (nil when unset).
	Open(uri string, args []byte, off int64) (NetStream, error)
}

// NetStream is one open transfer.
type NetStream interface {
	// Size is the resource's total size, -1 when the server did not say.
	Size() int64
	// Read fills p with the next bytes of the resource (a block or part of one); io.EOF at the end.
	Read(p []byte) (int, error)
	// BlockSize is the transfer unit the stack negotiated (a CoAP block, an HTTP read).
	BlockSize() int
	// BufferSize is the RAM the stack holds for one message (header + block) on a real device.
	BufferSize() int
	// Proto names the protocol for the step log ("HTTP/1.1", "CoAP Block2 SZX 4").
	Proto() string
	Close() error
}

// ErrResourceChanged is returned by a NetStream (or Open) when the server's resource changed
// during a resumed transfer (ETag or If-Range mismatch): the device starts over from byte 0.
var ErrResourceChanged = errors.New("the resource changed on the server")

// Fetchers combines files mapped by the user with a network stack: a URI mapped in Files is
// served from there, any other http/coap URI through Net.
type Fetchers struct {
	Files Payloads
	Net   NetFetcher
}

// Fetch implements Fetcher.
func (f Fetchers) Fetch(uri string) ([]byte, error) { return f.Files.Fetch(uri) }

// Streams implements NetFetcher.
func (f Fetchers) Streams(uri string) bool {
	if _, ok := f.Files[uri]; ok {
		return false
	}
	return f.Net != nil && f.Net.Streams(uri)
}

// Open implements NetFetcher.
func (f Fetchers) Open(uri string, args []byte, off int64) (NetStream, error) {
	return f.Net.Open(uri, args, off)
}

// NetRetries bounds how often one fetch reopens a broken transfer.
const NetRetries = 8

// The fetch journal: a 32-byte header (magic, key, destination, size, CRC-32), then 8-byte
// progress words (bytes in flash, CRC-32 of key and count).
const (
	journalMagic   = "SFJ1"
	journalHdrSize = 32
	journalWord    = 8
)

// journal is the fetch journal's location: the external flash's last sector, when it is not
// part of any region.
func (d *Device) journal() (Region, bool) {
	if d.Ext == nil {
		return Region{}, false
	}
	ss := d.cfg.SectorSize
	end := 0
	for _, c := range d.comps {
		for _, r := range []*Region{&c.Active, c.Candidate} {
			if r != nil && r.Flash == d.Ext {
				end = max(end, r.Offset+r.Size)
			}
		}
	}
	if d.Ext.Size()-end < ss {
		return Region{}, false
	}
	return Region{"fetch journal", d.Ext, d.Ext.Size() - ss, ss}, true
}

type journalHdr struct {
	key   [8]byte
	flash byte // 0 internal, 1 external
	off   uint32
	total uint32
}

func (h journalHdr) encode() []byte {
	b := make([]byte, journalHdrSize)
	copy(b, journalMagic)
	copy(b[4:], h.key[:])
	b[12] = h.flash
	binary.LittleEndian.PutUint32(b[16:], h.off)
	binary.LittleEndian.PutUint32(b[20:], h.total)
	binary.LittleEndian.PutUint32(b[28:], crc32.ChecksumIEEE(b[:28]))
	return b
}

// readJournal returns the header and the last valid progress word (0 when none).
func (d *Device) readJournal(j Region, buf []byte) (journalHdr, uint32, bool) {
	var h journalHdr
	b := buf[:journalHdrSize]
	if j.Flash.ReadAt(b, j.Offset) != nil || string(b[:4]) != journalMagic ||
		binary.LittleEndian.Uint32(b[28:]) != crc32.ChecksumIEEE(b[:28]) {
		return h, 0, false
	}
	copy(h.key[:], b[4:12])
	h.flash = b[12]
	h.off = binary.LittleEndian.Uint32(b[16:])
	h.total = binary.LittleEndian.Uint32(b[20:])
	done := uint32(0)
	w := buf[:journalWord]
	for o := journalHdrSize; o+journalWord <= j.Size; o += journalWord {
		if j.Flash.ReadAt(w, j.Offset+o) != nil {
			break
		}
		v := binary.LittleEndian.Uint32(w)
		if binary.LittleEndian.Uint32(w[4:]) != journalCRC(h.key, v) {
			break // blank, or torn by a power cut: the previous word holds
		}
		done = v
	}
	return h, done, true
}

func journalCRC(key [8]byte, v uint32) uint32 {
	var b [12]byte
	copy(b[:], key[:])
	binary.LittleEndian.PutUint32(b[8:], v)
	return crc32.ChecksumIEEE(b[:])
}

// fetchNet streams uri into component i's staging space (or the component itself when it has
// none), resuming after broken transfers and power cuts.
func (p *proc) fetchNet(i int, name, arg string, nf NetFetcher, uri string) error {
	pp := &p.comps[i].params
	dc := p.comps[i].dev
	var args []byte
	if pp.fetchArgs != nil {
		args = pp.fetchArgs
	}
	// Where the payload goes.
	staged := p.name == "update" && dc.Candidate != nil
	capacity := dc.Active.Size
	f, dst := dc.Active.Flash, dc.Active.Offset
	if staged {
		capacity = min(capacity, dc.candCap)
		f, dst = dc.Candidate.Flash, dc.areaOff
	}
	ss := f.SectorSize()

	// The journal key: this manifest, this component, this URI and destination.
	var key [8]byte
	{
		sum, err := p.d.sha256Sum("fetch journal key", p.digest[:], []byte{byte(dc.ID[0])}, []byte(uri), binary.LittleEndian.AppendUint32(nil, uint32(dst)))
		if err != nil {
			return p.failErr(i, name, arg, err)
		}
		copy(key[:], sum[:])
	}
	flashID := byte(0)
	if f == p.d.Ext {
		flashID = 1
	}
	jr, hasJournal := p.d.journal()
	jbuf, err := p.d.RAM.alloc("fetch journal buffer", journalHdrSize, true)
	if err != nil {
		return p.failErr(i, name, arg, err)
	}
	defer jbuf.Free()

	resume := 0
	total := -1
	if pp.has(model.ParamImageSize) {
		total = int(pp.size)
	}
	if hasJournal {
		if h, done, ok := p.d.readJournal(jr, jbuf.Buf); ok && h.key == key && h.flash == flashID && int(h.off) == dst && done > 0 && done <= h.total &&
			(total < 0 || int(h.total) == total) {
			resume, total = int(done), int(h.total)
		}
	}
	// Keep what a previous run wrote when the flash after it is still blank; a block torn by the
	// power cut cannot be reprogrammed, so then resume from the start of its sector.
	journalled := resume
	if resume > 0 {
		blank, err := p.blankFrom(f, dst+resume, min((dst+resume+ss-1)/ss*ss, dst+total), jbuf.Buf)
		if err != nil {
			return p.failErr(i, name, arg, err)
		}
		if !blank {
			resume = max((dst+resume)/ss*ss-dst, 0)
		}
	}

	if resume > 0 && resume == total {
		p.netFetched |= 1 << uint(i)
		// The whole payload reached flash before the cut (it fell later: image-match, commit).
		if err := p.checkSize(i, name, arg, total); err != nil {
			return err
		}
		if staged {
			dc.written, dc.candOff, dc.candLen = true, dst, total
		} else {
			dc.Length = total
		}
		p.pass(i, name, fmt.Sprintf("%s (%d bytes already in flash: the fetch journal says the transfer finished before the restart)", arg, total))
		return nil
	}

	// Open the transfer; the size comes from image-size, the journal or the server.
	var st NetStream
	defer func() {
		if st != nil {
			st.Close()
		}
	}()
	attempts := 0
	// open (re)opens the transfer at off, retrying a bounded number of times.
	open := func(off int) error {
		for {
			var err error
			st, err = nf.Open(uri, args, int64(off))
			if err == nil {
				return nil
			}
			st = nil
			attempts++
			if errors.Is(err, ErrResourceChanged) || attempts > NetRetries {
				return err
			}
			time.Sleep(time.Duration(attempts) * 20 * time.Millisecond)
		}
	}
	if err := open(resume); err != nil {
		if resume > 0 && errors.Is(err, ErrResourceChanged) {
			resume, journalled = 0, 0
			err = open(0)
		}
		if err != nil {
			return p.fail(false, i, name, arg, ErrPayloadUnavailable, "payload not available: %v", err)
		}
	}
	if total < 0 {
		if st.Size() < 0 {
			return p.fail(false, i, name, arg, ErrPayloadUnavailable, "payload not available: the server did not give the size of %q and the manifest has no image-size", uri)
		}
		total = int(st.Size())
	} else if s := st.Size(); s >= 0 && int(s) != total {
		return p.fail(false, i, name, arg, ErrPayloadSize, "the payload is %d bytes but image-size says %d", s, total)
	}
	if err := p.checkSize(i, name, arg, total); err != nil {
		return err
	}
	if total > capacity {
		return p.fail(false, i, name, arg, ErrPayloadTooLarge, "payload too large for the slot: %d bytes, %s holds %d", total, dc.Name, capacity)
	}

	// RAM: one block and the stack's message buffer.
	blk, err := p.d.RAM.alloc("network block buffer", max(st.BlockSize(), 16), true)
	if err != nil {
		return p.failErr(i, name, arg, err)
	}
	defer blk.Free()
	msg, err := p.d.RAM.alloc("network message buffer", st.BufferSize(), false)
	if err != nil {
		return p.failErr(i, name, arg, err)
	}
	defer msg.Free()

	if resume > 0 {
		p.emit(Event{Component: p.compName(i), Command: name, Argument: fmt.Sprintf("%q", uri), Result: Info,
			Reason: fmt.Sprintf("resuming after a restart: the fetch journal says %d of %d bytes are in flash; continuing at byte %d", journalled, total, resume)})
	}
	// Erase what the transfer will write, keeping [dst, dst+resume).
	from := dst + resume
	if resume > 0 && from%ss != 0 {
		from = (from/ss + 1) * ss // the rest of this sector was checked blank
	}
	if from < dst+total {
		if err := f.eraseRange(from, dst+total-from); err != nil {
			return p.failErr(i, name, arg, err)
		}
	}
	if staged {
		dc.written, dc.candOff, dc.candLen = true, dst, resume
	} else {
		dc.Length = 0
	}
	// A fresh journal for this fetch (a resumed one keeps appending).
	jOff := -1
	if hasJournal {
		p.netFetched |= 1 << uint(i)
		if resume > 0 {
			jOff = p.journalEnd(jr, key, jbuf.Buf)
		} else {
			if err := jr.Flash.EraseSector(jr.Offset / jr.Flash.SectorSize()); err != nil {
				return p.failErr(i, name, arg, err)
			}
			if err := jr.Flash.Write(jr.Offset, journalHdr{key: key, flash: flashID, off: uint32(dst), total: uint32(total)}.encode()); err != nil {
				return p.failErr(i, name, arg, err)
			}
			jOff = journalHdrSize
		}
	}
	startedAt := resume

	done := resume
	reopened := 0
	for done < total {
		if p.d.cancel != nil {
			if err := p.d.cancel(); err != nil {
				return p.fail(false, i, name, arg, ErrAbort, "cancelled: %v", err)
			}
		}
		want := min(len(blk.Buf), total-done)
		n, rerr := io.ReadFull(readerFunc(st.Read), blk.Buf[:want])
		if n > 0 {
			if err := f.Write(dst+done, blk.Buf[:n]); err != nil {
				return p.failErr(i, name, arg, err)
			}
			done += n
			if staged {
				dc.candLen = done
			}
			p.d.clock += time.Duration(n) * time.Second / netLinkBytesPerSecond
			if jOff >= 0 && jOff+journalWord <= jr.Size {
				w := jbuf.Buf[:journalWord]
				binary.LittleEndian.PutUint32(w, uint32(done))
				binary.LittleEndian.PutUint32(w[4:], journalCRC(key, uint32(done)))
				if err := jr.Flash.Write(jr.Offset+jOff, w); err != nil {
					return p.failErr(i, name, arg, err)
				}
				jOff += journalWord
			}
		}
		if done >= total {
			break
		}
		if rerr == nil {
			continue
		}
		// The transfer broke (or ended early): reopen from the first missing byte.
		st.Close()
		st = nil
		attempts++
		if attempts > NetRetries {
			return p.fail(false, i, name, arg, ErrPayloadUnavailable, "payload not available: the transfer of %q broke %d times (last: %v); %d of %d bytes received", uri, attempts, rerr, done, total)
		}
		if err := open(done); err != nil {
			if errors.Is(err, ErrResourceChanged) {
				return p.fail(false, i, name, arg, ErrPayloadUnavailable, "payload not available: %q changed on the server during the transfer (%v); fetch again", uri, err)
			}
			return p.fail(false, i, name, arg, ErrPayloadUnavailable, "payload not available: cannot reopen %q at byte %d: %v", uri, done, err)
		}
		reopened++
	}
	if !staged {
		dc.Length = total
	}
	proto := "network"
	if st != nil {
		proto = st.Proto()
	}
	word := fmt.Sprintf("%s (%d bytes over %s, blocks of %d", arg, total, proto, len(blk.Buf))
	if startedAt > 0 {
		word += fmt.Sprintf(", resumed at byte %d after a restart", startedAt)
	}
	if reopened > 0 {
		word += fmt.Sprintf(", reconnected %d times", reopened)
	}
	p.pass(i, name, word+")")
	return nil
}

// journalEnd finds the offset after the last valid progress word.
func (p *proc) journalEnd(j Region, key [8]byte, buf []byte) int {
	w := buf[:journalWord]
	o := journalHdrSize
	for ; o+journalWord <= j.Size; o += journalWord {
		if j.Flash.ReadAt(w, j.Offset+o) != nil {
			return -1
		}
		if binary.LittleEndian.Uint32(w[4:]) != journalCRC(key, binary.LittleEndian.Uint32(w)) {
			break
		}
	}
	// A torn word after the last valid one cannot be rewritten; skip past non-blank words.
	for ; o+journalWord <= j.Size; o += journalWord {
		if j.Flash.ReadAt(w, j.Offset+o) != nil {
			return -1
		}
		blank := true
		for _, b := range w {
			blank = blank && b == 0xFF
		}
		if blank {
			return o
		}
	}
	return -1
}

// blankFrom reports whether flash [from, to) reads all 0xFF.
func (p *proc) blankFrom(f *Flash, from, to int, buf []byte) (bool, error) {
	for o := from; o < to; {
		k := min(len(buf), to-o)
		if err := f.ReadAt(buf[:k], o); err != nil {
			return false, err
		}
		for _, b := range buf[:k] {
			if b != 0xFF {
				return false, nil
			}
		}
		o += k
	}
	return true, nil
}

// netLinkBytesPerSecond is the simulated clock's charge for received bytes: an IEEE 802.15.4
// link (250 kbit/s) at about half its raw rate after 6LoWPAN, MAC and acknowledgements.
const netLinkBytesPerSecond = 15000

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// dropFetchJournal erases the fetch journal when component i's content came through it and
// failed its digest: the next attempt fetches from byte 0 instead of trusting those bytes.
func (p *proc) dropFetchJournal(i int) {
	if p.netFetched&(1<<uint(i)) == 0 {
		return
	}
	p.netFetched &^= 1 << uint(i)
	if j, ok := p.d.journal(); ok {
		_ = j.Flash.EraseSector(j.Offset / j.Flash.SectorSize())
	}
}
