package diag

import (
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// indicator returns the encoding indicator ("_0".."_3") of a head that is not
// in shortest form, so that the notation keeps the exact encoding.
func indicator(it *item) string {
	if it.preferred() || it.ai < 24 || it.ai > 27 {
		return ""
	}
	return "_" + strconv.Itoa(int(it.ai-24))
}

// scalarText renders an item that has no children (ints, definite strings,
// simple values, floats).
func scalarText(data []byte, it *item) string {
	switch it.major {
	case 0:
		return strconv.FormatUint(it.arg, 10) + indicator(it)
	case 1:
		if it.arg == math.MaxUint64 {
			return "-18446744073709551616" + indicator(it)
		}
		return "-" + strconv.FormatUint(it.arg+1, 10) + indicator(it)
	case 2:
		return "h'" + hex.EncodeToString(it.content(data)) + "'" + indicator(it)
	case 3:
		return quote(it.content(data)) + indicator(it)
	case 7:
		return simpleText(it)
	}
	return "?"
}

func simpleText(it *item) string {
	switch it.ai {
	case 20:
		return "false"
	case 21:
		return "true"
	case 22:
		return "null"
	case 23:
		return "undefined"
	case 25:
		return floatText(float64(halfToFloat(uint16(it.arg)))) + "_1"
	case 26:
		return floatText(float64(math.Float32frombits(uint32(it.arg)))) + "_2"
	case 27:
		return floatText(math.Float64frombits(it.arg)) + "_3"
	}
	return "simple(" + strconv.FormatUint(it.arg, 10) + ")"
}

func floatText(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}

func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h & 0x3ff)
	switch {
	case exp == 0:
		f := float32(frac) / 1024 / 16384 // subnormal: frac * 2^-24
		if sign != 0 {
			f = -f
		}
		return f
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}

// quote renders a text string in diagnostic notation (JSON escapes). Bytes
// that are not valid UTF-8 cannot be written in a text string literal; they
// are shown as \ufffd (the notation is then lossy, which Notation says).
func quote(b []byte) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		switch {
		case r == '"':
			sb.WriteString(`\"`)
		case r == '\\':
			sb.WriteString(`\\`)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r < 0x20 || r == 0x7f || r == utf8.RuneError && size == 1:
			sb.WriteString(`\u`)
			s := strconv.FormatUint(uint64(r), 16)
			sb.WriteString(strings.Repeat("0", 4-len(s)) + s)
		default:
			sb.WriteRune(r)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

// inlineText renders any item on one line, without embedded expansion.
func inlineText(data []byte, it *item) string {
	var sb strings.Builder
	writeInline(&sb, data, it)
	return sb.String()
}

func writeInline(sb *strings.Builder, data []byte, it *item) {
	switch it.major {
	case 2, 3:
		if !it.indefinite() {
			sb.WriteString(scalarText(data, it))
			return
		}
		if len(it.kids) == 0 { // RFC 8949 §8.1: empty indefinite-length strings
			if it.major == 2 {
				sb.WriteString("''_")
			} else {
				sb.WriteString(`""_`)
			}
			return
		}
		sb.WriteString("(_ ")
		for i, c := range it.kids {
			if i > 0 {
				sb.WriteString(", ")
			}
			writeInline(sb, data, c)
		}
		sb.WriteString(")")
	case 4, 5:
		open, close := "[", "]"
		if it.major == 5 {
			open, close = "{", "}"
		}
		sb.WriteString(open)
		if it.indefinite() {
			sb.WriteString("_ ")
		} else if ind := indicator(it); ind != "" {
			sb.WriteString(ind + " ")
		}
		for i, c := range it.kids {
			if i > 0 {
				if it.major == 5 && i%2 == 1 {
					sb.WriteString(": ")
				} else {
					sb.WriteString(", ")
				}
			}
			writeInline(sb, data, c)
		}
		sb.WriteString(close)
	case 6:
		sb.WriteString(strconv.FormatUint(it.arg, 10) + indicator(it) + "(")
		writeInline(sb, data, it.kids[0])
		sb.WriteString(")")
	default:
		sb.WriteString(scalarText(data, it))
	}
}

// summary is a short text for a node's value, for tree and hex views.
func summary(data []byte, it *item, embedded bool) string {
	switch it.major {
	case 2:
		if it.indefinite() {
			return "(_ ...)"
		}
		b := it.content(data)
		if embedded {
			return "<<...>> (" + strconv.Itoa(len(b)) + " bytes)"
		}
		if len(b) > 8 {
			return "h'" + hex.EncodeToString(b[:4]) + "…' (" + strconv.Itoa(len(b)) + " bytes)"
		}
		return "h'" + hex.EncodeToString(b) + "'"
	case 3:
		if it.indefinite() {
			return "(_ ...)"
		}
		s := quote(it.content(data))
		if utf8.RuneCountInString(s) > 40 {
			r := []rune(s)
			s = string(r[:36]) + "…\""
		}
		return s
	case 4:
		return "[" + strconv.Itoa(len(it.kids)) + " items]"
	case 5:
		return "{" + strconv.Itoa(len(it.kids)/2) + " pairs}"
	case 6:
		inner := "..."
		switch it.kids[0].major {
		case 4:
			inner = "[...]"
		case 5:
			inner = "{...}"
		default:
			if it.kids[0].major < 4 || it.kids[0].major == 7 {
				inner = summary(data, it.kids[0], false)
			}
		}
		return strconv.FormatUint(it.arg, 10) + "(" + inner + ")"
	}
	return scalarText(data, it)
}

func kindOf(it *item) string {
	switch it.major {
	case 7:
		if it.ai >= 25 && it.ai <= 27 {
			return "float"
		}
		return "simple"
	}
	return majorWord(it.major)
}
