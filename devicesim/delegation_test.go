package devicesim

import (
	"crypto/ecdsa"
	"strings"
	"testing"
	"time"

	"github.com/suit-studio/suit-studio/codec/suit"
)

func dlgToken(t testing.TB, issuer *ecdsa.PrivateKey, subject *ecdsa.PrivateKey, exp time.Time) []byte {
	t.Helper()
	b, err := suit.MakeDelegationToken(issuer, 0, nil, suit.DelegationClaims{Subject: &subject.PublicKey, Expires: exp})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// delegatedExample is example 0 signed by fw, with the given delegation chains attached.
func delegatedExample(t testing.TB, fw *ecdsa.PrivateKey, chains ...[][]byte) (exampleCase, []byte) {
	t.Helper()
	c := patchedExample(t, 0)
	env := resign(t, c.env, fw)
	if len(chains) == 0 {
		return c, env
	}
	out, err := suit.AttachDelegation(env, chains)
	if err != nil {
		t.Fatal(err)
	}
	return c, out
}

var dlgClock = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// The device applies a manifest signed by a key that its trust anchor (the spec's key) delegated,
// directly or through an intermediate key, and says so in its log.
func TestDelegatedSignatureApplies(t *testing.T) {
	spec, mid, fw := specPrivateKey(t), newKey(t), newKey(t)
	for _, tc := range []struct {
		name   string
		chains [][][]byte
		want   string
	}{
		{"one token", [][][]byte{{dlgToken(t, spec, fw, time.Time{})}}, "delegated by chain 1 (1 token(s) from trust anchor #1)"},
		{"two tokens with exp", [][][]byte{{dlgToken(t, spec, mid, dlgClock.Add(time.Hour)), dlgToken(t, mid, fw, time.Time{})}}, "delegated by chain 1 (2 token(s) from trust anchor #1)"},
		{"second chain", [][][]byte{{dlgToken(t, newKey(t), fw, time.Time{})}, {dlgToken(t, spec, fw, time.Time{})}}, "delegated by chain 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, env := delegatedExample(t, fw, tc.chains...)
			d := provisioned(t, Config{Policy: &Policy{Clock: dlgClock}}, c.factory, 0)
			rec, log := runLogged(t, d, env, c.payloads)
			if rec.Outcome != Applied {
				t.Fatalf("%s: %s\n%s", rec.Outcome, rec.Reason, log)
			}
			if !strings.Contains(log, tc.want) {
				t.Fatalf("log does not say %q:\n%s", tc.want, log)
			}
			if rec.RAMPeak > rec.RAMBudget {
				t.Errorf("RAM peak %d over the budget %d", rec.RAMPeak, rec.RAMBudget)
			}
			t.Logf("RAM peak %d of %d", rec.RAMPeak, rec.RAMBudget)
		})
	}
}

// Broken chains are refused with the reason, and the device keeps its factory image.
func TestDelegatedSignatureRefused(t *testing.T) {
	spec, mid, fw, other := specPrivateKey(t), newKey(t), newKey(t), newKey(t)
	tampered := dlgToken(t, spec, fw, time.Time{})
	tampered[len(tampered)-1] ^= 1
	for _, tc := range []struct {
		name   string
		clock  time.Time
		chains [][][]byte
		want   string
	}{
		{"no chain", dlgClock, nil, "does not verify with any of the 1 ES256 trust anchor"},
		{"broken link", dlgClock, [][][]byte{{dlgToken(t, spec, mid, time.Time{}), dlgToken(t, other, fw, time.Time{})}}, "token 2 is not signed by the key token 1 delegates to (broken link)"},
		{"wrong anchor", dlgClock, [][][]byte{{dlgToken(t, other, fw, time.Time{})}}, "token 1 is not signed by a ES256 trust anchor"},
		{"tampered", dlgClock, [][][]byte{{tampered}}, "token 1 is not signed by a ES256 trust anchor"},
		{"expired", dlgClock, [][][]byte{{dlgToken(t, spec, fw, dlgClock.Add(-time.Second))}}, "token 1 expired at 2026-05-31T23:59:59Z"},
		{"no clock", time.Time{}, [][][]byte{{dlgToken(t, spec, fw, dlgClock)}}, "this device has no clock"},
		{"delegates to another key", dlgClock, [][][]byte{{dlgToken(t, spec, other, time.Time{})}}, "does not verify with the key the chain delegates to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, env := delegatedExample(t, fw, tc.chains...)
			d := provisioned(t, Config{Policy: &Policy{Clock: tc.clock}}, c.factory, 0)
			rec, log := runLogged(t, d, env, c.payloads)
			if rec.Outcome == Applied {
				t.Fatalf("applied, want refused\n%s", log)
			}
			if !strings.Contains(rec.Reason, tc.want) {
				t.Fatalf("reason %q does not say %q\n%s", rec.Reason, tc.want, log)
			}
		})
	}
}

// Every byte of a two-token chain altered in turn: the device refuses (or, where the byte is not
// covered by anything, still verifies), never panics, and never applies a chain it could not check.
func TestDelegationChainMutations(t *testing.T) {
	spec, mid, fw := specPrivateKey(t), newKey(t), newKey(t)
	c, env := delegatedExample(t, fw, [][]byte{dlgToken(t, spec, mid, time.Time{}), dlgToken(t, mid, fw, time.Time{})})
	re, err := suit.SplitEnvelope(env)
	if err != nil {
		t.Fatal(err)
	}
	var start, end int
	for _, m := range re.Members {
		if k, _ := m.IntKey(); k == suit.EnvDelegation {
			start, end = m.Offset, m.Offset+len(m.Value)
		}
	}
	if end == 0 {
		t.Fatal("no delegation member")
	}
	applied := 0
	for i := start; i < end; i++ {
		mut := append([]byte(nil), env...)
		mut[i] ^= 0x5a
		d := provisioned(t, Config{}, c.factory, 0)
		if err := d.Stage(mut); err != nil {
			continue
		}
		if rec := d.Update(c.payloads); rec.Outcome == Applied {
			applied++
		}
	}
	// Only bytes of the unprotected headers (empty maps here) and nothing else may change without
	// a refusal; a flipped byte there breaks the CBOR structure, so nothing applies.
	if applied != 0 {
		t.Fatalf("%d of %d mutated chains were applied", applied, end-start)
	}
}

func BenchmarkDelegatedUpdate(b *testing.B) {
	spec, mid, fw := specPrivateKey(b), newKey(b), newKey(b)
	c, env := delegatedExample(b, fw, [][]byte{dlgToken(b, spec, mid, time.Time{}), dlgToken(b, mid, fw, time.Time{})})
	b.ReportAllocs()
	for b.Loop() {
		d := provisioned(b, Config{}, c.factory, 0)
		if err := d.Stage(env); err != nil {
			b.Fatal(err)
		}
		if rec := d.Update(c.payloads); rec.Outcome != Applied {
			b.Fatal(rec.Reason)
		}
	}
}

// FuzzDelegatedUpdate: envelopes carrying delegation chains never panic the device, never exceed
// its RAM budget, and are applied only when the chain still leads from the anchor to the signer.
func FuzzDelegatedUpdate(f *testing.F) {
	spec, mid, fw := specPrivateKey(f), newKey(f), newKey(f)
	c, env := delegatedExample(f, fw, [][]byte{dlgToken(f, spec, mid, time.Time{}), dlgToken(f, mid, fw, time.Time{})})
	f.Add(env)
	_, env1 := delegatedExample(f, fw, [][]byte{dlgToken(f, spec, fw, time.Time{})})
	f.Add(env1)
	d := provisioned(f, Config{}, c.factory, 0)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 2048 {
			return
		}
		if err := d.Stage(data); err != nil {
			return
		}
		rec := d.Update(c.payloads)
		if rec.RAMPeak > rec.RAMBudget || d.RAM.InUse() != 0 {
			t.Fatalf("RAM peak %d over %d, in use %d", rec.RAMPeak, rec.RAMBudget, d.RAM.InUse())
		}
		if rec.Outcome != Refused {
			d = provisioned(t, Config{}, c.factory, 0)
		}
		if rec.Outcome == Applied {
			v, err := suit.VerifyAt(data, []suit.VerifyKey{{Name: "spec", Public: &spec.PublicKey}}, dlgClock)
			if err != nil || !v.ManifestAuthentic {
				t.Fatalf("the device applied an envelope the host does not authenticate: %v %+v", err, v)
			}
		}
	})
}
