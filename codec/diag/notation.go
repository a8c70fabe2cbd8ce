package diag

import (
	"encoding/hex"
	"strconv"
	"strings"
)

// Options control Notation.
type Options struct {
	// Indent is one level of indentation; "" means four spaces.
	Indent string
	// Annotate adds the SUIT comments of the spec's examples:
	// / authentication-wrapper / 2:<< [ ... ] >>, / vendor-id / 1:h'...',
	// / condition-vendor-identifier / 1,15, -16 / "sha256" /.
	Annotate bool
	// MaxWidth, when > 0, breaks long byte strings over several lines so that
	// lines stay near this width (whitespace inside h'' is allowed, RFC 8610
	// Appendix G.2). 0 means no wrapping.
	MaxWidth int
	// CollapseBytes, when > 0, shows a byte or text string longer than this
	// (a payload) as its first bytes, its size and its SHA-256 instead of in
	// full: h'7f454c46…' / 1048576 bytes, sha-256 5e88…, collapsed /. The text
	// is then for display, no longer diagnostic notation. Expand names the
	// strings to show in full all the same.
	CollapseBytes int
	Expand        func(*Node) bool
}

// Notation renders data in CBOR diagnostic notation (RFC 8949 §8, RFC 8610
// Appendix G) with the `bstr .cbor` members of a SUIT envelope expanded as
// << >> (and only those: see Map). Non-shortest heads keep their encoding
// indicator (_0.._3) and indefinite lengths their _, so the text describes
// the input bytes exactly, with one exception: a text string that is not valid
// UTF-8 cannot be written as a literal and shows U+FFFD.
func Notation(data []byte, opts Options) (string, error) {
	root, err := Map(data)
	if err != nil {
		return "", err
	}
	if opts.Indent == "" {
		opts.Indent = "    "
	}
	r := &renderer{data: data, opts: opts}
	r.value(root, 0)
	return r.sb.String(), nil
}

type renderer struct {
	data []byte
	opts Options
	sb   strings.Builder

	// spans, when not nil, records the lines each node's text covers (Render).
	spans   map[*Node][2]int
	nl      int // newlines before counted
	counted int
}

// line is the 0-based line the text written so far ends on.
func (r *renderer) line() int {
	s := r.sb.String()
	r.nl += strings.Count(s[r.counted:], "\n")
	r.counted = len(s)
	return r.nl
}

// mark records that n's text is on the current line (inline items).
func (r *renderer) mark(n *Node) {
	if r.spans != nil {
		l := r.line()
		r.spans[n] = [2]int{l, l}
	}
}

func (r *renderer) column() int {
	s := r.sb.String()
	return len(s) - strings.LastIndexByte(s, '\n') - 1
}

func (r *renderer) comment(text string) {
	if text == "" || !r.opts.Annotate {
		return
	}
	// A "/" would end the comment early.
	r.sb.WriteString("/ " + strings.ReplaceAll(text, "/", "\u2215") + " / ")
}

func (r *renderer) postComment(text string) {
	if text == "" || !r.opts.Annotate {
		return
	}
	r.sb.WriteString(" / " + strings.ReplaceAll(text, "/", "\u2215") + " /")
}

func (r *renderer) indent(level int) {
	for i := 0; i < level; i++ {
		r.sb.WriteString(r.opts.Indent)
	}
}

func (r *renderer) value(n *Node, level int) {
	if r.spans != nil {
		first := r.line()
		defer func() { r.spans[n] = [2]int{first, r.line()} }()
	}
	it := n.it
	if r.collapsed(n) {
		r.collapse(n)
		return
	}
	switch {
	case n.Kind == "bstr .cbor" && len(n.Children) == 1 && indicator(it) == "":
		// (a non-shortest bstr head cannot be written with << >>: shown as h''_n)
		r.sb.WriteString("<< ")
		r.value(n.Children[0], level)
		r.sb.WriteString(" >>")
	case it.major == 6:
		r.sb.WriteString(strconv.FormatUint(it.arg, 10) + indicator(it) + "(")
		r.value(n.Children[0], level)
		r.sb.WriteString(")")
	case it.major == 4 || it.major == 5:
		r.container(n, level)
	case n.text:
		r.sb.WriteString("'" + string(it.content(r.data)) + "'" + indicator(it))
	case it.major == 2 && !it.indefinite() && r.opts.MaxWidth > 0:
		r.hexString(it, level)
	default:
		writeInline(&r.sb, r.data, it)
	}
}

// hexString writes h'...' and wraps it when it would pass MaxWidth.
func (r *renderer) hexString(it *item, level int) {
	h := hex.EncodeToString(it.content(r.data))
	room := r.opts.MaxWidth - r.column() - 3
	if room >= len(h) {
		r.sb.WriteString("h'" + h + "'" + indicator(it))
		return
	}
	cont := r.opts.MaxWidth - len(r.opts.Indent)*(level+1)
	if cont < 16 {
		cont = 16
	}
	cont &^= 1
	if room < 16 {
		room = 0
	}
	room &^= 1
	r.sb.WriteString("h'")
	r.sb.WriteString(h[:room])
	h = h[room:]
	for len(h) > 0 {
		r.sb.WriteByte('\n')
		r.indent(level + 1)
		k := min(cont, len(h))
		r.sb.WriteString(h[:k])
		h = h[k:]
	}
	r.sb.WriteString("'" + indicator(it))
}

func (r *renderer) inlineOK(n *Node) bool {
	for _, c := range n.Children {
		if len(c.Children) > 0 || c.it.major == 4 || c.it.major == 5 || c.it.major == 6 {
			return false
		}
		if r.opts.Annotate && (c.pre != "" || c.post != "") {
			return false
		}
		if c.key != nil && (c.key.major == 4 || c.key.major == 5 || c.key.major == 6) {
			return false
		}
	}
	return n.End-n.Start < 40
}

func (r *renderer) container(n *Node, level int) {
	it := n.it
	open, close := "[", "]"
	if it.major == 5 {
		open, close = "{", "}"
	}
	if it.indefinite() {
		open += "_ "
	} else if ind := indicator(it); ind != "" {
		open += ind + " "
	}
	if len(n.Children) == 0 || r.inlineOK(n) {
		r.inline(n)
		return
	}
	r.sb.WriteString(strings.TrimRight(open, " ") + "\n")
	last := len(n.Children) - 1
	for i := 0; i <= last; i++ {
		c := n.Children[i]
		r.indent(level + 1)
		r.comment(c.pre)
		if c.key != nil {
			writeInline(&r.sb, r.data, c.key)
			r.sb.WriteString(":")
		}
		r.value(c, level+1)
		if n.seq && i < last {
			// a command: label,argument on one line
			i++
			a := n.Children[i]
			r.sb.WriteString(",")
			r.value(a, level+1)
			r.postComment(a.post)
		} else {
			r.postComment(c.post)
		}
		if i < last {
			r.sb.WriteString(",")
		}
		r.sb.WriteString("\n")
	}
	r.indent(level)
	r.sb.WriteString(close)
}

// inline writes a container of scalars on one line.
func (r *renderer) inline(n *Node) {
	it := n.it
	if it.major != 4 && it.major != 5 || len(n.Children) == 0 {
		if n.text {
			r.sb.WriteString("'" + string(it.content(r.data)) + "'" + indicator(it))
			return
		}
		writeInline(&r.sb, r.data, it)
		return
	}
	open, close := "[", "]"
	if it.major == 5 {
		open, close = "{", "}"
	}
	r.sb.WriteString(open)
	if it.indefinite() {
		r.sb.WriteString("_ ")
	} else if ind := indicator(it); ind != "" {
		r.sb.WriteString(ind + " ")
	}
	for i, c := range n.Children {
		if i > 0 {
			r.sb.WriteString(", ")
		}
		if c.key != nil {
			writeInline(&r.sb, r.data, c.key)
			r.sb.WriteString(": ")
		}
		r.mark(c)
		r.inline(c)
	}
	r.sb.WriteString(close)
}
