package suit

import (
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/suit-studio/suit-studio/model"
)

// nestedSource is a source whose install sequence nests k try-each (or run-sequence) commands.
func nestedSource(k int, cmd string) string {
	inner := "{set-component-index: 0}"
	for range k {
		if cmd == "try-each" {
			inner = "{try-each: [[" + inner + "], null]}"
		} else {
			inner = "{run-sequence: [" + inner + "]}"
		}
	}
	return "manifest:\n  sequence-number: 1\n  components: [[h'00']]\n  install: [" + inner + "]\n"
}

// nestedModel is the same envelope built without the source parser.
func nestedModel(k int, cmd string) *model.Envelope {
	seq := &model.CommandSequence{Commands: []model.Command{{Label: model.DirSetComponentIndex, Index: &model.ComponentIndex{Indices: []uint64{0}}}}}
	for range k {
		if cmd == "try-each" {
			seq = &model.CommandSequence{Commands: []model.Command{{Label: model.DirTryEach, Sequences: []*model.CommandSequence{seq, nil}}}}
		} else {
			seq = &model.CommandSequence{Commands: []model.Command{{Label: model.DirRunSequence, Sequences: []*model.CommandSequence{seq}}}}
		}
	}
	env := &model.Envelope{Tagged: true, Manifest: &model.Manifest{Version: 1, SequenceNumber: 1}}
	env.Manifest.Common.Components = []model.ComponentID{{{0}}}
	env.Manifest.Install.Present = true
	env.Manifest.Install.Seq = seq
	return env
}

// TestNestingLimitSameBothWays: what the source parser and the encoder accept, the decoder
// accepts, and the other way round (one limit, maxDepth); a 3000-deep source is refused at once.
func TestNestingLimitSameBothWays(t *testing.T) {
	for _, cmd := range []string{"try-each", "run-sequence"} {
		accepted := 0
		for k := 0; k <= 14; k++ {
			checkEncodedDepth = false
			raw, err := Encode(nestedModel(k, cmd))
			checkEncodedDepth = true
			if err != nil {
				t.Fatalf("%s %d: unchecked encode: %v", cmd, k, err)
			}
			_, derr := Decode(raw)
			if derr != nil && !errors.Is(derr, ErrLimit) {
				t.Fatalf("%s %d: decode: %v", cmd, k, derr)
			}
			decodes := derr == nil

			_, encErr := Encode(nestedModel(k, cmd))
			env, perr := ParseSource([]byte(nestedSource(k, cmd)), "")
			if perr == nil {
				_, perr = Encode(env)
			}
			if (encErr == nil) != decodes || (perr == nil) != decodes {
				t.Errorf("%s nested %d deep: decoder accepts: %v; encoder: %v; source: %v", cmd, k, decodes, encErr, perr)
			}
			if decodes {
				accepted = k
			} else {
				if !errors.Is(encErr, ErrLimit) || !strings.Contains(encErr.Error(), "nesting") {
					t.Errorf("%s %d: encoder error %v, want ErrLimit saying nesting", cmd, k, encErr)
				}
			}
		}
		if accepted == 0 || accepted == 14 {
			t.Errorf("%s: the limit was not reached in 0..14 (deepest accepted %d)", cmd, accepted)
		}
		t.Logf("%s: deepest nesting in install: %d", cmd, accepted)
	}

	deep := []byte(nestedSource(3000, "try-each"))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ParseSource(deep, "")
	runtime.ReadMemStats(&after)
	var se *SourceError
	if !errors.As(err, &se) || !strings.Contains(se.Msg, "nest") {
		t.Fatalf("3000-deep try-each: %v, want a source error about nesting", err)
	}
	// Block style: the parser's sequence bound (no YAML flow brackets to count).
	var block strings.Builder
	block.WriteString("manifest:\n  sequence-number: 1\n  components: [[h'00']]\n  install:\n")
	ind := "  "
	for range 40 {
		block.WriteString(ind + "- run-sequence:\n")
		ind += "  "
	}
	block.WriteString(ind + "- set-component-index: 0\n")
	if _, err := ParseSource([]byte(block.String()), ""); !errors.As(err, &se) || !strings.Contains(se.Msg, "nest") {
		t.Fatalf("40-deep block-style run-sequence: %v, want a source error about nesting", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("3000-deep try-each: %d bytes allocated before refusing", alloc)
	}
}

// TestShallowNestingAlwaysDecodes: Encode skips its decoder check for manifests nested at most
// shallowNesting deep (mayReachLimits); that is safe only if such a nesting decodes wherever a
// sequence may be. Try-each (the costliest nesting) in every place, inline and severed.
func TestShallowNestingAlwaysDecodes(t *testing.T) {
	for _, place := range []string{"shared", "validate", "load", "invoke", "uninstall", "payload-fetch", "install", "dependency-resolution", "candidate-verification"} {
		for _, severed := range []bool{false, true} {
			env := nestedModel(shallowNesting-1, "try-each") // the top sequence is level 1
			seq := env.Manifest.Install.Seq
			env.Manifest.Install = model.SeverableSequence{}
			m := env.Manifest
			sev := model.Severance{Present: true, Severed: severed}
			switch place {
			case "shared":
				m.Common.SharedSequence = seq
			case "validate":
				m.Validate = seq
			case "load":
				m.Load = seq
			case "invoke":
				m.Invoke = seq
			case "uninstall":
				m.Uninstall = seq
			case "payload-fetch":
				m.PayloadFetch = model.SeverableSequence{Severance: sev, Seq: seq}
			case "install":
				m.Install = model.SeverableSequence{Severance: sev, Seq: seq}
			case "dependency-resolution":
				m.DependencyResolution = model.SeverableSequence{Severance: sev, Seq: seq}
			case "candidate-verification":
				m.CandidateVerification = model.SeverableSequence{Severance: sev, Seq: seq}
			}
			if mayReachLimits(env) {
				t.Fatalf("%s: a nesting of %d counts as deep", place, shallowNesting)
			}
			checkEncodedDepth = false
			b, err := Encode(env)
			checkEncodedDepth = true
			if err != nil {
				t.Fatalf("%s: %v", place, err)
			}
			if _, err := Decode(b); err != nil {
				t.Errorf("%s (severed %v): nesting %d does not decode: %v", place, severed, shallowNesting, err)
			}
		}
	}
}
