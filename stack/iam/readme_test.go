package iam_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeSetupCreatesRolesFromTheseFiles runs the README's render
// function on every policy file and checks the result is the policy the
// other tests checked, and that its loop attaches every permission file.
func TestReadmeSetupCreatesRolesFromTheseFiles(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	render := regexp.MustCompile(`(?ms)^render\(\) \{.*?"\$1"; \}$`).Find(readme)
	if render == nil {
		t.Fatal("README.md has no render() function in its one-time setup")
	}
	loop := regexp.MustCompile(`for part in ([a-z0-9 -]+); do`).FindSubmatch(readme)
	if loop == nil {
		t.Fatal("README.md has no loop over the roles' permission policies")
	}
	var want []string
	for _, files := range [][]string{deployPolicies, previewPolicies} {
		var parts []string
		for _, f := range files {
			parts = append(parts, strings.TrimSuffix(filepath.Base(f), ".json"))
		}
		want = append(want, strings.Join(parts, " "))
	}
	if got := string(loop[1]); got != want[0] || got != want[1] {
		t.Errorf("README attaches %q; the roles' files are %q", got, want)
	}
	for _, dir := range []string{"deploy", "preview"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		if len(files) != len(deployPolicies)+1 {
			t.Errorf("%s holds %v: the README attaches only trust.json and %s", dir, files, loop[1])
		}
	}

	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	for _, name := range append(permissionFiles(), trustPolicies...) {
		cmd := exec.Command(bash, "-c", string(render)+"\nrender "+name)
		cmd.Env = os.Environ()
		for k, v := range placeholders {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("render %s: %v", name, err)
		}
		var got map[string]any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("render %s: not JSON: %v", name, err)
		}
		_, doc := readPolicy(t, name, placeholders)
		if !reflect.DeepEqual(got, doc) {
			t.Errorf("the README's render of %s differs from the policy the tests check:\n%s", name, out)
		}
	}
}
