package pipeline

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// actionlint is run from the module proxy at a fixed version: it cannot be a
// tool line of go.mod (its yaml/v4 pre-release conflicts with compose-go's).
const actionlint = "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"

// TestActionlint lints every workflow, with shellcheck over the inline run
// blocks.
func TestActionlint(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		missing(t, "go is not on PATH: cannot run %s", actionlint)
	}
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		missing(t, "shellcheck is not installed (apt-get install shellcheck): actionlint would skip the run blocks")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// Fetch and build first, so that "cannot download" skips (without CI)
	// while a lint finding always fails.
	build := exec.CommandContext(ctx, goBin, "run", actionlint, "-version")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		missing(t, "cannot build %s (no module proxy?): %v\n%s", actionlint, err, out)
	}

	files, err := filepath.Glob(rootPath(".github", "workflows", "*.yml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no workflows in .github/workflows (%v)", err)
	}
	args := append([]string{"run", actionlint, "-shellcheck", shellcheck, "-pyflakes", ""}, files...)
	cmd := exec.CommandContext(ctx, goBin, args...)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("actionlint: %v\n%s", err, out.String())
	}
}

// TestShellcheck checks every pipeline script, following the helpers they
// source.
func TestShellcheck(t *testing.T) {
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		missing(t, "shellcheck is not installed (apt-get install shellcheck)")
	}
	scripts := pipelineScripts(t)
	args := append([]string{"--external-sources", "--source-path=SCRIPTDIR", "--severity=style"}, scripts...)
	cmd := exec.Command(shellcheck, args...)
	cmd.Dir = rootPath(".github", "scripts")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("shellcheck: %v\n%s", err, out)
	}
	for _, s := range scripts {
		fi, err := os.Stat(rootPath(".github", "scripts", s))
		if err != nil {
			t.Fatal(err)
		}
		if s != "lib.sh" && fi.Mode()&0o111 == 0 {
			t.Errorf(".github/scripts/%s is not executable (git update-index --chmod=+x)", s)
		}
	}
}

// pipelineScripts lists the files in .github/scripts.
func pipelineScripts(t testing.TB) []string {
	t.Helper()
	entries, err := os.ReadDir(rootPath(".github", "scripts"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		t.Fatal("no scripts in .github/scripts")
	}
	return names
}
