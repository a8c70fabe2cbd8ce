package main

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// printMsg writes one "suit: KIND: MSG" line. Control characters in msg (a newline or carriage
// return in a file name, terminal escapes, Unicode line separators and direction overrides) are
// escaped, so no message can forge another line or rewrite the terminal.
func printMsg(w io.Writer, kind, msg string) {
	fmt.Fprintf(w, "suit: %s: %s\n", kind, escapeControl(msg))
}

// escapeControl escapes what could make one line look like several: C0 and C1 controls, DEL,
// U+2028/U+2029, bidirectional overrides, and bytes that are not UTF-8.
func escapeControl(s string) string {
	clean := true
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if unsafeRune(r, n) {
			clean = false
			break
		}
		i += n
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case unsafeRune(r, n) && r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r, n):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func unsafeRune(r rune, n int) bool {
	switch {
	case r == utf8.RuneError && n == 1:
		return true
	case r == '\t':
		return false
	case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0:
		return true
	case r == 0x2028 || r == 0x2029 || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f:
		return true
	}
	return false
}
