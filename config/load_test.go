package config

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// marker is an expected diagnostic, written in a fixture as a comment on the
// line the diagnostic points at: # ERROR: <summary substring>, or WARNING.
// Several may share a line, separated by " | ".
type marker struct {
	file     string
	line     int
	severity hcl.DiagnosticSeverity
	text     string
}

func (m marker) String() string {
	sev := "ERROR"
	if m.severity == hcl.DiagWarning {
		sev = "WARNING"
	}
	return fmt.Sprintf("%s:%d: %s: %s", filepath.Base(m.file), m.line, sev, m.text)
}

var markerRE = regexp.MustCompile(`(ERROR|WARNING): ([^|]+)`)

// fixtureDirectives reads a fixture's markers and its # VAR NAME=VALUE and
// # ENV NAME=VALUE lines.
func fixtureDirectives(t *testing.T, files []string) (markers []marker, vars, env map[string]string) {
	t.Helper()
	vars, env = map[string]string{}, map[string]string{}
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(src))
		for line := 1; sc.Scan(); line++ {
			text := sc.Text()
			if rest, ok := strings.CutPrefix(text, "# VAR "); ok {
				k, v, _ := strings.Cut(rest, "=")
				vars[k] = v
				continue
			}
			if rest, ok := strings.CutPrefix(text, "# ENV "); ok {
				k, v, _ := strings.Cut(rest, "=")
				env[k] = v
				continue
			}
			i := strings.Index(text, "#")
			if i < 0 {
				continue
			}
			for _, m := range markerRE.FindAllStringSubmatch(text[i:], -1) {
				sev := hcl.DiagError
				if m[1] == "WARNING" {
					sev = hcl.DiagWarning
				}
				markers = append(markers, marker{file: name, line: line, severity: sev, text: strings.TrimSpace(m[2])})
			}
		}
	}
	return markers, vars, env
}

// TestErrorFixtures loads every fixture in testdata/errors (a file, or a
// directory of files) and checks that it yields exactly the diagnostics its
// markers announce, on the lines they are written on.
func TestErrorFixtures(t *testing.T) {
	entries, err := os.ReadDir("testdata/errors")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		path := filepath.Join("testdata/errors", e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			files := []string{path}
			if e.IsDir() {
				files, _ = filepath.Glob(filepath.Join(path, "*.hcl"))
			}
			want, vars, env := fixtureDirectives(t, files)
			if len(want) == 0 {
				t.Fatal("fixture has no markers")
			}
			_, diags := Load(LoadOptions{Path: path, Vars: vars, Getenv: func(k string) string { return env[k] }})
			checkMarkers(t, want, diags)
		})
	}
}

// TestValidFixtures loads every file in testdata/valid and expects no
// diagnostics but the warnings its markers announce.
func TestValidFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/valid/*.hcl")
	if len(files) == 0 {
		t.Fatal("no valid fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			want, vars, env := fixtureDirectives(t, []string{f})
			_, diags := Load(LoadOptions{Path: f, Vars: vars, Getenv: func(k string) string { return env[k] }})
			checkMarkers(t, want, diags)
		})
	}
}

func checkMarkers(t *testing.T, want []marker, diags hcl.Diagnostics) {
	t.Helper()
	matched := make([]bool, len(want))
	var unexpected []string
	for _, d := range diags {
		if d.Subject == nil {
			unexpected = append(unexpected, fmt.Sprintf("(no position): %s: %s", d.Summary, d.Detail))
			continue
		}
		found := false
		for i, m := range want {
			if matched[i] || m.severity != d.Severity || m.line != d.Subject.Start.Line ||
				filepath.Clean(m.file) != filepath.Clean(d.Subject.Filename) || !strings.Contains(d.Summary, m.text) {
				continue
			}
			matched[i], found = true, true
			break
		}
		if !found {
			sev := "ERROR"
			if d.Severity == hcl.DiagWarning {
				sev = "WARNING"
			}
			unexpected = append(unexpected, fmt.Sprintf("%s:%d:%d: %s: %s (%s)", filepath.Base(d.Subject.Filename), d.Subject.Start.Line, d.Subject.Start.Column, sev, d.Summary, d.Detail))
		}
	}
	var missing []string
	for i, m := range want {
		if !matched[i] {
			missing = append(missing, m.String())
		}
	}
	sort.Strings(unexpected)
	for _, u := range unexpected {
		t.Errorf("unexpected diagnostic %s", u)
	}
	for _, m := range missing {
		t.Errorf("missing diagnostic %s", m)
	}
}
