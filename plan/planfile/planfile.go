// Package planfile saves a plan to a file and reads it back for
// `confsync show` and `confsync apply FILE`. A plan file is versioned and
// integrity-checked: a SHA-256 over its content detects a damaged or
// hand-edited file. It holds no secrets: a plan carries usernames, display
// names, emails and group names, never tokens or passwords, and the
// configuration is represented by its hash only.
package planfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/confsync/confsync/plan"
)

// Format names a confsync plan file; Version is its version. A reader
// refuses other formats and newer versions.
const (
	Format  = "confsync-plan"
	Version = 1
)

// maxSize bounds a plan file read (a plan with a million changes is
// about 300 MB of JSON).
const maxSize = 1 << 30

type envelope struct {
	Format  string          `json:"format"`
	Version int             `json:"version"`
	SHA256  string          `json:"sha256"`
	Plan    json.RawMessage `json:"plan"`
}

// Encode writes p in the plan file format.
func Encode(w io.Writer, p *plan.Plan) error {
	content, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode plan: %w", err)
	}
	sum := sha256.Sum256(content)
	env, err := json.Marshal(envelope{Format: Format, Version: Version, SHA256: hex.EncodeToString(sum[:]), Plan: content})
	if err != nil {
		return fmt.Errorf("encode plan: %w", err)
	}
	_, err = w.Write(append(env, '\n'))
	return err
}

// Decode reads a plan file, checking its format, version and checksum.
func Decode(r io.Reader) (*plan.Plan, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxSize {
		return nil, errors.New("not a confsync plan file: larger than 1 GiB")
	}
	var env envelope
	if err := json.Unmarshal(data, &env); err != nil || env.Format != Format {
		return nil, errors.New("not a confsync plan file")
	}
	if env.Version > Version || env.Version < 1 {
		return nil, fmt.Errorf("plan file version %d is not supported by this confsync (it reads version %d); make the plan with the same confsync version", env.Version, Version)
	}
	// The checksum is over the content bytes exactly as written.
	content := env.Plan
	sum := sha256.Sum256(compact(content))
	if hex.EncodeToString(sum[:]) != env.SHA256 {
		return nil, errors.New("the plan file is damaged or was edited: its checksum does not match its content")
	}
	var p plan.Plan
	if err := json.Unmarshal(content, &p); err != nil {
		return nil, fmt.Errorf("the plan file's content is invalid: %w", err)
	}
	for i, c := range p.Changes {
		for _, j := range c.DependsOn {
			if j < 0 || j >= i {
				return nil, fmt.Errorf("the plan file's content is invalid: change %d depends on change %d", i, j)
			}
		}
	}
	return &p, nil
}

func compact(b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		return b
	}
	return buf.Bytes()
}

// Write saves p to path, readable by its owner only, replacing the file
// atomically.
func Write(path string, p *plan.Plan) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".confsync-plan-*")
	if err != nil {
		return fmt.Errorf("write plan file: %w", err)
	}
	defer os.Remove(f.Name())
	if err := Encode(f, p); err != nil {
		f.Close()
		return fmt.Errorf("write plan file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write plan file: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write plan file: %w", err)
	}
	return nil
}

// Read loads a plan file.
func Read(path string) (*plan.Plan, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p, err := Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}
