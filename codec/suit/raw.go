package suit

import (
	"bytes"
	"fmt"

	"github.com/suit-studio/suit-studio/model"
)

// RawEnvelope is an envelope split into its members without decoding them, so that signing and
// severing can keep every byte they do not change.
type RawEnvelope struct {
	Tagged  bool
	Members []RawPair
}

// RawPair is one envelope member: its encoded key and its encoded value (the whole data item).
type RawPair struct {
	Key    []byte
	Value  []byte
	Offset int // byte offset of the value in the input
}

// IntKey returns the member's integer key, if it has one.
func (p RawPair) IntKey() (int64, bool) {
	r := reader{data: p.Key}
	it, err := r.head(0)
	if err != nil || it.headEnd != len(p.Key) {
		return 0, false
	}
	return intValue(it)
}

// SplitEnvelope splits an envelope into its members.
func SplitEnvelope(data []byte) (*RawEnvelope, error) {
	r := reader{data: data}
	top, err := r.next(0, 0)
	if err != nil {
		return nil, fix(err, "envelope")
	}
	if top.end != len(data) {
		return nil, &DecodeError{Path: "envelope", Offset: top.end, Err: fmt.Errorf("%w: %d bytes after the envelope", ErrStructure, len(data)-top.end)}
	}
	re := &RawEnvelope{}
	it := top
	if it.major == majTag && it.arg == model.TagEnvelope {
		re.Tagged = true
		if it, err = r.next(it.headEnd, 1); err != nil {
			return nil, fix(err, "envelope")
		}
	}
	if it.major != majMap {
		return nil, &DecodeError{Path: "envelope", Offset: it.start, Err: fmt.Errorf("%w: a SUIT envelope is a map, found %s", ErrStructure, kindName(it))}
	}
	kids, err := r.children(it, 1)
	if err != nil {
		return nil, fix(err, "envelope")
	}
	seen := map[string]bool{}
	for i := 0; i < len(kids); i += 2 {
		k := string(data[kids[i].start:kids[i].end])
		if seen[k] {
			return nil, &DecodeError{Path: "envelope", Offset: kids[i].start, Err: fmt.Errorf("%w: duplicate map key", ErrStructure)}
		}
		seen[k] = true
		re.Members = append(re.Members, RawPair{
			Key:    data[kids[i].start:kids[i].end],
			Value:  data[kids[i+1].start:kids[i+1].end],
			Offset: kids[i+1].start,
		})
	}
	return re, nil
}

// Member returns the value of the member with an integer key, or nil.
func (re *RawEnvelope) Member(key int64) []byte {
	for _, p := range re.Members {
		if k, ok := p.IntKey(); ok && k == key {
			return p.Value
		}
	}
	return nil
}

// Set replaces (or adds) the member with an integer key, keeping the members in canonical order.
func (re *RawEnvelope) Set(key int64, value []byte) {
	k := encInt(key)
	for i, p := range re.Members {
		if bytes.Equal(p.Key, k) {
			re.Members[i].Value = value
			return
		}
	}
	re.Members = append(re.Members, RawPair{Key: k, Value: value})
}

// Delete removes the member with an integer key.
func (re *RawEnvelope) Delete(key int64) {
	k := encInt(key)
	out := re.Members[:0]
	for _, p := range re.Members {
		if !bytes.Equal(p.Key, k) {
			out = append(out, p)
		}
	}
	re.Members = out
}

// Bytes encodes the envelope: members in canonical key order, every value as it was.
func (re *RawEnvelope) Bytes() []byte {
	pairs := make([]pair, len(re.Members))
	for i, p := range re.Members {
		pairs[i] = pair{p.Key, p.Value}
	}
	var w writer
	if re.Tagged {
		w.tag(model.TagEnvelope)
	}
	w.mapOf(pairs)
	return w.buf
}

// ManifestDigest computes the SUIT_Digest of the envelope's manifest: alg over the whole bstr item at
// key 3 (head included). alg 0 means the algorithm of the envelope's own digest, else SHA-256.
func (re *RawEnvelope) ManifestDigest(alg int64) (*model.Digest, error) {
	m := re.Member(model.EnvManifest)
	if m == nil {
		return nil, &DecodeError{Path: "envelope", Err: fmt.Errorf("%w: no manifest (key 3)", ErrStructure)}
	}
	if alg == 0 {
		alg = model.AlgSHA256
		if a, err := re.Auth(); err == nil {
			alg = a.Digest.Alg
		}
	}
	return Digest(alg, m)
}

// Auth decodes the authentication wrapper (key 2).
func (re *RawEnvelope) Auth() (*model.Authentication, error) {
	v := re.Member(model.EnvAuthentication)
	if v == nil {
		return nil, &DecodeError{Path: "envelope/authentication-wrapper", Err: fmt.Errorf("%w: no authentication wrapper (key 2)", ErrStructure)}
	}
	d := &decoder{r: reader{data: v}}
	it, err := d.item(0, 0, "envelope/authentication-wrapper")
	if err != nil {
		return nil, err
	}
	return d.auth(it, 0, "envelope/authentication-wrapper")
}
