package cose_test

import (
	"crypto/ecdh"
	"crypto/rand"
	"fmt"

	"github.com/suit-studio/suit-studio/codec/cose"
)

// Encrypt a firmware image for a device's P-256 key (ECDH-ES + A128KW, A128GCM), as the
// SUIT_Encryption_Info parameter and a detached ciphertext, then decrypt it with the device key.
func ExampleEncryptDetached() {
	device, _ := ecdh.P256().GenerateKey(rand.Reader)
	info, ciphertext, err := cose.EncryptDetached(cose.EncryptOptions{
		ContentAlg: cose.AlgA128GCM,
		Recipients: []cose.RecipientSpec{{Alg: cose.AlgECDHESA128KW, KID: []byte("device-1"), Public: device.PublicKey()}},
	}, []byte("firmware image"))
	if err != nil {
		panic(err)
	}
	e, err := cose.ParseEncrypt(info)
	if err != nil {
		panic(err)
	}
	plain, err := e.Decrypt(ciphertext, cose.DecryptionKey{Private: device})
	fmt.Println(cose.AlgorithmName(e.Alg), cose.AlgorithmName(e.Recipients[0].Alg), len(ciphertext), string(plain), err)
	// Output: A128GCM ECDH-ES + A128KW 30 firmware image <nil>
}
