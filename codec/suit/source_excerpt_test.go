package suit

import (
	"errors"
	"strings"
	"testing"
)

// Issue 9 item 11: a source error never echoes the file beyond a short, escaped excerpt at the
// error's position (a password file given as a source must not be printed back).
func TestSourceErrorsDoNotEchoContent(t *testing.T) {
	for _, c := range []struct {
		name, src string
		secret    []string // must not appear in the message
		line      int
	}{
		{"shadow", "root:$6$saltsalt$HASHHASHHASHHASH:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n", []string{"saltsalt", "HASHHASH", "19000", "daemon"}, 1},
		{"long value", "manifest:\n  sequence-number: s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t\n", []string{"s3cr3t-s3cr3t-s3cr3t"}, 2},
		{"control characters", "manifest:\n  \"a\\nsuit: error: forged\": 1\n", []string{"\n"}, 2},
		{"yaml syntax", "manifest:\n  sequence-number: 1\n\tsecret: hunter2\n", []string{"hunter2"}, 2},
		{"unknown command", "manifest:\n  components: [[h'00']]\n  install:\n    - p4ssw0rd-p4ssw0rd-p4ssw0rd-p4ssw0rd: 1\n", []string{"p4ssw0rd-p4ssw0rd-p4ssw0rd"}, 4},
	} {
		_, err := ParseSource([]byte(c.src), t.TempDir())
		var se *SourceError
		if !errors.As(err, &se) {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		msg := err.Error() + " " + se.Hint
		for _, s := range c.secret {
			if strings.Contains(msg, s) {
				t.Errorf("%s: the error echoes %q: %q", c.name, s, msg)
			}
		}
		if se.Line != c.line {
			t.Errorf("%s: line %d, want %d (%q)", c.name, se.Line, c.line, msg)
		}
	}
}
