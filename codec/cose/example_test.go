package cose_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"

	"github.com/suit-studio/suit-studio/codec/cose"
)

func ExampleSign1() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	// D: the encoded SUIT_Digest [-16, h'…'] (auth[0]'s content).
	d := append([]byte{0x82, 0x2f, 0x58, 0x20}, make([]byte, 32)...)
	block, err := cose.Sign1(rand.Reader, key, cose.AlgES256, nil, d)
	if err != nil {
		panic(err)
	}
	m, _ := cose.Parse(block)
	fmt.Println(cose.AlgorithmName(m.Alg), m.PayloadDetached, len(block), m.VerifySignature(&key.PublicKey, d))
	// Output: ES256 true 74 <nil>
}
