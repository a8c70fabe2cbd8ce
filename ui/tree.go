package ui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/suit-studio/suit-studio/model"
)

// nodeKind is what a tree node stands for; the editor shows a form per kind.
type nodeKind int

const (
	nodeUnknown nodeKind = iota
	nodeEnvelope
	nodeAuth
	nodeManifest
	nodeCommon
	nodeComponents
	nodeComponent
	nodeSequence
	nodeCommand
	nodeNullAlternative
	nodeTextMap
	nodeIntegrated
	nodeIntegratedPayload
)

// envTree answers the questions widget.Tree asks, from the document's current envelope. It holds
// no copy of the model: every answer is computed from the value, so the tree can never disagree
// with the document after an edit, an undo or a load.
type envTree struct {
	env func() *model.Envelope
}

func (t envTree) kind(uid string) nodeKind {
	env := t.env()
	switch uid {
	case pathEnvelope:
		return nodeEnvelope
	case pathAuth:
		return nodeAuth
	case pathManifest:
		return nodeManifest
	case pathCommon:
		return nodeCommon
	case pathComponents:
		return nodeComponents
	case pathText:
		return nodeTextMap
	case pathIntegrated:
		return nodeIntegrated
	case pathShared:
		return nodeSequence
	}
	if strings.HasPrefix(uid, pathIntegrated+"/") {
		return nodeIntegratedPayload
	}
	if rest, ok := strings.CutPrefix(uid, pathComponents+"/"); ok {
		if _, err := strconv.Atoi(rest); err == nil {
			return nodeComponent
		}
	}
	if seq, _ := cmdAt(env, uid); seq != nil {
		return nodeCommand
	}
	if isSequencePath(env, uid) {
		return nodeSequence
	}
	// A try-each alternative that is the trailing null.
	if k := strings.LastIndex(uid, "/try-each/"); k >= 0 {
		if seq, i := cmdAt(env, uid[:k+len("/try-each")]); seq != nil {
			j, err := strconv.Atoi(uid[k+len("/try-each/"):])
			c := seq.Commands[i]
			if err == nil && j >= 0 && j < len(c.Sequences) && c.Sequences[j] == nil {
				return nodeNullAlternative
			}
		}
	}
	return nodeUnknown
}

func (t envTree) children(uid string) []string {
	env := t.env()
	if env == nil || env.Manifest == nil {
		if uid == "" {
			return []string{pathEnvelope}
		}
		return nil
	}
	m := env.Manifest
	switch uid {
	case "":
		return []string{pathEnvelope}
	case pathEnvelope:
		out := []string{pathAuth, pathManifest}
		if len(env.Integrated) > 0 {
			out = append(out, pathIntegrated)
		}
		return out
	case pathManifest:
		out := []string{pathCommon}
		for _, n := range topSequences {
			if s, _ := topSequence(m, n); s != nil {
				out = append(out, pathManifest+"/"+n)
			}
		}
		if m.Text.Text != nil {
			out = append(out, pathText)
		}
		return out
	case pathCommon:
		out := []string{pathComponents}
		if m.Common.SharedSequence != nil {
			out = append(out, pathShared)
		}
		return out
	case pathComponents:
		out := make([]string, len(m.Common.Components))
		for i := range out {
			out[i] = pathComponents + "/" + strconv.Itoa(i)
		}
		return out
	case pathIntegrated:
		out := make([]string, len(env.Integrated))
		for i, p := range env.Integrated {
			out[i] = pathIntegrated + "/" + p.Key
		}
		return out
	}
	switch t.kind(uid) {
	case nodeSequence:
		return sequenceChildren(seqAt(env, uid), uid)
	case nodeCommand:
		seq, i := cmdAt(env, uid)
		c := &seq.Commands[i]
		switch c.Label {
		case model.DirTryEach:
			out := make([]string, len(c.Sequences))
			for j := range c.Sequences {
				out[j] = uid + "/" + strconv.Itoa(j)
			}
			return out
		case model.DirRunSequence:
			if len(c.Sequences) > 0 {
				return sequenceChildren(c.Sequences[0], uid)
			}
		}
	}
	return nil
}

func sequenceChildren(seq *model.CommandSequence, uid string) []string {
	if seq == nil {
		return nil
	}
	out := make([]string, len(seq.Commands))
	for i := range seq.Commands {
		out[i] = commandPath(uid, i, &seq.Commands[i])
	}
	return out
}

func (t envTree) isBranch(uid string) bool {
	switch t.kind(uid) {
	case nodeEnvelope, nodeManifest, nodeCommon, nodeComponents, nodeSequence, nodeIntegrated:
		return true
	case nodeCommand:
		env := t.env()
		seq, i := cmdAt(env, uid)
		l := seq.Commands[i].Label
		return l == model.DirTryEach || l == model.DirRunSequence
	}
	return uid == ""
}

// label is the text of a tree node: short, with the detail people look for (component names,
// the parameters an override sets, the sequence number).
func (t envTree) label(uid string) string {
	env := t.env()
	if env == nil || env.Manifest == nil {
		return uid
	}
	m := env.Manifest
	switch t.kind(uid) {
	case nodeEnvelope:
		return "Envelope"
	case nodeAuth:
		if env.Auth == nil || len(env.Auth.Blocks) == 0 {
			return "Authentication: not signed"
		}
		return fmt.Sprintf("Authentication: %d signature(s)", len(env.Auth.Blocks))
	case nodeManifest:
		return fmt.Sprintf("Manifest (sequence number %d)", m.SequenceNumber)
	case nodeCommon:
		return "Common"
	case nodeComponents:
		return fmt.Sprintf("Components (%d)", len(m.Common.Components))
	case nodeComponent:
		i, _ := strconv.Atoi(uid[len(pathComponents)+1:])
		if i < len(m.Common.Components) {
			return componentName(m, i) // "(dependency)" marks the dependencies
		}
	case nodeTextMap:
		return "Text"
	case nodeIntegrated:
		return fmt.Sprintf("Integrated payloads (%d)", len(env.Integrated))
	case nodeIntegratedPayload:
		key := uid[len(pathIntegrated)+1:]
		for _, p := range env.Integrated {
			if p.Key == key {
				return fmt.Sprintf("%s (%d bytes)", key, len(p.Data))
			}
		}
	case nodeSequence:
		name := uid[strings.LastIndexByte(uid, '/')+1:]
		if strings.Contains(uid, "/try-each/") && !strings.HasSuffix(uid, "/try-each") {
			j, _ := strconv.Atoi(name)
			return fmt.Sprintf("alternative %d", j+1)
		}
		_, sev := topSequence(m, name)
		if sev != nil && sev.Severed {
			return name + " (severed)"
		}
		if uid == pathShared {
			return "shared-sequence"
		}
		return name
	case nodeNullAlternative:
		return "alternative: nothing (always succeeds)"
	case nodeCommand:
		seq, i := cmdAt(env, uid)
		return commandLabel(&seq.Commands[i], m)
	}
	return uid
}

// commandLabel summarizes a command in one line: "override-parameters: vendor-identifier, ...".
func commandLabel(c *model.Command, m *model.Manifest) string {
	name := model.CommandName(c.Label)
	info := model.LookupCommand(c.Label)
	if info == nil || c.Raw != nil {
		return name + " (raw)"
	}
	switch info.Arg {
	case model.ArgIndex:
		if c.Index == nil {
			return name
		}
		if c.Index.All {
			return name + ": all"
		}
		var s []string
		for _, ix := range c.Index.Indices {
			s = append(s, strconv.FormatUint(ix, 10))
		}
		return name + ": " + strings.Join(s, ", ")
	case model.ArgParams:
		var s []string
		for _, p := range c.Params {
			s = append(s, model.ParamName(p.Label))
		}
		return name + ": " + strings.Join(s, ", ")
	case model.ArgTryEach:
		return fmt.Sprintf("%s (%d alternatives)", name, len(c.Sequences))
	case model.ArgPolicy:
		return name
	case model.ArgMultiple, model.ArgCopyParams:
		return umCommandLabel(c)
	}
	return name
}

// nodeFor is the tree node that best shows path: the path itself, or its longest prefix that is
// a node (a finding about ".../override-parameters/image-digest" selects the command).
func (t envTree) nodeFor(path string) string {
	for p := path; p != ""; {
		if p == pathEnvelope || t.kind(p) != nodeUnknown {
			return p
		}
		k := strings.LastIndexByte(p, '/')
		if k < 0 {
			break
		}
		p = p[:k]
	}
	return pathEnvelope
}

// ancestors lists the nodes above uid, outermost first, so they can be opened.
func ancestors(uid string) []string {
	var out []string
	for k := 0; ; {
		j := strings.IndexByte(uid[k:], '/')
		if j < 0 {
			break
		}
		k += j
		out = append(out, uid[:k])
		k++
	}
	return out
}
