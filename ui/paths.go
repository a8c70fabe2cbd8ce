package ui

import (
	"strconv"
	"strings"

	"github.com/suit-studio/suit-studio/model"
)

// Element paths name the nodes of the editor's tree. They follow the convention of codec/suit and
// model.Validate ("envelope/manifest/install/1/fetch"), so that a finding's path selects the node
// it is about: the longest path prefix that is a node.
const (
	pathEnvelope   = "envelope"
	pathAuth       = "envelope/authentication-wrapper"
	pathManifest   = "envelope/manifest"
	pathCommon     = "envelope/manifest/common"
	pathComponents = "envelope/manifest/common/components"
	pathShared     = "envelope/manifest/common/shared-sequence"
	pathText       = "envelope/manifest/text"
	pathIntegrated = "envelope/integrated-payloads"
)

// topSequences are the manifest's command sequences in the order the tree shows them: the update
// procedure, then the invocation procedure, then trust-domains extras.
var topSequences = []string{"payload-fetch", "install", "validate", "load", "invoke",
	"dependency-resolution", "candidate-verification", "uninstall"}

// severable reports whether a top-level sequence may be severed from the manifest.
func severable(name string) bool {
	switch name {
	case "payload-fetch", "install", "dependency-resolution", "candidate-verification":
		return true
	}
	return false
}

// topSequence returns the sequence named name in m (nil when absent) and, for severable ones,
// its SeverableSequence.
func topSequence(m *model.Manifest, name string) (*model.CommandSequence, *model.SeverableSequence) {
	switch name {
	case "validate":
		return m.Validate, nil
	case "load":
		return m.Load, nil
	case "invoke":
		return m.Invoke, nil
	case "uninstall":
		return m.Uninstall, nil
	case "payload-fetch":
		return m.PayloadFetch.Seq, &m.PayloadFetch
	case "install":
		return m.Install.Seq, &m.Install
	case "dependency-resolution":
		return m.DependencyResolution.Seq, &m.DependencyResolution
	case "candidate-verification":
		return m.CandidateVerification.Seq, &m.CandidateVerification
	}
	return nil, nil
}

// setTopSequence adds (seq non-nil) or removes (seq nil) a top-level sequence.
func setTopSequence(m *model.Manifest, name string, seq *model.CommandSequence) {
	switch name {
	case "validate":
		m.Validate = seq
	case "load":
		m.Load = seq
	case "invoke":
		m.Invoke = seq
	case "uninstall":
		m.Uninstall = seq
	default:
		_, sev := topSequence(m, name)
		if sev == nil {
			return
		}
		if seq == nil {
			*sev = model.SeverableSequence{}
			return
		}
		sev.Seq = seq
		sev.Present = true
	}
}

// seqRef locates a command sequence by path: a top-level sequence, the shared sequence, a try-each
// alternative (".../3/try-each/1") or a run-sequence argument (".../3/run-sequence").
func seqAt(env *model.Envelope, path string) *model.CommandSequence {
	if env == nil || env.Manifest == nil {
		return nil
	}
	m := env.Manifest
	if path == pathShared {
		return m.Common.SharedSequence
	}
	rest, ok := strings.CutPrefix(path, pathManifest+"/")
	if !ok {
		return nil
	}
	parts := strings.Split(rest, "/")
	var seq *model.CommandSequence
	if parts[0] == "common" {
		if len(parts) < 2 || parts[1] != "shared-sequence" {
			return nil
		}
		seq, parts = m.Common.SharedSequence, parts[2:]
	} else {
		seq, _ = topSequence(m, parts[0])
		parts = parts[1:]
	}
	for len(parts) > 0 && seq != nil {
		if len(parts) < 2 {
			return nil
		}
		i, err := strconv.Atoi(parts[0])
		if err != nil || i < 0 || i >= len(seq.Commands) {
			return nil
		}
		cmd := &seq.Commands[i]
		switch parts[1] {
		case "try-each":
			if len(parts) < 3 {
				return nil
			}
			j, err := strconv.Atoi(parts[2])
			if err != nil || cmd.Label != model.DirTryEach || j < 0 || j >= len(cmd.Sequences) {
				return nil
			}
			seq, parts = cmd.Sequences[j], parts[3:]
		case "run-sequence":
			if cmd.Label != model.DirRunSequence || len(cmd.Sequences) == 0 {
				return nil
			}
			seq, parts = cmd.Sequences[0], parts[2:]
		default:
			return nil
		}
	}
	return seq
}

// cmdAt locates a command by its path (".../<index>/<name>"): its sequence and index.
func cmdAt(env *model.Envelope, path string) (*model.CommandSequence, int) {
	seqPath, i, ok := splitCommandPath(path)
	if !ok {
		return nil, -1
	}
	seq := seqAt(env, seqPath)
	if seq == nil || i >= len(seq.Commands) {
		return nil, -1
	}
	return seq, i
}

// splitCommandPath splits ".../install/2/fetch" into ".../install" and 2.
func splitCommandPath(path string) (string, int, bool) {
	k := strings.LastIndexByte(path, '/')
	if k < 0 {
		return "", 0, false
	}
	j := strings.LastIndexByte(path[:k], '/')
	if j < 0 {
		return "", 0, false
	}
	i, err := strconv.Atoi(path[j+1 : k])
	if err != nil || i < 0 {
		return "", 0, false
	}
	return path[:j], i, true
}

// commandPath is the path of command i of the sequence at seqPath.
func commandPath(seqPath string, i int, c *model.Command) string {
	return seqPath + "/" + strconv.Itoa(i) + "/" + model.CommandName(c.Label)
}

// isSequencePath reports whether path names a command sequence node.
func isSequencePath(env *model.Envelope, path string) bool {
	if path == pathShared {
		return true
	}
	if rest, ok := strings.CutPrefix(path, pathManifest+"/"); ok && !strings.Contains(rest, "/") {
		for _, n := range topSequences {
			if n == rest {
				return true
			}
		}
		return false
	}
	return strings.HasSuffix(path, "/run-sequence") && seqAt(env, path) != nil ||
		strings.Contains(path, "/try-each/") && seqAt(env, path) != nil
}
