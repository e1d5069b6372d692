package pipeline

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// workflow is the part of a GitHub Actions workflow the rules look at.
type workflow struct {
	On          map[string]any `yaml:"on"`
	Permissions any            `yaml:"permissions"`
	Concurrency any            `yaml:"concurrency"`
	Jobs        map[string]job `yaml:"jobs"`
}

type job struct {
	If          string            `yaml:"if"`
	Uses        string            `yaml:"uses"`
	With        map[string]any    `yaml:"with"`
	Permissions any               `yaml:"permissions"`
	Concurrency any               `yaml:"concurrency"`
	Environment any               `yaml:"environment"`
	Env         map[string]string `yaml:"env"`
	Services    map[string]struct {
		Image string `yaml:"image"`
	} `yaml:"services"`
	Steps []step `yaml:"steps"`
}

type step struct {
	ID   string            `yaml:"id"`
	If   string            `yaml:"if"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	With map[string]any    `yaml:"with"`
	Env  map[string]string `yaml:"env"`
}

var workflowNames = []string{"ci", "deploy", "preview", "sweep"}

// loadWorkflows parses the four workflows, keyed by name.
func loadWorkflows(t *testing.T) map[string]workflow {
	t.Helper()
	wfs := map[string]workflow{}
	for _, name := range workflowNames {
		var wf workflow
		dec := yaml.NewDecoder(bytes.NewReader(readRoot(t, ".github", "workflows", name+".yml")))
		dec.KnownFields(false)
		if err := dec.Decode(&wf); err != nil {
			t.Fatalf("%s.yml: %v", name, err)
		}
		if len(wf.Jobs) == 0 {
			t.Fatalf("%s.yml has no jobs", name)
		}
		wfs[name] = wf
	}
	return wfs
}

func (j job) usesAction(prefix string) bool {
	for _, s := range j.Steps {
		if strings.HasPrefix(s.Uses, prefix+"@") {
			return true
		}
	}
	return false
}

// perms returns a job's permissions as a map, failing on the string forms
// (read-all, write-all) and on a job without any.
func perms(t *testing.T, where string, p any) map[string]string {
	t.Helper()
	switch v := p.(type) {
	case nil:
		t.Errorf("%s: no permissions: every job says what it needs", where)
	case string:
		t.Errorf("%s: permissions %q: list each permission instead", where, v)
	case map[string]any:
		m := map[string]string{}
		for k, val := range v {
			m[k] = fmt.Sprint(val)
		}
		return m
	}
	return nil
}

// pinLines reads the `uses:` lines of a pins.md table, keyed by action.
func pinLines(t *testing.T, md []byte) map[string]string {
	t.Helper()
	re := regexp.MustCompile("`(uses: ([^@\\s]+)@([0-9a-f]{40}) # (v[0-9.]+))`")
	pins := map[string]string{}
	for _, m := range re.FindAllSubmatch(md, -1) {
		pins[string(m[2])] = string(m[1])
	}
	if len(pins) == 0 {
		t.Fatal("no `uses:` lines in pins.md")
	}
	return pins
}

// TestPinsCopyIsCurrent keeps testdata/pins.md equal to the team's list
// where that list is present (it is not in GitHub's CI).
func TestPinsCopyIsCurrent(t *testing.T) {
	shared, err := os.ReadFile(sharedPins)
	if err != nil {
		t.Skipf("no %s here: checking against the repository's copy only", sharedPins)
	}
	if !maps(pinLines(t, shared), pinLines(t, readRoot(t, "pipeline", "testdata", "pins.md"))) {
		t.Errorf("pipeline/testdata/pins.md differs from %s: copy it again", sharedPins)
	}
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestActionsArePinned: every `uses:` line is the line pins.md gives for
// that action: a full commit SHA, with its version as a comment.
func TestActionsArePinned(t *testing.T) {
	pins := pinLines(t, readRoot(t, "pipeline", "testdata", "pins.md"))
	usesLine := regexp.MustCompile(`^\s*(?:-\s+)?(uses:.*)$`)
	for _, name := range workflowNames {
		for i, line := range strings.Split(string(readRoot(t, ".github", "workflows", name+".yml")), "\n") {
			m := usesLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			got := strings.TrimSpace(m[1])
			if strings.HasPrefix(got, "uses: ./") {
				continue // a workflow of this repository
			}
			action, _, _ := strings.Cut(strings.TrimPrefix(got, "uses: "), "@")
			want, ok := pins[action]
			switch {
			case !ok:
				t.Errorf("%s.yml:%d: %s is not in pins.md", name, i+1, action)
			case got != want:
				t.Errorf("%s.yml:%d:\n got %s\nwant %s", name, i+1, got, want)
			}
		}
	}
}

// TestPermissions: nothing by default, and per job only what it needs:
// id-token: write only with AWS credentials, pull-requests: write only with
// a PR comment, and never write access to the repository's contents.
func TestPermissions(t *testing.T) {
	for name, wf := range loadWorkflows(t) {
		if p, ok := wf.Permissions.(map[string]any); !ok || len(p) != 0 {
			t.Errorf("%s.yml: top-level permissions are %v, want {} (each job grants its own)", name, wf.Permissions)
		}
		for id, j := range wf.Jobs {
			where := name + ".yml " + id
			p := perms(t, where, j.Permissions)
			if p == nil {
				continue
			}
			aws := j.usesAction("aws-actions/configure-aws-credentials")
			comments := j.usesAction("marocchino/sticky-pull-request-comment")
			for scope, level := range p {
				if level != "read" && level != "write" && level != "none" {
					t.Errorf("%s: %s: %s is not read, write or none", where, scope, level)
				}
				if level != "write" {
					continue
				}
				switch {
				case scope == "id-token" && aws:
				case scope == "pull-requests" && comments:
				default:
					t.Errorf("%s: %s: write is more than the job needs", where, scope)
				}
			}
			if aws && p["id-token"] != "write" {
				t.Errorf("%s: uses AWS credentials through OIDC but lacks id-token: write", where)
			}
			if comments && p["pull-requests"] != "write" {
				t.Errorf("%s: comments on the PR but lacks pull-requests: write", where)
			}
		}
	}
}

// TestAWSThroughOIDC: every AWS job assumes the role in AWS_ROLE_ARN with a
// short-lived token; no workflow reads a secret.
func TestAWSThroughOIDC(t *testing.T) {
	for name, wf := range loadWorkflows(t) {
		if raw := readRoot(t, ".github", "workflows", name+".yml"); bytes.Contains(raw, []byte("secrets.")) {
			t.Errorf("%s.yml reads a secret: the pipeline has none (OIDC and github.token)", name)
		}
		for id, j := range wf.Jobs {
			for _, s := range j.Steps {
				if !strings.HasPrefix(s.Uses, "aws-actions/configure-aws-credentials@") {
					continue
				}
				if s.With["role-to-assume"] != "${{ vars.AWS_ROLE_ARN }}" || s.With["aws-region"] != "${{ vars.AWS_REGION }}" {
					t.Errorf("%s.yml %s: AWS credentials with %v, want role-to-assume vars.AWS_ROLE_ARN and aws-region vars.AWS_REGION", name, id, s.With)
				}
				for _, k := range []string{"aws-access-key-id", "aws-secret-access-key", "aws-session-token"} {
					if _, ok := s.With[k]; ok {
						t.Errorf("%s.yml %s: %s: long-lived keys are not used", name, id, k)
					}
				}
			}
			if j.usesAction("aws-actions/configure-aws-credentials") && j.Env["PULUMI_BACKEND_URL"] != "${{ vars.PULUMI_BACKEND_URL }}" {
				t.Errorf("%s.yml %s: PULUMI_BACKEND_URL is %q, want vars.PULUMI_BACKEND_URL", name, id, j.Env["PULUMI_BACKEND_URL"])
			}
		}
	}
}

// TestForkGuard: a pull request from a fork never gets AWS credentials.
func TestForkGuard(t *testing.T) {
	const guard = "github.event.pull_request.head.repo.full_name == github.repository"
	for name, wf := range loadWorkflows(t) {
		_, pr := wf.On["pull_request"]
		if _, ok := wf.On["pull_request_target"]; ok {
			t.Errorf("%s.yml runs on pull_request_target: fork code with the base repository's permissions", name)
		}
		for id, j := range wf.Jobs {
			if pr && j.usesAction("aws-actions/configure-aws-credentials") && !strings.Contains(j.If, guard) {
				t.Errorf("%s.yml %s: AWS credentials on pull_request without the fork guard (if: %q)", name, id, j.If)
			}
		}
	}
	if ci := loadWorkflows(t)["ci"]; ci.Jobs["test"].usesAction("aws-actions/configure-aws-credentials") {
		t.Error("ci.yml runs on every PR, forks included: it must not touch AWS")
	}
}

// concurrency reads a concurrency block's group and cancel-in-progress.
func concurrency(c any) (group string, cancel any) {
	m, ok := c.(map[string]any)
	if !ok {
		return fmt.Sprint(c), nil
	}
	g, _ := m["group"].(string)
	return g, m["cancel-in-progress"]
}

// TestConcurrency: prod deploys queue and are never cancelled; PR previews
// are grouped per PR, the read-only diff cancelled by a newer push, the
// stack's pulumi up never (a killed update leaves the stack locked).
func TestConcurrency(t *testing.T) {
	wfs := loadWorkflows(t)
	if g, cancel := concurrency(wfs["deploy"].Concurrency); g == "" || cancel != false {
		t.Errorf("deploy.yml concurrency: group %q cancel-in-progress %v, want a group and false", g, cancel)
	}
	preview := wfs["preview"]
	for id, wantCancel := range map[string]bool{"preview-diff": true, "preview-stack": false, "preview-destroy": false} {
		j, ok := preview.Jobs[id]
		if !ok {
			t.Errorf("preview.yml has no job %s", id)
			continue
		}
		g, cancel := concurrency(j.Concurrency)
		if !strings.Contains(g, "github.event.pull_request.number") || cancel != wantCancel {
			t.Errorf("preview.yml %s concurrency: group %q cancel-in-progress %v, want a per-PR group and %v", id, g, cancel, wantCancel)
		}
	}
	if a, _ := concurrency(preview.Jobs["preview-stack"].Concurrency); a != func() string { g, _ := concurrency(preview.Jobs["preview-destroy"].Concurrency); return g }() {
		t.Error("preview-stack and preview-destroy must share a group, so closing a PR waits for its running pulumi up")
	}
}

// TestTriggers: the events each workflow runs on.
func TestTriggers(t *testing.T) {
	wfs := loadWorkflows(t)
	has := func(name string, events ...string) {
		for _, e := range events {
			if _, ok := wfs[name].On[e]; !ok {
				t.Errorf("%s.yml does not run on %s", name, e)
			}
		}
	}
	has("ci", "pull_request", "push", "workflow_call")
	has("deploy", "push")
	has("preview", "pull_request")
	has("sweep", "schedule", "workflow_dispatch")
	if len(wfs["deploy"].On) != 1 || len(wfs["preview"].On) != 1 || len(wfs["sweep"].On) != 2 {
		t.Errorf("unexpected extra triggers: deploy %v, preview %v, sweep %v", keys(wfs["deploy"].On), keys(wfs["preview"].On), keys(wfs["sweep"].On))
	}

	var push struct{ Branches []string }
	decodeInto(t, wfs["deploy"].On["push"], &push)
	if !slices.Equal(push.Branches, []string{"main"}) {
		t.Errorf("deploy.yml runs on pushes to %v, want [main]", push.Branches)
	}
	var pr struct{ Types []string }
	decodeInto(t, wfs["preview"].On["pull_request"], &pr)
	for _, typ := range []string{"opened", "synchronize", "reopened", "closed"} {
		if !slices.Contains(pr.Types, typ) {
			t.Errorf("preview.yml does not run when a PR is %s (types %v)", typ, pr.Types)
		}
	}
	var ciPush struct {
		BranchesIgnore []string `yaml:"branches-ignore"`
	}
	decodeInto(t, wfs["ci"].On["push"], &ciPush)
	if !slices.Equal(ciPush.BranchesIgnore, []string{"main"}) {
		t.Errorf("ci.yml push: branches-ignore %v, want [main] (deploy.yml runs ci.yml for main)", ciPush.BranchesIgnore)
	}
	deploy := wfs["deploy"].Jobs
	if deploy["test"].Uses != "./.github/workflows/ci.yml" || !slices.Contains(needs(t, "deploy", "deploy"), "test") {
		t.Error("deploy.yml must run ci.yml as its test job and deploy only after it")
	}
}

// needs lists the jobs a job waits for (needs: is a string or a list).
func needs(t *testing.T, name, jobID string) []string {
	t.Helper()
	var d struct {
		Jobs map[string]struct {
			Needs yaml.Node `yaml:"needs"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(readRoot(t, ".github", "workflows", name+".yml"), &d); err != nil {
		t.Fatal(err)
	}
	n := d.Jobs[jobID].Needs
	var list []string
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	_ = n.Decode(&list)
	return list
}

func keys(m map[string]any) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	slices.Sort(k)
	return k
}

func decodeInto(t *testing.T, v, dst any) {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err == nil {
		err = yaml.Unmarshal(b, dst)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestDeployJob: prod is deployed from the production environment, with the
// image built for both architectures and tagged with the commit SHA.
func TestDeployJob(t *testing.T) {
	j := loadWorkflows(t)["deploy"].Jobs["deploy"]
	env := fmt.Sprint(j.Environment)
	if m, ok := j.Environment.(map[string]any); ok {
		env = fmt.Sprint(m["name"])
	}
	if env != "production" {
		t.Errorf("deploy job environment %q, want production", env)
	}
	var build *step
	for i, s := range j.Steps {
		if strings.HasPrefix(s.Uses, "docker/build-push-action@") {
			build = &j.Steps[i]
		}
	}
	if build == nil {
		t.Fatal("deploy job does not build the image")
	}
	if build.With["push"] != true || build.With["platforms"] != "linux/amd64,linux/arm64" ||
		build.With["tags"] != "${{ steps.registry.outputs.url }}:${{ steps.tag.outputs.tag }}" {
		t.Errorf("deploy build: %v", build.With)
	}
	if !strings.Contains(runs(j), ".github/scripts/deploy") {
		t.Error("deploy job does not run .github/scripts/deploy")
	}
}

func runs(j job) string {
	var b strings.Builder
	for _, s := range j.Steps {
		b.WriteString(s.Run + "\n")
	}
	return b.String()
}

// TestCIJob: the test job gets what .ci/run sets up (Go from go.mod, Node,
// the compose file's PostgreSQL, a browser, Caddy), and the image is built
// without push.
func TestCIJob(t *testing.T) {
	ci := loadWorkflows(t)["ci"]
	test := ci.Jobs["test"]
	for _, a := range []string{"actions/checkout", "actions/setup-go", "actions/setup-node"} {
		if !test.usesAction(a) {
			t.Errorf("ci.yml test does not use %s", a)
		}
	}
	for _, s := range test.Steps {
		if strings.HasPrefix(s.Uses, "actions/setup-go@") && s.With["go-version-file"] != "go.mod" {
			t.Errorf("setup-go with %v, want go-version-file: go.mod", s.With)
		}
	}
	compose := regexp.MustCompile(`image: (?:\$\{BLOG_DB_IMAGE:-)?(postgres:[^\s}]+)`).FindSubmatch(readRoot(t, "docker-compose.prod.yml"))
	if compose == nil || test.Services["postgres"].Image != string(compose[1]) {
		t.Errorf("ci.yml postgres service %q, want the compose file's %q", test.Services["postgres"].Image, compose)
	}
	if test.Env["CI"] == "" || !strings.Contains(runs(test), "make test") || !strings.Contains(runs(test), "CHROME_BIN") {
		t.Error("ci.yml test must set CI, a browser (CHROME_BIN) and run make test")
	}
	image := ci.Jobs["image"]
	found := false
	for _, s := range image.Steps {
		if strings.HasPrefix(s.Uses, "docker/build-push-action@") {
			found = s.With["push"] == false
		}
	}
	if !found {
		t.Error("ci.yml image job must build the image with push: false")
	}
}

// TestPulumiVersion: the CLI the workflows install is the version of the
// Pulumi SDK in go.mod.
func TestPulumiVersion(t *testing.T) {
	m := regexp.MustCompile(`github.com/pulumi/pulumi/sdk/v3 v(\S+)`).FindSubmatch(readRoot(t, "go.mod"))
	if m == nil {
		t.Fatal("no Pulumi SDK in go.mod")
	}
	for name, wf := range loadWorkflows(t) {
		for id, j := range wf.Jobs {
			for _, s := range j.Steps {
				if strings.HasPrefix(s.Uses, "pulumi/actions@") && fmt.Sprint(s.With["pulumi-version"]) != string(m[1]) {
					t.Errorf("%s.yml %s: pulumi-version %v, want go.mod's SDK version %s", name, id, s.With["pulumi-version"], m[1])
				}
			}
		}
	}
}

// TestSteps: checkouts keep no token on disk, run blocks stay short (the
// logic lives in .github/scripts), and every script they call exists.
func TestSteps(t *testing.T) {
	script := regexp.MustCompile(`\.github/scripts/([a-z-]+)`)
	for name, wf := range loadWorkflows(t) {
		for id, j := range wf.Jobs {
			for i, s := range j.Steps {
				where := fmt.Sprintf("%s.yml %s step %d", name, id, i+1)
				if strings.HasPrefix(s.Uses, "actions/checkout@") && s.With["persist-credentials"] != false {
					t.Errorf("%s: checkout without persist-credentials: false", where)
				}
				if n := strings.Count(strings.TrimSpace(s.Run), "\n") + 1; s.Run != "" && n > 3 {
					t.Errorf("%s: a %d-line run block: move it into .github/scripts", where, n)
				}
				for _, m := range script.FindAllStringSubmatch(s.Run, -1) {
					if fi, err := os.Stat(rootPath(".github", "scripts", m[1])); err != nil || fi.Mode()&0o111 == 0 {
						t.Errorf("%s: runs .github/scripts/%s, which is missing or not executable", where, m[1])
					}
				}
			}
		}
	}
}
