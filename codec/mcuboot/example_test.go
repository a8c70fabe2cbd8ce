package mcuboot_test

import (
	"crypto/ed25519"
	"fmt"

	"github.com/suit-studio/suit-studio/codec/mcuboot"
)

// Sign an application binary as imgtool sign --pad-header -H 0x200 -v 1.2.3 -s 5 would, with a
// SUIT envelope in the protected TLV area, then read it back and verify it.
func ExampleSign() {
	key := ed25519.NewKeyFromSeed(make([]byte, 32)) // any crypto.Signer: a file key or an HSM key
	app := []byte("application code linked to run at the slot + 0x200")
	sc := uint32(5)
	img, err := mcuboot.Sign(app, key, mcuboot.Options{PadHeader: true, Version: mcuboot.Version{Major: 1, Minor: 2, Revision: 3},
		SecurityCounter: &sc, Protected: []mcuboot.TLV{{Type: mcuboot.TLVSUITEnvelope, Value: []byte("a signed SUIT envelope")}}})
	if err != nil {
		panic(err)
	}
	v, im, err := mcuboot.Verify(img, key.Public())
	if err != nil {
		panic(err)
	}
	fmt.Println("version", im.Header.Version, "body", len(im.Body()), "bytes")
	for _, t := range append(im.Protected, im.TLVs...) {
		fmt.Printf("TLV 0x%04x %s protected=%v\n", t.Type, mcuboot.TLVName(t.Type), t.Protected)
	}
	fmt.Println("valid:", v.Valid)
	// Output:
	// version 1.2.3+0 body 50 bytes
	// TLV 0x0050 SEC_CNT protected=true
	// TLV 0x53a0 SUIT_ENVELOPE (SUIT Studio) protected=true
	// TLV 0x0010 SHA256 protected=false
	// TLV 0x0001 KEYHASH protected=false
	// TLV 0x0024 ED25519 protected=false
	// valid: true
}
