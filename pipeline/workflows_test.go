package pipeline

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
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
	If          string         `yaml:"if"`
	Uses        string         `yaml:"uses"`
	With        map[string]any `yaml:"with"`
	Permissions any            `yaml:"permissions"`
	Concurrency any            `yaml:"concurrency"`
	Environment any            `yaml:"environment"`
	// TimeoutMinutes is 0 when unset (GitHub's default is 6 hours).
	TimeoutMinutes int               `yaml:"timeout-minutes"`
	Env            map[string]string `yaml:"env"`
	Services       map[string]struct {
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

// TestAWSThroughOIDC: every AWS job assumes a role with a short-lived
// token, for two hours (a first deploy can outlast one); no workflow reads a
// secret. Which role each job assumes is TestRoles.
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
				if s.With["aws-region"] != "${{ vars.AWS_REGION }}" {
					t.Errorf("%s.yml %s: aws-region %v, want vars.AWS_REGION", name, id, s.With["aws-region"])
				}
				if s.With["role-duration-seconds"] != 7200 {
					t.Errorf("%s.yml %s: role-duration-seconds %v, want 7200 (the roles' MaxSessionDuration)", name, id, s.With["role-duration-seconds"])
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

const (
	deployRole  = "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
	previewRole = "${{ vars.AWS_PREVIEW_ROLE_ARN }}"
)

// environment is a job's environment name ("" for none).
func (j job) environment() string {
	switch e := j.Environment.(type) {
	case nil:
		return ""
	case map[string]any:
		return fmt.Sprint(e["name"])
	default:
		return fmt.Sprint(e)
	}
}

// roles lists the roles a job's credential steps assume.
func (j job) roles() []string {
	var r []string
	for _, s := range j.Steps {
		if strings.HasPrefix(s.Uses, "aws-actions/configure-aws-credentials@") {
			r = append(r, fmt.Sprint(s.With["role-to-assume"]))
		}
	}
	return r
}

// TestRoles: the deploy role is assumed only by deploy.yml's deploy and
// rollback jobs, which run on main in the production environment (OIDC
// subject repo:O/R:environment:production, the only one its trust policy
// accepts). Every other AWS job assumes the preview role: the pull-request
// jobs declare no environment (subject repo:O/R:pull_request) and the sweep
// runs in the previews environment (subject repo:O/R:environment:previews),
// because a scheduled run on main would get repo:O/R:ref:refs/heads/main,
// which neither role trusts.
func TestRoles(t *testing.T) {
	wfs := loadWorkflows(t)
	prodJobs := map[string]bool{"deploy deploy": true, "deploy rollback": true}
	seen := map[string]bool{}
	for name, wf := range wfs {
		_, onPR := wf.On["pull_request"]
		raw := readRoot(t, ".github", "workflows", name+".yml")
		if onPR && bytes.Contains(raw, []byte("AWS_DEPLOY_ROLE_ARN")) {
			t.Errorf("%s.yml runs on pull requests and names the deploy role", name)
		}
		if bytes.Contains(raw, []byte("vars.AWS_ROLE_ARN")) {
			t.Errorf("%s.yml still uses the single AWS_ROLE_ARN: split into AWS_DEPLOY_ROLE_ARN and AWS_PREVIEW_ROLE_ARN", name)
		}
		for id, j := range wf.Jobs {
			where := name + ".yml " + id
			roles, env := j.roles(), j.environment()
			if onPR && env != "" {
				t.Errorf("%s: a pull-request job in environment %q: its OIDC subject would no longer be repo:O/R:pull_request", where, env)
			}
			if env == "production" && !prodJobs[name+" "+id] {
				t.Errorf("%s: only deploy.yml's deploy and rollback jobs run in production", where)
			}
			if len(roles) == 0 {
				continue
			}
			if len(roles) != 1 {
				t.Errorf("%s: assumes %d roles, want one", where, len(roles))
			}
			if prodJobs[name+" "+id] {
				seen[name+" "+id] = true
				if roles[0] != deployRole || env != "production" {
					t.Errorf("%s: role %s in environment %q, want %s in production", where, roles[0], env, deployRole)
				}
				if !strings.Contains(j.If, "github.ref == 'refs/heads/main'") {
					t.Errorf("%s: if %q: it must run only on main", where, j.If)
				}
				continue
			}
			if roles[0] != previewRole {
				t.Errorf("%s: role %s, want %s", where, roles[0], previewRole)
			}
			wantEnv := ""
			if name == "sweep" {
				wantEnv = "previews"
			}
			if env != wantEnv {
				t.Errorf("%s: environment %q, want %q (OIDC subject the preview role trusts)", where, env, wantEnv)
			}
		}
	}
	for j := range prodJobs {
		if !seen[j] {
			t.Errorf("no job %q with AWS credentials", j)
		}
	}
	for _, id := range []string{"preview-diff", "preview-stack", "preview-destroy"} {
		if r := wfs["preview"].Jobs[id].roles(); len(r) != 1 || r[0] != previewRole {
			t.Errorf("preview.yml %s: roles %v, want the preview role", id, r)
		}
	}
}

// TestRegistries: pull requests push to and deploy from blog-previews only
// (prod's previewRegistryUrl); the deploy job pushes only to registryUrl;
// nothing in a pull-request workflow ever names registryUrl.
func TestRegistries(t *testing.T) {
	wfs := loadWorkflows(t)
	prodOutput := regexp.MustCompile(`\bregistryUrl\b`)
	for name, wf := range wfs {
		_, onPR := wf.On["pull_request"]
		if onPR && prodOutput.Match(readRoot(t, ".github", "workflows", name+".yml")) {
			t.Errorf("%s.yml runs on pull requests and names prod's registryUrl", name)
		}
	}
	for _, tc := range []struct{ workflow, job, output string }{
		{"deploy", "deploy", "registryUrl"},
		{"preview", "preview-stack", "previewRegistryUrl"},
	} {
		j := wfs[tc.workflow].Jobs[tc.job]
		var registry *step
		pushes := 0
		for i, s := range j.Steps {
			if s.ID == "registry" {
				registry = &j.Steps[i]
			}
			if strings.HasPrefix(s.Uses, "docker/build-push-action@") && s.With["push"] == true {
				pushes++
				if tags := fmt.Sprint(s.With["tags"]); tags != "${{ steps.registry.outputs.url }}:${{ steps.tag.outputs.tag }}" {
					t.Errorf("%s.yml %s pushes to %q, want only the registry step's URL", tc.workflow, tc.job, tags)
				}
			}
		}
		if registry == nil || strings.TrimSpace(registry.Run) != ".github/scripts/registry "+tc.output {
			t.Errorf("%s.yml %s: the registry step must run .github/scripts/registry %s", tc.workflow, tc.job, tc.output)
		}
		if pushes != 1 {
			t.Errorf("%s.yml %s: %d pushing builds, want 1", tc.workflow, tc.job, pushes)
		}
	}
	// The rollback builds nothing: it deploys an image already in prod's
	// registry.
	if j := wfs["deploy"].Jobs["rollback"]; j.usesAction("docker/build-push-action") || j.usesAction("aws-actions/amazon-ecr-login") {
		t.Error("deploy.yml rollback builds or pushes an image")
	}
}

// TestRollbackJob: a workflow_dispatch input rollback-tag, deployed by its
// own job through the deploy script's --rollback path, in the same
// concurrency group as deploys.
func TestRollbackJob(t *testing.T) {
	wf := loadWorkflows(t)["deploy"]
	var dispatch struct {
		Inputs map[string]struct {
			Required bool   `yaml:"required"`
			Type     string `yaml:"type"`
		} `yaml:"inputs"`
	}
	decodeInto(t, wf.On["workflow_dispatch"], &dispatch)
	in, ok := dispatch.Inputs["rollback-tag"]
	if !ok || !in.Required || in.Type != "string" || len(dispatch.Inputs) != 1 {
		t.Errorf("deploy.yml workflow_dispatch inputs %+v, want one required string rollback-tag", dispatch.Inputs)
	}
	j, ok := wf.Jobs["rollback"]
	if !ok {
		t.Fatal("deploy.yml has no rollback job")
	}
	if !strings.Contains(j.If, "github.event_name == 'workflow_dispatch'") {
		t.Errorf("rollback if %q: it must run only on workflow_dispatch", j.If)
	}
	if d := wf.Jobs["deploy"]; !strings.Contains(d.If, "github.event_name == 'push'") {
		t.Errorf("deploy if %q: it must run only on push (a dispatch is a rollback)", d.If)
	}
	var up *step
	for i, s := range j.Steps {
		if strings.Contains(s.Run, ".github/scripts/deploy") {
			up = &j.Steps[i]
		}
	}
	// The input reaches the script through the environment, never pasted
	// into the shell.
	if up == nil || strings.TrimSpace(up.Run) != `.github/scripts/deploy --rollback "$TAG"` || up.Env["TAG"] != "${{ inputs.rollback-tag }}" {
		t.Errorf("rollback job must run .github/scripts/deploy --rollback \"$TAG\" with TAG from inputs.rollback-tag; got %+v", up)
	}
	for _, s := range j.Steps {
		if strings.Contains(s.Run, "${{") {
			t.Errorf("rollback step %q interpolates an expression into the shell", s.Run)
		}
	}
	gd, cd := concurrency(wf.Jobs["deploy"].Concurrency)
	gr, cr := concurrency(j.Concurrency)
	if gd == "" || gd != gr || cd != false || cr != false {
		t.Errorf("deploy (%q, %v) and rollback (%q, %v) must share one concurrency group, never cancelled", gd, cd, gr, cr)
	}
}

// maxDeployWait is the longest a `pulumi up` may wait for a deploy: the
// upper bound of blogstack:deployTimeout in the stack's config.
func maxDeployWait(t *testing.T) int {
	t.Helper()
	m := regexp.MustCompile(`\{"deployTimeout",[^}]*?(\d+)\}`).FindSubmatch(readRoot(t, "stack", "infra", "config.go"))
	if m == nil {
		t.Fatal(`cannot find the bounds of deployTimeout ({"deployTimeout", &..., default, min, max}) in stack/infra/config.go: update maxDeployWait`)
	}
	n, err := strconv.Atoi(string(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestTimeouts: a job that runs pulumi up outlasts the stack's longest
// deploy wait plus the build (a job killed mid-update leaves the stack
// locked), and no AWS job outlives its two-hour role session.
func TestTimeouts(t *testing.T) {
	const buildAndCompile = 30 * 60 // image build, program compile, other resources
	wait := maxDeployWait(t)
	all := loadWorkflows(t)
	for name, wf := range all {
		for id, j := range wf.Jobs {
			if j.Uses != "" {
				continue // a called workflow sets its own
			}
			where := name + ".yml " + id
			if j.TimeoutMinutes <= 0 {
				t.Errorf("%s: no timeout-minutes", where)
				continue
			}
			if j.usesAction("aws-actions/configure-aws-credentials") && j.TimeoutMinutes*60 > 7200 {
				t.Errorf("%s: timeout-minutes %d outlives the 2-hour role session", where, j.TimeoutMinutes)
			}
		}
	}
	for _, tc := range []struct{ workflow, job string }{{"deploy", "deploy"}, {"deploy", "rollback"}, {"preview", "preview-stack"}} {
		if got := all[tc.workflow].Jobs[tc.job].TimeoutMinutes * 60; got < wait+buildAndCompile {
			t.Errorf("%s.yml %s: timeout %ds, want at least the longest deploy wait %ds plus %ds", tc.workflow, tc.job, got, wait, buildAndCompile)
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
	for _, id := range []string{"deploy", "rollback"} {
		if g, cancel := concurrency(wfs["deploy"].Jobs[id].Concurrency); g != "deploy-prod" || cancel != false {
			t.Errorf("deploy.yml %s concurrency: group %q cancel-in-progress %v, want deploy-prod and false", id, g, cancel)
		}
	}
	if g, cancel := concurrency(wfs["sweep"].Concurrency); g == "" || cancel != false {
		t.Errorf("sweep.yml concurrency: group %q cancel-in-progress %v, want a group and false", g, cancel)
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
	has("deploy", "push", "workflow_dispatch")
	has("preview", "pull_request")
	has("sweep", "schedule", "workflow_dispatch")
	if len(wfs["deploy"].On) != 2 || len(wfs["preview"].On) != 1 || len(wfs["sweep"].On) != 2 {
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
// image built for both architectures and tagged with the commit SHA, by the
// deploy script (which refuses an old run) with a token for git ls-remote.
func TestDeployJob(t *testing.T) {
	j := loadWorkflows(t)["deploy"].Jobs["deploy"]
	if env := j.environment(); env != "production" {
		t.Errorf("deploy job environment %q, want production", env)
	}
	var build, up *step
	for i, s := range j.Steps {
		if strings.HasPrefix(s.Uses, "docker/build-push-action@") {
			build = &j.Steps[i]
		}
		if strings.Contains(s.Run, ".github/scripts/deploy") {
			up = &j.Steps[i]
		}
	}
	if build == nil {
		t.Fatal("deploy job does not build the image")
	}
	if build.With["push"] != true || build.With["platforms"] != "linux/amd64,linux/arm64" ||
		build.With["tags"] != "${{ steps.registry.outputs.url }}:${{ steps.tag.outputs.tag }}" {
		t.Errorf("deploy build: %v", build.With)
	}
	if up == nil || strings.TrimSpace(up.Run) != `.github/scripts/deploy "$TAG"` || up.Env["TAG"] != "${{ steps.tag.outputs.tag }}" {
		t.Fatalf("deploy job must run .github/scripts/deploy \"$TAG\" with the built tag; got %+v", up)
	}
	if up.Env["GH_TOKEN"] != "${{ github.token }}" {
		t.Error("the deploy step needs GH_TOKEN to ask origin for main's newest commit")
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
