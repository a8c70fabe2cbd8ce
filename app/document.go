package app

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/suit-studio/suit-studio/codec/suit"
	"github.com/suit-studio/suit-studio/model"
)

// Format is how a document is stored on disk.
type Format int

const (
	// FormatSource is the human-editable YAML source form (codec/suit FormatSource/ParseSource).
	FormatSource Format = iota
	// FormatEnvelope is a binary CBOR SUIT envelope (.suit, .cbor).
	FormatEnvelope
	// FormatHex is a CBOR envelope written as hex text, like the spec's vectors.
	FormatHex
)

func (f Format) String() string {
	switch f {
	case FormatSource:
		return "YAML source"
	case FormatEnvelope:
		return "CBOR envelope"
	case FormatHex:
		return "hex text"
	}
	return "unknown format"
}

// FormatForPath guesses the format to save in from a file name: .yaml/.yml/.json are source,
// .hex is hex text, anything else (.suit, .cbor) a binary envelope.
func FormatForPath(path string) Format {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml", ".json":
		return FormatSource
	case ".hex", ".txt":
		return FormatHex
	}
	return FormatEnvelope
}

// Sentinel errors of document operations.
var (
	// ErrNothingToUndo / ErrNothingToRedo: the history is empty in that direction.
	ErrNothingToUndo = errors.New("nothing to undo")
	ErrNothingToRedo = errors.New("nothing to redo")
	// ErrUnrecognized: a file is neither a CBOR envelope, hex text nor YAML/JSON source.
	ErrUnrecognized = errors.New("not a SUIT envelope or manifest source")
	// ErrTooLarge: a file is larger than MaxDocumentSize.
	ErrTooLarge = errors.New("file too large")
)

// MaxDocumentSize bounds what Open reads: an envelope with integrated payloads for a Class 1-3
// device is far smaller; anything larger is almost certainly the wrong file.
const MaxDocumentSize = 64 << 20

// FileError says which file an operation failed on, and what to do.
type FileError struct {
	Op   string // "open", "save", "recover"
	Path string
	Err  error
	Hint string
}

func (e *FileError) Error() string {
	s := "cannot " + e.Op + " " + e.Path + ": " + e.Err.Error()
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

func (e *FileError) Unwrap() error { return e.Err }

// Document is one envelope being edited: the model value, where it lives on disk, an undo/redo
// history of snapshots, the findings of the last validation, and a recovery file.
//
// Every change goes through Apply, so undo covers all edits, validation runs after each edit and
// the recovery file follows. A Document is not safe for concurrent use: the GUI calls it from
// its event goroutine only.
type Document struct {
	env       *model.Envelope
	path      string
	format    Format
	modified  bool
	findings  []model.Finding
	leftovers []Leftover

	undo, redo []snapshot
	// lastKey and lastTime let consecutive edits of one field (typing) coalesce into one undo step.
	lastKey  string
	lastTime time.Time

	state      *State
	recoveryID string
	// RecoveryErr is the last error writing the recovery file (nil when it worked), shown by the UI.
	RecoveryErr error
	rec         recoveryWriter

	listeners []func()
}

type snapshot struct {
	description string
	env         *model.Envelope
}

// coalesceWindow: edits with the same key closer than this become one undo step.
const coalesceWindow = 1500 * time.Millisecond

// maxUndo bounds the history; a snapshot of a 64-component manifest is a few kilobytes.
const maxUndo = 500

// NewDocument makes an unsaved document editing env (nil: an empty envelope with a manifest
// of version 1). state may be nil (no recovery file, no recent list).
func NewDocument(env *model.Envelope, state *State) *Document {
	if env == nil {
		env = &model.Envelope{Tagged: true, Manifest: &model.Manifest{Version: 1}}
	}
	d := &Document{env: env, state: state, format: FormatSource}
	d.recoveryID = newRecoveryID()
	d.validate()
	return d
}

// Envelope returns the current value. Callers must not change it except inside Apply.
func (d *Document) Envelope() *model.Envelope { return d.env }

// Path is the file the document was opened from or last saved to, "" for a new document.
func (d *Document) Path() string { return d.path }

// Format is the format of Path.
func (d *Document) Format() Format { return d.format }

// Modified reports unsaved changes.
func (d *Document) Modified() bool { return d.modified }

// Findings are the validation findings of the current value.
func (d *Document) Findings() []model.Finding { return d.findings }

// Title is the window title: the file name (or "Untitled"), with "*" when modified.
func (d *Document) Title() string {
	name := "Untitled"
	if d.path != "" {
		name = filepath.Base(d.path)
	}
	if d.modified {
		name = "*" + name
	}
	return name
}

// OnChange registers f to run after every change (edit, undo, redo, save, load).
func (d *Document) OnChange(f func()) { d.listeners = append(d.listeners, f) }

func (d *Document) changed() {
	for _, f := range d.listeners {
		f()
	}
}

// Apply makes one edit: edit changes the envelope in place. The previous value is kept for
// undo under description ("Set sequence number"). Findings are recomputed and the recovery file
// is written.
func (d *Document) Apply(description string, edit func(env *model.Envelope)) {
	d.ApplyKeyed(description, "", edit)
}

// ApplyKeyed is Apply for edits that come in bursts (typing in a field): consecutive edits with
// the same non-empty key within a short time become a single undo step.
func (d *Document) ApplyKeyed(description, key string, edit func(env *model.Envelope)) {
	now := time.Now()
	coalesce := key != "" && key == d.lastKey && now.Sub(d.lastTime) < coalesceWindow && len(d.undo) > 0
	if !coalesce {
		d.undo = append(d.undo, snapshot{description, CloneEnvelope(d.env)})
		if len(d.undo) > maxUndo {
			d.undo = d.undo[len(d.undo)-maxUndo:]
		}
	}
	d.lastKey, d.lastTime = key, now
	d.redo = nil
	edit(d.env)
	d.modified = true
	d.validate()
	d.writeRecovery()
	d.changed()
}

// UndoDescription names the edit Undo would revert, "" when there is none.
func (d *Document) UndoDescription() string {
	if len(d.undo) == 0 {
		return ""
	}
	return d.undo[len(d.undo)-1].description
}

// RedoDescription names the edit Redo would make again, "" when there is none.
func (d *Document) RedoDescription() string {
	if len(d.redo) == 0 {
		return ""
	}
	return d.redo[len(d.redo)-1].description
}

// Undo reverts the last edit.
func (d *Document) Undo() error {
	if len(d.undo) == 0 {
		return ErrNothingToUndo
	}
	s := d.undo[len(d.undo)-1]
	d.undo = d.undo[:len(d.undo)-1]
	d.redo = append(d.redo, snapshot{s.description, d.env})
	d.env = s.env
	d.afterHistory()
	return nil
}

// Redo makes the last undone edit again.
func (d *Document) Redo() error {
	if len(d.redo) == 0 {
		return ErrNothingToRedo
	}
	s := d.redo[len(d.redo)-1]
	d.redo = d.redo[:len(d.redo)-1]
	d.undo = append(d.undo, snapshot{s.description, d.env})
	d.env = s.env
	d.afterHistory()
	return nil
}

func (d *Document) afterHistory() {
	d.lastKey = ""
	d.modified = true
	d.validate()
	d.writeRecovery()
	d.changed()
}

func (d *Document) validate() {
	d.findings = suit.Validate(d.env)
	d.leftovers = TemplateLeftovers(d.env)
	for _, l := range d.leftovers {
		d.findings = append(d.findings, l.Finding)
	}
}

// Leftovers are the template leftovers among the findings (each with its fix).
func (d *Document) Leftovers() []Leftover { return d.leftovers }

// Errors counts the findings of severity model.Error.
func (d *Document) Errors() int {
	n := 0
	for _, f := range d.findings {
		if f.Severity == model.Error {
			n++
		}
	}
	return n
}

// Encode returns the document as a CBOR envelope (what Save writes for FormatEnvelope).
func (d *Document) Encode() ([]byte, error) { return suit.Encode(d.env) }

// Bytes returns the document in format f.
func (d *Document) Bytes(f Format) ([]byte, error) {
	switch f {
	case FormatSource:
		return suit.FormatSource(d.env)
	case FormatHex:
		b, err := suit.Encode(d.env)
		if err != nil {
			return nil, err
		}
		return []byte(hexLines(b)), nil
	default:
		return suit.Encode(d.env)
	}
}

// hexLines writes b as lowercase hex, 64 characters a line, as the spec's vectors are.
func hexLines(b []byte) string {
	h := hex.EncodeToString(b)
	var s strings.Builder
	for len(h) > 64 {
		s.WriteString(h[:64] + "\n")
		h = h[64:]
	}
	s.WriteString(h + "\n")
	return s.String()
}

// Save writes the document to path in format f (atomically: a temporary file renamed into
// place), then marks it unmodified, removes its recovery file and adds path to the recent list.
func (d *Document) Save(path string, f Format) error {
	data, err := d.Bytes(f)
	if err != nil {
		return &FileError{Op: "save", Path: path, Err: err, Hint: "fix the errors listed under Findings, or save as YAML source, which keeps incomplete manifests"}
	}
	if err := WriteFileAtomic(path, data, 0o644); err != nil {
		return &FileError{Op: "save", Path: path, Err: err, Hint: "check that the folder exists and is writable"}
	}
	d.path, d.format, d.modified = path, f, false
	d.removeRecovery()
	if d.state != nil {
		d.state.AddRecent(path)
	}
	d.changed()
	return nil
}

// Close ends the document's life: its recovery file is removed (the user chose to close it,
// with or without saving).
func (d *Document) Close() { d.removeRecovery() }

// Open reads a document from path: a binary CBOR envelope, hex text, or YAML/JSON source
// (detected from the content, not the name).
func Open(path string, state *State) (*Document, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, &FileError{Op: "open", Path: path, Err: err, Hint: "check the file name and its permissions"}
	}
	env, f, err := parseDocument(data, suit.SourceOptions{BaseDir: filepath.Dir(path), AllowOutside: os.Getenv(AllowOutsideEnv) == "1"})
	if err != nil {
		hint := "open a SUIT envelope (.suit, .cbor, hex text) or a manifest source (.yaml, .json)"
		var se *suit.SourceError
		if errors.As(err, &se) && se.Hint != "" {
			hint = se.Hint // e.g. how to allow a file outside the source's folder
		}
		return nil, &FileError{Op: "open", Path: path, Err: err, Hint: hint}
	}
	d := NewDocument(env, state)
	d.path, d.format = path, f
	if state != nil {
		state.AddRecent(path)
	}
	return d, nil
}

func readLimited(path string) ([]byte, error) {
	return ReadInputFile(path, DocumentInput, MaxDocumentSize)
}

// ParseDocument recognizes data as a CBOR envelope, hex text or YAML/JSON source, and decodes
// it. baseDir resolves files named in source (payload files).
func ParseDocument(data []byte, baseDir string) (*model.Envelope, Format, error) {
	return parseDocument(data, suit.SourceOptions{BaseDir: baseDir})
}

// AllowOutsideEnv set to 1 lets the studio open sources whose file names leave the source's
// folder (absolute paths, "..", links pointing out); they are refused otherwise, as by 'suit
// create' without --allow-outside.
const AllowOutsideEnv = "SUIT_STUDIO_ALLOW_OUTSIDE"

func parseDocument(data []byte, opts suit.SourceOptions) (*model.Envelope, Format, error) {
	if b, ok := DecodeHexText(data); ok {
		env, err := suit.Decode(b)
		return env, FormatHex, err
	}
	if looksLikeCBOR(data) {
		env, err := suit.Decode(data)
		return env, FormatEnvelope, err
	}
	if looksLikeText(data) {
		env, err := suit.ParseSourceWith(data, opts)
		return env, FormatSource, err
	}
	return nil, FormatEnvelope, ErrUnrecognized
}

// EnvelopeBytes returns the CBOR bytes of data when it is a binary envelope or hex text.
func EnvelopeBytes(data []byte) ([]byte, bool) {
	if b, ok := DecodeHexText(data); ok {
		return b, true
	}
	if looksLikeCBOR(data) {
		return data, true
	}
	return nil, false
}

// looksLikeCBOR: an envelope starts with tag 107 (d8 6b) or a map head (major type 5).
func looksLikeCBOR(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	return (b[0] == 0xd8 && b[1] == 0x6b) || b[0]>>5 == 5
}

func looksLikeText(b []byte) bool {
	for _, c := range b {
		if c == 0 {
			return false
		}
	}
	return len(bytes.TrimSpace(b)) > 0
}

// DecodeHexText decodes data when it is hex text (whitespace allowed, optional 0x prefix).
func DecodeHexText(data []byte) ([]byte, bool) {
	s := strings.TrimPrefix(strings.TrimSpace(string(data)), "0x")
	if s == "" {
		return nil, false
	}
	clean := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\n' || c == '\r' || c == '\t':
		case (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'):
			clean = append(clean, c)
		default:
			return nil, false
		}
	}
	if len(clean)%2 != 0 {
		return nil, false
	}
	out := make([]byte, len(clean)/2)
	if _, err := hex.Decode(out, clean); err != nil {
		return nil, false
	}
	return out, true
}

// State is the studio's per-user state directory: recovery files and the recent-files list.
type State struct {
	Dir string
}

// DefaultState uses $XDG_STATE_HOME/suit-studio (~/.local/state/suit-studio when unset).
func DefaultState() *State {
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = os.TempDir()
		}
		base = filepath.Join(home, ".local", "state")
	}
	return &State{Dir: filepath.Join(base, "suit-studio")}
}

func (s *State) recoveryDir() string { return filepath.Join(s.Dir, "recovery") }

const maxRecent = 10

// Recent lists recently opened or saved files, most recent first, leaving out files that no
// longer exist.
func (s *State) Recent() []string {
	b, err := os.ReadFile(filepath.Join(s.Dir, "recent.json"))
	if err != nil {
		return nil
	}
	var list []string
	if json.Unmarshal(b, &list) != nil {
		return nil
	}
	out := list[:0]
	for _, p := range list {
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// AddRecent puts path first in the recent list. Errors are ignored: the list is a convenience.
func (s *State) AddRecent(path string) {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	list := []string{path}
	for _, p := range s.Recent() {
		if p != path && len(list) < maxRecent {
			list = append(list, p)
		}
	}
	b, _ := json.Marshal(list)
	if os.MkdirAll(s.Dir, 0o700) == nil {
		_ = WriteFileAtomic(filepath.Join(s.Dir, "recent.json"), b, 0o600)
	}
}

// Recovery is an autosaved document found at start-up: the previous session ended without
// saving or closing it.
type Recovery struct {
	File   string    // the recovery file
	Path   string    // the document's own file, "" when it was never saved
	Format Format    // the document's format
	Time   time.Time // when it was written
}

// recoveryRecord is the recovery file's content: metadata plus the envelope as source, which
// keeps incomplete manifests that cannot be encoded yet.
type recoveryRecord struct {
	Path   string    `json:"path"`
	Format Format    `json:"format"`
	Time   time.Time `json:"time"`
	Source string    `json:"source"`
}

func newRecoveryID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (d *Document) recoveryFile() string {
	return filepath.Join(d.state.recoveryDir(), d.recoveryID+".json")
}

func (d *Document) writeRecovery() {
	if d.state == nil {
		return
	}
	w := &d.rec
	w.mu.Lock()
	if w.cond == nil {
		w.cond = sync.NewCond(&w.mu)
	}
	d.RecoveryErr = w.err
	w.pending = &recoveryJob{env: CloneEnvelope(d.env), path: d.path, format: d.format, gen: w.gen}
	if !w.running {
		w.running = true
		go d.recoveryLoop()
	}
	// A small document is written before the edit returns (as it always was). With large
	// integrated payloads the source form takes tens of milliseconds to write: that happens in
	// the background, the latest value winning, so that typing stays fluid.
	if payloadBytes(d.env) < recoveryInlineLimit {
		for w.running {
			w.cond.Wait()
		}
		d.RecoveryErr = w.err
	}
	w.mu.Unlock()
}

// recoveryInlineLimit is the size of integrated payloads up to which the recovery file is
// written before an edit returns.
const recoveryInlineLimit = 64 << 10

func payloadBytes(env *model.Envelope) int {
	n := 0
	if env != nil {
		for _, p := range env.Integrated {
			n += len(p.Data)
		}
	}
	return n
}

// recoveryWriter writes a document's recovery file off the edit's goroutine, one at a time.
type recoveryWriter struct {
	mu      sync.Mutex
	cond    *sync.Cond
	pending *recoveryJob
	running bool
	gen     int // bumped when the recovery file is removed: older jobs are dropped
	err     error
}

type recoveryJob struct {
	env    *model.Envelope
	path   string
	format Format
	gen    int
}

func (d *Document) recoveryLoop() {
	w := &d.rec
	w.mu.Lock()
	for w.pending != nil {
		job := w.pending
		w.pending = nil
		w.mu.Unlock()
		err := d.writeRecoveryFile(job)
		w.mu.Lock()
		w.err = err
	}
	w.running = false
	w.cond.Broadcast()
	w.mu.Unlock()
}

func (d *Document) writeRecoveryFile(job *recoveryJob) error {
	src, err := suit.FormatSource(job.env)
	if err != nil {
		return err
	}
	b, err := json.Marshal(recoveryRecord{Path: job.path, Format: job.format, Time: time.Now().UTC(), Source: string(src)})
	if err == nil {
		err = os.MkdirAll(d.state.recoveryDir(), 0o700)
	}
	d.rec.mu.Lock()
	stale := job.gen != d.rec.gen
	d.rec.mu.Unlock()
	if err == nil && !stale {
		err = WriteFileAtomic(d.recoveryFile(), b, 0o600)
	}
	return err
}

func (d *Document) removeRecovery() {
	if d.state == nil {
		return
	}
	w := &d.rec
	w.mu.Lock()
	w.gen++
	w.pending = nil
	for w.running {
		w.cond.Wait()
	}
	w.mu.Unlock()
	os.Remove(d.recoveryFile())
}

// Recoveries lists the recovery files left by earlier sessions, newest first.
func (s *State) Recoveries() []Recovery {
	files, _ := filepath.Glob(filepath.Join(s.recoveryDir(), "*.json"))
	var out []Recovery
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var r recoveryRecord
		if json.Unmarshal(b, &r) != nil {
			continue
		}
		out = append(out, Recovery{File: f, Path: r.Path, Format: r.Format, Time: r.Time})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Time.After(out[j].Time) })
	return out
}

// Restore reopens a recovered document: modified, with its original path, and taking over the
// recovery file (so that it is removed once the user saves or closes it).
func (s *State) Restore(r Recovery) (*Document, error) {
	b, err := os.ReadFile(r.File)
	if err != nil {
		return nil, &FileError{Op: "recover", Path: r.File, Err: err}
	}
	var rec recoveryRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, &FileError{Op: "recover", Path: r.File, Err: err, Hint: "the recovery file is damaged; discard it"}
	}
	base := "."
	if rec.Path != "" {
		base = filepath.Dir(rec.Path)
	}
	env, err := suit.ParseSource([]byte(rec.Source), base)
	if err != nil {
		return nil, &FileError{Op: "recover", Path: r.File, Err: err, Hint: "the recovery file is damaged; discard it"}
	}
	d := NewDocument(env, s)
	d.path, d.format, d.modified = rec.Path, rec.Format, true
	d.recoveryID = strings.TrimSuffix(filepath.Base(r.File), ".json")
	return d, nil
}

// Discard removes a recovery file the user does not want.
func (s *State) Discard(r Recovery) error { return os.Remove(r.File) }

// CloneEnvelope returns a deep copy of env: the undo history keeps values that later edits
// cannot reach.
func CloneEnvelope(env *model.Envelope) *model.Envelope {
	if env == nil {
		return nil
	}
	c := *env
	if env.Auth != nil {
		a := model.Authentication{Digest: cloneDigestValue(env.Auth.Digest), Blocks: cloneByteSlices(env.Auth.Blocks)}
		c.Auth = &a
	}
	c.Manifest = cloneManifest(env.Manifest)
	if env.Integrated != nil {
		// The payload bytes are shared, not copied: nothing edits them in place (setting an image
		// replaces them), and with a 1 MiB image each undo step would otherwise keep a copy.
		c.Integrated = make([]model.IntegratedPayload, len(env.Integrated))
		for i, p := range env.Integrated {
			c.Integrated[i] = model.IntegratedPayload{Key: p.Key, Data: p.Data}
		}
	}
	c.Unknown = cloneRaw(env.Unknown)
	return &c
}

func cloneManifest(m *model.Manifest) *model.Manifest {
	if m == nil {
		return nil
	}
	c := *m
	if m.ReferenceURI != nil {
		s := *m.ReferenceURI
		c.ReferenceURI = &s
	}
	c.ManifestComponentID = cloneComponent(m.ManifestComponentID)
	if m.SetVersion != nil {
		c.SetVersion = append([]int64{}, m.SetVersion...)
	}
	c.Common = model.Common{
		SharedSequence: CloneSequence(m.Common.SharedSequence),
		Unknown:        cloneRaw(m.Common.Unknown),
	}
	if m.Common.Components != nil {
		c.Common.Components = make([]model.ComponentID, len(m.Common.Components))
		for i, id := range m.Common.Components {
			c.Common.Components[i] = cloneComponent(id)
		}
	}
	if m.Common.Dependencies != nil {
		c.Common.Dependencies = make([]model.Dependency, len(m.Common.Dependencies))
		for i, dep := range m.Common.Dependencies {
			c.Common.Dependencies[i] = model.Dependency{Index: dep.Index, Prefix: cloneComponent(dep.Prefix), Unknown: cloneRaw(dep.Unknown)}
		}
	}
	c.Validate = CloneSequence(m.Validate)
	c.Load = CloneSequence(m.Load)
	c.Invoke = CloneSequence(m.Invoke)
	c.Uninstall = CloneSequence(m.Uninstall)
	for _, s := range []*model.SeverableSequence{&c.PayloadFetch, &c.Install, &c.DependencyResolution, &c.CandidateVerification} {
		s.Severance = cloneSeverance(s.Severance)
		s.Seq = CloneSequence(s.Seq)
	}
	c.Text.Severance = cloneSeverance(m.Text.Severance)
	c.Text.Text = cloneText(m.Text.Text)
	c.Coswid.Severance = cloneSeverance(m.Coswid.Severance)
	c.Coswid.Bytes = cloneBytes(m.Coswid.Bytes)
	c.Unknown = cloneRaw(m.Unknown)
	return &c
}

func cloneSeverance(s model.Severance) model.Severance {
	if s.Digest != nil {
		d := cloneDigestValue(*s.Digest)
		s.Digest = &d
	}
	return s
}

// CloneSequence deep-copies a command sequence (nil stays nil).
func CloneSequence(s *model.CommandSequence) *model.CommandSequence {
	if s == nil {
		return nil
	}
	c := &model.CommandSequence{}
	if s.Commands != nil {
		c.Commands = make([]model.Command, len(s.Commands))
		for i := range s.Commands {
			c.Commands[i] = CloneCommand(s.Commands[i])
		}
	}
	return c
}

// CloneCommand deep-copies one command.
func CloneCommand(cmd model.Command) model.Command {
	c := cmd
	if cmd.Index != nil {
		ix := *cmd.Index
		if ix.Indices != nil {
			ix.Indices = append([]uint64{}, ix.Indices...)
		}
		c.Index = &ix
	}
	c.Params = cloneParams(cmd.Params)
	if cmd.Sequences != nil {
		c.Sequences = make([]*model.CommandSequence, len(cmd.Sequences))
		for i, s := range cmd.Sequences {
			c.Sequences[i] = CloneSequence(s)
		}
	}
	if cmd.Multiple != nil {
		c.Multiple = make([]model.IndexedParams, len(cmd.Multiple))
		for i, m := range cmd.Multiple {
			c.Multiple[i] = model.IndexedParams{Index: m.Index, Params: cloneParams(m.Params)}
		}
	}
	if cmd.CopyParams != nil {
		c.CopyParams = make([]model.IndexedLabels, len(cmd.CopyParams))
		for i, m := range cmd.CopyParams {
			c.CopyParams[i] = model.IndexedLabels{Index: m.Index, Labels: append([]int64(nil), m.Labels...)}
		}
	}
	c.Raw = cloneBytes(cmd.Raw)
	return c
}

func cloneParams(ps []model.Parameter) []model.Parameter {
	if ps == nil {
		return nil
	}
	out := make([]model.Parameter, len(ps))
	for i, p := range ps {
		out[i] = model.Parameter{Label: p.Label, Value: CloneValue(p.Value)}
	}
	return out
}

// CloneValue deep-copies a parameter value.
func CloneValue(v model.Value) model.Value {
	c := v
	c.Bytes = cloneBytes(v.Bytes)
	c.Raw = cloneBytes(v.Raw)
	if v.Digest != nil {
		d := cloneDigestValue(*v.Digest)
		c.Digest = &d
	}
	return c
}

func cloneText(t *model.TextMap) *model.TextMap {
	if t == nil {
		return nil
	}
	c := &model.TextMap{}
	for _, l := range t.Languages {
		nl := model.TextLanguage{Tag: l.Tag, Entries: append([]model.TextEntry(nil), l.Entries...), Unknown: cloneRaw(l.Unknown)}
		for _, ct := range l.Components {
			nl.Components = append(nl.Components, model.ComponentText{
				Component: cloneComponent(ct.Component),
				Entries:   append([]model.TextEntry(nil), ct.Entries...),
				Unknown:   cloneRaw(ct.Unknown),
			})
		}
		c.Languages = append(c.Languages, nl)
	}
	return c
}

func cloneDigestValue(d model.Digest) model.Digest {
	return model.Digest{Alg: d.Alg, Bytes: cloneBytes(d.Bytes), Extensions: cloneByteSlices(d.Extensions)}
}

func cloneComponent(id model.ComponentID) model.ComponentID {
	if id == nil {
		return nil
	}
	return model.ComponentID(cloneByteSlices(id))
}

func cloneByteSlices(b [][]byte) [][]byte {
	if b == nil {
		return nil
	}
	out := make([][]byte, len(b))
	for i := range b {
		out[i] = cloneBytes(b[i])
	}
	return out
}

func cloneBytes(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

func cloneRaw(r []model.RawMember) []model.RawMember {
	if r == nil {
		return nil
	}
	out := make([]model.RawMember, len(r))
	for i, m := range r {
		out[i] = model.RawMember{Key: cloneBytes(m.Key), Value: cloneBytes(m.Value)}
	}
	return out
}

// SequenceNumbers proposes sequence numbers for a new version: the current time in seconds since
// 1970 (RFC 9124 allows a UTC timestamp, and it never goes backwards between builds) and the
// current number plus one.
func SequenceNumbers(current uint64, now time.Time) (fromTime, next uint64) {
	t := now.Unix()
	if t < 0 {
		t = 0
	}
	return uint64(t), current + 1
}

// SetIdentity sets the vendor ID from a domain name (UUID5(DNS, domain)) and, when modelName is
// not empty, the class ID from the model name (UUID5(vendor ID, model)), as draft-37 §8.4.8.1-2
// recommend. Every vendor-identifier and class-identifier parameter of the shared sequence gets
// the new value; when there is none, the compatibility check of §7.1 is put at its start.
func SetIdentity(env *model.Envelope, domain, modelName string) error {
	if env == nil || env.Manifest == nil {
		return errors.New("the envelope has no manifest")
	}
	domain = strings.TrimSpace(domain)
	if domain == "" {
		return errors.New("give the vendor's domain name, e.g. example.com")
	}
	vendor := model.VendorID(domain)
	var class []byte
	if modelName = strings.TrimSpace(modelName); modelName != "" {
		class, _ = model.ClassID(vendor, modelName)
	}
	c := &env.Manifest.Common
	if c.SharedSequence == nil {
		c.SharedSequence = &model.CommandSequence{}
	}
	var foundVendor, foundClass bool
	for i := range c.SharedSequence.Commands {
		cmd := &c.SharedSequence.Commands[i]
		if cmd.Label != model.DirOverrideParameters {
			continue
		}
		for j := range cmd.Params {
			p := &cmd.Params[j]
			switch {
			case p.Label == model.ParamVendorIdentifier:
				p.Value = model.Value{Kind: model.KindUUID, Bytes: vendor}
				foundVendor = true
			case p.Label == model.ParamClassIdentifier && class != nil:
				p.Value = model.Value{Kind: model.KindUUID, Bytes: class}
				foundClass = true
			}
		}
	}
	if foundVendor && (foundClass || class == nil) {
		return nil
	}
	var ps []model.Parameter
	var conds []model.Command
	if !foundVendor {
		ps = append(ps, model.UUIDParam(model.ParamVendorIdentifier, vendor))
		conds = append(conds, model.Cond(model.CondVendorIdentifier, 15))
	}
	if class != nil && !foundClass {
		ps = append(ps, model.UUIDParam(model.ParamClassIdentifier, class))
		conds = append(conds, model.Cond(model.CondClassIdentifier, 15))
	}
	var head []model.Command
	if len(c.Components) > 1 {
		head = append(head, model.Command{Label: model.DirSetComponentIndex, Index: &model.ComponentIndex{All: true}})
	}
	head = append(head, model.Override(ps...))
	head = append(head, conds...)
	c.SharedSequence.Commands = append(head, c.SharedSequence.Commands...)
	return nil
}

// Identity returns the vendor and class IDs the shared sequence sets (nil when not set).
func Identity(env *model.Envelope) (vendor, class []byte) {
	if env == nil || env.Manifest == nil || env.Manifest.Common.SharedSequence == nil {
		return nil, nil
	}
	for _, cmd := range env.Manifest.Common.SharedSequence.Commands {
		if cmd.Label != model.DirOverrideParameters {
			continue
		}
		for _, p := range cmd.Params {
			switch p.Label {
			case model.ParamVendorIdentifier:
				vendor = p.Value.Bytes
			case model.ParamClassIdentifier:
				class = p.Value.Bytes
			}
		}
	}
	return vendor, class
}

// ImageSource says where a device gets the image that SetImage describes.
type ImageSource struct {
	// URI, when not empty, replaces the uri parameters of the component.
	URI string
	// Integrate carries the image in the envelope as an integrated payload under the key
	// "#"+Name, and points the component's uri parameters at it.
	Integrate bool
	Name      string
}

// SetImage sets the image-digest (SHA-256) and image-size of component comp from the firmware
// image data, wherever the manifest sets them for that component, and its URI or integrated
// payload. When the manifest sets no digest for the component yet, the parameters are added to
// the shared sequence (after a set-component-index when there are several components).
func SetImage(env *model.Envelope, comp int, data []byte, src ImageSource) error {
	if env == nil || env.Manifest == nil {
		return errors.New("the envelope has no manifest")
	}
	m := env.Manifest
	if comp < 0 || comp >= len(m.Common.Components) {
		return fmt.Errorf("component %d does not exist: the manifest has %d components", comp, len(m.Common.Components))
	}
	dg, err := suit.Digest(model.AlgSHA256, data)
	if err != nil {
		return err
	}
	uri := src.URI
	if src.Integrate {
		if src.Name == "" {
			src.Name = "image"
		}
		uri = "#" + strings.TrimPrefix(src.Name, "#")
		replaced := false
		for i := range env.Integrated {
			if env.Integrated[i].Key == uri {
				env.Integrated[i].Data = append([]byte(nil), data...)
				replaced = true
			}
		}
		if !replaced {
			env.Integrated = append(env.Integrated, model.IntegratedPayload{Key: uri, Data: append([]byte(nil), data...)})
			sort.Slice(env.Integrated, func(i, j int) bool {
				a, b := env.Integrated[i].Key, env.Integrated[j].Key
				return len(a) < len(b) || len(a) == len(b) && a < b
			})
		}
	}
	digestSet := false
	size := uint64(len(data))
	forEachOverride(m, comp, func(cmd *model.Command) {
		hasDigest, hasSize := -1, -1
		for j := range cmd.Params {
			switch cmd.Params[j].Label {
			case model.ParamImageDigest:
				hasDigest = j
			case model.ParamImageSize:
				hasSize = j
			case model.ParamURI:
				if uri != "" {
					cmd.Params[j].Value = model.Value{Kind: model.KindText, Text: uri}
				}
			}
		}
		if hasDigest >= 0 {
			d := *dg
			cmd.Params[hasDigest].Value = model.Value{Kind: model.KindDigest, Digest: &d}
			digestSet = true
			if hasSize >= 0 {
				cmd.Params[hasSize].Value = model.Value{Kind: model.KindUint, Uint: size}
			} else {
				cmd.Params = append(cmd.Params, model.UintParam(model.ParamImageSize, size))
			}
		}
	})
	if !digestSet {
		c := &m.Common
		if c.SharedSequence == nil {
			c.SharedSequence = &model.CommandSequence{}
		}
		add := []model.Command{}
		if len(c.Components) > 1 {
			add = append(add, model.SetIndex(uint64(comp)))
		}
		add = append(add, model.Override(model.DigestParam(dg.Alg, dg.Bytes), model.UintParam(model.ParamImageSize, size)))
		c.SharedSequence.Commands = append(c.SharedSequence.Commands, add...)
	}
	return nil
}

// ImageOf returns the digest and size the manifest sets for component comp (the first found).
func ImageOf(env *model.Envelope, comp int) (digest *model.Digest, size uint64, hasSize bool) {
	if env == nil || env.Manifest == nil {
		return nil, 0, false
	}
	forEachOverride(env.Manifest, comp, func(cmd *model.Command) {
		for _, p := range cmd.Params {
			switch {
			case p.Label == model.ParamImageDigest && digest == nil:
				digest = p.Value.Digest
			case p.Label == model.ParamImageSize && !hasSize:
				size, hasSize = p.Value.Uint, true
			}
		}
	})
	return digest, size, hasSize
}

// forEachOverride calls f for every override-parameters command of every sequence that applies
// to component comp, following set-component-index the way a processor does (§6.4).
func forEachOverride(m *model.Manifest, comp int, f func(*model.Command)) {
	var walk func(seq *model.CommandSequence, selected map[int]bool)
	walk = func(seq *model.CommandSequence, selected map[int]bool) {
		if seq == nil {
			return
		}
		for i := range seq.Commands {
			cmd := &seq.Commands[i]
			switch cmd.Label {
			case model.DirSetComponentIndex:
				selected = map[int]bool{}
				if cmd.Index != nil {
					if cmd.Index.All {
						selected[comp] = true
					}
					for _, ix := range cmd.Index.Indices {
						selected[int(ix)] = true
					}
				}
			case model.DirOverrideParameters, model.DirSetParameters:
				if selected[comp] {
					f(cmd)
				}
			case model.DirTryEach, model.DirRunSequence:
				for _, s := range cmd.Sequences {
					walk(s, selected)
				}
			}
		}
	}
	seqs := []*model.CommandSequence{m.Common.SharedSequence, m.DependencyResolution.Seq, m.PayloadFetch.Seq,
		m.CandidateVerification.Seq, m.Install.Seq, m.Validate, m.Load, m.Invoke, m.Uninstall}
	for _, s := range seqs {
		walk(s, map[int]bool{0: true})
	}
}

// TextOf returns the text the manifest's text map gives key (a component text key such as
// model.TextVendorDomain) for component comp, from the first language that has it; "" when
// none does. comp < 0 looks at the manifest-level entries instead.
func TextOf(m *model.Manifest, comp int, key int64) string {
	if m == nil || m.Text.Text == nil {
		return ""
	}
	var id model.ComponentID
	if comp >= 0 {
		if comp >= len(m.Common.Components) {
			return ""
		}
		id = m.Common.Components[comp]
	}
	find := func(es []model.TextEntry) string {
		for _, e := range es {
			if e.Key == key {
				return e.Text
			}
		}
		return ""
	}
	for _, l := range m.Text.Text.Languages {
		if comp < 0 {
			if t := find(l.Entries); t != "" {
				return t
			}
			continue
		}
		for _, c := range l.Components {
			if sameComponent(c.Component, id) {
				if t := find(c.Entries); t != "" {
					return t
				}
			}
		}
	}
	return ""
}

func sameComponent(a, b model.ComponentID) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// IdentityText returns the vendor domain and model name the manifest's text gives component comp,
// when they are there and derive the vendor and class IDs the manifest checks (UUIDv5,
// §8.4.8.1-2); ok is false otherwise. A simulated device provisioned with them accepts the
// manifest's identity conditions.
func IdentityText(env *model.Envelope, comp int) (domain, modelName string, ok bool) {
	if env == nil || env.Manifest == nil {
		return "", "", false
	}
	domain = strings.TrimSpace(TextOf(env.Manifest, comp, model.TextVendorDomain))
	modelName = strings.TrimSpace(TextOf(env.Manifest, comp, model.TextModelInfo))
	if domain == "" || modelName == "" {
		return "", "", false
	}
	vendor, class := Identity(env)
	if vendor != nil && !bytes.Equal(vendor, model.VendorID(domain)) {
		return "", "", false
	}
	if class != nil {
		want, err := model.ClassID(model.VendorID(domain), modelName)
		if err != nil || !bytes.Equal(class, want) {
			return "", "", false
		}
	}
	return domain, modelName, true
}

// IntegratedImage returns component comp's image when the envelope carries it: the integrated
// payload whose digest is the image digest the manifest sets for the component, and a file name
// for it (its key without '#'). ok is false when there is none.
func IntegratedImage(env *model.Envelope, comp int) (data []byte, name string, ok bool) {
	dg, _, _ := ImageOf(env, comp)
	if dg == nil {
		return nil, "", false
	}
	for _, p := range env.Integrated {
		got, err := suit.Digest(dg.Alg, p.Data)
		if err == nil && bytes.Equal(got.Bytes, dg.Bytes) {
			name = filepath.Base(strings.TrimPrefix(p.Key, "#"))
			if name == "" || name == "." || name == "/" {
				name = "image.bin"
			}
			return p.Data, name, true
		}
	}
	return nil, "", false
}
