package engine

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blogstack/blogstack"
)

// A test host is a temporary root laid out like the EC2 host: the compose
// file and host/ exactly as the stack's association delivers them (from
// blogstack's embed), the stack's settings, and a data volume that is a real
// mount (a bind mount of a temporary directory), so that
// host/deploy's `mountpoint` check and the compose file's
// `create_host_path: false` meet a real mount. The scripts run as they do on
// the host, with their root paths moved into it (BLOG_ROOT, BLOG_ETC,
// BLOG_DATA, ...), and compose runs with the images from the test registry
// and the proxy's ports published on 127.0.0.1 only. On PATH before the
// real tools are fakes of what talks to AWS (aws, the ECR credential
// helper) and of systemctl (no systemd runs here).
type testHost struct {
	t     *testing.T
	dir   string
	env   []string
	https string // 127.0.0.1:port of the proxy's 443
	http  string // 127.0.0.1:port of the proxy's 80
}

// Fakes of the tools beside docker on the host. Fake aws answers SSM with
// fixed secrets, Secrets Manager with the files a test put in
// $FAKE_S3/../secrets, keeps S3 objects below $FAKE_S3/<bucket>/<key>, and writes
// what the host reports to CloudWatch (log events, metrics) to
// cloudwatch.log beside them.
var fakes = map[string]string{
	"aws": `
case " $* " in
  *"/db-password "*) echo Pw0123456789abcdefXYZ ;;
  *"/secret-key "*) echo sk-test-0123456789abcdef0123456789abcdef ;;
  *" s3 cp "*)
    src=${*: -2:1} dst=${*: -1}
    if [[ $dst == s3://* ]]; then
      # Like a bucket with Object Lock and a default retention (prod's):
      # an upload without a checksum is refused.
      [[ " $* " == *" --checksum-algorithm "* ]] || { echo "upload failed: An error occurred (InvalidRequest) when calling the PutObject operation: Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters" >&2; exit 1; }
      mkdir -p "$(dirname "$FAKE_S3/${dst#s3://}")"
      cp "$src" "$FAKE_S3/${dst#s3://}"
    else
      [[ -f $FAKE_S3/${src#s3://} ]] || { echo "fatal error: An error occurred (404) when calling the HeadObject operation: Key not found" >&2; exit 1; }
      cp "$FAKE_S3/${src#s3://}" "$dst"
    fi ;;
  *" secretsmanager get-secret-value "*)
    # RDS's master secrets, which a test keeps in $FAKE_S3/../secrets/<name>
    # (the ARN's part after :secret:); --query SecretString --output text
    # prints the secret string, JSON.
    id="" prev=""
    for a in "$@"; do
      if [[ $prev == --secret-id ]]; then id=$a; fi
      prev=$a
    done
    f=$FAKE_S3/../secrets/${id##*:secret:}
    [[ -n $id && -f $f ]] || { echo "An error occurred (ResourceNotFoundException) when calling the GetSecretValue operation: Secrets Manager can't find the specified secret." >&2; exit 254; }
    cat "$f" ;;
  *" logs create-log-stream "*) ;;
  *" logs put-log-events "* | *" cloudwatch put-metric-data "*)
    # What the host reports to CloudWatch, kept for the test to read.
    echo "$*" >>"$FAKE_S3/../cloudwatch.log" ;;
  *) echo "fake aws: unexpected call: $*" >&2; exit 1 ;;
esac`,
	// The ECR credential helper host/deploy configures for the registry:
	// the test registry asks for no credentials, so any will do.
	"docker-credential-ecr-login": `
case ${1:-} in
  get) cat >/dev/null; echo '{"Username":"AWS","Secret":"test"}' ;;
  *) exit 0 ;;
esac`,
	"systemctl": `echo "systemctl $*" >>"$FAKE_S3/../systemctl.log"`,
}

const (
	testDomain = "localhost" // Caddy serves it with its internal CA
	testBucket = "blog-test-backups"
)

// newHost makes a test host ready for its first deploy.
func newHost(t *testing.T) *testHost {
	t.Helper()
	set := requireEngine(t)
	dir := t.TempDir()
	h := &testHost{t: t, dir: dir, https: freeAddr(t), http: freeAddr(t)}
	bin := filepath.Join(dir, "bin")
	for _, d := range []string{bin, h.path("fake/s3"), h.path("opt/blog/host"), h.path("etc/blog"), h.path("srv/blog"), h.path("var/lib/blog")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range fakes {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/usr/bin/env bash\nset -euo pipefail\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	h.write("opt/blog/docker-compose.prod.yml", string(blogstack.ComposeFile))
	err := fs.WalkDir(blogstack.HostFiles(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(blogstack.HostFiles(), p)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if bytes.HasPrefix(b, []byte("#!")) {
			mode = 0o755
		}
		return os.WriteFile(h.path("opt/blog/host/"+p), b, mode)
	})
	if err != nil {
		t.Fatal(err)
	}
	h.write("etc/blog/stack.env", strings.Join([]string{
		"BLOG_REGISTRY=" + set.blog,
		"BLOG_DOMAIN=" + testDomain,
		"BLOG_PREVIEW=",
		"BLOG_SSM_PREFIX=/blog/test",
		"AWS_REGION=eu-west-1",
		"BLOG_BACKUP_BUCKET=" + testBucket,
		"BLOG_BACKUP_PREFIX=backups/test/",
		"BLOG_LOG_GROUP_PREFIX=blog-test",
		"BLOG_METRICS_NAMESPACE=blog/test",
	}, "\n")+"\n")
	// What bootstrap leaves: the marker, and the data volume mounted.
	h.write("var/lib/blog/bootstrapped", "2026-01-01T00:00:00Z\n")
	h.mountData()

	h.env = append(os.Environ(),
		"PATH="+bin+":"+os.Getenv("PATH"),
		"FAKE_S3="+h.path("fake/s3"),
		"BLOG_ROOT="+h.path("opt/blog"),
		"BLOG_ETC="+h.path("etc/blog"),
		"BLOG_DATA="+h.path("srv/blog"),
		"BLOG_STATE="+h.path("var/lib/blog"),
		"BLOG_LOCK="+h.path("run/lock/blog-deploy.lock"),
		"BLOG_SYSTEMD="+h.path("etc/systemd/system"),
		"BLOG_PROXY_IMAGE="+set.proxy,
		"BLOG_DB_IMAGE="+set.db,
		"BLOG_HTTP_PUBLISH="+h.http,
		"BLOG_HTTPS_PUBLISH="+h.https,
		// The scripts' own log files (host/cloudwatch.sh), not the machine's.
		"BLOG_LOG_DIR="+h.path("var/log/blog"),
	)
	t.Cleanup(h.teardown)
	return h
}

// requireEngine returns the suite's images, or skips (fails in CI) when
// TestMain found no engine.
func requireEngine(t *testing.T) *imageSet {
	t.Helper()
	if suite.set == nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no Docker engine for the real-engine tests: %s", suite.why)
		}
		t.Skipf("no Docker engine: %s", suite.why)
	}
	return suite.set
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func (h *testHost) path(rel string) string { return filepath.Join(h.dir, "root", rel) }

func (h *testHost) write(rel, content string) {
	h.t.Helper()
	p := h.path(rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		h.t.Fatal(err)
	}
}

func (h *testHost) read(rel string) string {
	h.t.Helper()
	b, err := os.ReadFile(h.path(rel))
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b)
}

// mountData mounts the data volume: a directory outside the host's root
// (the volume's content) bind-mounted at srv/blog, so that srv/blog is a
// mount point as the EBS volume is on the host, and unmounting it leaves the
// empty directory of the root disk.
func (h *testHost) mountData() {
	h.t.Helper()
	volume := filepath.Join(h.dir, "volume")
	if err := os.MkdirAll(volume, 0o755); err != nil {
		h.t.Fatal(err)
	}
	if out, err := exec.Command("mount", "--bind", volume, h.path("srv/blog")).CombinedOutput(); err != nil {
		h.t.Fatalf("mounting the test data volume: %v\n%s", err, out)
	}
}

// unmountData takes the data volume away, as after a boot where it did not
// attach: the directory is an empty one on the root disk again.
func (h *testHost) unmountData() {
	h.t.Helper()
	if out, err := exec.Command("umount", h.path("srv/blog")).CombinedOutput(); err != nil {
		h.t.Fatalf("unmounting the test data volume: %v\n%s", err, out)
	}
}

// run runs a host script (deploy, backup, restore) as the association or
// an operator would, and returns its combined output and whether it
// succeeded. Its output is logged, so the run log shows each deploy.
func (h *testHost) run(script string, args ...string) (string, bool) {
	h.t.Helper()
	start := time.Now()
	cmd := exec.Command(h.path("opt/blog/host/"+script), args...)
	cmd.Env = h.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			h.t.Fatalf("running %s: %v", script, err)
		}
	}
	h.t.Logf("host/%s %s (%s, %s):\n%s", script, strings.Join(args, " "), exitText(err), time.Since(start).Round(100*time.Millisecond), indent(string(out)))
	return string(out), err == nil
}

func exitText(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}

// deploy runs a deploy that must succeed.
func (h *testHost) deploy(tag string) string {
	h.t.Helper()
	out, ok := h.run("deploy", tag)
	if !ok {
		h.t.Fatalf("deploy %s failed:\n%s", tag, out)
	}
	return out
}

// deployFails runs a deploy that must fail with want in its output.
func (h *testHost) deployFails(tag, want string) string {
	h.t.Helper()
	out, ok := h.run("deploy", tag)
	if ok {
		h.t.Fatalf("deploy %s succeeded, want it to fail with %q", tag, want)
	}
	if !strings.Contains(out, want) {
		h.t.Errorf("deploy %s failed without naming the reason %q:\n%s", tag, want, out)
	}
	return out
}

// compose runs docker compose on the host's project, as the scripts do.
func (h *testHost) compose(args ...string) (string, error) {
	cmd := exec.Command("docker", append([]string{"compose", "--project-name", "blog", "--project-directory", h.path("opt/blog"), "-f", h.path("opt/blog/docker-compose.prod.yml")}, args...)...)
	cmd.Env = append(h.env, "BLOG_IMAGE="+suite.set.blog+":v1", "BLOG_DOMAIN="+testDomain, "AWS_REGION=eu-west-1", "BLOG_LOG_GROUP_PREFIX=blog-test")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("docker compose %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// containers lists the project's containers as "name image-tag state",
// sorted, with the app's image shown by its tag.
func (h *testHost) containers() []string {
	h.t.Helper()
	out, err := docker("ps", "-a", "--filter", "label=com.docker.compose.project=blog", "--format", "{{.Names}} {{.Image}} {{.State}}")
	if err != nil {
		h.t.Fatal(err)
	}
	var list []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		if strings.HasPrefix(f[0], "blog-app-") {
			f[1] = f[1][strings.LastIndex(f[1], ":")+1:]
		} else {
			f[1] = "-"
		}
		list = append(list, strings.Join(f, " "))
	}
	slices.Sort(list)
	return list
}

// mustServe fails unless exactly one app container runs, on tag, named
// app, beside the database and the proxy, and it alone carries the alias
// Caddy dials: nothing left behind.
func (h *testHost) mustServe(app, tag string) {
	h.t.Helper()
	want := []string{app + " " + tag + " running", "blog-db-1 - running", "blog-proxy-1 - running"}
	if got := h.containers(); !slices.Equal(got, want) {
		h.t.Errorf("containers %q, want %q", got, want)
	}
	out, err := docker("network", "inspect", "-f", `{{range .Containers}}{{.Name}} {{end}}`, "blog_edge")
	if err != nil {
		h.t.Fatal(err)
	}
	var live []string
	for _, name := range strings.Fields(out) {
		aliases, err := docker("inspect", "-f", `{{json (index .NetworkSettings.Networks "blog_edge").Aliases}}`, name)
		if err != nil {
			h.t.Fatal(err)
		}
		if strings.Contains(aliases, `"blog-live"`) {
			live = append(live, name)
		}
	}
	if !slices.Equal(live, []string{app}) {
		h.t.Errorf("containers with the alias Caddy dials: %q, want %q", live, []string{app})
	}
	if got := strings.TrimSpace(h.read("var/lib/blog/last-good-tag")); got != tag {
		h.t.Errorf("last good tag %q, want %q", got, tag)
	}
}

// client is a reader of the site: it sends requests to the proxy's HTTPS
// port as a browser would to https://<testDomain>, trusting Caddy's
// internal CA, whose root certificate is on the data volume. With keepAlive
// it keeps its connections, without it opens one for every request; with
// h2 it speaks HTTP/2, as browsers do over TLS, else HTTP/1.1.
func (h *testHost) client(keepAlive, h2 bool) *http.Client {
	h.t.Helper()
	pem, err := os.ReadFile(h.path("srv/blog/caddy/data/caddy/pki/authorities/local/root.crt"))
	if err != nil {
		h.t.Fatalf("Caddy's root certificate is not on the data volume: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		h.t.Fatal("Caddy's root certificate does not parse")
	}
	addr := h.https
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: testDomain},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		DisableKeepAlives:   !keepAlive,
		ForceAttemptHTTP2:   h2,
		MaxIdleConnsPerHost: 8,
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// teardown removes the project's containers, networks and the data volume
// mount; on failure it logs what the containers said first.
func (h *testHost) teardown() {
	if h.t.Failed() {
		if out, err := h.compose("ps", "-a"); err == nil {
			h.t.Logf("containers at the end:\n%s", indent(out))
		}
		// Caddy's access log is left out: a line per request, each longer
		// than a screen, it would push the failure out of CI's excerpt.
		if out, err := h.compose("logs", "--no-color", "--tail", "40"); err == nil {
			var kept []string
			for line := range strings.Lines(out) {
				if !strings.Contains(line, `"msg":"handled request"`) {
					kept = append(kept, line)
				}
			}
			h.t.Logf("their last logs, but for Caddy's access log:\n%s", indent(strings.Join(kept, "")))
		}
	}
	if out, err := h.compose("down", "--volumes", "--remove-orphans", "--timeout", "1"); err != nil {
		h.t.Errorf("compose down: %v\n%s", err, out)
	}
	// Containers compose no longer knows (never expected; removed anyway).
	if out, _ := docker("ps", "-aq", "--filter", "label=com.docker.compose.project=blog"); strings.TrimSpace(out) != "" {
		_, _ = docker(append([]string{"rm", "-f"}, strings.Fields(out)...)...)
	}
	_ = exec.Command("umount", h.path("srv/blog")).Run()
}
