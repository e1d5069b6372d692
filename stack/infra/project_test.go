package infra_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/blogstack/blogstack/stack/infra"
)

// TestProjectDeclaresEverySettingTheProgramReads checks Pulumi.yaml against
// the keys ParseConfig actually asks for, in both kinds of stack.
func TestProjectDeclaresEverySettingTheProgramReads(t *testing.T) {
	var project struct {
		Name    string `yaml:"name"`
		Runtime string `yaml:"runtime"`
		Main    string `yaml:"main"`
		Config  map[string]struct {
			Type        string `yaml:"type"`
			Description string `yaml:"description"`
			Default     any    `yaml:"default"`
		} `yaml:"config"`
	}
	readYAML(t, "../../Pulumi.yaml", &project)
	if project.Name != "blogstack" || project.Runtime != "go" || project.Main != "stack/" {
		t.Errorf("Pulumi.yaml: name %q runtime %q main %q", project.Name, project.Runtime, project.Main)
	}
	read := map[string]bool{}
	for _, s := range append(slices.Clip(stacks), fargateStacks...) {
		_, err := infra.ParseConfig("blogstack", s.name, "organization", func(k string) string {
			read[k] = true
			return s.config[map[bool]string{true: k, false: "blogstack:" + k}[strings.Contains(k, ":")]]
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for k := range read {
		if k == "aws:region" {
			continue
		}
		c, ok := project.Config[k]
		if !ok {
			t.Errorf("Pulumi.yaml does not declare %q", k)
			continue
		}
		if c.Type == "" || c.Description == "" {
			t.Errorf("Pulumi.yaml: %q needs a type and a description", k)
		}
	}
	for k := range project.Config {
		if !read[k] {
			t.Errorf("Pulumi.yaml declares %q, which the program never reads", k)
		}
	}
}

// TestProdStackFileRuns runs the program on Pulumi.prod.yaml as committed.
func TestProdStackFileRuns(t *testing.T) {
	var stack struct {
		Config map[string]any `yaml:"config"`
	}
	readYAML(t, "../../Pulumi.prod.yaml", &stack)
	config := map[string]string{}
	for k, v := range stack.Config {
		s, ok := v.(string)
		if !ok {
			t.Fatalf("%s is not a plain string (secrets belong in SSM, not here): %v", k, v)
		}
		for _, word := range []string{"password", "secret", "key"} {
			if strings.Contains(strings.ToLower(k), word) {
				t.Errorf("%s looks like a secret in plain text", k)
			}
		}
		config[k] = s
	}
	rs := mustRun(t, "prod", config)
	if n := len(rs); n < 20 {
		t.Errorf("only %d resources", n)
	}
	if len(ofType(rs, "aws:ssm/association:Association")) != 0 {
		t.Error("the committed prod config deploys an image; the first up must not")
	}
	// The release that runs is state: the deploy workflow passes the tag
	// and the deploy id, a committed one would be redeployed by every
	// local `pulumi up`.
	for _, k := range []string{"blogstack:imageTag", "blogstack:deployId"} {
		if _, ok := stack.Config[k]; ok {
			t.Errorf("Pulumi.prod.yaml commits %s", k)
		}
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
