package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/suit-studio/suit-studio/app"
	"github.com/suit-studio/suit-studio/codec/cose"
	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
)

func init() {
	register(&command{
		name:    "show",
		usage:   "show [--source | --diag | --json] [--key PUB ...] [--decrypt-key KEY ...] [--payload URI=FILE ...] [--ciphertext FILE] FILE",
		summary: "decode and print an envelope: a readable tree (default), its source form, diagnostic notation or JSON",
		run:     runShow,
	})
}

func runShow(env *cmdEnv, args []string) error {
	fs := newFlags(env, commands["show"])
	source := fs.Bool("source", false, "print the YAML source form (feed it to 'suit create')")
	diagOut := fs.Bool("diag", false, "print annotated CBOR diagnostic notation")
	jsonOut := fs.Bool("json", false, "print the source form as JSON")
	var keys multiFlag
	fs.Var(&keys, "key", "public key (PEM, certificate, COSE_Key) or HMAC key to verify with; repeatable")
	var decKeys, payloads multiFlag
	fs.Var(&decKeys, "decrypt-key", "decrypt encrypted payloads with this private key (PEM) or key-encryption key file; repeatable")
	fs.Var(&payloads, "payload", "URI=FILE: an encrypted payload the envelope fetches from URI (repeatable)")
	ciphertext := fs.String("ciphertext", "", "for a bare SUIT_Encryption_Info: the detached ciphertext")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("run 'suit help show'", "show takes one FILE")
	}
	n := 0
	for _, b := range []bool{*source, *diagOut, *jsonOut} {
		if b {
			n++
		}
	}
	if n > 1 {
		return usageErr("", "give only one of --source, --diag, --json")
	}
	data, err := readCBOR(env, pos[0])
	if err != nil {
		return err
	}
	if *diagOut {
		s, err := app.Diagnostic(data)
		if err != nil {
			return decodeErr(pos[0], err)
		}
		fmt.Fprintln(env.stdout, s)
		return nil
	}
	dk, closeKeys, err := loadDecryptKeys(env, decKeys)
	if err != nil {
		return err
	}
	defer closeKeys()
	if isEncryptionInfo(data) {
		var ct []byte
		if *ciphertext != "" {
			if ct, err = readCBOR(env, *ciphertext); err != nil {
				return err
			}
		}
		if err := showEncryptionInfo(env.stdout, data, dk, ct); err != nil {
			return decodeErr(pos[0], err)
		}
		return nil
	}
	e, err := suit.Decode(data)
	if err != nil {
		return decodeErr(pos[0], err)
	}
	switch {
	case *source:
		b, err := suit.FormatSource(e)
		if err != nil {
			return err
		}
		_, err = env.stdout.Write(b)
		return err
	case *jsonOut:
		b, err := suit.FormatSourceJSON(e)
		if err != nil {
			return err
		}
		_, err = env.stdout.Write(b)
		return err
	}
	printTree(env.stdout, e, len(data))
	pl, err := payloadMap(env, payloads)
	if err != nil {
		return err
	}
	printEncryptedPayloads(env.stdout, app.FindEncryptedPayloads(e, pl), dk)
	if len(keys) > 0 {
		vk, err := loadVerifyKeys(keys)
		if err != nil {
			return err
		}
		v, err := suit.Verify(data, vk)
		if err != nil {
			return decodeErr(pos[0], err)
		}
		fmt.Fprintln(env.stdout)
		printVerification(env.stdout, v)
	}
	return nil
}

// printTree prints a readable tree of an envelope.
func printTree(w io.Writer, e *model.Envelope, size int) {
	tag := "untagged"
	if e.Tagged {
		tag = "tagged 107"
	}
	fmt.Fprintf(w, "SUIT envelope (%s), %d bytes\n", tag, size)
	if a := e.Auth; a != nil {
		fmt.Fprintf(w, "  authentication: %s digest %x\n", suit.DigestName(a.Digest.Alg), a.Digest.Bytes)
		if len(a.Blocks) == 0 {
			fmt.Fprintf(w, "    no authentication block: unsigned\n")
		}
		for i, b := range a.Blocks {
			fmt.Fprintf(w, "    block %d: %s\n", i+1, blockSummary(b))
		}
	}
	m := e.Manifest
	fmt.Fprintf(w, "  manifest: version %d, sequence number %d\n", m.Version, m.SequenceNumber)
	if m.ReferenceURI != nil {
		fmt.Fprintf(w, "    reference-uri: %s\n", *m.ReferenceURI)
	}
	if m.ManifestComponentID != nil {
		fmt.Fprintf(w, "    manifest-component-id: %s\n", model.FormatComponentID(m.ManifestComponentID))
	}
	fmt.Fprintf(w, "    components:\n")
	for i, c := range m.Common.Components {
		fmt.Fprintf(w, "      %d: %s\n", i, model.FormatComponentID(c))
	}
	for _, d := range m.Common.Dependencies {
		fmt.Fprintf(w, "      %d: dependency, prefix %s\n", d.Index, model.FormatComponentID(d.Prefix))
	}
	seq := func(name string, s *model.CommandSequence, note string) {
		if s == nil {
			if note != "" {
				fmt.Fprintf(w, "    %s (%s)\n", name, note)
			}
			return
		}
		if note != "" {
			name += " (" + note + ")"
		}
		fmt.Fprintf(w, "    %s:\n", name)
		printSeq(w, s, "      ")
	}
	seq("shared-sequence", m.Common.SharedSequence, "")
	sevNote := func(s model.Severance) string {
		switch {
		case s.Severed && s.Present:
			return "severed, carried in the envelope"
		case s.Severed:
			return fmt.Sprintf("severed, not carried; digest %x", s.Digest.Bytes)
		}
		return ""
	}
	if m.DependencyResolution.Exists() {
		seq("dependency-resolution", m.DependencyResolution.Seq, sevNote(m.DependencyResolution.Severance))
	}
	if m.PayloadFetch.Exists() {
		seq("payload-fetch", m.PayloadFetch.Seq, sevNote(m.PayloadFetch.Severance))
	}
	if m.CandidateVerification.Exists() {
		seq("candidate-verification", m.CandidateVerification.Seq, sevNote(m.CandidateVerification.Severance))
	}
	if m.Install.Exists() {
		seq("install", m.Install.Seq, sevNote(m.Install.Severance))
	}
	seq("validate", m.Validate, "")
	seq("load", m.Load, "")
	seq("invoke", m.Invoke, "")
	seq("uninstall", m.Uninstall, "")
	if m.Text.Exists() {
		fmt.Fprintf(w, "    text")
		if n := sevNote(m.Text.Severance); n != "" {
			fmt.Fprintf(w, " (%s)", n)
		}
		fmt.Fprintln(w, ":")
		if t := m.Text.Text; t != nil {
			for _, l := range t.Languages {
				fmt.Fprintf(w, "      %s:\n", l.Tag)
				for _, en := range l.Entries {
					fmt.Fprintf(w, "        %s: %s\n", model.TextKeyName(en.Key, false), oneLine(en.Text))
				}
				for _, c := range l.Components {
					fmt.Fprintf(w, "        %s:\n", model.FormatComponentID(c.Component))
					for _, en := range c.Entries {
						fmt.Fprintf(w, "          %s: %s\n", model.TextKeyName(en.Key, true), oneLine(en.Text))
					}
				}
			}
		}
	}
	for _, u := range m.Unknown {
		fmt.Fprintf(w, "    unknown member %x: %d bytes\n", u.Key, len(u.Value))
	}
	for _, p := range e.Integrated {
		fmt.Fprintf(w, "  integrated payload %q: %d bytes\n", p.Key, len(p.Data))
	}
	for _, u := range e.Unknown {
		fmt.Fprintf(w, "  unknown envelope member %x: %d bytes\n", u.Key, len(u.Value))
	}
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 100 {
		s = s[:97] + "..."
	}
	return s
}

func blockSummary(b []byte) string {
	msg, err := cose.Parse(b)
	if err != nil {
		return "unreadable COSE: " + err.Error()
	}
	kind := map[uint64]string{18: "COSE_Sign1", 17: "COSE_Mac0"}[msg.Tag]
	s := fmt.Sprintf("%s %s", kind, cose.AlgorithmName(msg.Alg))
	if msg.KID != nil {
		s += fmt.Sprintf(", kid %x", msg.KID)
	}
	return s
}

func printSeq(w io.Writer, s *model.CommandSequence, indent string) {
	for i := range s.Commands {
		c := &s.Commands[i]
		fmt.Fprintf(w, "%s%d %s%s\n", indent, i, model.CommandName(c.Label), argSummary(c))
		for j, sub := range c.Sequences {
			if c.Label == model.DirTryEach {
				if sub == nil {
					fmt.Fprintf(w, "%s  alternative %d: (empty: always succeeds)\n", indent, j)
					continue
				}
				fmt.Fprintf(w, "%s  alternative %d:\n", indent, j)
				printSeq(w, sub, indent+"    ")
			} else if sub != nil {
				printSeq(w, sub, indent+"  ")
			}
		}
	}
}

func argSummary(c *model.Command) string {
	info := model.LookupCommand(c.Label)
	if c.Raw != nil || info == nil {
		return fmt.Sprintf(" (argument %x)", c.Raw)
	}
	switch info.Arg {
	case model.ArgPolicy:
		return fmt.Sprintf(" (report %d)", c.Policy)
	case model.ArgIndex:
		switch {
		case c.Index.All:
			return " all"
		case len(c.Index.Indices) == 1 && !c.Index.List:
			return fmt.Sprintf(" %d", c.Index.Indices[0])
		}
		return fmt.Sprintf(" %v", c.Index.Indices)
	case model.ArgParams:
		var parts []string
		for _, p := range c.Params {
			parts = append(parts, model.ParamName(p.Label)+"="+valueSummary(p.Label, p.Value))
		}
		return " " + strings.Join(parts, ", ")
	case model.ArgMultiple:
		var parts []string
		for _, e := range c.Multiple {
			for _, p := range e.Params {
				parts = append(parts, fmt.Sprintf("[%d] %s=%s", e.Index, model.ParamName(p.Label), valueSummary(p.Label, p.Value)))
			}
		}
		return " " + strings.Join(parts, ", ")
	case model.ArgCopyParams:
		var parts []string
		for _, e := range c.CopyParams {
			parts = append(parts, fmt.Sprintf("from %d: %v", e.Index, e.Labels))
		}
		return " " + strings.Join(parts, ", ")
	}
	return ""
}

func valueSummary(label int64, v model.Value) string {
	switch v.Kind {
	case model.KindUUID:
		if v.PEN {
			return fmt.Sprintf("PEN %x", v.Bytes)
		}
		return model.FormatUUID(v.Bytes)
	case model.KindBytes, model.KindWrapped:
		return fmt.Sprintf("h'%x'", v.Bytes)
	case model.KindUint:
		return fmt.Sprint(v.Uint)
	case model.KindInt:
		return fmt.Sprint(v.Int)
	case model.KindBool:
		return fmt.Sprint(v.Bool)
	case model.KindText:
		return fmt.Sprintf("%q", v.Text)
	case model.KindDigest:
		return fmt.Sprintf("%s:%x", suit.DigestName(v.Digest.Alg), v.Digest.Bytes)
	}
	return fmt.Sprintf("cbor %x", v.Raw)
}

func printVerification(w io.Writer, v *suit.Verification) {
	if v.DigestOK {
		fmt.Fprintf(w, "manifest digest: ok (%s %x)\n", suit.DigestName(v.Digest.Alg), v.ComputedDigest)
	} else {
		fmt.Fprintf(w, "manifest digest: MISMATCH: the wrapper says %x, the manifest hashes to %x\n", v.Digest.Bytes, v.ComputedDigest)
	}
	for _, b := range v.Blocks {
		kid := ""
		if b.KID != nil {
			kid = fmt.Sprintf(", kid %x", b.KID)
		}
		if b.Verified {
			fmt.Fprintf(w, "block %d: %s %s%s: verified with %s\n", b.Index, b.Kind, b.AlgName, kid, b.KeyName)
		} else {
			fmt.Fprintf(w, "block %d: %s %s%s: not verified: %s\n", b.Index, b.Kind, b.AlgName, kid, b.Reason)
		}
	}
	for _, c := range v.Chains {
		if c.OK {
			fmt.Fprintf(w, "delegation chain %d: %s\n", c.Index, c.Describe())
		} else {
			fmt.Fprintf(w, "delegation chain %d: refused: %s\n", c.Index, c.Reason)
		}
	}
	for _, m := range v.Members {
		fmt.Fprintf(w, "severed %s: %s\n", m.Name, m.Reason)
	}
	for _, p := range v.Payloads {
		fmt.Fprintf(w, "integrated payload %q (%d bytes): %s: %s\n", p.Key, p.Size, p.Status, p.Reason)
	}
	for _, u := range v.Unauthenticated {
		fmt.Fprintf(w, "unauthenticated: %s\n", u)
	}
	if v.Authentic {
		fmt.Fprintf(w, "verdict: AUTHENTIC: %s\n", v.Scope())
	} else {
		fmt.Fprintf(w, "verdict: NOT AUTHENTIC: %s\n", v.Reason)
	}
}
