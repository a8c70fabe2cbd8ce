package diag

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// Listing is the diagnostic notation of an input as lines, linked to the nodes of its Map: which
// lines show a node, and which node a line shows. It is what a viewer needs to scroll to and
// highlight the selected element, and to select the element a line shows.
type Listing struct {
	Lines []string
	// Longest is the length in runes of the longest line.
	Longest int
	spans   map[*Node][2]int
	owner   []*Node // line -> the innermost node whose text covers it
}

// Render writes root (a Map of data) in diagnostic notation, as Notation does, and keeps the
// lines each node covers. With opts.CollapseBytes, long strings are collapsed (see Options).
func Render(data []byte, root *Node, opts Options) *Listing {
	if opts.Indent == "" {
		opts.Indent = "    "
	}
	r := &renderer{data: data, opts: opts, spans: map[*Node][2]int{}}
	r.value(root, 0)
	text := r.sb.String()
	l := &Listing{Lines: strings.Split(text, "\n"), spans: r.spans}
	for _, s := range l.Lines {
		l.Longest = max(l.Longest, len([]rune(s)))
	}
	l.owner = make([]*Node, len(l.Lines))
	root.Walk(func(n *Node) bool {
		sp, ok := r.spans[n]
		if !ok {
			return true
		}
		for i := sp[0]; i <= sp[1] && i < len(l.owner); i++ {
			l.owner[i] = n // inner nodes come later and win
		}
		return true
	})
	return l
}

// Span returns the first and last line (0-based) of n's text. ok is false for a node the
// listing does not show on lines of its own (such as the content of a collapsed string).
func (l *Listing) Span(n *Node) (first, last int, ok bool) {
	sp, ok := l.spans[n]
	return sp[0], sp[1], ok
}

// NodeAt returns the innermost node whose text covers line, or nil.
func (l *Listing) NodeAt(line int) *Node {
	if line < 0 || line >= len(l.owner) {
		return nil
	}
	return l.owner[line]
}

// Text is the whole listing.
func (l *Listing) Text() string { return strings.Join(l.Lines, "\n") }

// Collapsible tells whether n is a string long enough for opts.CollapseBytes, which the
// notation shows collapsed unless opts.Expand names it.
func Collapsible(n *Node, opts Options) bool {
	if opts.CollapseBytes <= 0 || n == nil || n.it == nil || n.Kind == "bstr .cbor" || len(n.Children) > 0 {
		return false
	}
	it := n.it
	return (it.major == 2 || it.major == 3) && !it.indefinite() && it.end-it.headEnd > opts.CollapseBytes
}

func (r *renderer) collapsed(n *Node) bool {
	return Collapsible(n, r.opts) && (r.opts.Expand == nil || !r.opts.Expand(n))
}

// collapse writes a long string as its start, its size and its digest.
func (r *renderer) collapse(n *Node) {
	c := n.it.content(r.data)
	sum := sha256.Sum256(c)
	if n.it.major == 3 {
		head := []rune(string(c[:min(len(c), 48)]))
		if len(head) > 16 {
			head = head[:16]
		}
		r.sb.WriteString(strconv.Quote(string(head)) + "…")
	} else {
		r.sb.WriteString("h'" + hex.EncodeToString(c[:16]) + "…'")
	}
	r.sb.WriteString(" / " + strconv.Itoa(len(c)) + " bytes, sha-256 " + hex.EncodeToString(sum[:]) + ", collapsed /")
}
