package pipeline

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The deploy script: what `pulumi up` of prod is run with, when it refuses,
// and what a failed deploy leaves in the log and the job summary.

const (
	prodRegistry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/blog"
	older        = "fedcba9876543210fedcba9876543210fedcba98"
	newer        = "89abcdef0123456789abcdef0123456789abcdef"
)

// deployedProd is a prod that runs the image older.
func deployedProd(t *testing.T) *bench {
	t.Helper()
	b := newBench(t, "prod")
	b.output("prod", "registryUrl", prodRegistry)
	b.output("prod", "backupBucket", "blog-prod-backups")
	b.output("prod", "imageTag", older)
	b.output("prod", "deployId", "41-1")
	b.output("prod", "url", "https://prod.example.com")
	b.write(filepath.Join(b.fake, "images", "blog", older), "")
	b.write(filepath.Join(b.fake, "images", "blog", sha), "")
	return b
}

func (b *bench) summary() string {
	c, _ := os.ReadFile(filepath.Join(b.fake, "summary.md"))
	return string(c)
}

func (b *bench) contains(what, text string, want ...string) {
	b.t.Helper()
	for _, w := range want {
		if !strings.Contains(text, w) {
			b.t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

// TestDeploy: the tag and <run id>-<run attempt> go on pulumi up's command
// line (nothing is written with `pulumi config set`), and the summary says
// what was deployed, by whom, when and for how long.
func TestDeploy(t *testing.T) {
	b := deployedProd(t)
	env := []string{"GITHUB_SHA=" + sha, "GITHUB_ACTOR=alice", "GITHUB_SERVER_URL=https://github.com"}
	out := b.mustRun(env, "deploy", sha)
	b.inOrder(
		"git ls-remote origin refs/heads/main",
		"pulumi up --stack prod --yes --non-interactive --diff --suppress-progress --config blogstack:imageTag="+sha+" --config blogstack:deployId=42-1 ",
		"pulumi stack output url --stack prod",
	)
	b.never("pulumi config set")
	if strings.TrimSpace(out) != "https://prod.example.com" {
		t.Errorf("printed %q, want only the URL", out)
	}
	b.contains("step output", b.file(b.fake, "github-output"), "url=https://prod.example.com\n")
	b.contains("summary", b.summary(),
		"Deployed `"+sha+"` to prod",
		"| commit | [0123456789ab](https://github.com/blogstack/blogstack/commit/"+sha+") |",
		"| previous image | `"+older+"` |",
		"| result | succeeded |",
		"| by | alice |",
		"| deploy id | `42-1` |",
		"| started | 20", "| finished | 20", "| duration | 0m ",
	)

	// Re-running the newest run (a failed deploy retried) is a new attempt:
	// a new deploy id, so the association is replaced and waited for again.
	b2 := deployedProd(t)
	b2.mustRun([]string{"GITHUB_RUN_ATTEMPT=3", "GITHUB_ACTOR=alice", "GITHUB_TRIGGERING_ACTOR=bob"}, "deploy", sha)
	b2.inOrder("pulumi up --stack prod --yes --non-interactive --diff --suppress-progress --config blogstack:imageTag=" + sha + " --config blogstack:deployId=42-3 ")
	b2.contains("summary", b2.summary(), "| by | bob (run started by alice) |")

	// Pulumi.prod.yaml without the KMS provider: stop before pulumi asks
	// for a passphrase.
	b3 := deployedProd(t)
	b3.write(filepath.Join(b3.dir, "Pulumi.prod.yaml"), string(readRoot(t, "Pulumi.prod.yaml")))
	if _, errOut, ok := b3.run(nil, "deploy", sha); ok || !strings.Contains(errOut, "secretsprovider") {
		t.Errorf("deploy without secretsprovider: ok=%v %s", ok, errOut)
	}
	b3.never("pulumi up")
}

// TestDeployRejects: only commit SHAs (images built from main) reach prod,
// and the deploy id must be this run's.
func TestDeployRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"a PR image", nil, []string{"pr-12-" + sha}, "built from a pull request"},
		{"a branch name", nil, []string{"main"}, "not a commit SHA"},
		{"a short SHA", nil, []string{sha[:12]}, "not a commit SHA"},
		{"no tag", nil, nil, "usage"},
		{"a PR image as rollback", nil, []string{"--rollback", "pr-12-" + sha}, "built from a pull request"},
		{"no run id", []string{"GITHUB_RUN_ID="}, []string{sha}, "GITHUB_RUN_ID and GITHUB_RUN_ATTEMPT"},
		{"a bad run attempt", []string{"GITHUB_RUN_ATTEMPT=1;x"}, []string{sha}, "GITHUB_RUN_ID and GITHUB_RUN_ATTEMPT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := deployedProd(t)
			_, errOut, ok := b.run(tc.env, "deploy", tc.args...)
			if ok || !strings.Contains(errOut, tc.want) {
				t.Errorf("ok=%v, want an error with %q:\n%s", ok, tc.want, errOut)
			}
			b.never("pulumi up")
		})
	}
}

// TestDeployRefusesOldRun: re-running an old deploy run (its commit is no
// longer main's newest) would roll prod back; it refuses and points at the
// rollback input.
func TestDeployRefusesOldRun(t *testing.T) {
	b := deployedProd(t)
	b.write(filepath.Join(b.fake, "main"), newer+"\n")
	_, errOut, ok := b.run([]string{"GITHUB_RUN_ATTEMPT=2"}, "deploy", sha)
	if ok {
		t.Fatal("a re-run of an old deploy succeeded")
	}
	b.contains("stderr", errOut, "main is now at "+newer, "roll prod back", "rollback-tag="+sha)
	b.contains("summary", b.summary(), "Deploy refused", "`rollback-tag`")
	b.never("pulumi up")
}

// TestDeploySupersededRun: a first attempt that a newer push overtook while
// it waited steps aside (that push's run deploys), without failing.
func TestDeploySupersededRun(t *testing.T) {
	b := deployedProd(t)
	b.write(filepath.Join(b.fake, "main"), newer+"\n")
	out := b.mustRun(nil, "deploy", sha)
	if out != "" {
		t.Errorf("printed %q", out)
	}
	b.contains("summary", b.summary(), "Deploy skipped", newer)
	b.never("pulumi up")
}

// TestDeployPrivateRepository: the checkout keeps no credentials, so main's
// head is read with GH_TOKEN, passed through git's environment.
func TestDeployPrivateRepository(t *testing.T) {
	b := deployedProd(t)
	b.mustRun([]string{"FAKE_PRIVATE=ghs_token", "GH_TOKEN=ghs_token"}, "deploy", sha)
	b.inOrder("pulumi up --stack prod")
	if strings.Contains(b.calls(), "ghs_token") {
		t.Errorf("the token is on a command line:\n%s", b.calls())
	}

	b2 := deployedProd(t)
	_, errOut, ok := b2.run([]string{"FAKE_PRIVATE=ghs_token"}, "deploy", sha)
	if ok || !strings.Contains(errOut, "cannot read main's newest commit") {
		t.Errorf("without a token: ok=%v %s", ok, errOut)
	}
	b2.never("pulumi up")
}

// TestRollback: the rollback input deploys an earlier tag that is in prod's
// registry, whatever main's newest commit is, and refuses a tag that is not
// there.
func TestRollback(t *testing.T) {
	b := deployedProd(t)
	b.output("prod", "imageTag", sha)
	b.write(filepath.Join(b.fake, "main"), newer+"\n")
	out := b.mustRun([]string{"GITHUB_SHA=" + newer, "GITHUB_ACTOR=carol"}, "deploy", "--rollback", older)
	b.inOrder(
		"aws ecr describe-images --registry-id 123456789012 --region eu-west-1 --repository-name blog --image-ids imageTag="+older,
		"pulumi up --stack prod --yes --non-interactive --diff --suppress-progress --config blogstack:imageTag="+older+" --config blogstack:deployId=42-1 --message rollback ",
	)
	b.never("git ls-remote")
	if strings.TrimSpace(out) != "https://prod.example.com" {
		t.Errorf("printed %q", out)
	}
	b.contains("summary", b.summary(), "Rolled back `"+older+"` to prod", "| previous image | `"+sha+"` |", "| by | carol |", "/commit/"+newer+")")

	// Not in prod's registry (never pushed, expired, or only in
	// blog-previews): a clear error and no pulumi up.
	for _, tag := range []string{newer, "pr-3-" + older} {
		b2 := deployedProd(t)
		b2.write(filepath.Join(b2.fake, "images", "blog-previews", tag), "")
		_, errOut, ok := b2.run(nil, "deploy", "--rollback", tag)
		if ok {
			t.Errorf("rollback to %s succeeded", tag)
		}
		if !strings.HasPrefix(tag, "pr-") {
			b2.contains("stderr", errOut, "image tag "+tag+" is not in prod's registry "+prodRegistry)
		}
		b2.never("pulumi up")
	}

	// A registry error is not "not found".
	b3 := deployedProd(t)
	if _, errOut, ok := b3.run([]string{"FAKE_FAIL_AWS=1"}, "deploy", "--rollback", older); ok || !strings.Contains(errOut, "AccessDenied") {
		t.Errorf("registry error: ok=%v %s", ok, errOut)
	}
	b3.never("pulumi up")
}

// TestDeployFailurePrintsOutput: when the association fails, the job log
// shows host/deploy's own stdout and stderr from the association's output
// location (this deploy's prefix only, last lines), and the summary names
// the reason.
func TestDeployFailurePrintsOutput(t *testing.T) {
	b := deployedProd(t)
	run := "deploy-logs/" + sha + "/42-1/i-0abc123/0f1e2d3c-assoc/2026-12-06T17-00-00.000Z/ex-1/awsrunShellScript/deploy/"
	var stdout strings.Builder
	for i := 1; i <= 200; i++ {
		stdout.WriteString("deploy: step " + strconv.Itoa(i) + "\n")
	}
	b.write(filepath.Join(b.fake, "s3", "blog-prod-backups", run+"stdout"), stdout.String())
	b.write(filepath.Join(b.fake, "s3", "blog-prod-backups", run+"stderr"),
		"pulling app\ndeploy: FAILED: "+sha+": the new app container is unhealthy; the running release ("+older+") keeps serving\n")
	// Another deploy's output under a neighbouring prefix is not shown.
	b.write(filepath.Join(b.fake, "s3", "blog-prod-backups", "deploy-logs/"+sha+"/42-10/i-0abc123/x/awsrunShellScript/deploy/stderr"), "deploy: FAILED: someone else\n")

	out, errOut, ok := b.run([]string{"FAKE_FAIL_UP=1"}, "deploy", sha)
	if ok {
		t.Fatal("deploy succeeded although pulumi up failed")
	}
	if out != "" {
		t.Errorf("printed %q on failure", out)
	}
	b.inOrder(
		"pulumi up --stack prod",
		"pulumi stack output backupBucket --stack prod",
		"aws s3 ls s3://blog-prod-backups/deploy-logs/"+sha+"/42-1/ --recursive",
		"aws s3 cp s3://blog-prod-backups/"+run+"stderr -",
		"aws s3 cp s3://blog-prod-backups/"+run+"stdout -",
	)
	b.contains("stderr", errOut,
		"unexpected state 'Failed'", // pulumi's own output
		run+"stdout", "deploy: step 200", "deploy: step 121",
		"the new app container is unhealthy",
		"pulumi up of prod failed for image "+sha+" (deploy id 42-1): deploy: FAILED: "+sha+": the new app container is unhealthy",
	)
	if strings.Contains(errOut, "deploy: step 120\n") {
		t.Error("printed more than the last 80 lines of stdout")
	}
	if strings.Contains(errOut, "someone else") || strings.Contains(b.calls(), "42-10/") {
		t.Errorf("printed another deploy's output:\n%s", errOut)
	}
	b.contains("summary", b.summary(),
		"Deploy of `"+sha+"` failed",
		"**Reason (host/deploy):** `deploy: FAILED: "+sha+": the new app container is unhealthy",
		"The previous release (`"+older+"`) keeps serving",
		"error: creating SSM Association",
		"started 20", "failed after 0m ",
	)
	if _, err := os.Stat(filepath.Join(b.fake, "github-output")); err == nil && strings.Contains(b.file(b.fake, "github-output"), "url=") {
		t.Error("set a url output on failure")
	}

	// Nothing under the prefix (the host never ran the deploy): say so and
	// still fail with pulumi's error.
	b2 := deployedProd(t)
	_, errOut, ok = b2.run([]string{"FAKE_FAIL_UP=1"}, "deploy", sha)
	if ok {
		t.Fatal("deploy succeeded although pulumi up failed")
	}
	b2.contains("stderr", errOut, "never ran or never reported this deploy", "pulumi up of prod failed for image "+sha)
	b2.never("aws s3 cp")
	b2.contains("summary", b2.summary(), "Deploy of `"+sha+"` failed", "error: update failed")
}

// TestDeployFailureInFargateMode: a fargate prod has no deploy output in
// S3; the summary points at pulumi's error and the tasks' log group.
func TestDeployFailureInFargateMode(t *testing.T) {
	b := newBench(t, "prod")
	for k, v := range map[string]string{"registryUrl": prodRegistry, "imageTag": older, "deployId": "41-1", "url": "https://prod.example.com", "clusterName": "blog-prod-service-cluster-1a2b"} {
		b.output("prod", k, v)
	}
	b.write(filepath.Join(b.fake, "images", "blog", sha), "")
	_, errOut, ok := b.run([]string{"FAKE_FAIL_UP=1"}, "deploy", sha)
	if ok {
		t.Fatal("deploy succeeded although pulumi up failed")
	}
	b.contains("stderr", errOut, "no backupBucket output", "pulumi up of prod failed for image "+sha)
	b.never("aws s3")
	b.contains("summary", b.summary(), "Deploy of `"+sha+"` failed", "The previous release (`"+older+"`) keeps serving",
		"the tasks' logs are in the log group `blog-prod-ecs`")
	if strings.Contains(b.summary(), "host/deploy's output") {
		t.Errorf("a fargate prod's summary points at host/deploy:\n%s", b.summary())
	}
}

// TestPreviewUpFailurePrintsOutput: a preview stack's failed deploy shows
// host/deploy's output the same way, from that stack's own bucket.
func TestPreviewUpFailurePrintsOutput(t *testing.T) {
	b := newBench(t, "prod", "pr-12")
	tag := "pr-12-" + sha
	b.output("pr-12", "backupBucket", "blog-pr-12-backups")
	b.write(filepath.Join(b.fake, "s3", "blog-pr-12-backups", "deploy-logs/"+tag+"/42-1/i-0def/a/2026/e/awsrunShellScript/deploy/stderr"),
		"deploy: FAILED: migrations failed for "+tag+"; the running release (none) is untouched\n")
	_, errOut, ok := b.run([]string{"FAKE_FAIL_UP=1"}, "preview-up", "12", tag)
	if ok {
		t.Fatal("preview-up succeeded although pulumi up failed")
	}
	b.inOrder("aws s3 ls s3://blog-pr-12-backups/deploy-logs/" + tag + "/42-1/ --recursive")
	b.contains("stderr", errOut, "pulumi up of stack pr-12 failed (image "+tag+"): deploy: FAILED: migrations failed")
	b.never("aws s3 ls s3://blog-prod")
}

// TestPreviewDiffWithoutDeployID: a prod last deployed before deploy ids
// existed is previewed with its tag alone.
func TestPreviewDiffWithoutDeployID(t *testing.T) {
	b := newBench(t, "prod")
	b.output("prod", "imageTag", older)
	b.mustRun([]string{"COMMENT_FILE=" + filepath.Join(b.fake, "c.md")}, "preview-diff")
	b.inOrder("pulumi preview --stack prod --diff --refresh=false --config blogstack:imageTag=" + older + " --non-interactive")
}

// TestDeployFailureCannotList: an error listing the output location is
// shown as such, not as "nothing there".
func TestDeployFailureCannotList(t *testing.T) {
	b := deployedProd(t)
	_, errOut, ok := b.run([]string{"FAKE_FAIL_UP=1", "FAKE_FAIL_AWS=1"}, "deploy", sha)
	if ok {
		t.Fatal("deploy succeeded although pulumi up failed")
	}
	b.contains("stderr", errOut, "cannot list it: An error occurred (AccessDenied", "pulumi up of prod failed for image "+sha)
}
