package devicesim

import (
	"time"

	"github.com/suit-studio/suit-studio/codec/lms"
)

// HSS-LMS (COSE -46, RFC 8554) verification on the device: hash-based, so it needs only SHA-256
// and a few hash-sized values besides the signature, which the processor already holds in RAM.
const (
	// HSSVerifyCtxSize: a SHA-256 context, the candidate OTS key and node (2 × 32), the message
	// hash Q with its checksum (34) and a chain value (32), rounded to 320.
	HSSVerifyCtxSize = 320
	// HSSVerifyTime: about a thousand SHA-256 compressions for LMS_SHA256_M32_H10 /
	// LMOTS_SHA256_N32_W4 on a 64 MHz Cortex-M4 (assumption: ~ 60 ms; W8 takes about 4 times
	// longer).
	HSSVerifyTime = 60 * time.Millisecond
)

// verifyHSSLMS checks an HSS signature of msg (the Sig_structure) with an HSS public key anchor.
func (p *proc) verifyHSSLMS(key, msg, sig []byte) (bool, error) {
	ctx, err := p.d.RAM.alloc("HSS-LMS verify context", HSSVerifyCtxSize, false)
	if err != nil {
		return false, err
	}
	defer ctx.Free()
	p.d.clock += HSSVerifyTime
	return lms.Verify(lms.PublicKey(key), msg, sig) == nil, nil
}
