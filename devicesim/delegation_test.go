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
