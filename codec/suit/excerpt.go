package suit

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// maxExcerpt is how many characters of a file's content an error message may show.
const maxExcerpt = 8

// excerpt quotes a value taken from a source file for an error message: a name-like value (a
// field, command or parameter name as people type them, 24 characters at most) in full, anything
// else as its first few characters, escaped, with its length. A file that is not a source (a
// password file, a key) is never printed back.
func excerpt(s string) string {
	if len(s) <= 24 && nameLike(s) || len([]rune(s)) <= maxExcerpt {
		return strconv.Quote(s)
	}
	r := []rune(s)
	return strconv.Quote(string(r[:maxExcerpt])) + fmt.Sprintf("... (%d bytes)", len(s))
}

func nameLike(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_.()+", c)) {
			return false
		}
	}
	return true
}

var (
	yamlLine   = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	yamlQuoted = regexp.MustCompile("'[^']*'|`[^`]*`|\"[^\"]*\"")
)

// yamlError turns a YAML parser error into its line number and a message that keeps the parser's
// words but none of the file's text (quoted segments become short excerpts; only the first line).
func yamlError(err error) (int, string) {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	line := 1
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		if n, err := strconv.Atoi(m[1]); err == nil && n > 0 {
			line = n
		}
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	msg = yamlQuoted.ReplaceAllStringFunc(msg, func(q string) string { return excerpt(q[1 : len(q)-1]) })
	return line, msg
}
