package devicesim_test

import (
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"github.com/suit-studio/suit-studio/devicesim"
	"github.com/suit-studio/suit-studio/model"
)

// A device provisioned for arm.com / "suit" with the spec's public key processes the official
// example 1. Its image digest is a placeholder, so the device refuses the payload and keeps
// booting its factory image.
func Example() {
	pemBytes, _ := os.ReadFile("../../shared/spec/vectors/public_key.pem")
	blk, _ := pem.Decode(pemBytes)
	pub, _ := x509.ParsePKIXPublicKey(blk.Bytes)
	hexText, _ := os.ReadFile("../../shared/spec/vectors/example1.hex")
	envelope, _ := hex.DecodeString(strings.Join(strings.Fields(string(hexText)), ""))

	d, _ := devicesim.New(devicesim.Config{}) // 100 KiB flash, 10 KiB RAM
	vendor := model.VendorID("arm.com")
	class, _ := model.ClassID(vendor, "suit")
	_ = d.Provision(devicesim.Provisioning{
		TrustAnchors: []devicesim.TrustAnchor{{Name: "spec", Key: pub}},
		VendorID:     vendor, ClassID: class,
	})
	d.SetEventHandler(func(e devicesim.Event) {
		if e.Procedure == "update" && e.Result == devicesim.Fail {
			fmt.Printf("step %s/%s: %s\n", e.Sequence, e.Command, e.Result)
		}
	})
	_ = d.Stage(envelope)
	rec := d.Update(devicesim.Payloads{"http://example.com/file.bin": make([]byte, 34768)})
	fmt.Println(rec.Outcome, "-", strings.SplitN(rec.Reason, ":", 2)[0])
	fmt.Println("still boots:", rec.Booted, "RAM within budget:", rec.RAMPeak <= rec.RAMBudget)
	// Output:
	// step install/image-match: fail
	// step install/abort: fail
	// refused - payload digest mismatch
	// still boots: true RAM within budget: true
}
