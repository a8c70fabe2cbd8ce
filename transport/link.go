package transport

import (
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Paced wraps a stream so that bytes pass no faster than a UART at Baud (10 bits a byte: start
// bit, 8 data bits, stop bit), in both directions independently (a UART is full duplex). Wrap one
// end of a link to make the whole link behave like a serial line.
type Paced struct {
	rw   io.ReadWriter
	baud int

	wmu, rmu     sync.Mutex
	wnext, rnext time.Time
}

// NewPaced paces rw at baud. A baud of 0 or less disables pacing.
func NewPaced(rw io.ReadWriter, baud int) *Paced { return &Paced{rw: rw, baud: baud} }

// paceChunk is the largest piece written at once: bytes reach the other end as a UART would
// deliver them, a few at a time, not in one burst after the whole write's time.
const paceChunk = 32

func (p *Paced) byteTime(n int) time.Duration {
	return time.Duration(int64(n) * 10 * int64(time.Second) / int64(p.baud))
}

// paceSlack is how far the virtual clock may lag behind real time before the line counts as
// idle. Within it, time lost to oversleeping is made up by the following bytes, so the average
// rate is the baud rate however coarse the OS timer is.
const paceSlack = 5 * time.Millisecond

// wait advances the virtual clock *next by n bytes and sleeps until the bytes "have left".
func (p *Paced) wait(next *time.Time, n int) {
	now := time.Now()
	if now.Sub(*next) > paceSlack {
		*next = now // the line was idle
	}
	*next = next.Add(p.byteTime(n))
	if d := time.Until(*next); d > 0 {
		time.Sleep(d)
	}
}

// Write sends b at the line rate. It returns when the last byte has been handed over.
func (p *Paced) Write(b []byte) (int, error) {
	if p.baud <= 0 {
		return p.rw.Write(b)
	}
	p.wmu.Lock()
	defer p.wmu.Unlock()
	n := 0
	for n < len(b) {
		c := min(paceChunk, len(b)-n)
		p.wait(&p.wnext, c)
		m, err := p.rw.Write(b[n : n+c])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Read returns bytes no faster than the line rate.
func (p *Paced) Read(b []byte) (int, error) {
	if p.baud <= 0 {
		return p.rw.Read(b)
	}
	p.rmu.Lock()
	defer p.rmu.Unlock()
	if len(b) > paceChunk {
		b = b[:paceChunk]
	}
	n, err := p.rw.Read(b)
	if n > 0 {
		p.wait(&p.rnext, n)
	}
	return n, err
}

// Close closes the wrapped stream if it is an io.Closer.
func (p *Paced) Close() error {
	if c, ok := p.rw.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Faulty wraps a stream and damages the bytes that pass, with a seeded random source so a failing
// run can be repeated: each byte is dropped with probability Drop or replaced by a random byte
// with probability Corrupt, in both directions. Unplug makes every read and write fail, as when
// a USB cable is pulled.
type Faulty struct {
	rw      io.ReadWriter
	drop    float64
	corrupt float64

	mu        sync.Mutex
	rng       *rand.Rand
	unplugged atomic.Bool
	damaged   atomic.Int64
}

// NewFaulty wraps rw. drop and corrupt are shares of bytes (0.01 = 1%).
func NewFaulty(rw io.ReadWriter, drop, corrupt float64, seed uint64) *Faulty {
	return &Faulty{rw: rw, drop: drop, corrupt: corrupt, rng: rand.New(rand.NewPCG(seed, seed^0x9E3779B97F4A7C15))}
}

// Unplug makes all further reads and writes fail with ErrUnplugged. A read blocked in the wrapped
// stream fails as soon as it returns; close the wrapped stream to unblock it at once.
func (f *Faulty) Unplug() { f.unplugged.Store(true) }

// Damaged returns how many bytes were dropped or corrupted so far.
func (f *Faulty) Damaged() int64 { return f.damaged.Load() }

func (f *Faulty) mangle(b []byte) []byte {
	if f.drop == 0 && f.corrupt == 0 {
		return b
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := b[:0]
	for _, c := range b {
		r := f.rng.Float64()
		switch {
		case r < f.drop:
			f.damaged.Add(1)
			continue
		case r < f.drop+f.corrupt:
			f.damaged.Add(1)
			c ^= byte(1 + f.rng.IntN(255))
		}
		out = append(out, c)
	}
	return out
}

// Write damages b and passes it on. It reports len(b) written when the damaged bytes went out,
// as a UART does not know the line lost them.
func (f *Faulty) Write(b []byte) (int, error) {
	if f.unplugged.Load() {
		return 0, ErrUnplugged
	}
	buf := f.mangle(append([]byte(nil), b...))
	if _, err := f.rw.Write(buf); err != nil {
		return 0, err
	}
	return len(b), nil
}

// Read reads from the wrapped stream and damages what arrives.
func (f *Faulty) Read(b []byte) (int, error) {
	for {
		if f.unplugged.Load() {
			return 0, ErrUnplugged
		}
		n, err := f.rw.Read(b)
		if f.unplugged.Load() {
			return 0, ErrUnplugged
		}
		if n > 0 {
			got := f.mangle(b[:n])
			if len(got) == 0 && err == nil {
				continue
			}
			return len(got), err
		}
		return n, err
	}
}

// Close closes the wrapped stream if it is an io.Closer.
func (f *Faulty) Close() error {
	if c, ok := f.rw.(io.Closer); ok {
		return c.Close()
	}
	return nil
}
