package devicesim

import (
	"errors"
	"fmt"
)

// ErrInsufficientMemory is the sentinel for a RAM budget overrun.
var ErrInsufficientMemory = errors.New("insufficient memory")

// InsufficientMemoryError says which buffer asked for how much when the budget ran out.
type InsufficientMemoryError struct {
	What   string
	Asked  int
	InUse  int
	Budget int
}

func (e *InsufficientMemoryError) Error() string {
	return fmt.Sprintf("insufficient memory: %s needs %d B but %d of %d B are in use", e.What, e.Asked, e.InUse, e.Budget)
}

func (e *InsufficientMemoryError) Unwrap() error { return ErrInsufficientMemory }

// RAM is the accounting allocator of the device's working memory. Every buffer the processor holds
// is a Block taken from it and given back; the simulator's own Go bookkeeping is not counted, but
// everything a C implementation would need to hold is (see the *Size constants).
type RAM struct {
	budget int
	inUse  int
	peak   int
	live   map[*Block]struct{}
	// trace, when set (tests), sees every allocation (alloc true) and every release.
	trace func(b *Block, alloc bool)
}

func newRAM(budget int) *RAM { return &RAM{budget: budget, live: map[*Block]struct{}{}} }

// Block is one allocation. Buf has exactly Size bytes (nil for bookkeeping-only objects such as
// hash contexts, whose Go state lives elsewhere).
type Block struct {
	What string
	Size int
	Buf  []byte
	ram  *RAM
}

// alloc takes n bytes for what. withBuf makes a zeroed byte buffer of that size.
func (r *RAM) alloc(what string, n int, withBuf bool) (*Block, error) {
	if n < 0 || r.inUse+n > r.budget {
		return nil, &InsufficientMemoryError{What: what, Asked: n, InUse: r.inUse, Budget: r.budget}
	}
	b := &Block{What: what, Size: n, ram: r}
	if withBuf {
		b.Buf = make([]byte, n)
	}
	r.inUse += n
	r.peak = max(r.peak, r.inUse)
	r.live[b] = struct{}{}
	if r.trace != nil {
		r.trace(b, true)
	}
	return b, nil
}

// Free returns the block to the budget; freeing twice or a nil block is harmless.
func (b *Block) Free() {
	if b == nil || b.ram == nil {
		return
	}
	if _, ok := b.ram.live[b]; ok {
		delete(b.ram.live, b)
		b.ram.inUse -= b.Size
		if b.ram.trace != nil {
			b.ram.trace(b, false)
		}
	}
	b.ram = nil
	b.Buf = nil
}

// InUse is the number of bytes currently allocated.
func (r *RAM) InUse() int { return r.inUse }

// Peak is the highest InUse since the last resetPeak.
func (r *RAM) Peak() int { return r.peak }

// Budget is the RAM size.
func (r *RAM) Budget() int { return r.budget }

// Live lists the blocks currently allocated (for the GUI's RAM gauge).
func (r *RAM) Live() []Block {
	out := make([]Block, 0, len(r.live))
	for b := range r.live {
		out = append(out, Block{What: b.What, Size: b.Size})
	}
	return out
}

func (r *RAM) resetPeak() { r.peak = r.inUse }

// freeAll releases everything (a reset of the device clears its RAM).
func (r *RAM) freeAll() {
	for b := range r.live {
		b.ram = nil
		b.Buf = nil
	}
	r.live = map[*Block]struct{}{}
	r.inUse = 0
}
