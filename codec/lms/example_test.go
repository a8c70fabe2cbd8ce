package lms_test

import (
	"fmt"

	"github.com/suit-studio/suit-studio/codec/lms"
)

// Sign with leaf 0 of a small LMS tree (32 signatures) and verify as HSS with one level.
func ExamplePrivateKey_SignHSS() {
	k := lms.PrivateKey{LMSType: lms.LMS_SHA256_M32_H5, OTSType: lms.LMOTS_SHA256_N32_W8}
	copy(k.Seed[:], "a secret seed of 32 bytes.......")
	copy(k.ID[:], "key identifier I")
	sig, _ := k.SignHSS(0, []byte("manifest"))
	fmt.Println(len(sig), lms.Verify(k.HSSPublicKey(), []byte("manifest"), sig))
	// Output: 1296 <nil>
}
