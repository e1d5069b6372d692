package pipeline

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The fakes record their command lines in calls.log and keep a tiny backend
// in FAKE_DIR: stacks (one name a line), outputs/<stack>/<name>, prs/<n>
// (the PR's state) and images/<tag>. FAKE_FAIL_<VERB> makes a verb fail.
var fakes = map[string]string{
	"pulumi": `
echo "pulumi $*" >>"$FAKE_DIR/calls.log"
stack=
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in --stack | -s) stack=${args[i + 1]} ;; esac
done
touch "$FAKE_DIR/stacks"
case "$1 ${2:-}" in
"stack ls")
  printf '['; sep=
  while read -r s; do printf '%s{"name":"organization/blogstack/%s","current":false}' "$sep" "$s"; sep=,; done <"$FAKE_DIR/stacks"
  echo ']' ;;
"stack init")
  if grep -qxF "$3" "$FAKE_DIR/stacks"; then echo "error: stack '$3' already exists" >&2; exit 255; fi
  echo "$3" >>"$FAKE_DIR/stacks"
  echo "secretsprovider: fake" >"Pulumi.$3.yaml" ;;
"stack output")
  f="$FAKE_DIR/outputs/$stack/$3"
  if [[ ! -f $f ]]; then echo "error: current stack does not have output property '$3'" >&2; exit 255; fi
  cat "$f" ;;
"stack rm")
  grep -vxF "$3" "$FAKE_DIR/stacks" >"$FAKE_DIR/stacks.new" || true
  mv "$FAKE_DIR/stacks.new" "$FAKE_DIR/stacks" ;;
"config set" | "config cp") ;;
preview*)
  if [[ -n ${FAKE_FAIL_PREVIEW:-} ]]; then echo "error: preview failed: AccessDenied on ec2:DescribeVpcs" >&2; exit 255; fi
  if [[ -f $FAKE_DIR/preview.out ]]; then cat "$FAKE_DIR/preview.out"; else
    printf '  ~ aws:ec2/instance:Instance blog-prod-host update\n      ~ instanceType: "t4g.small" => "t4g.medium"\nResources:\n    ~ 1 to update\n    12 unchanged\n'
  fi ;;
up*)
  if [[ -n ${FAKE_FAIL_UP:-} ]]; then echo "error: association blog-$stack-deploy failed: the app did not become healthy" >&2; exit 255; fi
  mkdir -p "$FAKE_DIR/outputs/$stack"
  echo "https://$stack.example.com" >"$FAKE_DIR/outputs/$stack/url"
  [[ $stack != prod ]] || echo "123456789012.dkr.ecr.eu-west-1.amazonaws.com/blog" >"$FAKE_DIR/outputs/prod/registryUrl" ;;
destroy*)
  if [[ -n ${FAKE_FAIL_DESTROY:-} ]]; then echo "error: deleting volume: VolumeInUse" >&2; exit 255; fi ;;
*) echo "fake pulumi: unexpected command: $*" >&2; exit 2 ;;
esac`,
	"aws": `
echo "aws $*" >>"$FAKE_DIR/calls.log"
[[ -z ${FAKE_FAIL_AWS:-} ]] || { echo "An error occurred (AccessDeniedException) when calling the DescribeImages operation" >&2; exit 254; }
for a in "$@"; do
  case $a in imageTag=*)
    if [[ -f $FAKE_DIR/images/${a#imageTag=} ]]; then echo '{"imageDetails":[{}]}'; exit 0; fi
    echo "An error occurred (ImageNotFoundException) when calling the DescribeImages operation" >&2; exit 254 ;;
  esac
done
exit 2`,
	"gh": `
echo "gh $*" >>"$FAKE_DIR/calls.log"
[[ $1 == pr && $2 == view ]] || exit 2
f="$FAKE_DIR/prs/$3"
[[ -f $f ]] || { echo "GraphQL: Could not resolve to a PullRequest with the number of $3." >&2; exit 1; }
cat "$f"`,
	"git": `
echo "git $*" >>"$FAKE_DIR/calls.log"
case "$*" in
"rev-parse HEAD") echo "${FAKE_SHA:-0123456789abcdef0123456789abcdef01234567}" ;;
"rev-parse --short=12 HEAD") sha=${FAKE_SHA:-0123456789abcdef0123456789abcdef01234567}; echo "${sha:0:12}" ;;
*) exit 2 ;;
esac`,
	// No script may build or push an image itself: the workflows do that
	// with buildx.
	"docker": `echo "docker $*" >>"$FAKE_DIR/calls.log"; exit 1`,
}

const sha = "0123456789abcdef0123456789abcdef01234567"

// bench is one run directory: a copy of the repository's Pulumi files, the
// fakes first on PATH, and their state.
type bench struct {
	t    *testing.T
	dir  string // the scripts' working directory
	fake string
	env  []string
}

func newBench(t *testing.T, stacks ...string) *bench {
	t.Helper()
	for _, tool := range []string{"bash", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing(t, "%s is not installed: the pipeline scripts need it", tool)
		}
	}
	b := &bench{t: t, dir: t.TempDir(), fake: t.TempDir()}
	bin := filepath.Join(b.fake, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range fakes {
		script := "#!/usr/bin/env bash\nset -euo pipefail\n" + body + "\n"
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b.write(filepath.Join(b.dir, "Pulumi.yaml"), string(readRoot(t, "Pulumi.yaml")))
	b.write(filepath.Join(b.dir, "Pulumi.prod.yaml"), "secretsprovider: awskms://alias/state\nencryptedkey: abc\n"+string(readRoot(t, "Pulumi.prod.yaml")))
	b.write(filepath.Join(b.fake, "stacks"), strings.Join(append(stacks, ""), "\n"))
	b.env = append(os.Environ(),
		"PATH="+bin+":"+os.Getenv("PATH"),
		"FAKE_DIR="+b.fake,
		"PULUMI_BACKEND_URL=s3://state-bucket",
		"PULUMI_SECRETS_PROVIDER=awskms://alias/state?region=eu-west-1",
		"GITHUB_OUTPUT="+filepath.Join(b.fake, "github-output"),
		"GITHUB_ACTIONS=", "GITHUB_RUN_ID=42", "GITHUB_REPOSITORY=blogstack/blogstack",
	)
	return b
}

func (b *bench) write(path, content string) {
	b.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// output sets a stack output in the fake backend.
func (b *bench) output(stack, name, value string) {
	b.write(filepath.Join(b.fake, "outputs", stack, name), value+"\n")
}

// run runs a pipeline script and returns its stdout, its stderr and whether
// it succeeded.
func (b *bench) run(env []string, script string, args ...string) (stdout, stderr string, ok bool) {
	b.t.Helper()
	cmd := exec.Command(rootPath(".github", "scripts", script), args...)
	cmd.Dir = b.dir
	cmd.Env = append(append([]string{}, b.env...), env...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err != nil {
		if _, exit := err.(*exec.ExitError); !exit {
			b.t.Fatalf("running %s: %v", script, err)
		}
	}
	return out.String(), errOut.String(), err == nil
}

// mustRun runs a script that must succeed.
func (b *bench) mustRun(env []string, script string, args ...string) string {
	b.t.Helper()
	out, errOut, ok := b.run(env, script, args...)
	if !ok {
		b.t.Fatalf("%s %v failed:\n%s\ncalls:\n%s", script, args, errOut, b.calls())
	}
	return out
}

func (b *bench) calls() string {
	c, _ := os.ReadFile(filepath.Join(b.fake, "calls.log"))
	return string(c)
}

func (b *bench) file(parts ...string) string {
	c, err := os.ReadFile(filepath.Join(parts...))
	if err != nil {
		b.t.Fatal(err)
	}
	return string(c)
}

// inOrder checks that the calls log holds each line, in this order.
func (b *bench) inOrder(want ...string) {
	b.t.Helper()
	lines := strings.Split(b.calls(), "\n")
	i := 0
	for _, line := range lines {
		if i < len(want) && strings.HasPrefix(line, want[i]) {
			i++
		}
	}
	if i < len(want) {
		b.t.Errorf("no call starting %q (in this order: %q); calls:\n%s", want[i], want, b.calls())
	}
}

func (b *bench) never(prefix string) {
	b.t.Helper()
	for _, line := range strings.Split(b.calls(), "\n") {
		if strings.HasPrefix(line, prefix) {
			b.t.Errorf("unexpected call %q; calls:\n%s", line, b.calls())
		}
	}
}

func TestImageTag(t *testing.T) {
	b := newBench(t)
	if got := strings.TrimSpace(b.mustRun(nil, "image-tag")); got != sha {
		t.Errorf("main tag %q, want the commit SHA", got)
	}
	if got := strings.TrimSpace(b.mustRun(nil, "image-tag", "12")); got != "pr-12-"+sha {
		t.Errorf("PR tag %q, want pr-12-<sha>", got)
	}
	if !strings.Contains(b.file(b.fake, "github-output"), "tag=pr-12-"+sha+"\n") {
		t.Errorf("step output: %q", b.file(b.fake, "github-output"))
	}
	for _, bad := range []string{"0", "12a", "-1", "01"} {
		if _, _, ok := b.run(nil, "image-tag", bad); ok {
			t.Errorf("image-tag %q succeeded", bad)
		}
	}
	if _, errOut, ok := b.run([]string{"FAKE_SHA=main"}, "image-tag"); ok || !strings.Contains(errOut, "not a commit SHA") {
		t.Errorf("a non-SHA HEAD: ok=%v %q", ok, errOut)
	}
}

func TestPreviewDiff(t *testing.T) {
	b := newBench(t, "prod")
	b.output("prod", "imageTag", "f00dfeed")
	comment := filepath.Join(b.fake, "comment.md")
	b.mustRun([]string{"COMMENT_FILE=" + comment}, "preview-diff")
	b.inOrder(
		"pulumi stack output imageTag --stack prod",
		"pulumi config set --stack prod blogstack:imageTag f00dfeed",
		"pulumi preview --stack prod --diff",
	)
	b.never("pulumi up")
	body := b.file(comment)
	for _, want := range []string{"Pulumi preview of prod", "`f00dfeed`", "```diff", `~ instanceType: "t4g.small" => "t4g.medium"`, "1 to update"} {
		if !strings.Contains(body, want) {
			t.Errorf("comment lacks %q:\n%s", want, body)
		}
	}
}

func TestPreviewDiffTruncates(t *testing.T) {
	b := newBench(t, "prod")
	b.output("prod", "imageTag", "f00dfeed")
	huge := strings.Repeat("  + aws:ssm/parameter:Parameter blog-prod-secrets-x create\n", 5000) + "Resources:\n    + 5000 to create\n"
	b.write(filepath.Join(b.fake, "preview.out"), huge)
	comment := filepath.Join(b.fake, "comment.md")
	b.mustRun([]string{"COMMENT_FILE=" + comment, "MAX_COMMENT=20000"}, "preview-diff")
	body := b.file(comment)
	if len(body) > 20000 {
		t.Errorf("comment is %d bytes, over MAX_COMMENT", len(body))
	}
	for _, want := range []string{"bytes cut", "5000 to create", "workflow log", "actions/runs/42"} {
		if !strings.Contains(body, want) {
			t.Errorf("truncated comment lacks %q", want)
		}
	}
}

func TestPreviewDiffFailure(t *testing.T) {
	b := newBench(t, "prod")
	b.output("prod", "imageTag", "f00dfeed")
	comment := filepath.Join(b.fake, "comment.md")
	_, errOut, ok := b.run([]string{"COMMENT_FILE=" + comment, "FAKE_FAIL_PREVIEW=1"}, "preview-diff")
	if ok {
		t.Fatal("preview-diff succeeded when pulumi preview failed")
	}
	if body := b.file(comment); !strings.Contains(body, "failed") || !strings.Contains(body, "AccessDenied") {
		t.Errorf("failure comment:\n%s", body)
	}
	if !strings.Contains(errOut, "pulumi preview --diff --stack prod") {
		t.Errorf("stderr: %s", errOut)
	}

	// Prod never deployed: say so instead of previewing against nothing.
	b2 := newBench(t, "prod")
	comment2 := filepath.Join(b2.fake, "comment.md")
	if _, _, ok := b2.run([]string{"COMMENT_FILE=" + comment2}, "preview-diff"); ok {
		t.Error("preview-diff succeeded without prod's imageTag output")
	}
	b2.never("pulumi preview")
	if body := b2.file(comment2); !strings.Contains(body, "has prod been deployed") {
		t.Errorf("comment:\n%s", body)
	}
}

func TestPreviewUpNewStack(t *testing.T) {
	b := newBench(t, "prod")
	tag := "pr-12-" + sha
	comment := filepath.Join(b.fake, "comment.md")
	out := b.mustRun([]string{"COMMENT_FILE=" + comment}, "preview-up", "12", tag)
	b.inOrder(
		"pulumi stack init pr-12 --copy-config-from prod --secrets-provider awskms://alias/state?region=eu-west-1",
		"pulumi config set --stack pr-12 blogstack:imageTag "+tag,
		"pulumi up --stack pr-12 --yes",
		"pulumi stack output url --stack pr-12",
	)
	b.never("pulumi config cp")
	if strings.TrimSpace(out) != "https://pr-12.example.com" {
		t.Errorf("printed %q, want the stack's URL", out)
	}
	if !strings.Contains(b.file(b.fake, "github-output"), "url=https://pr-12.example.com\n") {
		t.Errorf("step output: %q", b.file(b.fake, "github-output"))
	}
	if body := b.file(comment); !strings.Contains(body, "https://pr-12.example.com") || !strings.Contains(body, tag) {
		t.Errorf("comment:\n%s", body)
	}
}

func TestPreviewUpExistingStack(t *testing.T) {
	b := newBench(t, "prod", "pr-12")
	tag := "pr-12-" + sha
	b.mustRun(nil, "preview-up", "12", tag)
	b.never("pulumi stack init")
	b.inOrder(
		"pulumi config cp --stack prod --dest pr-12",
		"pulumi config set --stack pr-12 blogstack:imageTag "+tag,
		"pulumi up --stack pr-12 --yes",
	)
	// A fresh checkout has no Pulumi.pr-12.yaml: the script names the KMS
	// provider in it, so pulumi does not fall back to a passphrase.
	if got := b.file(b.dir, "Pulumi.pr-12.yaml"); got != "secretsprovider: awskms://alias/state?region=eu-west-1\n" {
		t.Errorf("Pulumi.pr-12.yaml: %q", got)
	}
}

func TestPreviewUpRejects(t *testing.T) {
	b := newBench(t, "prod")
	for _, args := range [][]string{{"12", "pr-13-" + sha}, {"12", sha}, {"x", "pr-x-" + sha}, {"12"}} {
		if _, _, ok := b.run(nil, "preview-up", args...); ok {
			t.Errorf("preview-up %v succeeded", args)
		}
	}
	if _, errOut, ok := b.run([]string{"PULUMI_SECRETS_PROVIDER="}, "preview-up", "12", "pr-12-"+sha); ok || !strings.Contains(errOut, "PULUMI_SECRETS_PROVIDER") {
		t.Errorf("no secrets provider: ok=%v %s", ok, errOut)
	}
	b.never("pulumi stack init")
}

func TestPulumiUpFailureFailsClearly(t *testing.T) {
	for _, tc := range []struct {
		script string
		args   []string
		want   string
	}{
		{"preview-up", []string{"12", "pr-12-" + sha}, "pulumi up of stack pr-12 failed (image pr-12-" + sha + ")"},
		{"deploy", []string{sha}, "pulumi up of prod failed for image " + sha},
	} {
		t.Run(tc.script, func(t *testing.T) {
			b := newBench(t, "prod")
			out, errOut, ok := b.run([]string{"FAKE_FAIL_UP=1"}, tc.script, tc.args...)
			if ok {
				t.Fatalf("%s succeeded although pulumi up failed", tc.script)
			}
			if !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "did not become healthy") {
				t.Errorf("stderr lacks %q and pulumi's own error:\n%s", tc.want, errOut)
			}
			if out != "" {
				t.Errorf("printed %q on failure", out)
			}
			if _, err := os.Stat(filepath.Join(b.fake, "github-output")); err == nil && strings.Contains(b.file(b.fake, "github-output"), "url=") {
				t.Error("set a url output on failure")
			}
		})
	}
}

func TestDeploy(t *testing.T) {
	b := newBench(t, "prod")
	out := b.mustRun(nil, "deploy", sha)
	b.inOrder(
		"pulumi config set --stack prod blogstack:imageTag "+sha,
		"pulumi up --stack prod --yes",
		"pulumi stack output url --stack prod",
	)
	if strings.TrimSpace(out) != "https://prod.example.com" {
		t.Errorf("printed %q", out)
	}

	// Pulumi.prod.yaml without the KMS provider: stop before pulumi asks
	// for a passphrase.
	b2 := newBench(t, "prod")
	b2.write(filepath.Join(b2.dir, "Pulumi.prod.yaml"), string(readRoot(t, "Pulumi.prod.yaml")))
	if _, errOut, ok := b2.run(nil, "deploy", sha); ok || !strings.Contains(errOut, "secretsprovider") {
		t.Errorf("deploy without secretsprovider: ok=%v %s", ok, errOut)
	}
	b2.never("pulumi up")
}

func TestPreviewDown(t *testing.T) {
	b := newBench(t, "prod", "pr-7")
	b.mustRun(nil, "preview-down", "7")
	b.inOrder("pulumi destroy --stack pr-7 --yes", "pulumi stack rm pr-7 --yes")
	if got := b.file(b.fake, "stacks"); strings.Contains(got, "pr-7") {
		t.Errorf("pr-7 still in the backend: %q", got)
	}

	// Nothing to do for a PR without a stack (a fork's, or swept already).
	b2 := newBench(t, "prod")
	b2.mustRun(nil, "preview-down", "7")
	b2.never("pulumi destroy")
	b2.never("pulumi stack rm")

	// A failed destroy keeps the stack, for the sweep to retry.
	b3 := newBench(t, "prod", "pr-7")
	if _, errOut, ok := b3.run([]string{"FAKE_FAIL_DESTROY=1"}, "preview-down", "7"); ok || !strings.Contains(errOut, "pulumi destroy of stack pr-7 failed") {
		t.Errorf("failed destroy: ok=%v %s", ok, errOut)
	}
	b3.never("pulumi stack rm")
}

func TestSweep(t *testing.T) {
	b := newBench(t, "prod", "pr-1", "pr-2", "pr-3", "staging")
	b.write(filepath.Join(b.fake, "prs", "1"), "OPEN\n")
	b.write(filepath.Join(b.fake, "prs", "2"), "CLOSED\n")
	b.write(filepath.Join(b.fake, "prs", "3"), "MERGED\n")
	b.mustRun([]string{"GH_REPO=blogstack/blogstack"}, "sweep")
	b.inOrder("pulumi destroy --stack pr-2", "pulumi stack rm pr-2", "pulumi destroy --stack pr-3", "pulumi stack rm pr-3")
	for _, kept := range []string{"prod", "pr-1", "staging"} {
		b.never("pulumi destroy --stack " + kept + " ")
		b.never("pulumi stack rm " + kept + " ")
	}
	b.never("gh pr view prod")
	if got := b.file(b.fake, "stacks"); got != "prod\npr-1\nstaging\n" {
		t.Errorf("stacks left: %q", got)
	}
}

func TestSweepKeepsWhatItCannotCheck(t *testing.T) {
	b := newBench(t, "prod", "pr-4", "pr-5")
	b.write(filepath.Join(b.fake, "prs", "5"), "CLOSED\n")
	_, errOut, ok := b.run(nil, "sweep")
	if ok {
		t.Error("sweep succeeded although it could not check PR #4")
	}
	if !strings.Contains(errOut, "cannot tell whether PR #4 is open") {
		t.Errorf("stderr: %s", errOut)
	}
	b.never("pulumi destroy --stack pr-4 ")
	b.inOrder("pulumi destroy --stack pr-5")
}

func TestRegistry(t *testing.T) {
	const url = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/blog"
	b := newBench(t, "prod")
	b.output("prod", "registryUrl", url)
	if got := strings.TrimSpace(b.mustRun(nil, "registry")); got != url {
		t.Errorf("registry %q", got)
	}
	b.never("pulumi up")

	// First deploy into an empty account: up without a tag, then the URL.
	b2 := newBench(t, "prod")
	if _, errOut, ok := b2.run(nil, "registry"); ok || !strings.Contains(errOut, "no registryUrl output") {
		t.Errorf("without BOOTSTRAP: ok=%v %s", ok, errOut)
	}
	b2.never("pulumi up")
	if got := strings.TrimSpace(b2.mustRun([]string{"BOOTSTRAP=1"}, "registry")); got != url {
		t.Errorf("bootstrap registry %q", got)
	}
	b2.inOrder(`pulumi config set --stack prod blogstack:imageTag  --non-interactive`, "pulumi up --stack prod --yes")

	// No prod stack at all: say how to create it.
	b3 := newBench(t)
	if _, errOut, ok := b3.run([]string{"BOOTSTRAP=1"}, "registry"); ok || !strings.Contains(errOut, "pulumi stack init prod") {
		t.Errorf("no prod stack: ok=%v %s", ok, errOut)
	}
	b3.never("pulumi up")
}

func TestImageExists(t *testing.T) {
	const url = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/blog"
	b := newBench(t)
	b.write(filepath.Join(b.fake, "images", sha), "")
	if got := strings.TrimSpace(b.mustRun(nil, "image-exists", url, sha)); got != "true" {
		t.Errorf("pushed tag: %q", got)
	}
	b.inOrder("aws ecr describe-images --registry-id 123456789012 --region eu-west-1 --repository-name blog --image-ids imageTag=" + sha)
	if got := strings.TrimSpace(b.mustRun(nil, "image-exists", url, "pr-1-"+sha)); got != "false" {
		t.Errorf("new tag: %q", got)
	}
	if _, errOut, ok := b.run([]string{"FAKE_FAIL_AWS=1"}, "image-exists", url, sha); ok || !strings.Contains(errOut, "AccessDenied") {
		t.Errorf("aws error: ok=%v %s", ok, errOut)
	}
	if _, _, ok := b.run(nil, "image-exists", "docker.io/library/blog", sha); ok {
		t.Error("accepted a registry that is not ECR")
	}
	b.never("docker")
}
