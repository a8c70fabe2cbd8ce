package signer

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/suit-studio/suit-studio/codec/lms"
)

// HSS-LMS keys (RFC 8554, COSE -46) are stateful: each leaf of the tree may sign once. A key
// file holds a "SUIT HSS-LMS PRIVATE KEY" PEM block (u32 LMS type || u32 LM-OTS type || I (16) ||
// SEED (32)) and its "SUIT HSS-LMS PUBLIC KEY" block (the HSS public key); its state is the
// file KEY.state beside it: the next unused leaf, in decimal. Signing reserves a leaf by
// writing the state (to a temporary file, synced, renamed) before the signature is computed, so
// a crash can waste a leaf but never reuse one. Copying a key file with its state and signing
// from both copies would reuse leaves: keep one copy.
const (
	HSSPrivatePEMType = "SUIT HSS-LMS PRIVATE KEY"
	HSSPublicPEMType  = "SUIT HSS-LMS PUBLIC KEY"
	AlgHSSLMS         = -46
)

// ErrKeyExhausted: every leaf of a stateful key has been used.
var ErrKeyExhausted = errors.New("stateful key exhausted")

type hssKey struct {
	mu        sync.Mutex
	priv      lms.PrivateKey
	pub       lms.PublicKey
	statePath string
	desc      string
	kid       []byte
}

func (k *hssKey) Public() crypto.PublicKey { return k.pub }
func (k *hssKey) Algorithm() int64         { return AlgHSSLMS }
func (k *hssKey) KeyID() []byte            { return append([]byte(nil), k.kid...) }
func (k *hssKey) Description() string      { return k.desc }

// Sign signs msg (the whole message: HSS hashes internally; opts must be crypto.Hash(0)) with the
// next leaf, which it reserves in the state file first.
func (k *hssKey) Sign(_ io.Reader, msg []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts != nil && opts.HashFunc() != 0 {
		return nil, fmt.Errorf("%w: HSS-LMS signs the message itself, not a digest", ErrUnsupportedHash)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	q, err := reserveLeaf(k.statePath, uint32(1)<<k.priv.Height())
	if err != nil {
		return nil, &KeyError{Ref: k.statePath, Step: "reserve a leaf", Err: err}
	}
	return k.priv.SignHSS(q, msg)
}

// Remaining says how many signatures the key has left.
func HSSRemaining(path string) (used, total uint64, err error) {
	k, err := loadHSSFile(path)
	if err != nil {
		return 0, 0, err
	}
	q, err := readState(k.statePath)
	if err != nil {
		return 0, 0, err
	}
	return uint64(q), uint64(1) << k.priv.Height(), nil
}

func readState(path string) (uint32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("the state file of a stateful HSS-LMS key is missing or unreadable (%v); never recreate it by hand: that reuses leaves", err)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("state file %s is damaged: %v", path, err)
	}
	return uint32(v), nil
}

// reserveLeaf reads the next leaf, writes next+1 durably, and returns next.
func reserveLeaf(path string, leaves uint32) (uint32, error) {
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return 0, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return 0, err
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	q, err := readState(path)
	if err != nil {
		return 0, err
	}
	if q >= leaves {
		return 0, fmt.Errorf("%w: all %d signatures of this key are used; generate a new key", ErrKeyExhausted, leaves)
	}
	if err := writeState(path, q+1); err != nil {
		return 0, err
	}
	return q, nil
}

// writeState replaces the state file durably (atomicfile: synced, renamed, folder synced).
func writeState(path string, next uint32) error {
	return writeFileAtomic(path, []byte(fmt.Sprintf("%d\n", next)), 0o600)
}

// isHSSFile reports whether b holds an HSS-LMS private key block.
func isHSSFile(b []byte) bool {
	return bytes.Contains(b, []byte("-----BEGIN "+HSSPrivatePEMType+"-----"))
}

func loadHSSFile(path string) (*hssKey, error) {
	b, err := readKeyFile(path)
	if err != nil {
		return nil, &KeyError{Ref: path, Step: "read", Err: err}
	}
	return parseHSSFile(path, b)
}

// parseHSSFile makes the key of HSS-LMS key file path from its contents b.
func parseHSSFile(path string, b []byte) (*hssKey, error) {
	var priv, pub *pem.Block
	for rest := b; ; {
		blk, r := pem.Decode(rest)
		if blk == nil {
			break
		}
		rest = r
		switch blk.Type {
		case HSSPrivatePEMType:
			priv = blk
		case HSSPublicPEMType:
			pub = blk
		}
	}
	if priv == nil || len(priv.Bytes) != 4+4+16+32 {
		return nil, &KeyError{Ref: path, Step: "parse", Err: fmt.Errorf("%w: no well-formed %s block", ErrNoKeyInFile, HSSPrivatePEMType)}
	}
	k := &hssKey{statePath: path + ".state", desc: "file " + path + " (HSS-LMS)"}
	k.priv.LMSType = binary.BigEndian.Uint32(priv.Bytes)
	k.priv.OTSType = binary.BigEndian.Uint32(priv.Bytes[4:])
	copy(k.priv.ID[:], priv.Bytes[8:24])
	copy(k.priv.Seed[:], priv.Bytes[24:])
	if err := k.priv.Check(); err != nil {
		return nil, &KeyError{Ref: path, Step: "parse", Err: fmt.Errorf("%w: %v", ErrUnsupportedKey, err)}
	}
	if pub != nil {
		k.pub = lms.PublicKey(pub.Bytes)
	} else {
		k.pub = k.priv.HSSPublicKey()
	}
	if err := k.pub.Check(); err != nil {
		return nil, &KeyError{Ref: path, Step: "parse", Err: err}
	}
	k.kid = hssKeyID(k.pub)
	return k, nil
}

// hssKeyID is the kid of an HSS-LMS public key: the first 8 bytes of SHA-256 over it.
func hssKeyID(pub lms.PublicKey) []byte {
	s := sha256.Sum256(append([]byte("SUIT HSS-LMS key id"), pub...))
	return s[:8]
}

// HSSParams are the tree shapes offered: height (signatures = 2^height) and Winternitz width.
var HSSParams = map[string][2]uint32{
	"h5-w8":  {lms.LMS_SHA256_M32_H5, lms.LMOTS_SHA256_N32_W8},
	"h10-w4": {lms.LMS_SHA256_M32_H10, lms.LMOTS_SHA256_N32_W4},
	"h10-w8": {lms.LMS_SHA256_M32_H10, lms.LMOTS_SHA256_N32_W8},
	"h15-w4": {lms.LMS_SHA256_M32_H15, lms.LMOTS_SHA256_N32_W4},
}

// GenerateHSSFile creates a new HSS-LMS key file (0600, never overwritten) with its state file.
// params is a key of HSSParams ("h10-w4": 1024 signatures, the default).
func GenerateHSSFile(path, params string) error {
	if params == "" {
		params = "h10-w4"
	}
	t, ok := HSSParams[params]
	if !ok {
		return fmt.Errorf("%w: HSS-LMS parameters %q (use h5-w8, h10-w4, h10-w8 or h15-w4)", ErrUnsupportedKey, params)
	}
	k := lms.PrivateKey{LMSType: t[0], OTSType: t[1]}
	if _, err := io.ReadFull(rand.Reader, k.ID[:]); err != nil {
		return err
	}
	if _, err := io.ReadFull(rand.Reader, k.Seed[:]); err != nil {
		return err
	}
	raw := binary.BigEndian.AppendUint32(nil, k.LMSType)
	raw = binary.BigEndian.AppendUint32(raw, k.OTSType)
	raw = append(append(raw, k.ID[:]...), k.Seed[:]...)
	out := pem.EncodeToMemory(&pem.Block{Type: HSSPrivatePEMType, Headers: map[string]string{"Parameters": params}, Bytes: raw})
	out = append(out, pem.EncodeToMemory(&pem.Block{Type: HSSPublicPEMType, Bytes: k.HSSPublicKey()})...)
	if _, err := os.Stat(path + ".state"); err == nil {
		return &KeyError{Ref: path + ".state", Step: "generate", Err: fmt.Errorf("%w: a state file is already there", ErrExists)}
	}
	if err := writeNewFile(path, out, 0o600); err != nil {
		return err
	}
	return writeState(path+".state", 0)
}
