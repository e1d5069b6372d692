package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// root is the repository root, one level up from this package.
var root = func() string {
	dir, err := filepath.Abs("..")
	if err != nil {
		panic(err)
	}
	return dir
}()

// rootPath joins parts onto the repository root.
func rootPath(parts ...string) string { return filepath.Join(append([]string{root}, parts...)...) }

// readRoot returns a file of the repository, failing the test when it is
// missing.
func readRoot(t testing.TB, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(rootPath(parts...))
	if err != nil {
		t.Fatalf("reading %s: %v", filepath.Join(parts...), err)
	}
	return b
}

// missing handles a tool that is not there: the test skips on a developer's
// machine and fails in CI, where the tool must be installed.
func missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (CI is set, so this fails instead of skipping)", msg)
	}
	t.Skip(msg)
}

// sharedPins is the team's list of action pins beside the repository;
// testdata/pins.md is the copy the repository carries so that CI, which has
// no ../shared, checks against the same list.
var sharedPins = filepath.Join(root, "..", "shared", "pins.md")
