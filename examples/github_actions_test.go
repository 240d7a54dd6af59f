package examples

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

// lintWorkflow runs actionlint (as a library, pinned in go.mod) on one
// workflow, with shellcheck on its run: scripts when shellcheck is
// installed (.ci/run installs it and requires it).
func lintWorkflow(t *testing.T, path string, src []byte) []*actionlint.Error {
	t.Helper()
	shellcheck := ""
	if p, err := exec.LookPath("shellcheck"); err == nil {
		shellcheck = p
	} else if os.Getenv("CONFSYNC_REQUIRE_SHELLCHECK") != "" {
		t.Fatalf("shellcheck is required (CONFSYNC_REQUIRE_SHELLCHECK is set) but not found: %v", err)
	} else {
		t.Log("shellcheck not found: run: scripts are not checked")
	}
	var out bytes.Buffer
	l, err := actionlint.NewLinter(&out, &actionlint.LinterOptions{Shellcheck: shellcheck})
	if err != nil {
		t.Fatal(err)
	}
	errs, err := l.Lint(path, src, nil)
	if err != nil {
		t.Fatal(err)
	}
	return errs
}

// TestGitHubActionsWorkflow lints examples/github-actions/workflows with
// actionlint and checks it does what the README says: plan on pull
// requests as Markdown, one comment found by its marker, the saved plan
// applied on merge.
func TestGitHubActionsWorkflow(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("github-actions", "workflows", "*.yml"))
	if len(files) == 0 {
		t.Fatal("no workflow")
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range lintWorkflow(t, f, src) {
			t.Errorf("%s:%d:%d: %s [%s]", f, e.Line, e.Column, e.Message, e.Kind)
		}
		w := string(src)
		for _, want := range []string{
			"confsync plan --format markdown --detailed-exitcode --out confsync.plan",
			`startswith("<!-- confsync-plan -->")`, "--method PATCH",
			"github.event.pull_request.merged == true", "confsync apply confsync.plan",
		} {
			if !strings.Contains(w, want) {
				t.Errorf("%s lacks %q", f, want)
			}
		}
	}
}

// TestActionlintCatchesMistakes: the lint is not a formality.
func TestActionlintCatchesMistakes(t *testing.T) {
	for name, bad := range map[string]string{
		"unknown event":        "on: pull_requests\njobs:\n  plan:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n",
		"unknown action input": "on: pull_request\njobs:\n  plan:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n        with:\n          reff: main\n",
		"missing job":          "on: pull_request\njobs:\n  plan:\n    needs: build\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n",
	} {
		if errs := lintWorkflow(t, "bad.yml", []byte(bad)); len(errs) == 0 {
			t.Errorf("%s: actionlint found nothing wrong", name)
		}
	}
}
