package signer

import "fmt"

func loadPKCS11(ref string, opts LoadOptions) (any, error) {
	return nil, &KeyError{Ref: ref, Step: "load", Err: fmt.Errorf("%w: PKCS#11 support is being written", ErrModule)}
}
