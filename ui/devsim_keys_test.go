package ui

import (
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suit-studio/suit-studio/signer"
)

// The simulator view provisions the device with its own keys: the draft's AES-KW example
// (COSE_Mac0 with the shared HMAC key, the payload wrapped for the KEK) is authenticated,
// decrypted and applied; without the keys it is refused.
func TestDevSimDeviceKeysDecryptVector(t *testing.T) {
	dir := t.TempDir()
	kek := filepath.Join(dir, "kek.pem")
	mac := filepath.Join(dir, "mac.pem")
	os.WriteFile(kek, pem.EncodeToMemory(&pem.Block{Type: "SUIT KEY ENCRYPTION KEY", Bytes: []byte(strings.Repeat("a", 16))}), 0o600)
	os.WriteFile(mac, pem.EncodeToMemory(&pem.Block{Type: signer.MACPEMType, Bytes: []byte(strings.Repeat("a", 32))}), 0o600)
	vec := filepath.Join(devVectors, "firmware-encryption", "suit-manifest-aes-kw-slot.signed.hex")

	v, _ := newTestSimView(t, filepath.Join(devVectors, "public_key.pem"))
	v.pace.SetSelected(SimPaceInstant)
	hexText, err := os.ReadFile(filepath.Join(devVectors, "firmware-encryption", "encrypted-payload-aes-kw-aes-gcm.hex"))
	if err != nil {
		t.Fatal(err)
	}
	ct, err := hex.DecodeString(strings.Join(strings.Fields(string(hexText)), ""))
	if err != nil {
		t.Fatal(err)
	}
	ctFile := filepath.Join(dir, "encrypted-firmware.bin")
	os.WriteFile(ctFile, ct, 0o600)
	v.payloadEntry.SetText("coaps://example.com/encrypted-firmware=" + ctFile)
	v.RunFile(vec)
	v.Wait()
	if verdict := v.Verdict(); !strings.Contains(verdict, "Refused") {
		t.Fatalf("without keys: %q", verdict)
	}

	v.deviceKeysEntry.SetText("kid-1=" + kek + "\n" + mac)
	v.Provision()
	v.Wait()
	v.RunFile(vec)
	v.Wait()
	rows := v.StepRows()
	for _, want := range [][]string{
		{"verify MAC", "COSE_Mac0 HMAC 256/256", "PASS"},
		{"copy", "A128GCM", "tag verified", "PASS"},
	} {
		if _, ok := devFind(rows, want...); !ok {
			t.Errorf("no step with %q in:\n%s", want, strings.Join(rows, "\n"))
		}
	}
	if verdict := v.Verdict(); strings.Contains(verdict, "Refused") {
		t.Fatalf("with the device's keys: %q", verdict)
	}
}
