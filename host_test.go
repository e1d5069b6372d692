package blogstack

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The host scripts run here against fakes of the tools they drive. Each fake
// appends its command line to calls.log and reads FAKE_* variables that make
// it fail or misbehave. Fake docker keeps the app containers as compose names
// them, $FAKE_DIR/apps/blog-app-<n>/ (id cid<n>) with the image they run and
// whether they are stopped and whether they carry the alias Caddy dials
// (the file live); it writes $FAKE_DIR/violations when a container that is
// not healthy gets the alias, or the last healthy container with it is
// stopped or removed. The proxy container's id is in proxy-id. Like compose,
// it numbers a new container one above the highest existing one.
// It keeps "the database" in $FAKE_DIR/database:
// pg_dump prints it, pg_restore replaces it (unless the dump is damaged, when
// it fails and, like --single-transaction, changes nothing). Fake aws keeps
// S3 objects below $FAKE_DIR/s3/<bucket>/<key>.
var fakes = map[string]string{
	"docker": `
echo "docker $* | image=${BLOG_IMAGE:-}" >>"$FAKE_DIR/calls.log"
args=" $* "
apps=$FAKE_DIR/apps
# Row counts of the main tables, as psql prints them for host/move-to-rds.
counts='authors 1\nposts 3\ntags 2\ncomments 4\nmedia 0\n'
# status is what docker inspect says of app container $1's state and health;
# the health comes from the tag of its image.
status() {
  local image tag
  if [[ -f $1/stopped ]]; then echo exited/; return; fi
  image=$(<"$1/image")
  for tag in ${FAKE_UNHEALTHY_TAGS:-}; do
    if [[ $image == *":$tag" ]]; then echo running/unhealthy; return; fi
  done
  echo running/healthy
}
# serving counts the healthy containers with the alias other than $1.
serving() {
  local c n=0
  for c in "$apps"/*; do
    [[ $c != "$1" && -f $c/live && $(status "$c") == running/healthy ]] && n=$((n + 1))
  done
  echo "$n"
}
case $args in
  *" compose "*" pull "*) [[ -z ${FAKE_FAIL_PULL:-} ]] ;;
  *" compose "*" run "*" migrate "*)
    sleep "${FAKE_MIGRATE_SLEEP:-0}"
    if [[ -n ${FAKE_FAIL_MIGRATE:-} ]]; then echo "migration 0007 failed: boom" >&2; exit 1; fi ;;
  *" compose "*" exec -T db pg_dump "*)
    if [[ -n ${FAKE_FAIL_PG_DUMP:-} ]]; then echo "pg_dump: error: connection to server failed" >&2; exit 1; fi
    if [[ -f $FAKE_DIR/database ]]; then cat "$FAKE_DIR/database"; else printf 'PGDMP the live database'; fi ;;
  *" compose "*" exec -T db pg_restore --list "*)
    input=$(cat)
    if [[ $input != PGDMP* ]]; then echo "pg_restore: error: input file does not appear to be a valid archive" >&2; exit 1; fi
    echo "; Archive created at 2026-01-01 03:15:00 UTC" ;;
  *" compose "*" exec -T db pg_restore "*)
    input=$(cat)
    if [[ $input == *damaged* ]]; then echo "pg_restore: error: could not read from input file: end of file" >&2; exit 1; fi
    printf '%s' "$input" >"$FAKE_DIR/database" ;;
  *" compose "*" stop app "*) for c in "$apps"/*; do [[ ! -d $c ]] || touch "$c/stopped"; done ;;
  *" compose "*" up "*" app "*)
    [[ -z ${FAKE_FAIL_UP_APP:-} ]] || { echo "Error response from daemon: no space left on device" >&2; exit 1; }
    scale=1
    [[ $args =~ " --scale app="([0-9]+)" " ]] && scale=${BASH_REMATCH[1]}
    mkdir -p "$apps"
    n=0 max=0
    for c in "$apps"/*; do
      [[ -d $c ]] || continue
      n=$((n + 1)) num=${c##*-}
      ((num <= max)) || max=$num
      # Without --no-recreate compose recreates a container whose image
      # changed (same name); either way it starts a stopped one.
      if [[ $args != *" --no-recreate "* ]]; then echo "$BLOG_IMAGE" >"$c/image"; fi
      rm -f "$c/stopped"
    done
    while ((n < scale)); do
      max=$((max + 1)) n=$((n + 1))
      mkdir "$apps/blog-app-$max"
      echo "$BLOG_IMAGE" >"$apps/blog-app-$max/image"
    done ;;
  *" compose "*" ps "*" app "*)
    for c in "$apps"/*; do
      [[ -d $c ]] || continue
      [[ $args == *" --all "* || ! -f $c/stopped ]] || continue
      echo "cid${c##*-}"
    done ;;
  *" compose "*" up "*" proxy "*)
    [[ -z ${FAKE_FAIL_PROXY:-} ]] || { echo "proxy is unhealthy" >&2; exit 1; }
    [[ -f $FAKE_DIR/proxy-id ]] || echo "proxy$RANDOM" >"$FAKE_DIR/proxy-id" ;;
  *" compose "*" ps -q proxy "*) cat "$FAKE_DIR/proxy-id" 2>/dev/null || true ;;
  *" compose "*" exec -T proxy caddy reload "*)
    [[ -z ${FAKE_FAIL_RELOAD:-} ]] || { echo "Error: adapting config using caddyfile: unrecognized directive" >&2; exit 1; } ;;
  *" compose "*" ps -q db "*) echo dbcid ;;
  *" compose "*" exec -T db psql "*" UNION ALL "*) printf '%b' "${FAKE_HOST_COUNTS:-$counts}" ;;
  *" compose "*) ;;
  " inspect -f {{.Config.Image}} dbcid ") echo "postgres:18.6-alpine" ;;
  " run --rm "*)
    # A client container on RDS (host/move-to-rds); "RDS's database" is
    # $FAKE_DIR/rds, and the password the client got is kept beside it.
    printf '%s' "${PGPASSWORD:-}" >"$FAKE_DIR/rds-password"
    if [[ -n ${FAKE_RDS_DOWN:-} ]]; then echo "psql: error: connection to server at \"$PGHOST\", port $PGPORT failed: timeout expired" >&2; exit 2; fi
    case $args in
      *" --entrypoint pg_restore "*)
        [[ -z ${FAKE_FAIL_RDS_RESTORE:-} ]] || { cat >/dev/null; echo "pg_restore: error: could not execute query: ERROR: cannot drop table posts because other objects depend on it" >&2; exit 1; }
        cat >"$FAKE_DIR/rds" ;;
      *"to_regclass('public.posts')"*) if [[ -n ${FAKE_RDS_POSTS:-} ]]; then echo t; else echo f; fi ;;
      *"SELECT count(*) FROM posts "*) echo "${FAKE_RDS_POSTS:-0}" ;;
      *" UNION ALL "*) printf '%b' "${FAKE_RDS_COUNTS:-$counts}" ;;
      *"has_table_privilege"*) echo t ;;
      *) echo "fake docker run: unexpected: $*" >&2; exit 1 ;;
    esac ;;
  " network connect --alias blog-live blog_edge "*)
    [[ -z ${FAKE_FAIL_CONNECT:-} ]] || { echo "Error response from daemon: network blog_edge not found" >&2; exit 1; }
    id=${*: -1} c=$apps/blog-app-${id#cid}
    [[ -d $c ]] || { echo "Error: No such container: $id" >&2; exit 1; }
    [[ $(status "$c") == running/healthy ]] || echo "${c##*/} got the alias Caddy dials while not healthy" >>"$FAKE_DIR/violations"
    touch "$c/live" ;;
  " network disconnect blog_edge "*)
    id=${*: -1} c=$apps/blog-app-${id#cid}
    [[ -d $c ]] || { echo "Error: No such container: $id" >&2; exit 1; }
    rm -f "$c/live" ;;
  " ps -q --filter label=com.docker.compose.project=blog --filter label=com.docker.compose.service=app ")
    for c in "$apps"/*; do
      if [[ -d $c && ! -f $c/stopped ]]; then echo "cid${c##*-}"; fi
    done ;;
  " inspect "*"NetworkSettings"*)
    # The container's address on the edge network, for host/monitor.
    id=${*: -1} c=$apps/blog-app-${id#cid}
    [[ -d $c ]] || { echo "Error: No such object: $id" >&2; exit 1; }
    echo "172.16.30.$((${id#cid} + 10))" ;;
  " inspect "*)
    id=${*: -1} c=$apps/blog-app-${id#cid}
    [[ -d $c ]] || { echo "Error: No such object: $id" >&2; exit 1; }
    if [[ $args == *".Name"* ]]; then echo "/${c##*/}"
    elif [[ $args == *".RestartCount"* ]]; then st=$(status "$c"); echo "0 ${st%/*} 0"
    else status "$c"; fi ;;
  " stop "* | " rm "*)
    id=${*: -1} c=$apps/blog-app-${id#cid}
    [[ -d $c ]] || { echo "Error: No such container: $id" >&2; exit 1; }
    if [[ -f $c/live && $(status "$c") == running/healthy && $(serving "$c") == 0 ]]; then
      echo "docker $* while ${c##*/} is the only app Caddy can send traffic to" >>"$FAKE_DIR/violations"
    fi
    if [[ $1 == stop ]]; then touch "$c/stopped"; else
      [[ -f $c/stopped || $args == *" -f "* ]] || { echo "Error: cannot remove a running container" >&2; exit 1; }
      rm -r "$c"
    fi ;;
esac`,
	"aws": `
echo "aws $*" >>"$FAKE_DIR/calls.log"
[[ -z ${FAKE_FAIL_AWS:-} ]] || { echo "AccessDenied" >&2; exit 254; }
case " $* " in
  *"/db-password "*) echo Pw0123456789abcdefXYZ ;;
  *"/secret-key "*) echo sk-0123456789 ;;
  *" secretsmanager get-secret-value "*)
    [[ -z ${FAKE_FAIL_SECRET:-} ]] || { echo "An error occurred (AccessDeniedException) when calling the GetSecretValue operation" >&2; exit 254; }
    secret='{"username": "blog_admin", "password": "Rds-Pa55word;x"}'
    echo "${FAKE_SECRET:-$secret}" ;;
  *" sts assume-role "*)
    # The real CLI applies --query to the AssumeRole response; the fake
    # knows one query, the one that gives the process format.
    n=$(($(cat "$FAKE_DIR/credentials-served" 2>/dev/null || echo 0) + 1))
    echo "$n" >"$FAKE_DIR/credentials-served"
    if [[ " $* " == *" --output json --query $FAKE_PROCESS_QUERY "* ]]; then
      printf '{\n    "Version": 1,\n    "AccessKeyId": "ASIAMEDIA%d",\n    "SecretAccessKey": "x",\n    "SessionToken": "y",\n    "Expiration": "2026-01-01T06:00:00+00:00"\n}\n' "$n"
    else
      printf '{\n    "Credentials": {\n        "AccessKeyId": "ASIAMEDIA%d",\n        "SecretAccessKey": "x"\n    }\n}\n' "$n"
    fi ;;
  *" s3 cp "*)
    src=${*: -2:1} dst=${*: -1}
    if [[ $dst == s3://* ]]; then
      [[ -z ${FAKE_FAIL_UPLOAD:-} ]] || { echo "upload failed: An error occurred (AccessDenied) when calling the PutObject operation" >&2; exit 1; }
      mkdir -p "$(dirname "$FAKE_DIR/s3/${dst#s3://}")"
      cp "$src" "$FAKE_DIR/s3/${dst#s3://}"
    else
      [[ -f $FAKE_DIR/s3/${src#s3://} ]] || { echo "fatal error: An error occurred (404) when calling the HeadObject operation: Key not found" >&2; exit 1; }
      cp "$FAKE_DIR/s3/${src#s3://}" "$dst"
    fi ;;
  *" cloudwatch put-metric-data "* | *" logs put-log-events "* | *" logs create-log-stream "*)
    [[ -z ${FAKE_FAIL_CLOUDWATCH:-} ]] || { echo "An error occurred (AccessDeniedException) when calling the PutLogEvents operation" >&2; exit 254; } ;;
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
	t.Cleanup(func() {
		if b, err := os.ReadFile(filepath.Join(h.fake, "violations")); err == nil {
			t.Errorf("the cut-over broke its rules:\n%s", b)
		}
	})
	sum := sha256.Sum256([]byte(fakeCompose))
	h.env = append(os.Environ(),
		"PATH="+bin+":"+os.Getenv("PATH"),
		"FAKE_DIR="+h.fake,
		"FAKE_DOWNLOAD="+fakeCompose,
		"FAKE_PROCESS_QUERY="+processQuery,
		"BLOG_ROOT="+h.path("opt/blog"),
		"BLOG_ETC="+h.path("etc/blog"),
		"BLOG_DATA="+h.path("srv/blog"),
		"BLOG_STATE="+h.path("var/lib/blog"),
		"BLOG_LOG_DIR="+h.path("var/log/blog"),
		"BLOG_CWAGENT="+h.path("opt/aws/amazon-cloudwatch-agent"),
		"BLOG_LOCK="+h.path("run/lock/blog-deploy.lock"),
		"BLOG_SYSTEMD="+h.path("etc/systemd/system"),
		"BLOG_FSTAB="+h.path("etc/fstab"),
		"BLOG_DISK_BY_ID="+h.path("dev/disk/by-id"),
		"BLOG_CLI_PLUGINS="+h.path("usr/local/lib/docker/cli-plugins"),
		"BLOG_ARCH=x86_64",
		"BLOG_COMPOSE_URL=https://example.invalid/docker-compose",
		"BLOG_COMPOSE_SHA256="+hex.EncodeToString(sum[:]),
		"BLOG_DEVICE_WAIT=2",
		"BLOG_BOOTSTRAP_WAIT=2",
		"BLOG_LOCK_WAIT=1",
		"BLOG_BACKUP_LOCK_WAIT=1",
		"BLOG_HEALTH_TIMEOUT=2",
		fmt.Sprintf("BLOG_APP_GID=%d", os.Getgid()),
	)
	return h
}

func (h *host) path(rel string) string { return filepath.Join(h.dir, "root", rel) }

// readyForDeploy is a host that bootstrap has finished on, with the files the
// deploy association writes: the compose file, every file of host/ and the
// stack's settings.
func (h *host) readyForDeploy() {
	h.t.Helper()
	h.write("var/lib/blog/bootstrapped", "2026-01-01T00:00:00Z\n")
	h.write("../fake/mounted", h.path("srv/blog")+"\n")
	h.write("opt/blog/docker-compose.prod.yml", string(ComposeFile))
	err := fs.WalkDir(HostFiles(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(HostFiles(), p)
		h.write("opt/blog/host/"+p, string(b))
		return err
	})
	if err != nil {
		h.t.Fatal(err)
	}
	h.write("etc/blog/stack.env", strings.Join([]string{
		"BLOG_REGISTRY=123456789012.dkr.ecr.eu-west-1.amazonaws.com/blog",
		"BLOG_DOMAIN=blog.example.com",
		"BLOG_PREVIEW=",
		"BLOG_SSM_PREFIX=/blog/prod",
		"AWS_REGION=eu-west-1",
		"BLOG_BACKUP_BUCKET=" + bucket,
		"BLOG_BACKUP_PREFIX=backups/prod/",
		"BLOG_LOG_GROUP_PREFIX=blog-prod",
		"BLOG_METRICS_NAMESPACE=blog/prod",
		"BLOG_MEDIA_ROLE_ARN=" + mediaRole,
	}, "\n")+"\n")
}

const (
	bucket    = "blog-prod-data-backups-a1b2c3d"
	mediaRole = "arn:aws:iam::123456789012:role/blog-prod-media-role-a1b2c3d"
	// processQuery turns the AssumeRole response into the format the app
	// reads (blog/internal/awsauth.FileCredentials); the fake aws answers it.
	processQuery = "{Version: `1`, AccessKeyId: Credentials.AccessKeyId, SecretAccessKey: Credentials.SecretAccessKey, SessionToken: Credentials.SessionToken, Expiration: Credentials.Expiration}"
)

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

const (
	registry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/blog"
	// The calls of a cut-over, as fake docker logs them.
	healthCall = "inspect -f {{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}} "
	reloadCall = "exec -T proxy caddy reload --config /etc/caddy/host/Caddyfile --adapter caddyfile"
)

func scaleCall(n int) string {
	return fmt.Sprintf("up -d --no-deps --no-recreate --scale app=%d app", n)
}

// apps lists the fake app containers as "blog-app-<n> <tag>", with
// " (stopped)" for a stopped one.
func (h *host) apps() []string {
	h.t.Helper()
	entries, _ := os.ReadDir(filepath.Join(h.fake, "apps"))
	var out []string
	for _, e := range entries {
		image := strings.TrimSpace(h.read("../fake/apps/" + e.Name() + "/image"))
		app := e.Name() + " " + image[strings.LastIndex(image, ":")+1:]
		if _, err := os.Stat(filepath.Join(h.fake, "apps", e.Name(), "stopped")); err == nil {
			app += " (stopped)"
		}
		out = append(out, app)
	}
	return out
}

// mustRun fails unless exactly these app containers exist, and a running
// one is the only one with the alias Caddy dials, and the proxy runs.
func (h *host) mustRun(apps ...string) {
	h.t.Helper()
	if got := h.apps(); !slices.Equal(got, apps) {
		h.t.Errorf("app containers %q, want %q", got, apps)
	}
	var live []string
	entries, _ := os.ReadDir(filepath.Join(h.fake, "apps"))
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join(h.fake, "apps", e.Name(), "live")); err == nil {
			live = append(live, e.Name())
		}
	}
	if len(apps) == 1 && !strings.Contains(apps[0], "stopped") {
		if want := []string{strings.Fields(apps[0])[0]}; !slices.Equal(live, want) {
			h.t.Errorf("containers with the alias Caddy dials: %q, want %q", live, want)
		}
		if _, err := os.Stat(filepath.Join(h.fake, "proxy-id")); err != nil {
			h.t.Error("the proxy was never started")
		}
	}
}

// Caddy is reloaded only when the Caddyfile changed since the running proxy
// loaded it: a reload can reset a connection (see host/Caddyfile). A proxy
// compose (re)creates reads the file as it starts.
func TestDeployReloadsCaddyOnlyForANewCaddyfile(t *testing.T) {
	h := deployed(t)
	reloads := func() int { return len(matching(h.calls(), reloadCall)) }
	h.deployOK("v2")
	if n := reloads(); n != 0 {
		t.Errorf("a deploy with the same Caddyfile reloaded Caddy %d times", n)
	}
	h.write("opt/blog/host/Caddyfile", h.read("opt/blog/host/Caddyfile")+"# changed\n")
	h.deployOK("v3")
	if n := reloads(); n != 1 {
		t.Errorf("a deploy with a new Caddyfile reloaded Caddy %d times, want once", n)
	}
	h.deployOK("v4")
	if n := reloads(); n != 0 {
		t.Errorf("the next deploy reloaded Caddy %d times, want none", n)
	}
	// A new proxy container (a new image) reads the new file as it starts.
	h.write("opt/blog/host/Caddyfile", h.read("opt/blog/host/Caddyfile")+"# changed again\n")
	if err := os.Remove(filepath.Join(h.fake, "proxy-id")); err != nil {
		t.Fatal(err)
	}
	h.deployOK("v5")
	if n := reloads(); n != 0 {
		t.Errorf("a deploy that recreated the proxy reloaded it %d times", n)
	}
	h.mustRun("blog-app-5 v5")
}

// The drain time the deploy gives an old container is the app's
// stop_grace_period in the compose file.
func TestDeployDrainTimeIsTheAppsGracePeriod(t *testing.T) {
	deploy, _ := os.ReadFile("host/deploy")
	d := regexp.MustCompile(`BLOG_STOP_TIMEOUT=\$\{BLOG_STOP_TIMEOUT:-(\d+)\}`).FindSubmatch(deploy)
	c := regexp.MustCompile(`(?s)\n  app:\n.*?\n    stop_grace_period: (\d+)s\n`).FindSubmatch(ComposeFile)
	if d == nil || c == nil || string(d[1]) != string(c[1]) {
		t.Errorf("host/deploy drains old apps for %q s, the compose file gives the app %q s", d, c)
	}
}

// Failures the real-engine suite (release/engine) cannot provoke on a
// healthy engine: compose cannot start a container, the network refuses the
// alias, the proxy does not come up or refuses a new Caddyfile. The old
// container keeps serving, it was never stopped; the new one is removed.
func TestDeployCannotStartOrMoveTheProxy(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"cannot start", []string{"FAKE_FAIL_UP_APP=1"}, "v2: cannot start a new app container on " + registry + ":v2; the running release (v1) keeps serving"},
		{"alias refused", []string{"FAKE_FAIL_CONNECT=1"}, "v2: cannot give blog-app-2 the network alias blog-live that the proxy sends traffic to; the running release (v1) keeps serving"},
		{"proxy unhealthy", []string{"FAKE_FAIL_PROXY=1"}, "v2: the proxy did not start or become healthy, or its new Caddyfile was refused (see above); the running release (v1) keeps serving"},
		{"Caddyfile refused", []string{"FAKE_FAIL_RELOAD=1", "FAKE_NEW_CADDYFILE=1"}, "v2: the proxy did not start or become healthy, or its new Caddyfile was refused (see above); the running release (v1) keeps serving"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := deployed(t)
			if slices.Contains(tc.env, "FAKE_NEW_CADDYFILE=1") {
				h.write("opt/blog/host/Caddyfile", h.read("opt/blog/host/Caddyfile")+"# changed\n")
			}
			start := time.Now()
			out, ok := h.run("deploy", tc.env, "v2")
			mustFail(t, out, ok, tc.want)
			if d := time.Since(start); d > 20*time.Second {
				t.Errorf("failure not bounded: took %v", d)
			}
			calls := h.calls()
			for _, c := range append(matching(calls, "docker stop"), matching(calls, "docker rm")...) {
				if !strings.Contains(c, "rm -f cid2 ") {
					t.Errorf("touched a container other than the new one: %s", c)
				}
			}
			if tc.name != "cannot start" {
				if m := matching(calls, "rm -f cid2 "); len(m) != 1 {
					t.Errorf("new container not removed: %v", m)
				}
			}
			if tc.name == "cannot start" {
				if m := matching(calls, "network connect"); len(m) != 0 {
					t.Errorf("gave the alias to an app that never started: %v", m)
				}
			}
			h.mustRun("blog-app-1 v1")
			if got := strings.TrimSpace(h.read("var/lib/blog/last-good-tag")); got != "v1" {
				t.Errorf("last good tag = %q, want v1", got)
			}
			if got := h.read("var/lib/blog/deploys.log"); !strings.Contains(got, " v2 failed: ") {
				t.Errorf("failure not in the deploy history:\n%s", got)
			}
		})
	}
}

func TestDeployFirstReleaseUnhealthyHasNothingToGoBackTo(t *testing.T) {
	h := newHost(t)
	h.readyForDeploy()
	out, ok := h.run("deploy", []string{"FAKE_UNHEALTHY_TAGS=v1"}, "v1")
	mustFail(t, out, ok, "v1: the new app container runs but is unhealthy (its healthcheck fails); there is no earlier good release to go back to")
	if _, err := os.Stat(h.path("var/lib/blog/last-good-tag")); err == nil {
		t.Error("recorded a failed release as good")
	}
	if m := matching(h.calls(), "proxy"); len(m) != 0 {
		t.Errorf("proxy pointed at an app that never got healthy: %v", m)
	}
	h.mustRun()
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
	mustFail(t, out, ok, "another deploy, a backup or a restore still holds")
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
	h.mustRun("blog-app-1 v1")
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
	for _, want := range []string{"bootstrap", "deploy", "backup", "restore", "monitor", "move-to-rds"} {
		if !slices.Contains(scripts, filepath.Join("host", want)) {
			t.Fatalf("host/%s is not among the scripts found: %v", want, scripts)
		}
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
			// -x follows host/cloudwatch.sh, which deploy and backup source.
			out, err := exec.Command(shellcheck, "--shell=bash", "--severity=style", "-x", s).CombinedOutput()
			if err != nil {
				t.Errorf("shellcheck %s:\n%s", s, out)
			}
		})
	}
}

// inOrder fails unless each of want matches a call after the previous one.
func inOrder(t *testing.T, calls []string, want ...string) {
	t.Helper()
	i := 0
	for _, c := range calls {
		if i < len(want) && strings.Contains(c, want[i]) {
			i++
		}
	}
	if i != len(want) {
		t.Fatalf("calls not in order %q (matched %d):\n%s", want, i, strings.Join(calls, "\n"))
	}
}

// deployed is a host running release v1, with the calls so far forgotten.
func deployed(t *testing.T) *host {
	t.Helper()
	h := newHost(t)
	h.readyForDeploy()
	h.deployOK("v1")
	h.calls()
	return h
}

// leftovers lists what is left in the dump directory on the data volume.
func (h *host) leftovers() []string {
	h.t.Helper()
	entries, err := os.ReadDir(h.path("srv/blog/backup"))
	if err != nil && !os.IsNotExist(err) {
		h.t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestBackupPgDumpFailsUploadsNothing(t *testing.T) {
	h := deployed(t)
	out, ok := h.run("backup", []string{"FAKE_FAIL_PG_DUMP=1"})
	mustFail(t, out, ok, "pg_dump of the blog database failed")
	mustFail(t, out, ok, "nothing was uploaded")
	if m := matching(h.calls(), "aws "); len(m) != 0 {
		t.Errorf("called aws after pg_dump failed: %v", m)
	}
	if left := h.leftovers(); len(left) != 0 {
		t.Errorf("left on the data volume: %v", left)
	}
	if got := h.read("var/lib/blog/backups.log"); !strings.Contains(got, "backup failed: pg_dump") {
		t.Errorf("failure not logged: %q", got)
	}
}

func TestBackupUnreadableDumpIsNotUploaded(t *testing.T) {
	h := deployed(t)
	h.write("../fake/database", "not an archive")
	out, ok := h.run("backup", nil)
	mustFail(t, out, ok, "the dump is not readable (pg_restore --list failed); nothing was uploaded")
	if m := matching(h.calls(), "aws "); len(m) != 0 {
		t.Errorf("uploaded an unreadable dump: %v", m)
	}
	if left := h.leftovers(); len(left) != 0 {
		t.Errorf("left on the data volume: %v", left)
	}
}

func TestBackupUploadFails(t *testing.T) {
	h := deployed(t)
	out, ok := h.run("backup", []string{"FAKE_FAIL_UPLOAD=1"})
	mustFail(t, out, ok, "upload to s3://"+bucket+"/backups/prod/")
	mustFail(t, out, ok, "AccessDenied") // aws's own reason reaches the log too
	if left := h.leftovers(); len(left) != 0 {
		t.Errorf("temporary dump left on the data volume: %v", left)
	}
}

func TestBackupNeedsTheDataVolume(t *testing.T) {
	h := deployed(t)
	if err := os.Remove(filepath.Join(h.fake, "mounted")); err != nil {
		t.Fatal(err)
	}
	out, ok := h.run("backup", nil)
	mustFail(t, out, ok, "not writing a dump to the root disk")
	if m := matching(h.calls(), "pg_dump"); len(m) != 0 {
		t.Errorf("dumped without the data volume: %v", m)
	}
}

func TestBackupWaitsForADeployThenFails(t *testing.T) {
	h := deployed(t)
	deploy := h.command("deploy", []string{"FAKE_MIGRATE_SLEEP=4", "BLOG_LOCK_WAIT=30"}, "v2")
	var deployOut bytes.Buffer
	deploy.Stdout, deploy.Stderr = &deployOut, &deployOut
	if err := deploy.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(matching(h.peekCalls(), "migrate")) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("deploy never reached its migration:\n%s", deployOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	start := time.Now()
	out, ok := h.run("backup", []string{"BLOG_BACKUP_LOCK_WAIT=1"})
	waited := time.Since(start)
	mustFail(t, out, ok, "a deploy, restore or another backup still holds")
	if waited < time.Second {
		t.Errorf("backup gave up after %v, want it to wait BLOG_BACKUP_LOCK_WAIT=1s", waited)
	}
	if err := deploy.Wait(); err != nil {
		t.Fatalf("deploy failed: %v\n%s", err, deployOut.String())
	}
	if m := matching(h.calls(), "pg_dump"); len(m) != 0 {
		t.Errorf("dumped during a deploy's migration: %v", m)
	}
	// Once the deploy is done, the next backup goes through.
	out, ok = h.run("backup", nil)
	mustOK(t, out, ok)
}

// storeBackup puts a dump in the fake bucket and returns its name.
func (h *host) storeBackup(content string) string {
	h.t.Helper()
	name := "20260101T031500Z.dump"
	h.write("../fake/s3/"+bucket+"/backups/prod/"+name, content)
	return name
}

func TestRestoreRefusesWithoutConfirmation(t *testing.T) {
	h := deployed(t)
	h.write("../fake/database", "PGDMP live")
	name := h.storeBackup("PGDMP old")
	for _, env := range [][]string{nil, {"BLOG_RESTORE_CONFIRM=0"}, {"BLOG_RESTORE_CONFIRM=yes"}} {
		out, ok := h.run("restore", env, name)
		mustFail(t, out, ok, "refusing")
		mustFail(t, out, ok, "--yes")
		if calls := h.calls(); len(calls) != 1 || calls[0] != "" {
			t.Errorf("touched the host without confirmation: %v", calls)
		}
	}
	if got := h.read("../fake/database"); got != "PGDMP live" {
		t.Errorf("database is %q", got)
	}
	if _, err := os.Stat(h.path("srv/blog/backup")); !os.IsNotExist(err) {
		t.Errorf("created the dump directory: %v", err)
	}
}

func TestRestoreSources(t *testing.T) {
	for _, tc := range []struct{ name, arg, download string }{
		{"local file", "", ""},
		{"s3 url", "s3://" + bucket + "/backups/prod/20260101T031500Z.dump", "s3://" + bucket + "/backups/prod/20260101T031500Z.dump"},
		{"key", "backups/prod/20260101T031500Z.dump", "s3://" + bucket + "/backups/prod/20260101T031500Z.dump"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := deployed(t)
			h.storeBackup("PGDMP old")
			arg := tc.arg
			if arg == "" {
				arg = filepath.Join(h.dir, "copy.dump")
				if err := os.WriteFile(arg, []byte("PGDMP old"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			out, ok := h.run("restore", []string{"BLOG_RESTORE_CONFIRM=1"}, arg)
			mustOK(t, out, ok)
			downloads := matching(h.calls(), "s3 cp")
			if tc.download == "" && len(downloads) != 0 || tc.download != "" && (len(downloads) != 1 || !strings.Contains(downloads[0], tc.download+" ")) {
				t.Errorf("downloads %v, want %q", downloads, tc.download)
			}
			if got := h.read("../fake/database"); got != "PGDMP old" {
				t.Errorf("database is %q", got)
			}
		})
	}
}

func TestRestoreUnreadableOrMissingDumpChangesNothing(t *testing.T) {
	h := deployed(t)
	h.write("../fake/database", "PGDMP live")
	name := h.storeBackup("an html error page")
	out, ok := h.run("restore", nil, "--yes", name)
	mustFail(t, out, ok, "is not a readable pg_dump custom-format archive")
	mustFail(t, out, ok, "nothing was changed, the app keeps serving")
	out, ok = h.run("restore", nil, "--yes", "20250101T000000Z.dump")
	mustFail(t, out, ok, "cannot download s3://"+bucket+"/backups/prod/20250101T000000Z.dump")
	calls := h.calls()
	for _, never := range []string{"stop", "-d blog --clean"} {
		if m := matching(calls, never); len(m) != 0 {
			t.Errorf("ran %q for a dump that cannot be restored: %v", never, m)
		}
	}
	if got := h.read("../fake/database"); got != "PGDMP live" {
		t.Errorf("database is %q", got)
	}
	if left := h.leftovers(); len(left) != 0 {
		t.Errorf("left on the data volume: %v", left)
	}
}

// A dump whose table of contents reads but whose data is damaged fails in
// pg_restore. It runs in one transaction, so the database is as it was: the
// app is started again on it and the restore fails with that reason.
func TestRestoreDamagedDumpRollsBackAndRestartsTheApp(t *testing.T) {
	h := deployed(t)
	h.write("../fake/database", "PGDMP live")
	name := h.storeBackup("PGDMP damaged")
	out, ok := h.run("restore", nil, "--yes", name)
	mustFail(t, out, ok, "pg_restore could not apply "+name+"; it ran in one transaction, so the database is unchanged (rolled back) and the app (v1) is serving it again")
	mustFail(t, out, ok, "could not read from input file") // pg_restore's own reason
	calls := h.calls()
	inOrder(t, calls, "stop app", "--clean", "up -d --no-deps app", "inspect")
	if m := matching(calls, "migrate"); len(m) != 0 {
		t.Errorf("ran migrations after a failed restore: %v", m)
	}
	if got := h.read("../fake/database"); got != "PGDMP live" {
		t.Errorf("database is %q", got)
	}
	h.mustRun("blog-app-1 v1")
}

func TestRestoreFailedMigrationLeavesTheAppStopped(t *testing.T) {
	h := deployed(t)
	h.write("../fake/database", "PGDMP live")
	name := h.storeBackup("PGDMP old")
	out, ok := h.run("restore", []string{"FAKE_FAIL_MIGRATE=1"}, "--yes", name)
	mustFail(t, out, ok, "the database now holds "+name+", but the migrations of v1 failed on it; the app is left stopped")
	mustFail(t, out, ok, "to go back to the database as it was: ")
	if m := matching(h.calls(), "up -d --no-deps app"); len(m) != 0 {
		t.Errorf("started the app on an unmigrated database: %v", m)
	}
	h.mustRun("blog-app-1 v1 (stopped)")
	left := h.leftovers()
	if len(left) != 1 || !strings.Contains(out, h.path("srv/blog/backup/"+left[0])) {
		t.Errorf("output does not name the safety dump %v:\n%s", left, out)
	}
}

func TestDeployInstallsBackupTimerOnce(t *testing.T) {
	h := newHost(t)
	h.readyForDeploy()
	h.deployOK("v1")
	calls := h.calls()
	inOrder(t, calls, "systemctl daemon-reload", "systemctl enable --now blog-backup.timer", "compose")
	for _, want := range []string{"systemctl daemon-reload", "systemctl enable --now blog-backup.timer"} {
		if n := len(matching(calls, want)); n != 1 {
			t.Errorf("%d %q, want 1", n, want)
		}
	}
	for _, unit := range []string{"blog-backup.service", "blog-backup.timer"} {
		want, err := os.ReadFile(filepath.Join("host", unit))
		if err != nil {
			t.Fatal(err)
		}
		if got := h.read("etc/systemd/system/" + unit); got != string(want) {
			t.Errorf("installed %s differs from host/%s", unit, unit)
		}
	}

	h.deployOK("v2")
	calls = h.calls()
	for _, never := range []string{"daemon-reload", "systemctl enable"} {
		if m := matching(calls, never); len(m) != 0 {
			t.Errorf("second deploy with unchanged units ran %v", m)
		}
	}

	// A release that changes a unit reloads systemd once more.
	h.write("opt/blog/host/blog-backup.timer", h.read("opt/blog/host/blog-backup.timer")+"# changed\n")
	h.deployOK("v3")
	if n := len(matching(h.calls(), "systemctl daemon-reload")); n != 1 {
		t.Errorf("changed unit: %d daemon-reloads, want 1", n)
	}
}

// The timer runs the script that deploy delivers, daily, at a random time,
// and catches up after downtime.
func TestBackupUnits(t *testing.T) {
	service, _ := os.ReadFile("host/blog-backup.service")
	timer, _ := os.ReadFile("host/blog-backup.timer")
	for _, want := range []string{"ExecStart=/opt/blog/host/backup\n", "Type=oneshot\n", "RequiresMountsFor=/srv/blog\n"} {
		if !bytes.Contains(service, []byte(want)) {
			t.Errorf("blog-backup.service lacks %q", want)
		}
	}
	for _, want := range []string{"OnCalendar=", "RandomizedDelaySec=", "Persistent=true\n", "WantedBy=timers.target\n"} {
		if !bytes.Contains(timer, []byte(want)) {
			t.Errorf("blog-backup.timer lacks %q", want)
		}
	}
	if analyze, err := exec.LookPath("systemd-analyze"); err == nil {
		out, err := exec.Command(analyze, "calendar", regexp.MustCompile(`OnCalendar=(.*)`).FindStringSubmatch(string(timer))[1]).CombinedOutput()
		if err != nil {
			t.Errorf("systemd-analyze calendar: %v\n%s", err, out)
		}
	}
}

// media-credentials assumes the stack's media role for an hour and writes
// that session's credentials for the app, in the format it reads, readable
// by its group only, replacing the file whole; when the role cannot be
// assumed it fails and the app keeps the credentials it has.
func TestMediaCredentials(t *testing.T) {
	h := newHost(t)
	h.readyForDeploy()
	for want := 1; want <= 2; want++ {
		if out, ok := h.run("media-credentials", nil); !ok {
			t.Fatalf("media-credentials: %s", out)
		}
		got := h.read("etc/blog/aws/credentials.json")
		if !strings.Contains(got, fmt.Sprintf(`"AccessKeyId": "ASIAMEDIA%d"`, want)) {
			t.Errorf("run %d wrote %s", want, got)
		}
	}
	calls := matching(h.calls(), "sts assume-role")
	session := regexp.MustCompile(`--role-session-name (blog-media-[A-Za-z0-9+=,.@_-]{1,53}) `)
	if len(calls) != 2 || !strings.Contains(calls[0], "--role-arn "+mediaRole+" ") || !strings.Contains(calls[0], "--duration-seconds 3600 ") ||
		!session.MatchString(calls[0]) {
		t.Errorf("assumed the media role as %q; want %s for an hour, session blog-media-<host>", calls, mediaRole)
	}
	if len(matching(h.calls(), "export-credentials")) != 0 {
		t.Error("the host role's own credentials were handed out")
	}
	st, err := os.Stat(h.path("etc/blog/aws/credentials.json"))
	if err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("credentials mode %v (%v), want 0640", st.Mode(), err)
	}
	for _, env := range [][]string{{"FAKE_FAIL_AWS=1"}, {"FAKE_PROCESS_QUERY=other"}} {
		if out, ok := h.run("media-credentials", env); ok || !strings.Contains(out, "media-credentials: ") {
			t.Errorf("%v: aws gave no credentials, yet media-credentials: ok=%v %s", env, ok, out)
		}
		if got := h.read("etc/blog/aws/credentials.json"); !strings.Contains(got, "ASIAMEDIA2") {
			t.Errorf("%v: a failed refresh replaced the credentials: %s", env, got)
		}
	}
	entries, _ := os.ReadDir(h.path("etc/blog/aws"))
	if len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
	h.write("etc/blog/stack.env", strings.ReplaceAll(h.read("etc/blog/stack.env"), "BLOG_MEDIA_ROLE_ARN=", "UNSET="))
	if out, ok := h.run("media-credentials", nil); ok || !strings.Contains(out, "does not set BLOG_MEDIA_ROLE_ARN") {
		t.Errorf("no role in stack.env, yet media-credentials: ok=%v %s", ok, out)
	}
}

// With the media in S3, a deploy hands the app its credentials before the
// app starts and installs the timer that refreshes them; without, neither.
func TestDeployHandsTheAppMediaCredentials(t *testing.T) {
	h := newHost(t)
	h.readyForDeploy()
	h.deployOK("v1")
	if calls := h.calls(); len(matching(calls, "assume-role")) != 0 || len(matching(calls, "blog-media-credentials")) != 0 {
		t.Errorf("media on disk, yet the deploy handled credentials: %v", calls)
	}
	if st, err := os.Stat(h.path("etc/blog/aws")); err != nil || !st.IsDir() {
		t.Errorf("the folder compose mounts is missing: %v", err)
	}

	h = newHost(t)
	h.readyForDeploy()
	h.write("etc/blog/stack.env", h.read("etc/blog/stack.env")+"BLOG_MEDIA_URL='s3://blog-prod-media-files-a1b2c3d?prefix=media/&region=eu-west-1'\n")
	h.deployOK("v1")
	calls := h.calls()
	inOrder(t, calls, "systemctl enable --now blog-media-credentials.timer", "aws sts assume-role --role-arn "+mediaRole, "--scale app=")
	for _, unit := range []string{"blog-media-credentials.service", "blog-media-credentials.timer"} {
		want, _ := os.ReadFile(filepath.Join("host", unit))
		if got := h.read("etc/systemd/system/" + unit); got != string(want) {
			t.Errorf("installed %s differs from host/%s", unit, unit)
		}
	}
	if !strings.Contains(h.read("etc/blog/aws/credentials.json"), "ASIAMEDIA1") {
		t.Error("no credentials for the app")
	}
}
