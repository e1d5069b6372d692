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
// (the PR's state), images/<repository>/<tag> (ECR), s3/<bucket>/<key>
// (objects) and main (the commit origin's main points at, default sha).
// FAKE_FAIL_<VERB> makes a verb fail. Their output follows the real tools'
// formats where a script parses it: `aws s3 ls --recursive` lines are
// "<date> <time> <size right-aligned in 10> <full key>" and the command
// exits 1 when nothing matches (aws-cli's ListCommand); `aws ecr
// describe-images` answers {"imageDetails": [...]} or fails with
// ImageNotFoundException (exit 254); `pulumi stack output --json` prints one
// JSON object of every output ({} before the first update); `git ls-remote`
// prints "<sha><TAB><ref>".
var fakes = map[string]string{
	"pulumi": `
echo "pulumi $*" >>"$FAKE_DIR/calls.log"
stack= json=
config=()
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case ${args[i]} in
  --stack | -s) stack=${args[i + 1]} ;;
  --config | -c) config+=("${args[i + 1]}") ;;
  --json | -j) json=1 ;;
  esac
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
  grep -qxF "$stack" "$FAKE_DIR/stacks" || { echo "error: no stack named '$stack' found" >&2; exit 255; }
  if [[ -n $json ]]; then
    obj='{}'
    for f in "$FAKE_DIR/outputs/$stack"/*; do
      [[ -f $f ]] || continue
      obj=$(jq --arg k "${f##*/}" --arg v "$(cat "$f")" '. + {($k): $v}' <<<"$obj")
    done
    echo "$obj"
    exit 0
  fi
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
  echo "Updating ($stack):"
  if [[ -n ${FAKE_FAIL_UP:-} ]]; then
    echo " +  aws:ssm:Association blog-$stack-deploy-x creating failed error: waiting for completion"
    echo "Diagnostics:"
    echo "  aws:ssm:Association (blog-$stack-deploy-x):"
    echo "    error: creating SSM Association (blog-$stack-deploy-x): waiting for completion: unexpected state 'Failed', wanted target 'Success'"
    echo "  pulumi:pulumi:Stack (blogstack-$stack):"
    echo "    error: update failed"
    exit 255
  fi
  mkdir -p "$FAKE_DIR/outputs/$stack"
  echo "https://$stack.example.com" >"$FAKE_DIR/outputs/$stack/url"
  echo "blog-$stack-backups" >"$FAKE_DIR/outputs/$stack/backupBucket"
  if [[ $stack == prod ]]; then
    echo "123456789012.dkr.ecr.eu-west-1.amazonaws.com/blog" >"$FAKE_DIR/outputs/prod/registryUrl"
    echo "123456789012.dkr.ecr.eu-west-1.amazonaws.com/blog-previews" >"$FAKE_DIR/outputs/prod/previewRegistryUrl"
  fi
  for kv in "${config[@]}"; do
    case $kv in
    blogstack:imageTag=*) echo "${kv#*=}" >"$FAKE_DIR/outputs/$stack/imageTag" ;;
    blogstack:deployId=*) echo "${kv#*=}" >"$FAKE_DIR/outputs/$stack/deployId" ;;
    esac
  done ;;
destroy*)
  if [[ -n ${FAKE_FAIL_DESTROY:-} ]]; then echo "error: deleting volume: VolumeInUse" >&2; exit 255; fi ;;
*) echo "fake pulumi: unexpected command: $*" >&2; exit 2 ;;
esac`,
	"aws": `
echo "aws $*" >>"$FAKE_DIR/calls.log"
case "$1 $2" in
"ecr describe-images")
  [[ -z ${FAKE_FAIL_AWS:-} ]] || { echo "An error occurred (AccessDeniedException) when calling the DescribeImages operation" >&2; exit 254; }
  repo= tag=
  while [[ $# -gt 0 ]]; do
    case $1 in --repository-name) repo=$2 ;; --image-ids) tag=${2#imageTag=} ;; esac
    shift
  done
  if [[ -f $FAKE_DIR/images/$repo/$tag ]]; then
    printf '{"imageDetails":[{"registryId":"123456789012","repositoryName":"%s","imageDigest":"sha256:0d1e","imageTags":["%s"],"imageSizeInBytes":23000000,"imagePushedAt":"2026-12-01T10:00:00+00:00"}]}\n' "$repo" "$tag"
    exit 0
  fi
  echo "An error occurred (ImageNotFoundException) when calling the DescribeImages operation: The image with imageId {imageDigest:'null', imageTag:'$tag'} does not exist within the repository with name '$repo' in the registry with id '123456789012'" >&2
  exit 254 ;;
"s3 ls")
  [[ -z ${FAKE_FAIL_AWS:-} ]] || { echo "An error occurred (AccessDenied) when calling the ListObjectsV2 operation: Access Denied" >&2; exit 254; }
  [[ $4 == --recursive ]] || { echo "fake aws: s3 ls without --recursive" >&2; exit 2; }
  uri=${3#s3://} bucket=${uri%%/*} prefix=${uri#*/}
  found=
  if [[ -d $FAKE_DIR/s3/$bucket ]]; then
    while read -r key; do
      [[ -n $key && $key == "$prefix"* ]] || continue
      printf '%-19s %10s %s\n' "2026-12-06 17:01:02" "$(wc -c <"$FAKE_DIR/s3/$bucket/$key")" "$key"
      found=1
    done < <(cd "$FAKE_DIR/s3/$bucket" && find . -type f | sed 's#^\./##' | sort)
  fi
  [[ -n $found ]] || exit 1 ;;
"s3 cp")
  [[ $4 == - ]] || { echo "fake aws: s3 cp only to stdout" >&2; exit 2; }
  uri=${3#s3://}
  f="$FAKE_DIR/s3/${uri%%/*}/${uri#*/}"
  [[ -f $f ]] || { echo "fatal error: An error occurred (404) when calling the HeadObject operation: Key \"${uri#*/}\" does not exist" >&2; exit 1; }
  cat "$f" ;;
*) echo "fake aws: unexpected command: $*" >&2; exit 2 ;;
esac`,
	"gh": `
echo "gh $*" >>"$FAKE_DIR/calls.log"
[[ $1 == pr && $2 == view ]] || exit 2
f="$FAKE_DIR/prs/$3"
[[ -f $f ]] || { echo "GraphQL: Could not resolve to a PullRequest with the number of $3." >&2; exit 1; }
cat "$f"`,
	// ls-remote of a private repository (FAKE_PRIVATE=1) needs the token
	// header actions/checkout would have written, here from the environment.
	"git": `
echo "git $*" >>"$FAKE_DIR/calls.log"
head=${FAKE_SHA:-0123456789abcdef0123456789abcdef01234567}
case "$*" in
"rev-parse HEAD") echo "$head" ;;
"rev-parse --short=12 HEAD") echo "${head:0:12}" ;;
"ls-remote origin refs/heads/main")
  if [[ -n ${FAKE_PRIVATE:-} ]]; then
    want="AUTHORIZATION: basic $(printf 'x-access-token:%s' "$FAKE_PRIVATE" | base64 -w0)"
    if [[ ${GIT_CONFIG_KEY_0:-} != http.https://github.com/.extraheader || ${GIT_CONFIG_VALUE_0:-} != "$want" ]]; then
      echo "fatal: could not read Username for 'https://github.com': terminal prompts disabled" >&2; exit 128
    fi
  fi
  main=$head
  [[ ! -f $FAKE_DIR/main ]] || main=$(cat "$FAKE_DIR/main")
  printf '%s\trefs/heads/main\n' "$main" ;;
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
		"GITHUB_ACTIONS=", "GITHUB_RUN_ID=42", "GITHUB_RUN_ATTEMPT=1", "GITHUB_REPOSITORY=blogstack/blogstack",
		"GITHUB_SERVER_URL=", "GITHUB_SHA=", "GITHUB_ACTOR=", "GITHUB_TRIGGERING_ACTOR=", "GH_TOKEN=",
		"GITHUB_STEP_SUMMARY="+filepath.Join(b.fake, "summary.md"),
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
	b.output("prod", "deployId", "41-2")
	comment := filepath.Join(b.fake, "comment.md")
	b.mustRun([]string{"COMMENT_FILE=" + comment}, "preview-diff")
	b.inOrder(
		"pulumi stack output --json --stack prod",
		"pulumi preview --stack prod --diff --refresh=false --config blogstack:imageTag=f00dfeed --config blogstack:deployId=41-2 ",
	)
	// The preview role may read prod, never write it: no up, no refresh,
	// no config written to the backend.
	b.never("pulumi up")
	b.never("pulumi refresh")
	b.never("pulumi config set")
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
	if body := b2.file(comment2); !strings.Contains(body, "has not been deployed yet") {
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
		"pulumi up --stack pr-12 --yes --non-interactive --skip-preview --suppress-progress --config blogstack:imageTag="+tag+" --config blogstack:deployId=42-1 ",
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
		"pulumi up --stack pr-12 --yes --non-interactive --skip-preview --suppress-progress --config blogstack:imageTag="+tag+" --config blogstack:deployId=42-1 ",
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
			if !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "unexpected state 'Failed'") {
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
	const previews = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/blog-previews"
	b := newBench(t, "prod")
	b.output("prod", "registryUrl", url)
	b.output("prod", "previewRegistryUrl", previews)
	if got := strings.TrimSpace(b.mustRun(nil, "registry", "registryUrl")); got != url {
		t.Errorf("registry registryUrl %q", got)
	}
	if got := strings.TrimSpace(b.mustRun(nil, "registry", "previewRegistryUrl")); got != previews {
		t.Errorf("registry previewRegistryUrl %q", got)
	}
	b.never("pulumi up")
	if _, _, ok := b.run(nil, "registry"); ok {
		t.Error("registry without an output name succeeded")
	}
	if _, _, ok := b.run(nil, "registry", "url"); ok {
		t.Error("registry url succeeded")
	}

	// A previewRegistryUrl that names prod's repository (a wrong output, a
	// copy-paste) is refused: PR jobs must never get a URL they could push
	// to prod's images with. And the other way round.
	b.output("prod", "previewRegistryUrl", url)
	if _, errOut, ok := b.run(nil, "registry", "previewRegistryUrl"); ok || !strings.Contains(errOut, "not 'blog-previews'") {
		t.Errorf("previewRegistryUrl pointing at blog: ok=%v %s", ok, errOut)
	}
	b.output("prod", "registryUrl", previews)
	if _, errOut, ok := b.run(nil, "registry", "registryUrl"); ok || !strings.Contains(errOut, "not 'blog'") {
		t.Errorf("registryUrl pointing at blog-previews: ok=%v %s", ok, errOut)
	}

	// First deploy into an empty account: up without a tag, then the URL.
	b2 := newBench(t, "prod")
	if _, errOut, ok := b2.run(nil, "registry", "registryUrl"); ok || !strings.Contains(errOut, "no registryUrl output") {
		t.Errorf("without BOOTSTRAP: ok=%v %s", ok, errOut)
	}
	b2.never("pulumi up")
	// A pull request never bootstraps prod, even when told to.
	if _, errOut, ok := b2.run([]string{"BOOTSTRAP=1"}, "registry", "previewRegistryUrl"); ok || !strings.Contains(errOut, "merge to main once") {
		t.Errorf("preview registry with BOOTSTRAP: ok=%v %s", ok, errOut)
	}
	b2.never("pulumi up")
	if got := strings.TrimSpace(b2.mustRun([]string{"BOOTSTRAP=1"}, "registry", "registryUrl")); got != url {
		t.Errorf("bootstrap registry %q", got)
	}
	b2.inOrder("pulumi up --stack prod --yes")
	if strings.Contains(b2.calls(), "blogstack:imageTag") {
		t.Errorf("the bootstrap sets an image tag; it must leave it unset:\n%s", b2.calls())
	}

	// No prod stack at all: say how to create it.
	b3 := newBench(t)
	if _, errOut, ok := b3.run([]string{"BOOTSTRAP=1"}, "registry", "registryUrl"); ok || !strings.Contains(errOut, "pulumi stack init prod") {
		t.Errorf("no prod stack: ok=%v %s", ok, errOut)
	}
	b3.never("pulumi up")
}

func TestImageExists(t *testing.T) {
	const url = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/blog"
	b := newBench(t)
	b.write(filepath.Join(b.fake, "images", "blog", sha), "")
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
