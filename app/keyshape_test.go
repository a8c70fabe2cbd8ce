package app

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suit-studio/suit-studio/signer"
)

// Issue 9 item 2 at the layer verify and the inspector use: a file that is no key is not an HMAC
// key, and a named HMAC key that cannot be used says why.
func TestLoadVerifyKeysNeedsNamedHMACKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	shadow := write("shadow", []byte("root:*:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n"))
	if keys, err := LoadVerifyKeys([]string{shadow}); err == nil || !strings.Contains(err.Error(), "looks like text") || strings.Contains(err.Error(), "root") {
		t.Errorf("text file: %v %+v", err, keys)
	}
	short := write("short.pem", pem.EncodeToMemory(&pem.Block{Type: signer.MACPEMType, Bytes: []byte("short")}))
	if _, err := LoadVerifyKeys([]string{short}); err == nil || !strings.Contains(err.Error(), "32 at least") {
		t.Errorf("short HMAC key: %v", err)
	}
	good := filepath.Join(dir, "mac.pem")
	if _, err := GenerateMACKeyFile(good); err != nil {
		t.Fatal(err)
	}
	keys, err := LoadVerifyKeys([]string{good})
	if err != nil || len(keys) != 1 || len(keys[0].MAC) != 32 {
		t.Fatalf("generated HMAC key: %v %+v", err, keys)
	}
}
