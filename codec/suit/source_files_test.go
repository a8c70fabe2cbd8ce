package suit

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suit-studio/suit-studio/model"
)

// TestSourceFilesStayInTheSourceFolder: a source names files relative to its own folder; an
// absolute path, a ".." or a symbolic link that leaves the folder is refused (an untrusted source
// would otherwise embed any file the user can read), unless AllowOutside is set.
func TestSourceFilesStayInTheSourceFolder(t *testing.T) {
	top := t.TempDir()
	dir := filepath.Join(top, "project")
	os.MkdirAll(filepath.Join(dir, "build"), 0o755)
	secret := filepath.Join(top, "secret.bin")
	os.WriteFile(secret, []byte("SECRET"), 0o600)
	os.WriteFile(filepath.Join(dir, "build", "fw.bin"), []byte("firmware"), 0o644)
	os.Symlink(secret, filepath.Join(dir, "link-out.bin"))
	os.Symlink(filepath.Join("build", "fw.bin"), filepath.Join(dir, "link-in.bin"))
	os.Symlink(top, filepath.Join(dir, "up"))

	src := func(name string) []byte {
		return []byte("manifest:\n  sequence-number: 1\n  components: [[h'00']]\n" +
			"integrated-payloads:\n  - key: \"#fw\"\n    file: " + name + "\n")
	}
	inside := []string{"build/fw.bin", "./build/fw.bin", "build/../build/fw.bin", "link-in.bin"}
	outside := []string{secret, "../secret.bin", "link-out.bin", "up/secret.bin", "/etc/passwd", "build/../../secret.bin"}
	for _, name := range inside {
		env, err := ParseSource(src(name), dir)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := env.Integrated[0].Data; !bytes.Equal(got, []byte("firmware")) {
			t.Errorf("%s: read %q", name, got)
		}
	}
	for _, name := range outside {
		env, err := ParseSource(src(name), dir)
		var se *SourceError
		if !errors.As(err, &se) {
			t.Errorf("%s: accepted (%v), embedding %q", name, err, payload(env))
			continue
		}
		if !strings.Contains(se.Msg, "outside") || !strings.Contains(se.Hint, "--allow-outside") {
			t.Errorf("%s: message %q, hint %q: want it to say the file is outside and name --allow-outside", name, se.Msg, se.Hint)
		}
		if strings.Contains(se.Error(), "SECRET") {
			t.Errorf("%s: the error shows the file's content", name)
		}
	}
	// With AllowOutside, the same names are read.
	for _, name := range []string{secret, "../secret.bin", "link-out.bin"} {
		env, err := ParseSourceWith(src(name), SourceOptions{BaseDir: dir, AllowOutside: true})
		if err != nil || !bytes.Equal(payload(env), []byte("SECRET")) {
			t.Errorf("AllowOutside %s: %q %v", name, payload(env), err)
		}
	}
	// image-file and {file: ...} byte strings follow the same rule.
	imageFile := []byte("manifest:\n  sequence-number: 1\n  components: [[h'00']]\n  shared-sequence:\n" +
		"    - override-parameters:\n        image-file: ../secret.bin\n")
	if _, err := ParseSource(imageFile, dir); err == nil {
		t.Error("image-file: ../secret.bin accepted")
	}
}

func payload(env *model.Envelope) []byte {
	if env == nil || len(env.Integrated) == 0 {
		return nil
	}
	return env.Integrated[0].Data
}
