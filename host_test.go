package blogstack

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The host scripts run here against fakes of the tools they drive. Each fake
// appends its command line to calls.log and reads FAKE_* variables that make
// it fail or misbehave; fake docker also remembers which image the app runs.
var fakes = map[string]string{
	"docker": `
echo "docker $* | image=${BLOG_IMAGE:-}" >>"$FAKE_DIR/calls.log"
args=" $* "
case $args in
  *" compose "*" pull "*) [[ -z ${FAKE_FAIL_PULL:-} ]] ;;
  *" compose "*" run "*" migrate "*)
    sleep "${FAKE_MIGRATE_SLEEP:-0}"
    if [[ -n ${FAKE_FAIL_MIGRATE:-} ]]; then echo "migration 0007 failed: boom" >&2; exit 1; fi ;;
  *" compose "*" up "*" app "*) echo "$BLOG_IMAGE" >"$FAKE_DIR/app-image" ;;
  *" compose "*" ps "*" app "*) [[ ! -f $FAKE_DIR/app-image ]] || echo cid-app ;;
  *" inspect "*)
    image=$(<"$FAKE_DIR/app-image")
    for tag in ${FAKE_UNHEALTHY_TAGS:-}; do
      if [[ $image == *":$tag" ]]; then echo running/unhealthy; exit 0; fi
    done
    for tag in ${FAKE_STARTING_TAGS:-}; do
      if [[ $image == *":$tag" ]]; then echo running/starting; exit 0; fi
    done
    echo running/healthy ;;
esac`,
	"aws": `
echo "aws $*" >>"$FAKE_DIR/calls.log"
[[ -z ${FAKE_FAIL_AWS:-} ]] || { echo "AccessDenied" >&2; exit 254; }
case " $* " in
  *"/db-password "*) echo Pw0123456789abcdefXYZ ;;
  *"/secret-key "*) echo sk-0123456789 ;;
  *) exit 1 ;;
esac`,
	"blkid": `
echo "blkid $*" >>"$FAKE_DIR/calls.log"
[[ -z ${FAKE_BLKID_EXIT:-} ]] || exit "$FAKE_BLKID_EXIT"
[[ -f $FAKE_DIR/fstype ]] || exit 2
case " $* " in
  *" TYPE "*) cat "$FAKE_DIR/fstype" ;;
  *" UUID "*) echo 0b9c7a1e-4f1d-4a57-9f3c-1d2e3f4a5b6c ;;
esac`,
	"mkfs": `
echo "mkfs $*" >>"$FAKE_DIR/calls.log"
echo xfs >"$FAKE_DIR/fstype"`,
	"mount": `
echo "mount $*" >>"$FAKE_DIR/calls.log"
echo "$1" >>"$FAKE_DIR/mounted"`,
	"mountpoint": `
echo "mountpoint $*" >>"$FAKE_DIR/calls.log"
grep -qxF -- "${!#}" "$FAKE_DIR/mounted" 2>/dev/null`,
	"systemctl": `echo "systemctl $*" >>"$FAKE_DIR/calls.log"`,
	"dnf":       `echo "dnf $*" >>"$FAKE_DIR/calls.log"`,
	"curl": `
echo "curl $*" >>"$FAKE_DIR/calls.log"
while [[ $# -gt 0 ]]; do
  if [[ $1 == -o ]]; then printf '%s' "$FAKE_DOWNLOAD" >"$2"; exit 0; fi
  shift
done
exit 1`,
}

// host is one fake host: a temporary root, the fakes on PATH, and the
// scripts' paths pointed inside it.
type host struct {
	t    *testing.T
	dir  string
	fake string
	env  []string
}

const fakeCompose = "pretend compose plugin\n"

func newHost(t *testing.T) *host {
	t.Helper()
	dir := t.TempDir()
	h := &host{t: t, dir: dir, fake: filepath.Join(dir, "fake")}
	bin := filepath.Join(dir, "bin")
	for _, d := range []string{bin, h.fake, h.path("dev/disk/by-id"), h.path("etc/blog"), h.path("opt/blog/host")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range fakes {
		script := "#!/usr/bin/env bash\nset -euo pipefail\n" + body + "\n"
		if err := os.WriteFile(filepath.Join(bin, name), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sum := sha256.Sum256([]byte(fakeCompose))
	h.env = append(os.Environ(),
		"PATH="+bin+":"+os.Getenv("PATH"),
		"FAKE_DIR="+h.fake,
		"FAKE_DOWNLOAD="+fakeCompose,
		"BLOG_ROOT="+h.path("opt/blog"),
		"BLOG_ETC="+h.path("etc/blog"),
		"BLOG_DATA="+h.path("srv/blog"),
		"BLOG_STATE="+h.path("var/lib/blog"),
		"BLOG_LOCK="+h.path("run/lock/blog-deploy.lock"),
		"BLOG_FSTAB="+h.path("etc/fstab"),
		"BLOG_DISK_BY_ID="+h.path("dev/disk/by-id"),
		"BLOG_CLI_PLUGINS="+h.path("usr/local/lib/docker/cli-plugins"),
		"BLOG_ARCH=x86_64",
		"BLOG_COMPOSE_URL=https://example.invalid/docker-compose",
		"BLOG_COMPOSE_SHA256="+hex.EncodeToString(sum[:]),
		"BLOG_DEVICE_WAIT=2",
		"BLOG_BOOTSTRAP_WAIT=2",
		"BLOG_LOCK_WAIT=1",
		"BLOG_HEALTH_TIMEOUT=2",
	)
	return h
}

func (h *host) path(rel string) string { return filepath.Join(h.dir, "root", rel) }

// attachVolume makes the EBS volume's by-id link appear, as udev does.
func (h *host) attachVolume(id string) {
	h.t.Helper()
	dev := h.path("dev/nvme1n1")
	if err := os.WriteFile(dev, nil, 0o600); err != nil {
		h.t.Fatal(err)
	}
	link := h.path("dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_" + strings.ReplaceAll(id, "-", ""))
	if err := os.Symlink(dev, link); err != nil {
		h.t.Fatal(err)
	}
}

// readyForDeploy is a host that bootstrap has finished on, with the files the
// deploy association writes.
func (h *host) readyForDeploy() {
	h.t.Helper()
	h.write("var/lib/blog/bootstrapped", "2026-01-01T00:00:00Z\n")
	h.write("../fake/mounted", h.path("srv/blog")+"\n")
	h.write("opt/blog/docker-compose.prod.yml", string(ComposeFile))
	h.write("etc/blog/stack.env", strings.Join([]string{
		"BLOG_REGISTRY=123456789012.dkr.ecr.eu-west-1.amazonaws.com/blog",
		"BLOG_DOMAIN=blog.example.com",
		"BLOG_PREVIEW=",
		"BLOG_SSM_PREFIX=/blog/prod",
		"AWS_REGION=eu-west-1",
	}, "\n")+"\n")
}

func (h *host) write(rel, content string) {
	h.t.Helper()
	p := h.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

func (h *host) read(rel string) string {
	h.t.Helper()
	b, err := os.ReadFile(h.path(rel))
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b)
}

// run runs a host script and returns its combined output and whether it
// succeeded.
func (h *host) run(script string, extraEnv []string, args ...string) (string, bool) {
	h.t.Helper()
	cmd := h.command(script, extraEnv, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			h.t.Fatalf("running %s: %v", script, err)
		}
	}
	return out.String(), err == nil
}

func (h *host) command(script string, extraEnv []string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join("host", script), args...)
	cmd.Env = append(append([]string{}, h.env...), extraEnv...)
	return cmd
}

// calls returns the fakes' recorded command lines and forgets them.
func (h *host) calls() []string {
	h.t.Helper()
	b, err := os.ReadFile(filepath.Join(h.fake, "calls.log"))
	if err != nil && !os.IsNotExist(err) {
		h.t.Fatal(err)
	}
	_ = os.Remove(filepath.Join(h.fake, "calls.log"))
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func matching(calls []string, substr string) []string {
	var out []string
	for _, c := range calls {
		if strings.Contains(c, substr) {
			out = append(out, c)
		}
	}
	return out
}

func mustOK(t *testing.T, out string, ok bool) {
	t.Helper()
	if !ok {
		t.Fatalf("script failed:\n%s", out)
	}
}

func mustFail(t *testing.T, out string, ok bool, want string) {
	t.Helper()
	if ok {
		t.Fatalf("script succeeded, want failure:\n%s", out)
	}
	if !strings.Contains(out, want) {
		t.Fatalf("output does not explain %q:\n%s", want, out)
	}
}

const volumeID = "vol-0123456789abcdef0"

func TestBootstrapNewVolumeFormatsAndMountsByUUID(t *testing.T) {
	h := newHost(t)
	h.attachVolume(volumeID)
	out, ok := h.run("bootstrap", nil, volumeID)
	mustOK(t, out, ok)
	calls := h.calls()

	for _, want := range []string{
		"dnf install -y docker amazon-ecr-credential-helper",
		"systemctl enable --now docker",
		"systemctl enable --now amazon-ssm-agent",
		"mkfs -t xfs -L blogdata " + h.path("dev/nvme1n1"),
		"mount " + h.path("srv/blog"),
	} {
		if len(matching(calls, want)) != 1 {
			t.Errorf("want exactly one %q in calls:\n%s", want, strings.Join(calls, "\n"))
		}
	}
	fstab := h.read("etc/fstab")
	want := "UUID=0b9c7a1e-4f1d-4a57-9f3c-1d2e3f4a5b6c " + h.path("srv/blog") + " xfs defaults,nofail,noatime 0 2\n"
	if fstab != want {
		t.Errorf("fstab = %q, want %q", fstab, want)
	}
	if got := h.read("usr/local/lib/docker/cli-plugins/docker-compose"); got != fakeCompose {
		t.Errorf("compose plugin = %q, want the verified download", got)
	}
	for _, dir := range []string{"srv/blog/postgres", "srv/blog/caddy/data", "srv/blog/caddy/config"} {
		if fi, err := os.Stat(h.path(dir)); err != nil || !fi.IsDir() {
			t.Errorf("%s not created: %v", dir, err)
		}
	}
	if _, err := os.Stat(h.path("var/lib/blog/bootstrapped")); err != nil {
		t.Errorf("bootstrapped marker missing: %v", err)
	}
}

func TestBootstrapExistingVolumeIsNeverFormatted(t *testing.T) {
	h := newHost(t)
	h.attachVolume(volumeID)
	h.write("../fake/fstype", "xfs\n")
	out, ok := h.run("bootstrap", nil, volumeID)
	mustOK(t, out, ok)
	calls := h.calls()
	if m := matching(calls, "mkfs"); len(m) != 0 {
		t.Fatalf("formatted a volume that has a filesystem: %v", m)
	}
	if len(matching(calls, "mount "+h.path("srv/blog"))) != 1 {
		t.Errorf("existing volume not mounted: %v", calls)
	}
}

func TestBootstrapRefusesVolumeItCannotRead(t *testing.T) {
	h := newHost(t)
	h.attachVolume(volumeID)
	out, ok := h.run("bootstrap", []string{"FAKE_BLKID_EXIT=8"}, volumeID)
	mustFail(t, out, ok, "refusing to touch the data volume")
	if m := matching(h.calls(), "mkfs"); len(m) != 0 {
		t.Fatalf("formatted after blkid failed: %v", m)
	}
}

func TestBootstrapTwiceChangesNothing(t *testing.T) {
	h := newHost(t)
	h.attachVolume(volumeID)
	out, ok := h.run("bootstrap", nil, volumeID)
	mustOK(t, out, ok)
	h.calls()
	fstab := h.read("etc/fstab")

	out, ok = h.run("bootstrap", nil, volumeID)
	mustOK(t, out, ok)
	calls := h.calls()
	for _, never := range []string{"mkfs", "mount ", "curl "} {
		if m := matching(calls, never); len(m) != 0 {
			t.Errorf("second run called %q again: %v", never, m)
		}
	}
	if got := h.read("etc/fstab"); got != fstab {
		t.Errorf("second run changed fstab:\n%s\nwas:\n%s", got, fstab)
	}
}

func TestBootstrapRejectsComposeWithWrongChecksum(t *testing.T) {
	h := newHost(t)
	h.attachVolume(volumeID)
	out, ok := h.run("bootstrap", []string{"FAKE_DOWNLOAD=tampered"}, volumeID)
	mustFail(t, out, ok, "does not match its pinned sha256")
	if _, err := os.Stat(h.path("usr/local/lib/docker/cli-plugins/docker-compose")); err == nil {
		t.Fatal("installed a download whose checksum did not match")
	}
}

func TestBootstrapFailsWhenVolumeNeverAttaches(t *testing.T) {
	h := newHost(t)
	out, ok := h.run("bootstrap", []string{"BLOG_DEVICE_WAIT=1"}, volumeID)
	mustFail(t, out, ok, "data volume "+volumeID+" is not attached")
	if m := matching(h.calls(), "mkfs"); len(m) != 0 {
		t.Fatalf("formatted something: %v", m)
	}
}

func TestDeployGood(t *testing.T) {
	h := newHost(t)
	h.readyForDeploy()
	out, ok := h.run("deploy", nil, "v1")
	mustOK(t, out, ok)
	calls := h.calls()

	image := "image=123456789012.dkr.ecr.eu-west-1.amazonaws.com/blog:v1"
	order := []string{"aws ssm get-parameter", "pull", "up -d --wait db", "run --rm --no-deps migrate", "up -d --no-deps app", "up -d --no-deps proxy", "inspect"}
	i := 0
	for _, c := range calls {
		if i < len(order) && strings.Contains(c, order[i]) {
			i++
		}
	}
	if i != len(order) {
		t.Fatalf("calls not in order %v (matched %d):\n%s", order, i, strings.Join(calls, "\n"))
	}
	if up := matching(calls, "up -d --no-deps app"); len(up) != 1 || !strings.Contains(up[0], image) {
		t.Errorf("app not started on the new image: %v", up)
	}
	if got := strings.TrimSpace(h.read("var/lib/blog/last-good-tag")); got != "v1" {
		t.Errorf("last good tag = %q, want v1", got)
	}

	env := h.read("etc/blog/app.env")
	want := "POSTGRES_PASSWORD=Pw0123456789abcdefXYZ\n" +
		"DATABASE_URL=postgres://blog:Pw0123456789abcdefXYZ@db:5432/blog?sslmode=disable\n" +
		"BLOG_SECRET_KEY=sk-0123456789\n"
	if env != want {
		t.Errorf("app.env = %q, want %q", env, want)
	}
	if fi, _ := os.Stat(h.path("etc/blog/app.env")); fi.Mode().Perm() != 0o600 {
		t.Errorf("app.env mode %v, want 0600", fi.Mode().Perm())
	}
	if strings.Contains(out, "Pw0123456789") {
		t.Errorf("deploy printed the database password:\n%s", out)
	}
	cfg := h.read("etc/blog/docker/config.json")
	if !strings.Contains(cfg, `"123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"`) {
		t.Errorf("docker config does not use the ECR credential helper: %s", cfg)
	}
}

func TestDeployUnhealthyGoesBackToLastGood(t *testing.T) {
	h := newHost(t)
	h.readyForDeploy()
	out, ok := h.run("deploy", nil, "v1")
	mustOK(t, out, ok)
	h.calls()

	out, ok = h.run("deploy", []string{"FAKE_UNHEALTHY_TAGS=v2"}, "v2")
	mustFail(t, out, ok, "v2: the app is unhealthy; rolled back to v1, which is serving")
	ups := matching(h.calls(), "up -d --no-deps app")
	if len(ups) != 2 || !strings.HasSuffix(ups[0], ":v2") || !strings.HasSuffix(ups[1], ":v1") {
		t.Fatalf("want the app brought up on v2 then back on v1, got %v", ups)
	}
	if got := strings.TrimSpace(h.read("../fake/app-image")); !strings.HasSuffix(got, ":v1") {
		t.Errorf("app runs %s, want v1", got)
	}
	if got := strings.TrimSpace(h.read("var/lib/blog/last-good-tag")); got != "v1" {
		t.Errorf("last good tag = %q, want v1", got)
	}
}

func TestDeployNeverHealthyTimesOut(t *testing.T) {
	h := newHost(t)
	h.readyForDeploy()
	h.deployOK("v1")
	start := time.Now()
	out, ok := h.run("deploy", []string{"FAKE_STARTING_TAGS=v2", "BLOG_HEALTH_TIMEOUT=1"}, "v2")
	mustFail(t, out, ok, "v2: the app was not healthy within 1s (last state running/starting); rolled back to v1")
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("timeout not bounded: took %v", d)
	}
}

func TestDeployFirstReleaseUnhealthyHasNothingToGoBackTo(t *testing.T) {
	h := newHost(t)
	h.readyForDeploy()
	out, ok := h.run("deploy", []string{"FAKE_UNHEALTHY_TAGS=v1"}, "v1")
	mustFail(t, out, ok, "there is no earlier good release to go back to")
	if _, err := os.Stat(h.path("var/lib/blog/last-good-tag")); err == nil {
		t.Error("recorded a failed release as good")
	}
}

func TestDeployFailedMigrationStartsNothing(t *testing.T) {
	h := newHost(t)
	h.readyForDeploy()
	h.deployOK("v1")
	h.calls()
	out, ok := h.run("deploy", []string{"FAKE_FAIL_MIGRATE=1"}, "v2")
	mustFail(t, out, ok, "migrations failed for v2; the running release (v1) is untouched")
	calls := h.calls()
	for _, never := range []string{"up -d --no-deps app", "up -d --no-deps proxy"} {
		if m := matching(calls, never); len(m) != 0 {
			t.Errorf("started %q after a failed migration: %v", never, m)
		}
	}
	if got := strings.TrimSpace(h.read("var/lib/blog/last-good-tag")); got != "v1" {
		t.Errorf("last good tag = %q, want v1", got)
	}
}

func TestDeployFailedPullChangesNothing(t *testing.T) {
	h := newHost(t)
	h.readyForDeploy()
	out, ok := h.run("deploy", []string{"FAKE_FAIL_PULL=1"}, "v1")
	mustFail(t, out, ok, "cannot pull the images for v1")
	if m := matching(h.calls(), " up "); len(m) != 0 {
		t.Errorf("started containers after a failed pull: %v", m)
	}
}

func TestDeployTwoAtOnceSecondWaitsThenFails(t *testing.T) {
	h := newHost(t)
	h.readyForDeploy()
	first := h.command("deploy", []string{"FAKE_MIGRATE_SLEEP=4", "BLOG_LOCK_WAIT=30"}, "v1")
	var firstOut bytes.Buffer
	first.Stdout, first.Stderr = &firstOut, &firstOut
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the first deploy holds the lock (it has reached the migration).
	deadline := time.Now().Add(10 * time.Second)
	for len(matching(h.peekCalls(), "migrate")) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("first deploy never reached its migration:\n%s", firstOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	start := time.Now()
	out, ok := h.run("deploy", []string{"BLOG_LOCK_WAIT=1"}, "v2")
	waited := time.Since(start)
	mustFail(t, out, ok, "another deploy still holds")
	if waited < time.Second {
		t.Errorf("second deploy gave up after %v, want it to wait BLOG_LOCK_WAIT=1s", waited)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("first deploy failed: %v\n%s", err, firstOut.String())
	}
	for _, c := range h.calls() {
		if strings.HasSuffix(c, ":v2") {
			t.Errorf("second deploy ran %q", c)
		}
	}
	if got := strings.TrimSpace(h.read("var/lib/blog/last-good-tag")); got != "v1" {
		t.Errorf("last good tag = %q, want v1", got)
	}
}

// deployOK runs a deploy that must succeed.
func (h *host) deployOK(tag string) {
	h.t.Helper()
	out, ok := h.run("deploy", nil, tag)
	mustOK(h.t, out, ok)
}

func (h *host) peekCalls() []string {
	b, _ := os.ReadFile(filepath.Join(h.fake, "calls.log"))
	return strings.Split(string(b), "\n")
}

func TestDeployRollbackIsADeployOfTheOldTag(t *testing.T) {
	h := newHost(t)
	h.readyForDeploy()
	h.deployOK("v1")
	h.deployOK("v2")
	h.calls()
	h.deployOK("v1")
	calls := h.calls()
	if m := matching(calls, "up -d --no-deps app"); len(m) != 1 || !strings.HasSuffix(m[0], ":v1") {
		t.Fatalf("rollback did not bring the app up on v1: %v", m)
	}
	if got := strings.TrimSpace(h.read("var/lib/blog/last-good-tag")); got != "v1" {
		t.Errorf("last good tag = %q, want v1", got)
	}
	history := h.read("var/lib/blog/deploys.log")
	if strings.Count(history, " ok\n") != 3 {
		t.Errorf("deploy history:\n%s", history)
	}
}

func TestDeployWaitsForBootstrapAndDataVolume(t *testing.T) {
	h := newHost(t)
	h.readyForDeploy()
	if err := os.Remove(filepath.Join(h.fake, "mounted")); err != nil {
		t.Fatal(err)
	}
	out, ok := h.run("deploy", []string{"BLOG_BOOTSTRAP_WAIT=1"}, "v1")
	mustFail(t, out, ok, "not mounted after 1s")
	if m := matching(h.calls(), "docker"); len(m) != 0 {
		t.Errorf("ran docker without the data volume: %v", m)
	}
}

func TestDeployRejectsBadTagAndMissingSettings(t *testing.T) {
	h := newHost(t)
	h.readyForDeploy()
	out, ok := h.run("deploy", nil, "v1;rm -rf /")
	mustFail(t, out, ok, "invalid image tag")
	h.write("etc/blog/stack.env", "BLOG_REGISTRY=r\n")
	out, ok = h.run("deploy", nil, "v1")
	mustFail(t, out, ok, "does not set BLOG_DOMAIN")
	h.readyForDeploy()
	out, ok = h.run("deploy", []string{"FAKE_FAIL_AWS=1"}, "v1")
	mustFail(t, out, ok, "cannot read /blog/prod/db-password from SSM")
}

// hostScripts are the executable scripts in host/ (everything with a #!).
func hostScripts(t *testing.T) []string {
	t.Helper()
	var scripts []string
	err := fs.WalkDir(HostFiles(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(HostFiles(), p)
		if err == nil && bytes.HasPrefix(b, []byte("#!")) {
			scripts = append(scripts, filepath.Join("host", p))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return scripts
}

func TestHostScriptsAreShellcheckClean(t *testing.T) {
	shellcheck, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("shellcheck is not installed; CI must install it (apt-get install -y shellcheck)")
		}
		t.Skip("shellcheck not installed (apt-get install -y shellcheck); CI fails here instead")
	}
	scripts := hostScripts(t)
	if len(scripts) < 2 {
		t.Fatalf("found only %v in host/", scripts)
	}
	for _, s := range scripts {
		t.Run(filepath.Base(s), func(t *testing.T) {
			b, _ := os.ReadFile(s)
			if !bytes.Contains(b, []byte("set -euo pipefail")) {
				t.Error("missing set -euo pipefail")
			}
			if fi, err := os.Stat(s); err != nil || fi.Mode()&0o111 == 0 {
				t.Errorf("%s is not executable", s)
			}
			out, err := exec.Command(shellcheck, "--shell=bash", "--severity=style", s).CombinedOutput()
			if err != nil {
				t.Errorf("shellcheck %s:\n%s", s, out)
			}
		})
	}
}
