package devicesim

import "crypto/sha256"

// sha256Sum hashes a few small parts held in RAM; the SHA-256 state is charged to the RAM budget
// while it runs (every hash the device computes has its state charged, see
// TestEveryHashStateCharged).
func (d *Device) sha256Sum(what string, parts ...[]byte) ([32]byte, error) {
	var out [32]byte
	ctx, err := d.RAM.alloc("SHA-256 context ("+what+")", SHA256CtxSize, false)
	if err != nil {
		return out, err
	}
	defer ctx.Free()
	h := sha256.New()
	n := 0
	for _, p := range parts {
		h.Write(p)
		n += len(p)
	}
	d.chargeHash(n)
	h.Sum(out[:0])
	return out, nil
}
